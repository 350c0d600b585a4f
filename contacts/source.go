package contacts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldmsg/herald"
)

// Source is a remote contact system (a CRM, an Airtable base) that owns
// contacts and their owners, as Frontline's CRM callbacks read it.
//
// Contacts from a Source use ID for the source's record ID, Owner for the
// worker who owns the conversation, UpdatedAt for the record's last
// modification time on the source's clock, and Phone (E.164) or Email for
// the address inbound messages are matched on. Errors for a missing record
// wrap herald.ErrNotFound; a refusal because of the source's rate limit is
// a *RateLimitedError.
type Source interface {
	// List returns one page of contacts matching p and the cursor of the
	// next page ("" after the last).
	List(ctx context.Context, p ListParams) (page []*herald.Contact, next string, err error)
	// Get returns one contact by record ID.
	Get(ctx context.Context, id string) (*herald.Contact, error)
	// FindByAddress returns the contact whose phone or email equals address
	// exactly (address is E.164 or a normalised email address).
	FindByAddress(ctx context.Context, address string) (*herald.Contact, error)
}

// ListParams selects contacts from a Source.
type ListParams struct {
	// Owner keeps only that owner's contacts; "" lists everyone's.
	Owner string
	// ModifiedSince keeps only contacts created or modified at or after
	// it; zero lists all.
	ModifiedSince time.Time
	// Cursor is a page cursor from a previous List with the same params;
	// "" is the first page.
	Cursor string
	// PageSize is a hint; zero means the source's default.
	PageSize int
}

// SourceWriter is a Source that can change contacts. Create returns the
// stored contact with its new ID; Update replaces the fields a source keeps
// for c.ID; Delete removes the record.
type SourceWriter interface {
	Create(ctx context.Context, c *herald.Contact) (*herald.Contact, error)
	Update(ctx context.Context, c *herald.Contact) (*herald.Contact, error)
	Delete(ctx context.Context, id string) error
}

// RateLimitedError is returned by a source that refused a request for its
// rate limit (HTTP 429). RetryAfter is how long the source asks callers to
// wait; zero means unknown.
type RateLimitedError struct {
	RetryAfter time.Duration
	Err        error
}

// Error says how long to wait.
func (e *RateLimitedError) Error() string {
	msg := "contacts: source rate limit exceeded"
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *RateLimitedError) Unwrap() error { return e.Err }

// IsRateLimited reports whether err is (or wraps) a *RateLimitedError and
// returns it.
func IsRateLimited(err error) (*RateLimitedError, bool) {
	var rl *RateLimitedError
	ok := errors.As(err, &rl)
	return rl, ok
}

// ListAll pages through src and returns every contact matching p.
func ListAll(ctx context.Context, src Source, p ListParams) ([]*herald.Contact, error) {
	var out []*herald.Contact
	for {
		page, next, err := src.List(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		if next == p.Cursor {
			return nil, fmt.Errorf("contacts: source returned the same cursor twice: %w", herald.ErrInvalidInput)
		}
		p.Cursor = next
	}
}
