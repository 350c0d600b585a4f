package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	_ "modernc.org/sqlite"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	hjs "github.com/heraldmsg/herald/queues/jetstream"
	"github.com/heraldmsg/herald/stores/sqlstore"
)

// workerConfig is everything a worker needs to join the deployment. The
// coordinator hands it to a worker process in the environment, as JSON.
type workerConfig struct {
	ID          string  `json:"id"`
	NATSURL     string  `json:"nats"`
	Store       string  `json:"store"` // "sqlite" or "postgres"
	DSN         string  `json:"dsn"`
	Schema      string  `json:"schema,omitempty"` // PostgreSQL search_path
	APIURL      string  `json:"api"`
	Rate        float64 `json:"rate"`
	Burst       int     `json:"burst"`
	Concurrency int     `json:"concurrency"`
}

// Timings shared by every dispatcher of the deployment: a worker that dies
// holds its messages for LeaseDuration, its unsettled jobs for AckWait.
const (
	sendTimeout   = 2 * time.Second
	leaseDuration = 4 * time.Second
	ackWait       = 10 * time.Second
	pollInterval  = time.Second
)

// openStore opens the deployment's store.
func openStore(cfg workerConfig) (*sql.DB, *sqlstore.Store, error) {
	var db *sql.DB
	var dialect sqlstore.Dialect
	switch cfg.Store {
	case "sqlite":
		var err error
		if db, err = sql.Open("sqlite", cfg.DSN); err != nil {
			return nil, nil, err
		}
		dialect = sqlstore.SQLite
	case "postgres":
		pc, err := pgx.ParseConfig(cfg.DSN)
		if err != nil {
			return nil, nil, err
		}
		if cfg.Schema != "" {
			pc.RuntimeParams["search_path"] = cfg.Schema
		}
		db = stdlib.OpenDB(*pc)
		db.SetMaxOpenConns(cfg.Concurrency + 4)
		dialect = sqlstore.Postgres
	default:
		return nil, nil, fmt.Errorf("unknown store %q", cfg.Store)
	}
	st, err := sqlstore.New(db, dialect)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

// worker is one dispatcher of the deployment with its connections.
type worker struct {
	d    *dispatch.Dispatcher
	nc   *nats.Conn
	db   *sql.DB
	q    *hjs.Queue
	dead *atomic.Bool // set when the worker is killed (goroutine mode)
}

// newWorker connects a dispatcher to the shared store, queue and limiter.
// store and vendor may be wrapped (goroutine mode wraps them to simulate a
// crash); nil means the plain ones.
func newWorker(ctx context.Context, cfg workerConfig, wrap func(herald.Store, herald.Vendor) (herald.Store, herald.Vendor)) (*worker, error) {
	db, st, err := openStore(cfg)
	if err != nil {
		return nil, fmt.Errorf("worker %s: store: %w", cfg.ID, err)
	}
	nc, err := nats.Connect(cfg.NATSURL, nats.Name(cfg.ID), nats.MaxReconnects(-1))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("worker %s: nats: %w", cfg.ID, err)
	}
	jsc, err := js.New(nc)
	if err != nil {
		nc.Close()
		db.Close()
		return nil, err
	}
	q, err := hjs.NewQueue(ctx, jsc, hjs.QueueOptions{AckWait: ackWait, Prefetch: 2 * cfg.Concurrency})
	if err != nil {
		nc.Close()
		db.Close()
		return nil, fmt.Errorf("worker %s: %w", cfg.ID, err)
	}
	lim, err := hjs.NewLimiter(ctx, jsc, hjs.LimiterOptions{})
	if err != nil {
		nc.Close()
		db.Close()
		return nil, fmt.Errorf("worker %s: %w", cfg.ID, err)
	}
	var store herald.Store = st
	var vendor herald.Vendor = newSMSVendor(cfg.APIURL)
	if wrap != nil {
		store, vendor = wrap(store, vendor)
	}
	d, err := dispatch.New(dispatch.Config{
		Store:         store,
		Vendors:       []herald.Vendor{vendor},
		Queue:         q,
		Limiter:       lim,
		RateLimits:    dispatch.RateLimits{Vendors: map[string]dispatch.Rate{"smsapi": {PerSecond: cfg.Rate, Burst: cfg.Burst}}},
		Concurrency:   cfg.Concurrency,
		SendTimeout:   sendTimeout,
		LeaseDuration: leaseDuration,
		PollInterval:  pollInterval,
		WorkerID:      cfg.ID,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})).With("worker", cfg.ID),
	})
	if err != nil {
		nc.Close()
		db.Close()
		return nil, err
	}
	return &worker{d: d, nc: nc, db: db, q: q}, nil
}

// close releases the worker's connections after Run returned.
func (w *worker) close() {
	_ = w.q.Close()
	w.nc.Close()
	w.db.Close()
}

// workerMain is a worker process: it runs until SIGTERM or SIGINT (a
// graceful stop) or until it is killed.
func workerMain(ctx context.Context, cfg workerConfig) error {
	w, err := newWorker(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer w.close()
	fmt.Fprintf(os.Stderr, "worker %s (pid %d) running\n", cfg.ID, os.Getpid())
	if err := w.d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
