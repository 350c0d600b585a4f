package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/sqlstore"
	"github.com/heraldmsg/herald/stores/storetest"
)

// pgEnv names the PostgreSQL database the PostgreSQL tests use; they skip
// when it is unset. .ci/run starts a throwaway cluster and sets it.
const pgEnv = "HERALD_TEST_POSTGRES"

// sqliteDSN is how tests (and the example) open a SQLite file: WAL, so
// readers never block the writer, and a busy_timeout, so writers of other
// connections wait for the write lock instead of failing.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
}

// openSQLite returns a handle on a fresh database file, closed at cleanup.
func openSQLite(t testing.TB) (db *sql.DB, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "herald.db")
	db, err := sql.Open("sqlite", sqliteDSN(path))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, path
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// pgURL returns the test database's URL, or skips t.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(pgEnv)
	if u == "" {
		t.Skip(pgEnv + " is not set: no PostgreSQL to test against")
	}
	return u
}

// pgSchema creates a fresh schema in the test database, dropped at
// cleanup, and returns its name.
func pgSchema(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", pgURL(t))
	require.NoError(t, err)
	name := randomName("herald_test_")
	_, err = admin.ExecContext(context.Background(), "CREATE SCHEMA "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// openPostgres returns a handle whose connections work in schema (their
// search_path), closed at cleanup.
func openPostgres(t testing.TB, schema string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgURL(t))
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	t.Cleanup(func() { db.Close() })
	return db
}

// engine is one dialect under test.
type engine struct {
	name    string
	dialect sqlstore.Dialect
	// open returns a handle on a fresh, empty database.
	open func(t testing.TB) *sql.DB
	// shared returns n handles on one fresh database, as n processes
	// would have.
	shared func(t testing.TB, n int) []*sql.DB
}

var engines = []engine{
	{
		name: "SQLite", dialect: sqlstore.SQLite,
		open: func(t testing.TB) *sql.DB { db, _ := openSQLite(t); return db },
		shared: func(t testing.TB, n int) []*sql.DB {
			db, path := openSQLite(t)
			out := []*sql.DB{db}
			for len(out) < n {
				other, err := sql.Open("sqlite", sqliteDSN(path))
				require.NoError(t, err)
				t.Cleanup(func() { other.Close() })
				out = append(out, other)
			}
			return out
		},
	},
	{
		name: "Postgres", dialect: sqlstore.Postgres,
		open: func(t testing.TB) *sql.DB { return openPostgres(t, pgSchema(t)) },
		shared: func(t testing.TB, n int) []*sql.DB {
			schema := pgSchema(t)
			var out []*sql.DB
			for range n {
				out = append(out, openPostgres(t, schema))
			}
			return out
		},
	},
}

// forEngines runs fn as a subtest per dialect; PostgreSQL's skips without
// a database.
func forEngines(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			if e.dialect == sqlstore.Postgres {
				pgURL(t)
			}
			fn(t, e)
		})
	}
}

// newStore returns a migrated store on db.
func newStore(t testing.TB, db *sql.DB, d sqlstore.Dialect, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(db, d, opts...)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// TestConformance runs the storetest suite on a fresh database per
// subtest: a new SQLite file, a new PostgreSQL schema.
func TestConformance(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		storetest.Run(t, func(t *testing.T) herald.Store { return newStore(t, e.open(t), e.dialect) })
	})
}

func TestNew(t *testing.T) {
	db, _ := openSQLite(t)
	_, err := sqlstore.New(nil, sqlstore.SQLite)
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "nil db")
	_, err = sqlstore.New(db, "mysql")
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "unknown dialect")
	s, err := sqlstore.New(db, sqlstore.Postgres)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.Postgres, s.Dialect())
}

