package contacts

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"

	"github.com/heraldmsg/herald"
)

// CSVOptions tunes a CSV loader. The zero value reads Spoke's contact
// files: comma-separated, a header row, first name, last name and cell
// required, DefaultAliases.
type CSVOptions struct {
	// Comma is the field delimiter; zero means ','.
	Comma rune
	// Aliases maps top-level fields to accepted headers; nil means
	// DefaultAliases. A field without an entry can only be a custom field.
	Aliases map[Field][]string
	// Required lists the columns the header must have; nil means
	// DefaultRequired. Use an empty non-nil slice to require none.
	Required []Field
	// Detail describes the file in the load's stats (a file name, never a
	// machine path or a URL with credentials).
	Detail string
}

// CSVLoader reads contacts from a CSV file with a header row.
//
// The header decides what each column is: a column whose header is an
// alias of a top-level field (see DefaultAliases) fills it, every other
// column with a non-empty header becomes a custom field under its header
// as written (trimmed); a missing required column is a *MissingColumnsError
// naming each one. A UTF-8 byte order mark, CRLF line ends, quoted fields
// (with commas, quotes and line breaks inside) and blank lines are accepted;
// a row with fewer fields than the header has empty values for the rest,
// and extra fields are ignored. Malformed quoting is a fatal error that
// names the line.
//
// Rows are streamed: memory does not grow with the number of rows.
type CSVLoader struct {
	r    io.Reader
	opts CSVOptions
	mu   sync.Mutex
	used bool
}

// NewCSVLoader returns a loader reading r once.
func NewCSVLoader(r io.Reader, opts CSVOptions) *CSVLoader {
	return &CSVLoader{r: r, opts: opts}
}

// Metadata returns name "csv", the options' Detail and Fresh.
func (l *CSVLoader) Metadata() LoaderMetadata {
	return LoaderMetadata{Name: "csv", DisplayName: "CSV file", Detail: l.opts.Detail, Fresh: true}
}

// ErrConsumed is yielded by a second Load of a loader whose input cannot be
// read twice.
var ErrConsumed = errors.New("contacts: loader input already read")

// Load streams the file's contacts. The reader is read once: a second Load
// yields ErrConsumed.
func (l *CSVLoader) Load(ctx context.Context) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) {
		l.mu.Lock()
		used := l.used
		l.used = true
		l.mu.Unlock()
		if used {
			yield(nil, ErrConsumed)
			return
		}
		for c, err := range ReadCSV(ctx, l.r, l.opts) {
			if !yield(c, err) {
				return
			}
		}
	}
}

// ReadCSV streams the contacts of a CSV file as CSVLoader describes. Each
// contact is new and not kept (dispatch.LoadOptions.Fresh may be set).
func ReadCSV(ctx context.Context, r io.Reader, opts CSVOptions) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) {
		cr := csv.NewReader(r)
		if opts.Comma != 0 {
			cr.Comma = opts.Comma
		}
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		required := opts.Required
		if required == nil {
			required = DefaultRequired
		}
		header, err := cr.Read()
		if errors.Is(err, io.EOF) {
			yield(nil, fmt.Errorf("contacts: CSV file is empty; it needs a header row: %w", herald.ErrInvalidInput))
			return
		}
		if err != nil {
			yield(nil, csvError(err))
			return
		}
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
		cols, err := mapColumns(header, opts.Aliases, required)
		if err != nil {
			yield(nil, err)
			return
		}
		for n := 0; ; n++ {
			if n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
			}
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, csvError(err))
				return
			}
			if !yield(cols.contact(rec), nil) {
				return
			}
		}
	}
}

// csvError words an encoding/csv error without repeating the file's
// content.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("contacts: CSV line %d, column %d: %w: %w", pe.Line, pe.Column, pe.Err, herald.ErrInvalidInput)
	}
	return fmt.Errorf("contacts: reading CSV: %w", err)
}
