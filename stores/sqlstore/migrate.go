package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFiles embed.FS

// migration is one schema version: migrations/<dialect>/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func migrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("sqlstore: badly named migration %q", name)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading migration %q: %w", name, err)
		}
		out = append(out, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migrations are not numbered 1, 2, 3...: %q", m.name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this package's migrations produce:
// what Migrate brings a database to.
const SchemaVersion = 2

// Migrate brings the database's herald schema to SchemaVersion, applying
// the shipped migrations it lacks in order, each in one transaction
// together with its row in herald_schema_migrations. A database that is
// already current is left alone, so Migrate may run at every start;
// concurrent Migrates, in this process or others, serialize on a lock (a
// PostgreSQL advisory lock keyed by the current schema, SQLite's write
// lock) and all succeed. A database whose schema is newer than this
// package knows is an error: an old binary must not write to it.
func (s *Store) Migrate(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	ms, err := migrations(s.d)
	if err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		if s.pg {
			// Held until the transaction ends. Keyed by schema, so that
			// herald instances in separate schemas migrate independently.
			if _, err := q.ExecContext(ctx,
				`SELECT pg_advisory_xact_lock(1212500172, hashtext(current_schema()))`); err != nil {
				return s.dbErr(ctx, "migration lock", err)
			}
		}
		if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS herald_schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at BIGINT  NOT NULL
)`); err != nil {
			return s.dbErr(ctx, "creating herald_schema_migrations", err)
		}
		cur, err := currentVersion(ctx, s, q)
		if err != nil {
			return err
		}
		if cur > len(ms) {
			return fmt.Errorf("sqlstore: the database's schema is version %d, newer than this package's %d", cur, len(ms))
		}
		for _, m := range ms[cur:] {
			if err := s.applyMigration(ctx, q, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyMigration runs one migration's statements and records it. On
// PostgreSQL the whole file runs as one simple-protocol Exec; on SQLite,
// statement by statement.
func (s *Store) applyMigration(ctx context.Context, q querier, m migration) error {
	stmts := []string{m.sql}
	if !s.pg {
		stmts = splitStatements(m.sql)
	}
	for _, st := range stmts {
		if _, err := q.ExecContext(ctx, st); err != nil {
			return s.dbErr(ctx, "migration "+m.name, err)
		}
	}
	if _, err := q.ExecContext(ctx, s.q(`INSERT INTO herald_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, ts(s.now())); err != nil {
		return s.dbErr(ctx, "recording migration "+m.name, err)
	}
	return nil
}

// currentVersion returns the highest applied version, 0 for none.
func currentVersion(ctx context.Context, s *Store, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM herald_schema_migrations`).Scan(&v); err != nil {
		return 0, s.dbErr(ctx, "reading the schema version", err)
	}
	return v, nil
}

// Version returns the schema version recorded in the database: 0 before
// the first Migrate, SchemaVersion after it.
func (s *Store) Version(ctx context.Context) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	var exists int
	var err error
	if s.pg {
		err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_catalog.pg_tables
			WHERE schemaname = current_schema() AND tablename = 'herald_schema_migrations'`).Scan(&exists)
	} else {
		err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master
			WHERE type = 'table' AND name = 'herald_schema_migrations'`).Scan(&exists)
	}
	if err != nil {
		return 0, s.dbErr(ctx, "looking for herald_schema_migrations", err)
	}
	if exists == 0 {
		return 0, nil
	}
	return currentVersion(ctx, s, s.db)
}

// splitStatements splits a migration file into statements at semicolons
// that end a line, dropping comment-only lines. The migrations hold no
// semicolons inside literals or bodies.
func splitStatements(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
