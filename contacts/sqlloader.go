package contacts

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/heraldmsg/herald"
)

// SQLOptions tunes a query loader.
type SQLOptions struct {
	// Aliases maps top-level fields to accepted column names; nil means
	// DefaultAliases (first_name, last_name, cell, zip, external_id, ...).
	Aliases map[Field][]string
	// Required lists the columns the result must have; nil means
	// DefaultRequired (first_name, last_name, cell).
	Required []Field
	// Detail describes the query in the load's stats; never a DSN.
	Detail string
}

// SQLLoader loads contacts from a database/sql query, as Spoke's
// data-warehouse loader does: the result's columns first_name, last_name
// and cell (or an alias, see DefaultAliases) are required, other top-level
// fields are taken when present, and every other column becomes a custom
// field named after the column. NULL reads as empty. Rows are streamed.
//
// The loader imports no driver; the host opens db with the one it uses.
type SQLLoader struct {
	db    *sql.DB
	query string
	args  []any
	opts  SQLOptions
}

// NewSQLLoader returns a loader running query with args on db each time
// Load is called.
func NewSQLLoader(db *sql.DB, opts SQLOptions, query string, args ...any) *SQLLoader {
	return &SQLLoader{db: db, query: query, args: args, opts: opts}
}

// Metadata returns name "sql" and the options' Detail.
func (l *SQLLoader) Metadata() LoaderMetadata {
	return LoaderMetadata{Name: "sql", DisplayName: "Database query", Detail: l.opts.Detail, Fresh: true}
}

// Load runs the query and streams its rows.
func (l *SQLLoader) Load(ctx context.Context) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) {
		rows, err := l.db.QueryContext(ctx, l.query, l.args...)
		if err != nil {
			yield(nil, fmt.Errorf("contacts: contact query: %w", err))
			return
		}
		defer rows.Close()
		names, err := rows.Columns()
		if err != nil {
			yield(nil, fmt.Errorf("contacts: contact query columns: %w", err))
			return
		}
		required := l.opts.Required
		if required == nil {
			required = DefaultRequired
		}
		cols, err := mapColumns(names, l.opts.Aliases, required)
		if err != nil {
			yield(nil, err)
			return
		}
		cells := make([]sql.NullString, len(names))
		dest := make([]any, len(names))
		for i := range cells {
			dest[i] = &cells[i]
		}
		values := make([]string, len(names))
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				yield(nil, fmt.Errorf("contacts: reading contact row: %w", err))
				return
			}
			for i, c := range cells {
				values[i] = c.String
			}
			if !yield(cols.contact(values), nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("contacts: contact query: %w", err))
		}
	}
}
