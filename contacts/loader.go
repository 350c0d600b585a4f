package contacts

import (
	"context"
	"iter"
	"strings"

	"github.com/heraldmsg/herald"
)

// Loader reads contacts from somewhere: a CSV file, a database query, a
// CRM. A campaign load (the dispatcher's LoadContacts) consumes the stream
// Load returns, normalises and deduplicates phone numbers, and stores the
// result, so a loader does no validation beyond what its format needs.
//
// Contract for Load:
//   - contacts are yielded one at a time, so a loader holds at most a row in
//     memory (whatever the number of rows); each contact (and its
//     CustomFields map) is new, and the consumer may keep or change it
//     without copying;
//   - a contact's Phone is the raw value read (not yet E.164), empty when the
//     row has none: the consumer counts it as missing or invalid;
//   - an error is fatal (unreadable input, a missing required column, a
//     failed query): the loader yields it once and stops, and the consumer
//     must abandon the load so the previous contacts stay in place;
//   - ctx is honoured between rows;
//   - the consumer may stop early (break), and the loader then releases what
//     it holds.
type Loader interface {
	// Metadata names the loader and describes this load.
	Metadata() LoaderMetadata
	// Load streams the contacts. Calling it again starts a new pass when
	// the loader's input can be re-read (a query), or yields an error when
	// it cannot (a reader already consumed).
	Load(ctx context.Context) iter.Seq2[*herald.Contact, error]
}

// LoaderMetadata describes a loader, for stats (herald.LoadStats LoaderName
// and LoaderDetail) and for a host's screens.
type LoaderMetadata struct {
	// Name is a short key: "csv", "sql".
	Name        string
	DisplayName string
	// Detail says what this load reads (a file name, a query summary);
	// never credentials.
	Detail string
	// Fresh says Load yields a new Contact for every row and keeps no
	// reference to it, so a consumer may keep and modify what it gets
	// without a copy.
	Fresh bool
}

// Progress is a report on a load in flight.
type Progress struct {
	// Rows is the number of rows read so far.
	Rows int
	// Done is true for the last report.
	Done bool
}

// ProgressFunc receives progress reports. It is called from the goroutine
// that consumes the load and must return quickly.
type ProgressFunc func(Progress)

// WithProgress wraps a contact stream so that fn is called every `every`
// rows (zero means 10,000) and once more with Done when the stream ends,
// stops with an error or is abandoned by its consumer.
func WithProgress(seq iter.Seq2[*herald.Contact, error], every int, fn ProgressFunc) iter.Seq2[*herald.Contact, error] {
	if fn == nil {
		return seq
	}
	if every <= 0 {
		every = 10000
	}
	return func(yield func(*herald.Contact, error) bool) {
		rows := 0
		defer func() { fn(Progress{Rows: rows, Done: true}) }()
		for c, err := range seq {
			if err == nil {
				rows++
				if rows%every == 0 {
					fn(Progress{Rows: rows})
				}
			}
			if !yield(c, err) {
				return
			}
		}
	}
}

// NormalizeZip returns a US ZIP code's five digits ("02139-4307" gives
// "02139") and any other postal code trimmed, with inner runs of white
// space reduced to one space and letters upper-cased ("sw1a  1aa" gives
// "SW1A 1AA").
func NormalizeZip(raw string) string {
	s := strings.TrimSpace(raw)
	if len(s) >= 5 && allDigits(s[:5]) {
		rest := s[5:]
		if rest == "" || (len(rest) == 5 && (rest[0] == '-' || rest[0] == ' ') && allDigits(rest[1:])) {
			return s[:5]
		}
	}
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// errYield yields a single error: the stream of a loader that cannot start.
func errYield(err error) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) { yield(nil, err) }
}
