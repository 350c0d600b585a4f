// Package sqlstore is a [herald.Store] on database/sql, for SQLite (one
// process, durable) and PostgreSQL (many dispatcher processes sharing one
// database).
//
// The package imports no driver. The host opens a *sql.DB with the driver
// of its choice and names the dialect:
//
//	db, _ := sql.Open("sqlite", "file:herald.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
//	st, _ := sqlstore.New(db, sqlstore.SQLite)
//	err := st.Migrate(ctx) // creates or upgrades the schema; safe to repeat
//
// (modernc.org/sqlite registers "sqlite"; for PostgreSQL, pgx's
// database/sql driver github.com/jackc/pgx/v5/stdlib registers "pgx".)
//
// # Schema and migrations
//
// The schema ships inside the package as versioned SQL files, one set per
// dialect, and is applied only when the host calls [Store.Migrate]. Applied
// versions are recorded in herald_schema_migrations. Migrate is idempotent
// and safe to run from several processes at once: on PostgreSQL it holds a
// transaction-scoped advisory lock (keyed by the current schema) while it
// reads and applies versions, on SQLite a write transaction (BEGIN
// IMMEDIATE). Each version is applied in one transaction with its record,
// so a failed migration leaves the previous version intact. Every table is
// prefixed herald_, so the schema may live beside the host's tables.
//
// Timestamps are stored as microseconds since the Unix epoch, UTC (0 is the
// zero time), so values read back are in UTC and truncated to the
// microsecond. Maps, slices, devices and lookups are JSON text columns.
//
// # Concurrency
//
// Every rule of the herald.Store contract holds across processes sharing
// one database, not only across goroutines:
//
//   - CreateMessage inserts with ON CONFLICT DO NOTHING against a unique
//     index on (org, idempotency key) and another on the message ID, then
//     reads the existing row: exactly one concurrent create wins.
//   - UpdateMessage is a conditional UPDATE ... WHERE status IN
//     (herald.StatusesBefore(to)) plus the ExpectStatus and
//     ExpectLeaseOwner conditions, with the status event appended in the
//     same transaction (on PostgreSQL, in the same statement). When it
//     matches no row, the row is read (locked, on PostgreSQL) to tell a
//     conflict from a stale change, which appends its Applied=false event.
//   - ClaimDue on PostgreSQL picks rows with FOR UPDATE SKIP LOCKED, so
//     concurrent claimers skip each other's rows instead of waiting, and
//     leases them in the same statement. On SQLite, which has one writer
//     at a time, it is one UPDATE ... WHERE seq IN (SELECT ... LIMIT n)
//     RETURNING inside a BEGIN IMMEDIATE transaction.
//   - AllocateNumbers, ReplaceCampaignContacts, PutDevice and the like run
//     in one transaction; CompareAndSwapState and UpdateCampaign are
//     conditional statements.
//
// On SQLite, the Store lets one of its own writes run at a time (reads run
// in parallel, which WAL mode allows), so that writers in one process queue
// in Go rather than in SQLite's busy handler. Other processes writing the
// same file are handled by SQLite's locking: the host must set a
// busy_timeout on its connections (the DSN above does), and should use WAL.
//
// Every method honours its context; a method whose context is canceled
// fails with an error wrapping the context's error and writes nothing.
//
// # Retention
//
// Nothing expires on its own: messages, their events (herald_message_events)
// and seen webhook events (herald_seen_events, with the time each was seen
// in its at column) accumulate until the host deletes old rows, which it
// may do with plain SQL at any time. Pending reports are removed when taken.
//
// stores/storetest's conformance suite runs against both dialects in this
// package's tests (PostgreSQL when HERALD_TEST_POSTGRES names a database).
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
)

var _ herald.Store = (*Store)(nil)

// Dialect names the SQL database behind a Store.
type Dialect string

// The dialects sqlstore speaks.
const (
	// SQLite is SQLite 3.35 or later (RETURNING, partial indexes, STRICT
	// tables), e.g. through modernc.org/sqlite.
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL 12 or later, e.g. through
	// github.com/jackc/pgx/v5/stdlib.
	Postgres Dialect = "postgres"
)

