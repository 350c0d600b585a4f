package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sync/errgroup"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/stores/sqlstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// The benchmarks have memstore's shapes (stores/memstore/memstore_test.go)
// on both dialects: SQLite on a WAL file with synchronous=NORMAL (the DSN
// the tests use), PostgreSQL wherever HERALD_TEST_POSTGRES points.
//
//	go test -run '^$' -bench . -benchtime 2000x ./stores/sqlstore/

var benchSeq atomic.Int64

func benchIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "m" + strconv.FormatInt(benchSeq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return out
}

func benchMessage(id string) *herald.Message {
	return &herald.Message{
		ID: id, IdempotencyKey: id, OrgID: "org", Channel: herald.ChannelSMS,
		To: "+15555550100", Body: "hello", Status: herald.StatusQueued,
		Meta: map[string]string{"k": "v"},
	}
}

// benchStores caches migrated stores for the whole run (key: dialect and
// purpose), so that benchmark functions, which the framework calls several
// times, pay for a schema and a seeded backlog once.
var (
	benchMu     sync.Mutex
	benchStores = map[string]*sqlstore.Store{}
	benchDir    string
	benchDrop   []func()
)

// TestMain removes what the benchmarks left: their SQLite files and
// PostgreSQL schemas.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, drop := range benchDrop {
		drop()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchStore returns the run's store for e and key, creating and migrating
// it (and calling seed on it) the first time.
func benchStore(b *testing.B, e engine, key string, seed func(s *sqlstore.Store) error) *sqlstore.Store {
	benchMu.Lock()
	defer benchMu.Unlock()
	key = e.name + "/" + key
	if s := benchStores[key]; s != nil {
		return s
	}
	var db *sql.DB
	if e.dialect == sqlstore.SQLite {
		if benchDir == "" {
			dir, err := os.MkdirTemp("", "sqlstore-bench")
			if err != nil {
				b.Fatal(err)
			}
			benchDir = dir
		}
		var err error
		db, err = sql.Open("sqlite", sqliteDSN(filepath.Join(benchDir, strconv.Itoa(len(benchStores))+".db")))
		if err != nil {
			b.Fatal(err)
		}
	} else {
		schema := randomName("herald_bench_")
		admin, err := sql.Open("pgx", pgURL(b))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			b.Fatal(err)
		}
		benchDrop = append(benchDrop, func() {
			_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		})
		cfg, err := pgx.ParseConfig(pgURL(b))
		if err != nil {
			b.Fatal(err)
		}
		cfg.RuntimeParams["search_path"] = schema
		db = stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(16)
	}
	s, err := sqlstore.New(db, e.dialect)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	if seed != nil {
		if err := seed(s); err != nil {
			b.Fatal(err)
		}
	}
	benchStores[key] = s
	return s
}

func forBenchEngines(b *testing.B, fn func(b *testing.B, e engine)) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			if e.dialect == sqlstore.Postgres {
				pgURL(b)
			}
			fn(b, e)
		})
	}
}

func BenchmarkCreateMessage(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, e engine) {
		s := benchStore(b, e, "main", nil)
		ctx := b.Context()
		ids := benchIDs(b.N)
		m := benchMessage("")
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			m.ID, m.IdempotencyKey = ids[i], ids[i]
			if _, _, err := s.CreateMessage(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSendPath is the store's share of one synchronous send: create,
// claim, move to sending, record the vendor's answer.
func BenchmarkSendPath(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, e engine) {
		s := benchStore(b, e, "main", nil)
		ctx := b.Context()
		ids := benchIDs(b.N)
		in := benchMessage("")
		vendor, vmid := "fake", "SM1"
		now := time.Now()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := sendPath(ctx, s, in, ids[i], now, vendor, vmid); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func sendPath(ctx context.Context, s *sqlstore.Store, in *herald.Message, id string, now time.Time, vendor, vmid string) error {
	in.ID, in.IdempotencyKey = id, id
	m, _, err := s.CreateMessage(ctx, in)
	if err != nil {
		return err
	}
	if _, err := s.ClaimMessage(ctx, m.OrgID, m.ID, herald.ClaimParams{Owner: "w", Now: now, LeaseFor: time.Minute}); err != nil {
		return err
	}
	if _, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: m.OrgID, ID: m.ID, Status: herald.StatusSending,
		ExpectStatus: []herald.Status{herald.StatusQueued}, ExpectLeaseOwner: "w", Event: herald.StatusEvent{At: now}}); err != nil {
		return err
	}
	_, err = s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: m.OrgID, ID: m.ID, Status: herald.StatusSent,
		Vendor: &vendor, VendorMessageID: &vmid, Lease: &herald.Lease{}, Event: herald.StatusEvent{At: now}})
	return err
}

