package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	hjs "github.com/heraldmsg/herald/queues/jetstream"
)

// options configure a proof run.
type options struct {
	Messages    int
	Workers     int
	Concurrency int     // per worker
	Rate        float64 // the vendor's limit, per second, for all workers together
	Burst       int
	Processes   bool   // workers as OS processes (else goroutines)
	Kill        bool   // kill one worker midway and start it again
	Postgres    string // PostgreSQL URL; empty means SQLite in a temp dir
	Timeout     time.Duration
	Out         io.Writer
}

// report is what the proof measured.
type report struct {
	Store           string
	Mode            string
	Messages        int
	Elapsed         time.Duration
	ByStatus        map[herald.Status]int
	Accepted        int // distinct keys the API accepted
	OnceEach        bool
	WireRequests    int // requests the API saw, resends included
	Resent          int // requests for a key already accepted
	PeakPerSecond   int // most API requests in any one-second window
	Rate            float64
	Limit           int // the rate plus one burst; 0 when there is no limit
	Jitter          int // requests the check allows for scheduling delays
	StuckInSending  int
	DeadLetters     int
	Killed, Started string
}

// ok reports whether every claim of the proof holds.
func (r *report) ok() error {
	var errs []error
	if n := r.ByStatus[herald.StatusSent] + r.ByStatus[herald.StatusDelivered]; n != r.Messages {
		errs = append(errs, fmt.Errorf("%d of %d messages ended sent or delivered: %v", n, r.Messages, r.ByStatus))
	}
	if r.Accepted != r.Messages || !r.OnceEach {
		errs = append(errs, fmt.Errorf("the API accepted %d keys of %d (each once: %v)", r.Accepted, r.Messages, r.OnceEach))
	}
	if r.StuckInSending != 0 {
		errs = append(errs, fmt.Errorf("%d messages stuck in sending", r.StuckInSending))
	}
	if r.Limit > 0 && r.PeakPerSecond > r.Limit+r.Jitter {
		errs = append(errs, fmt.Errorf("the API saw %d requests in one second, above the limit plus one burst (%d, +%d for jitter)", r.PeakPerSecond, r.Limit, r.Jitter))
	}
	if r.DeadLetters != 0 {
		errs = append(errs, fmt.Errorf("%d dead letters", r.DeadLetters))
	}
	return errors.Join(errs...)
}

// limitReached reports whether the workers sent at the rate limit at some
// point (80% of it within one second): only then did the run test it.
func (r *report) limitReached() bool {
	return r.Limit > 0 && float64(r.PeakPerSecond) >= 0.8*r.Rate
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d messages through %s, store %s, in %v (%.0f/s)\n", r.Messages, r.Mode, r.Store, r.Elapsed.Round(time.Millisecond), float64(r.Messages)/r.Elapsed.Seconds())
	fmt.Fprintf(w, "  final statuses:        %v\n", r.ByStatus)
	fmt.Fprintf(w, "  accepted by the API:   %d keys, each exactly once: %v\n", r.Accepted, r.OnceEach)
	fmt.Fprintf(w, "  requests on the wire:  %d (%d resends of accepted keys, answered by the API's idempotency)\n", r.WireRequests, r.Resent)
	if r.Limit > 0 {
		fmt.Fprintf(w, "  peak requests/second:  %d (limit %d = rate %.0f + one burst; %d more allowed for scheduling jitter)\n", r.PeakPerSecond, r.Limit, r.Rate, r.Jitter)
	} else {
		fmt.Fprintf(w, "  peak requests/second:  %d (no limit set)\n", r.PeakPerSecond)
	}
	if r.Limit > 0 && !r.limitReached() {
		fmt.Fprintf(w, "  (the workers never reached the rate limit, so this run did not test it: lower -rate)\n")
	}
	fmt.Fprintf(w, "  stuck in sending:      %d\n", r.StuckInSending)
	fmt.Fprintf(w, "  dead letters:          %d\n", r.DeadLetters)
	if r.Killed != "" {
		fmt.Fprintf(w, "  killed %s, started %s in its place\n", r.Killed, r.Started)
	}
}