// Store is a herald.Store on a *sql.DB. Create it with New and call
// Migrate once before use. A Store is safe for concurrent use, and any
// number of Stores (in any number of processes) may share one database.
type Store struct {
	db    *sql.DB
	d     Dialect
	pg    bool
	clock herald.Clock
	// wsem admits one write transaction at a time (SQLite only).
	wsem chan struct{}
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that supplies "now" for zero timestamps and for
// claims whose ClaimParams.Now is zero. The default is herald.SystemClock.
func WithClock(c herald.Clock) Option {
	return func(s *Store) {
		if c != nil {
			s.clock = c
		}
	}
}

// New returns a Store on db, which speaks dialect d. It does not touch the
// database: call Migrate to create or upgrade the schema. The Store does
// not own db; closing it is the host's business.
func New(db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("sqlstore: nil *sql.DB: %w", herald.ErrInvalidInput)
	}
	s := &Store{db: db, d: d, clock: herald.SystemClock{}}
	switch d {
	case SQLite:
		s.wsem = make(chan struct{}, 1)
	case Postgres:
		s.pg = true
	default:
		return nil, fmt.Errorf("sqlstore: unknown dialect %q: %w", string(d), herald.ErrInvalidInput)
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Dialect returns the dialect the Store was created with.
func (s *Store) Dialect() Dialect { return s.d }

// now is the store clock's time.
func (s *Store) now() time.Time { return s.clock.Now() }

// querier is what statements run on: *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in a write transaction and commits when fn returns nil.
//
// SQLite: the store's write slot is taken (one writer per Store), then a
// connection of the pool runs BEGIN IMMEDIATE, which takes the database's
// write lock before anything is read, so a transaction never has to
// upgrade a read lock (which SQLite cannot wait for). PostgreSQL: a READ
// COMMITTED transaction; statements lock what they change.
func (s *Store) write(ctx context.Context, fn func(q querier) error) error {
	if s.pg {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return s.dbErr(ctx, "begin", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return s.dbErr(ctx, "commit", err)
		}
		return nil
	}

	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wsem }()
	conn, err := s.beginImmediate(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := fn(conn); err != nil {
		rollback(ctx, conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(ctx, conn)
		return s.dbErr(ctx, "commit", err)
	}
	return nil
}

// busyRetryFor bounds how long beginImmediate retries a busy database
// beyond the connection's own busy_timeout.
const busyRetryFor = 10 * time.Second

// beginImmediate takes a connection and starts a write transaction on it.
// SQLite can answer SQLITE_BUSY there without waiting out busy_timeout
// (opening a connection whose DSN switches a fresh file to WAL while
// another process does the same, or a missing busy_timeout); as nothing
// has run yet, that is retried with backoff for up to busyRetryFor.
func (s *Store) beginImmediate(ctx context.Context) (*sql.Conn, error) {
	deadline := time.Now().Add(busyRetryFor)
	wait := time.Millisecond
	for {
		conn, err := s.db.Conn(ctx)
		if err == nil {
			_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
			if err == nil {
				return conn, nil
			}
			conn.Close()
		}
		if !isBusy(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return nil, s.dbErr(ctx, "begin", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY ("database is
// locked"), whatever the driver; the package imports none to ask.
func isBusy(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// rollback ends the transaction open on conn, even when ctx is done. A
// connection that cannot roll back is discarded rather than returned to
// the pool with a transaction open.
func rollback(ctx context.Context, conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// Query text. Statements are written with ? placeholders; for PostgreSQL
// they are rewritten to $1, $2, ... once and cached.

var pgQueries sync.Map // string -> string

// q returns query in the store's placeholder style.
func (s *Store) q(query string) string {
	if !s.pg {
		return query
	}
	if v, ok := pgQueries.Load(query); ok {
		return v.(string)
	}
	v := rebind(query)
	pgQueries.Store(query, v)
	return v
}

// rebind replaces each ? with $1, $2, ... (the queries hold no ? in
// literals).
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// builder assembles a statement with a variable shape (optional filters,
// IN lists, multi-row VALUES) in the store's placeholder style.
type builder struct {
	pg   bool
	sb   strings.Builder
	args []any
}

func (s *Store) newBuilder() *builder { return &builder{pg: s.pg} }

// sql appends text.
func (b *builder) sql(text string) *builder {
	b.sb.WriteString(text)
	return b
}

// arg appends a placeholder for v.
func (b *builder) arg(v any) *builder {
	b.args = append(b.args, v)
	if b.pg {
		b.sb.WriteByte('$')
		b.sb.WriteString(strconv.Itoa(len(b.args)))
	} else {
		b.sb.WriteByte('?')
	}
	return b
}

// in appends "(p1, p2, ...)" for vals, which must not be empty.
func in[T any](b *builder, vals []T) *builder {
	b.sb.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.sb.WriteString(", ")
		}
		b.arg(v)
	}
	b.sb.WriteByte(')')
	return b
}

func (b *builder) String() string { return b.sb.String() }

// Errors. Messages never include addresses: errors end up in logs.

func invalid(what string) error {
	return fmt.Errorf("sqlstore: %s: %w", what, herald.ErrInvalidInput)
}

func notFound(kind, id string) error {
	if id == "" {
		return fmt.Errorf("sqlstore: %s: %w", kind, herald.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s %q: %w", kind, id, herald.ErrNotFound)
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("sqlstore: "+format+": %w", append(args, herald.ErrConflict)...)
}

var errNilContext = errors.New("sqlstore: nil context")

// ctxErr reports a canceled or expired context.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return errNilContext
	}
	return ctx.Err()
}

// dbErr wraps a database error. When ctx is done, the error wraps ctx's
// error too, whatever the driver made of the cancellation.
func (s *Store) dbErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// Timestamps: microseconds since the Unix epoch, UTC; 0 is the zero time.

func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromTS(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// stored returns t as it reads back from the database.
func stored(t time.Time) time.Time { return fromTS(ts(t)) }

// JSON columns: NULL when empty.

func jsonMap(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return string(b)
}

func jsonSlice(v []string) any {
	if len(v) == 0 {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseJSON[T any](ns sql.NullString, dst *T) error {
	if !ns.Valid || ns.String == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(ns.String), dst); err != nil {
		return fmt.Errorf("sqlstore: decoding a JSON column: %w", err)
	}
	return nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// affected returns how many rows res changed.
func affected(res sql.Result) (int64, error) {
	return res.RowsAffected()
}

// chunks splits n items into [lo, hi) ranges of at most size.
func chunks(n, size int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

func marshalJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encoding a JSON column: %w", err)
	}
	return string(b), nil
}