// BenchmarkSendPathParallel is SendPath from 8 goroutines sharing the
// store: what one process with several workers gets.
func BenchmarkSendPathParallel(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, e engine) {
		s := benchStore(b, e, "main", nil)
		ctx := b.Context()
		ids := benchIDs(b.N)
		var next atomic.Int64
		now := time.Now()
		b.ReportAllocs()
		b.ResetTimer()
		var g errgroup.Group
		for range 8 {
			g.Go(func() error {
				in := benchMessage("")
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return nil
					}
					if err := sendPath(ctx, s, in, ids[i], now, "fake", "SM1"); err != nil {
						return err
					}
				}
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkUpdateMessage moves b.N stored messages from queued to sending,
// one update each.
func BenchmarkUpdateMessage(b *testing.B) {
	forBenchEngines(b, func(b *testing.B, e engine) {
		s := benchStore(b, e, "main", nil)
		ctx := b.Context()
		ids := benchIDs(b.N)
		for _, id := range ids {
			if _, _, err := s.CreateMessage(ctx, benchMessage(id)); err != nil {
				b.Fatal(err)
			}
		}
		now := time.Now()
		u := &herald.MessageUpdate{OrgID: "org", Status: herald.StatusSending,
			ExpectStatus: []herald.Status{herald.StatusQueued}, Event: herald.StatusEvent{At: now}}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			u.ID = ids[i]
			if _, err := s.UpdateMessage(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// claimClock moves forward across ClaimDue runs so that every earlier
// lease has expired when a run starts.
var claimClock = time.Now()

func BenchmarkClaimDue(b *testing.B) {
	for _, backlog := range []int{100, 100_000} {
		b.Run(fmt.Sprint("backlog=", backlog), func(b *testing.B) {
			forBenchEngines(b, func(b *testing.B, e engine) {
				s := benchStore(b, e, fmt.Sprint("backlog=", backlog), seedQueued(backlog))
				ctx := b.Context()
				start := claimClock
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					// Leases of a minute, a minute apart: every call finds
					// the whole backlog due again.
					p := herald.ClaimParams{Owner: "w", Now: start.Add(time.Duration(i) * time.Minute), LeaseFor: time.Minute, Limit: 10}
					got, err := s.ClaimDue(ctx, p)
					if err != nil || len(got) != 10 {
						b.Fatal(len(got), err)
					}
				}
				b.StopTimer()
				claimClock = start.Add(time.Duration(b.N+2) * time.Minute)
			})
		})
	}
}

// seedQueued creates n queued messages, from 8 goroutines.
func seedQueued(n int) func(s *sqlstore.Store) error {
	return func(s *sqlstore.Store) error {
		var g errgroup.Group
		g.SetLimit(8)
		for _, id := range benchIDs(n) {
			g.Go(func() error {
				_, _, err := s.CreateMessage(context.Background(), benchMessage(id))
				return err
			})
		}
		return g.Wait()
	}
}

// BenchmarkDispatcherSend is Dispatcher.Send end to end (validation,
// idempotent create, opt-out check, the sending and sent updates, the
// fake vendor with no reports) on each SQL dialect, next to memstore in
// the same run, one at a time and 8 at once.
//
//	go test -run '^$' -bench DispatcherSend -benchtime 2000x ./stores/sqlstore/
func BenchmarkDispatcherSend(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) herald.Store
	}{
		{"memstore", func(*testing.B) herald.Store { return memstore.New() }},
	}
	for _, e := range engines {
		stores = append(stores, struct {
			name string
			open func(b *testing.B) herald.Store
		}{e.name, func(b *testing.B) herald.Store {
			if e.dialect == sqlstore.Postgres {
				pgURL(b)
			}
			return benchStore(b, e, "dispatch", nil)
		}})
	}
	ctx := context.Background()
	for _, s := range stores {
		for _, par := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/concurrency-%d", s.name, par), func(b *testing.B) {
				d, err := dispatch.New(dispatch.Config{Store: s.open(b), Vendors: []herald.Vendor{fake.New(fake.Options{Quiet: true})}})
				if err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				b.ReportAllocs()
				start := time.Now()
				var g errgroup.Group
				for range par {
					g.Go(func() error {
						for {
							n := next.Add(1)
							if n > int64(b.N) {
								return nil
							}
							_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
								To: "+14155552671", Body: "Hello from herald", IdempotencyKey: benchIDs(1)[0]})
							if err != nil {
								return err
							}
						}
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
			})
		}
	}
}
