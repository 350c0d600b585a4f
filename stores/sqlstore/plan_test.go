package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/sqlstore"
	"github.com/heraldmsg/herald/stores/storetest"
)

// TestEveryLookupUsesAnIndex records every statement the store runs while
// the conformance suite exercises it on SQLite, then asks SQLite for each
// statement's plan: none may scan a herald table whole, except the partial
// indexes of unfinished work. (A table scan is invisible at test sizes and
// ruinous at production ones.)
func TestEveryLookupUsesAnIndex(t *testing.T) {
	rec := registerRecorder(t)
	open := func(t *testing.T) (*sql.DB, *sqlstore.Store) {
		db, err := sql.Open(rec.name, sqliteDSN(filepath.Join(t.TempDir(), "plan.db")))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(db, sqlstore.SQLite)
		require.NoError(t, err)
		require.NoError(t, s.Migrate(t.Context()))
		return db, s
	}
	db, _ := open(t)

	// The suite, each subtest on a fresh database, is the workload.
	rec.on.Store(true)
	t.Run("Workload", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) herald.Store { _, s := open(t); return s })
	})
	rec.on.Store(false)

	rec.mu.Lock()
	stmts := rec.stmts
	rec.mu.Unlock()
	require.NotEmpty(t, stmts)
	checked := 0
	for query, args := range stmts {
		upper := strings.ToUpper(strings.TrimSpace(query))
		if !strings.Contains(upper, "HERALD_") || strings.Contains(upper, "HERALD_SCHEMA_MIGRATIONS") ||
			strings.HasPrefix(upper, "CREATE") || strings.HasPrefix(upper, "BEGIN") {
			continue
		}
		if strings.HasPrefix(upper, "INSERT") && !strings.Contains(upper, "SELECT") {
			continue // plain inserts read nothing
		}
		rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
		require.NoError(t, err, query)
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Close())
		checked++
		for _, step := range plan {
			// Walking a partial index of unfinished work is the point of
			// those indexes; any other scan of a herald table is not.
			partial := strings.Contains(step, "USING INDEX herald_messages_due") ||
				strings.Contains(step, "USING INDEX herald_messages_sending")
			if strings.HasPrefix(step, "SCAN herald_") && !partial {
				assert.Fail(t, "a statement scans a table", "%s\nplan: %s", query, strings.Join(plan, " | "))
			}
		}
	}
	t.Logf("%d distinct statements checked", checked)
	assert.Greater(t, checked, 30)
}

// recorder is a database/sql driver wrapping SQLite's that records each
// distinct statement text with the arguments of its first run.
type recorder struct {
	name  string
	inner driver.Driver
	on    atomic.Bool
	mu    sync.Mutex
	stmts map[string][]any
}

var recorders sync.Map

func registerRecorder(t *testing.T) *recorder {
	probe, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer probe.Close()
	r := &recorder{name: fmt.Sprintf("sqlite-recorder-%p", t), inner: probe.Driver(), stmts: map[string][]any{}}
	if _, loaded := recorders.LoadOrStore(r.name, r); !loaded {
		sql.Register(r.name, r)
	}
	return r
}

func (r *recorder) record(query string, args []driver.NamedValue) {
	if !r.on.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.stmts[query]; ok {
		return
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	r.stmts[query] = vals
}

func (r *recorder) Open(name string) (driver.Conn, error) {
	c, err := r.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &recConn{Conn: c, r: r}, nil
}

type recConn struct {
	driver.Conn
	r *recorder
}

func (c *recConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *recConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.r.record(query, args)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *recConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.r.record(query, args)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}