func countMigrations(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM herald_schema_migrations`).Scan(&n))
	return n
}

func TestMigrate(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		t.Run("Twice", func(t *testing.T) {
			db := e.open(t)
			s, err := sqlstore.New(db, e.dialect)
			require.NoError(t, err)
			v, err := s.Version(ctx)
			require.NoError(t, err)
			assert.Equal(t, 0, v, "before the first Migrate")
			_, err = s.GetMessage(ctx, "o", "m")
			assert.Error(t, err, "no schema yet")

			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx), "a second Migrate is a no-op")
			v, err = s.Version(ctx)
			require.NoError(t, err)
			assert.Equal(t, sqlstore.SchemaVersion, v)
			assert.Equal(t, sqlstore.SchemaVersion, countMigrations(t, db), "each version recorded once")
			_, err = s.GetMessage(ctx, "o", "m")
			assert.ErrorIs(t, err, herald.ErrNotFound, "the schema works")
		})

		t.Run("Concurrent", func(t *testing.T) {
			const n = 6
			dbs := e.shared(t, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, db := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := sqlstore.New(db, e.dialect)
					if err != nil {
						errs[i] = err
						return
					}
					<-start
					errs[i] = s.Migrate(ctx)
				}()
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				assert.NoError(t, err, "migrate %d", i)
			}
			assert.Equal(t, sqlstore.SchemaVersion, countMigrations(t, dbs[0]))
		})

		t.Run("NewerSchemaRefused", func(t *testing.T) {
			db := e.open(t)
			s := newStore(t, db, e.dialect)
			_, err := db.ExecContext(ctx, `INSERT INTO herald_schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)`)
			require.NoError(t, err)
			err = s.Migrate(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "newer")
		})

		t.Run("CanceledContext", func(t *testing.T) {
			db := e.open(t)
			s, err := sqlstore.New(db, e.dialect)
			require.NoError(t, err)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			assert.ErrorIs(t, s.Migrate(cctx), context.Canceled)
			v, err := s.Version(ctx)
			require.NoError(t, err)
			assert.Zero(t, v)
		})
	})
}

// migrateChildEnv tells TestMigrateChild, run as a child process, which
// database to migrate: "dialect dsn-or-url [schema]".
const migrateChildEnv = "HERALD_SQLSTORE_MIGRATE_CHILD"

// TestMigrateChild is not a test on its own: TestMigrateProcesses runs the
// test binary with it selected, as a separate process that migrates.
func TestMigrateChild(t *testing.T) {
	spec := os.Getenv(migrateChildEnv)
	if spec == "" {
		t.Skip("run by TestMigrateProcesses")
	}
	q, err := url.ParseQuery(spec)
	require.NoError(t, err)
	var db *sql.DB
	if q.Get("dialect") == string(sqlstore.SQLite) {
		db, err = sql.Open("sqlite", q.Get("dsn"))
		require.NoError(t, err)
	} else {
		cfg, err := pgx.ParseConfig(q.Get("dsn"))
		require.NoError(t, err)
		cfg.RuntimeParams["search_path"] = q.Get("schema")
		db = stdlib.OpenDB(*cfg)
	}
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.Dialect(q.Get("dialect")))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
}

// TestMigrateProcesses runs Migrate from several OS processes at once on
// one fresh database: all succeed and each version is applied once.
func TestMigrateProcesses(t *testing.T) {
	if os.Getenv(migrateChildEnv) != "" {
		t.Skip("in a child")
	}
	forEngines(t, func(t *testing.T, e engine) {
		spec := url.Values{"dialect": {string(e.dialect)}}
		var check *sql.DB
		if e.dialect == sqlstore.SQLite {
			db, path := openSQLite(t)
			spec.Set("dsn", sqliteDSN(path))
			check = db
		} else {
			schema := pgSchema(t)
			spec.Set("dsn", pgURL(t))
			spec.Set("schema", schema)
			check = openPostgres(t, schema)
		}
		const n = 3
		var wg sync.WaitGroup
		outs := make([][]byte, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := testCommand(t, "^TestMigrateChild$")
				cmd.Env = append(os.Environ(), migrateChildEnv+"="+spec.Encode())
				outs[i], errs[i] = cmd.CombinedOutput()
			}()
		}
		wg.Wait()
		for i := range n {
			assert.NoError(t, errs[i], "child %d: %s", i, outs[i])
		}
		assert.Equal(t, sqlstore.SchemaVersion, countMigrations(t, check))
	})
}

// TestClaimDueAcrossStores has several Stores, each on its own handle of
// one database as separate processes would be, claim a backlog at once:
// every message is claimed by exactly one of them.
func TestClaimDueAcrossStores(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		const workers, total = 4, 300
		dbs := e.shared(t, workers)
		stores := make([]*sqlstore.Store, workers)
		for i, db := range dbs {
			var err error
			stores[i], err = sqlstore.New(db, e.dialect)
			require.NoError(t, err)
		}
		require.NoError(t, stores[0].Migrate(ctx))
		base := time.Now().UTC().Truncate(time.Millisecond)
		for i := range total {
			_, _, err := stores[i%workers].CreateMessage(ctx, &herald.Message{
				ID: fmt.Sprint("m", i), IdempotencyKey: fmt.Sprint("k", i), OrgID: fmt.Sprint("org", i%3),
				Channel: herald.ChannelSMS, Status: herald.StatusQueued, SendAt: base.Add(-time.Duration(i%17) * time.Second),
			})
			require.NoError(t, err)
		}
		var mu sync.Mutex
		claimed := map[string][]int{}
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for w, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimDue(ctx, herald.ClaimParams{Owner: fmt.Sprint("w", w), Now: base, LeaseFor: time.Minute, Limit: 7})
					if err != nil {
						errs[w] = err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						claimed[m.ID] = append(claimed[m.ID], w)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for w, err := range errs {
			require.NoError(t, err, "worker %d", w)
		}
		assert.Len(t, claimed, total)
		for id, by := range claimed {
			assert.Len(t, by, 1, "message %s claimed by %v", id, by)
		}
	})
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestWithClockAndPrecision(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		now := time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 3600))
		s := newStore(t, e.open(t), e.dialect, sqlstore.WithClock(fixedClock{now}))
		want := now.UTC().Truncate(time.Microsecond)

		m, created, err := s.CreateMessage(ctx, &herald.Message{ID: "m1", OrgID: "o", IdempotencyKey: "k",
			Channel: herald.ChannelSMS, Status: herald.StatusQueued, TTL: 1500 * time.Millisecond})
		require.NoError(t, err)
		require.True(t, created)
		assert.Equal(t, want, m.CreatedAt, "zero CreatedAt is the clock's now, UTC, to the microsecond")
		assert.Equal(t, want, m.UpdatedAt)
		got, err := s.GetMessage(ctx, "o", "m1")
		require.NoError(t, err)
		assert.Equal(t, m, got, "what CreateMessage returns is what is stored")
		assert.Equal(t, 1500*time.Millisecond, got.TTL)

		up, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: "o", ID: "m1", Status: herald.StatusSending})
		require.NoError(t, err)
		assert.Equal(t, want, up.UpdatedAt, "zero event At is the clock's now")

		due, err := s.ClaimDue(ctx, herald.ClaimParams{Owner: "w", LeaseFor: time.Minute})
		require.NoError(t, err)
		assert.Empty(t, due, "sending without a lease is not due")
		c, err := s.ClaimMessage(ctx, "o", "m1", herald.ClaimParams{Owner: "w", LeaseFor: time.Minute})
		require.NoError(t, err)
		assert.Equal(t, want.Add(time.Minute), c.LeaseUntil, "zero Now is the clock's now")

		ct, err := s.PutContact(ctx, &herald.Contact{OrgID: "o", ID: "c"})
		require.NoError(t, err)
		assert.Equal(t, want, ct.CreatedAt)
	})
}

func TestInvalidInput(t *testing.T) {
	db, _ := openSQLite(t)
	s := newStore(t, db, sqlstore.SQLite)
	ctx := t.Context()
	_, _, err := s.CreateMessage(ctx, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, _, err = s.CreateMessage(ctx, &herald.Message{ID: "m", OrgID: "o", IdempotencyKey: "k",
		Channel: "Not A Channel", Status: herald.StatusQueued})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "invalid channel")
	_, err = s.UpdateMessage(ctx, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = s.ClaimDue(ctx, herald.ClaimParams{LeaseFor: time.Minute})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "no owner")
	_, err = s.ClaimDue(ctx, herald.ClaimParams{Owner: "w"})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "no lease duration")
	_, err = s.AllocateNumbers(ctx, herald.AllocateParams{OrgID: "o", Count: 0, AllocatedTo: herald.AllocationCampaign})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	err = s.PutState(ctx, herald.StateKey{OrgID: "o"}, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
}

// A campaign's contact list larger than one statement's batch is replaced
// whole, and read back across ListContacts' pages.
func TestReplaceCampaignContactsLarge(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		ctx := t.Context()
		s := newStore(t, e.open(t), e.dialect)
		const n = 1234
		cs := make([]*herald.Contact, n)
		for i := range cs {
			cs[i] = &herald.Contact{OrgID: "o", CampaignID: "c", ID: fmt.Sprintf("ct%05d", i),
				Phone: fmt.Sprintf("+1555%07d", i), Email: fmt.Sprintf("p%d@example.com", i)}
		}
		require.NoError(t, s.ReplaceCampaignContacts(ctx, "o", "c", cs))
		i := 0
		for c, err := range s.ListContacts(ctx, "o", "c") {
			require.NoError(t, err)
			require.Equal(t, cs[i].ID, c.ID)
			i++
		}
		assert.Equal(t, n, i)
		found, err := s.FindContactByAddress(ctx, "o", "p1000@example.com")
		require.NoError(t, err)
		assert.Equal(t, "ct01000", found.ID)

		require.NoError(t, s.ReplaceCampaignContacts(ctx, "o", "c", cs[:10]))
		_, err = s.FindContactByAddress(ctx, "o", "p1000@example.com")
		assert.ErrorIs(t, err, herald.ErrNotFound, "addresses of dropped contacts go with them")
	})
}

// testCommand runs this test binary with only the tests matching pattern.
func testCommand(t testing.TB, pattern string) *exec.Cmd {
	t.Helper()
	return exec.Command(os.Args[0], "-test.run="+pattern, "-test.count=1")
}