// member is a running worker: a process or a goroutine.
type member struct {
	id   string
	cmd  *exec.Cmd       // process mode
	stop func(kill bool) // stops it: gracefully, or as a crash
	done chan error
}

// prove runs the whole proof and returns what it measured.
func prove(ctx context.Context, o options) (*report, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "herald-cluster-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// 1. The shared pieces: NATS with JetStream, the store, the SMS API.
	ns, err := server.NewServer(&server.Options{
		ServerName: "herald-cluster", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: filepath.Join(tmp, "nats"), NoLog: true, NoSigs: true,
	})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		return nil, errors.New("NATS server did not start")
	}

	base := workerConfig{NATSURL: ns.ClientURL(), Rate: o.Rate, Burst: o.Burst, Concurrency: o.Concurrency}
	storeName := "SQLite"
	if o.Postgres == "" {
		base.Store = "sqlite"
		base.DSN = "file:" + filepath.Join(tmp, "herald.db") +
			"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	} else {
		storeName = "PostgreSQL"
		base.Store, base.DSN = "postgres", o.Postgres
		if base.Schema, err = createSchema(ctx, o.Postgres); err != nil {
			return nil, err
		}
		defer dropSchema(o.Postgres, base.Schema)
	}
	db, st, err := openStore(base)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	api := newSMSAPI()
	defer api.srv.Close()
	base.APIURL = api.srv.URL

	mode := fmt.Sprintf("%d goroutine workers", o.Workers)
	if o.Processes {
		mode = fmt.Sprintf("%d worker processes", o.Workers)
	}
	fmt.Fprintf(o.Out, "== %s on %s, NATS JetStream at %s, %d messages, vendor limit %.0f/s burst %d\n", mode, storeName, ns.ClientURL(), o.Messages, o.Rate, o.Burst)

	// 2. Enqueue from a dispatcher that does not run: it only publishes.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	jsc, _ := js.New(nc)
	q, err := hjs.NewQueue(ctx, jsc, hjs.QueueOptions{AckWait: ackWait})
	if err != nil {
		return nil, err
	}
	defer q.Close()
	producer, err := dispatch.New(dispatch.Config{Store: st, Vendors: []herald.Vendor{newSMSVendor(api.srv.URL)}, Queue: q})
	if err != nil {
		return nil, err
	}
	enqueueStart := time.Now()
	var g errgroup.Group
	g.SetLimit(8)
	for i := range o.Messages {
		g.Go(func() error {
			_, err := producer.Enqueue(ctx, &herald.Message{
				OrgID: "acme", Channel: herald.ChannelSMS, From: "+14155550100",
				To:             fmt.Sprintf("+1%d23%d%04d", []int{415, 510, 650, 408, 707}[i%5], 4+i/50000, (i/5)%10000),
				Body:           "Your order has shipped.",
				IdempotencyKey: fmt.Sprintf("order-%d", i),
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("enqueueing: %w", err)
	}
	fmt.Fprintf(o.Out, "   enqueued %d in %v\n", o.Messages, time.Since(enqueueStart).Round(time.Millisecond))

	// 3. The workers, started once the backlog is in place, so that what
	// follows measures them alone.
	start := func(id string) (*member, error) {
		cfg := base
		cfg.ID = id
		if o.Processes {
			return startProcess(cfg, o.Out)
		}
		return startGoroutine(ctx, cfg)
	}
	members := make([]*member, o.Workers)
	for i := range members {
		if members[i], err = start(fmt.Sprintf("worker-%d", i+1)); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, m := range members {
			m.stop(false)
			<-m.done
		}
	}()

	began := time.Now()

	// 4. Kill a worker midway, start another in its place, and wait for
	// every message to be sent.
	r := &report{Store: storeName, Mode: mode, Messages: o.Messages}
	killed := !o.Kill
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("timed out with %d of %d accepted: %w", api.acceptedCount(), o.Messages, ctx.Err())
		case <-tick.C:
		}
		n := api.acceptedCount()
		if !killed && n >= o.Messages/2 {
			killed = true
			victim := members[1]
			victim.stop(true)
			<-victim.done
			r.Killed = victim.id
			fmt.Fprintf(o.Out, "   %d accepted: killed %s\n", n, victim.id)
			time.Sleep(500 * time.Millisecond)
			if members[1], err = start(victim.id + "-restarted"); err != nil {
				return nil, err
			}
			r.Started = members[1].id
			fmt.Fprintf(o.Out, "   started %s\n", members[1].id)
		}
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(o.Out, "   %d accepted\n", n)
		}
		if n < o.Messages || !killed {
			continue
		}
		busy, err := st.ListMessages(ctx, herald.MessageFilter{OrgID: "acme", Statuses: []herald.Status{
			herald.StatusQueued, herald.StatusScheduled, herald.StatusSending}, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(busy) == 0 {
			break
		}
	}
	r.Elapsed = time.Since(began)

	// 5. Measure.
	all, err := st.ListMessages(ctx, herald.MessageFilter{OrgID: "acme"})
	if err != nil {
		return nil, err
	}
	r.ByStatus = map[herald.Status]int{}
	for _, m := range all {
		r.ByStatus[m.Status]++
		if m.Status == herald.StatusSending {
			r.StuckInSending++
		}
	}
	api.mu.Lock()
	r.Accepted, r.WireRequests, r.OnceEach = len(api.accepted), len(api.times), true
	for i := range o.Messages {
		if api.calls["acme/"+fmt.Sprintf("order-%d", i)] == 0 {
			r.OnceEach = false
		}
	}
	for _, c := range api.calls {
		r.Resent += c - 1
	}
	r.PeakPerSecond = peakPerSecond(slices.Clone(api.times))
	api.mu.Unlock()
	if o.Rate > 0 {
		r.Rate, r.Limit = o.Rate, int(o.Rate)+max(o.Burst, 1)
		// The limiter spaces the slots exactly; a request reaches the API
		// a little after its slot, and on a loaded machine the delays
		// differ, which can squeeze a few more arrivals into one second
		// than slots. Allow 50 ms worth of them.
		r.Jitter = max(1, int(math.Ceil(o.Rate*0.05)))
	}
	dead, err := q.DeadLetters(ctx, 100)
	if err != nil {
		return nil, err
	}
	r.DeadLetters = len(dead)
	return r, nil
}

// peakPerSecond is the most timestamps within any one-second window.
func peakPerSecond(ts []time.Time) int {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// startGoroutine runs a worker in this process.
func startGoroutine(ctx context.Context, cfg workerConfig) (*member, error) {
	dead := &atomic.Bool{}
	w, err := newWorker(ctx, cfg, killable(dead))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	m := &member{id: cfg.ID, done: make(chan error, 1)}
	go func() {
		err := w.d.Run(rctx)
		w.close()
		m.done <- err
	}()
	var once sync.Once
	m.stop = func(kill bool) {
		once.Do(func() {
			if kill {
				dead.Store(true) // from now on it records nothing
				w.nc.Close()     // and settles no job
			}
			cancel()
		})
	}
	return m, nil
}

// workerEnv carries a worker process's configuration.
const workerEnv = "HERALD_CLUSTER_WORKER"

// startProcess runs a worker as a process of this same program.
func startProcess(cfg workerConfig, out io.Writer) (*member, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerEnv+"="+string(b))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &member{id: cfg.ID, cmd: cmd, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	var once sync.Once
	m.stop = func(kill bool) {
		once.Do(func() {
			if kill {
				_ = cmd.Process.Kill() // SIGKILL: no chance to clean up
				return
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
		})
	}
	return m, nil
}

// createSchema makes a fresh PostgreSQL schema for this run.
func createSchema(ctx context.Context, url string) (string, error) {
	admin, err := sql.Open("pgx", url)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "herald_cluster_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", fmt.Errorf("creating schema: %w", err)
	}
	return name, nil
}

func dropSchema(url, name string) {
	admin, err := sql.Open("pgx", url)
	if err != nil {
		return
	}
	defer admin.Close()
	_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
}
