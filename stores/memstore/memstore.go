// Package memstore is herald's in-memory [herald.Store]: the embedded default
// for one process, for development and for tests.
//
// Everything lives in maps guarded by three sync.RWMutexes (messages and
// work; contacts, opt-outs, campaigns, organizations and numbers; manager
// and webhook state), with an index for
// every lookup the interface offers (idempotency key per organization,
// vendor message ID per organization and vendor, latest message per address,
// contact addresses, opt-out scopes, numbers) and two heaps of due work, so
// the dispatcher's hot path (create, claim, update) does no scanning. Values
// are copied on the way in and on the way out with the root package's Clone
// methods: a caller never shares memory with stored state (CreateMessage
// may hand back the caller's own message, which the store has copied).
//
// Nothing is persisted: a process that restarts starts empty. Messages and
// their events accumulate for the life of the Store; seen webhook events
// and parked reports go when PruneWebhookState says (the dispatcher's Run
// calls it every hour).
//
// Timestamps: wherever a record's CreatedAt, UpdatedAt, At or AllocatedAt is
// zero on the way in, the store sets it to the clock's now ([WithClock]);
// non-zero values are kept as given. On replacement (PutContact,
// PutCampaign, UpdateCampaign, PutOrganization) the first CreatedAt is kept.
//
// Hand memstore.New() to anything that takes a herald.Store (the
// dispatcher's configuration, a test). memstore_test.go runs the
// stores/storetest conformance suite on it.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmsg/herald"
)

var _ herald.Store = (*Store)(nil)

// Store is an in-memory herald.Store. The zero value is not usable; call New.
// A Store is safe for concurrent use.
type Store struct {
	clock herald.Clock

	// Three locks, so that the send path's reads (organization, opt-out,
	// parked reports) do not queue behind message writes: mu guards the
	// messages and the work heaps, dataMu contacts, opt-outs, campaigns,
	// organizations and numbers, stateMu manager state and webhook state.
	mu      sync.RWMutex
	dataMu  sync.RWMutex
	stateMu sync.RWMutex
	seq     atomic.Uint64 // insertion counter, breaks timestamp ties

	// messages
	msgs        map[string]*msgRec    // by message ID (unique in the store)
	msgByKey    map[orgKey]*msgRec    // (org, idempotency key)
	msgByVendor map[vendorKey]*msgRec // (org, vendor, vendor message ID)
	latestTo    map[orgKey]*msgRec    // (org, To): most recently created
	orgMsgs     map[string][]*msgRec  // org → messages in insertion order
	pending     pendingHeap           // unleased queued/scheduled, by SendAt
	leased      leasedHeap            // leased pending/sending, by due time
	scratch     []*msgRec             // ClaimDue's reusable buffer

	// contacts
	contacts     map[string]map[string]*contactRec // org → ID → contact
	campContacts map[orgKey]map[string]struct{}    // (org, campaign) → IDs
	contactAddr  map[orgKey]map[string]struct{}    // (org, address) → IDs

	optOuts   map[string]map[optKey]*herald.OptOut // org → scope → opt-out
	campaigns map[orgKey]*herald.Campaign
	orgs      map[string]*herald.Organization
	numbers   map[string]map[numKey]*herald.OwnedNumber // org → numbers
	state     map[herald.StateKey][]byte
	seen      map[eventKey]time.Time // when each event was marked
	reports   map[vendorKey][]*herald.DeliveryReport
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

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{
		clock:        herald.SystemClock{},
		msgs:         make(map[string]*msgRec),
		msgByKey:     make(map[orgKey]*msgRec),
		msgByVendor:  make(map[vendorKey]*msgRec),
		latestTo:     make(map[orgKey]*msgRec),
		orgMsgs:      make(map[string][]*msgRec),
		contacts:     make(map[string]map[string]*contactRec),
		campContacts: make(map[orgKey]map[string]struct{}),
		contactAddr:  make(map[orgKey]map[string]struct{}),
		optOuts:      make(map[string]map[optKey]*herald.OptOut),
		campaigns:    make(map[orgKey]*herald.Campaign),
		orgs:         make(map[string]*herald.Organization),
		numbers:      make(map[string]map[numKey]*herald.OwnedNumber),
		state:        make(map[herald.StateKey][]byte),
		seen:         make(map[eventKey]time.Time),
		reports:      make(map[vendorKey][]*herald.DeliveryReport),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Map keys. Struct keys, so that no lookup builds a string.
type (
	orgKey    struct{ org, k string }
	vendorKey struct {
		org, vendor, id string
	}
	optKey struct {
		scope   herald.Channel
		address string
	}
	numKey   struct{ vendor, number string }
	eventKey struct{ org, vendor, id string }
)

func (s *Store) nextSeq() uint64 {
	return s.seq.Add(1)
}

// Error helpers. Messages never include addresses (phone numbers, emails):
// errors end up in logs.

func invalid(what string) error {
	return fmt.Errorf("memstore: %s: %w", what, herald.ErrInvalidInput)
}

func notFound(kind, id string) error { return &notFoundError{kind: kind, id: id} }

// notFoundError formats lazily: lookups that miss are common on the send
// path (no opt-out, no stored organization) and must stay cheap.
type notFoundError struct{ kind, id string }

func (e *notFoundError) Error() string {
	if e.id == "" {
		return "memstore: " + e.kind + ": " + herald.ErrNotFound.Error()
	}
	return "memstore: " + e.kind + " " + strconv.Quote(e.id) + ": " + herald.ErrNotFound.Error()
}

func (e *notFoundError) Unwrap() error { return herald.ErrNotFound }

var errNilContext = errors.New("memstore: nil context")

// ctxErr reports a cancelled or expired context.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return errNilContext
	}
	return ctx.Err()
}

// Reset empties the store, as New would, but keeps the memory its maps
// and lists hold, so that a test or benchmark reusing one store does not
// pay for growing them again.
func (s *Store) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	clear(s.msgs)
	clear(s.msgByKey)
	clear(s.msgByVendor)
	clear(s.latestTo)
	for org, rs := range s.orgMsgs {
		clear(rs)
		s.orgMsgs[org] = rs[:0]
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	clear(s.leased)
	s.leased = s.leased[:0]
	clear(s.scratch)
	s.scratch = s.scratch[:0]
	clear(s.contacts)
	clear(s.campContacts)
	clear(s.contactAddr)
	clear(s.optOuts)
	clear(s.campaigns)
	clear(s.orgs)
	clear(s.numbers)
	clear(s.state)
	clear(s.seen)
	clear(s.reports)
}
