package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/heraldmsg/herald"
)

// Router picks the owner (worker, texter, agent) for an inbound message
// from a sender who matches no contact, or a contact with no owner. The
// dispatcher's inbound path calls it after exact matching failed.
// Implementations are safe for concurrent use.
type Router interface {
	// Route returns the owner for the message; ErrNoOwner when there is
	// none to pick.
	Route(ctx context.Context, in *herald.InboundMessage) (string, error)
}

// ErrNoOwner is returned by a Router with nobody to route to.
var ErrNoOwner = errors.New("contacts: no owner to route to")

// RouterFunc adapts a function to Router.
type RouterFunc func(ctx context.Context, in *herald.InboundMessage) (string, error)

// Route calls f.
func (f RouterFunc) Route(ctx context.Context, in *herald.InboundMessage) (string, error) {
	return f(ctx, in)
}

// DefaultOwner routes every unknown sender to one owner (Frontline's
// suggested fallback). An empty DefaultOwner routes nowhere (ErrNoOwner).
type DefaultOwner string

// Route returns the owner.
func (o DefaultOwner) Route(context.Context, *herald.InboundMessage) (string, error) {
	if o == "" {
		return "", ErrNoOwner
	}
	return string(o), nil
}

// OwnersFunc lists the owners available for an organization now (those
// signed in, or on shift). The list is read on every call.
type OwnersFunc func(ctx context.Context, orgID string) ([]string, error)

// RoundRobin routes unknown senders to the available owners in turn, per
// organization. Owners are taken in the order OwnersFunc gives them.
type RoundRobin struct {
	owners OwnersFunc
	mu     sync.Mutex
	next   map[string]*atomic.Uint64
}

// NewRoundRobin returns a round-robin router over owners.
func NewRoundRobin(owners OwnersFunc) *RoundRobin {
	return &RoundRobin{owners: owners, next: map[string]*atomic.Uint64{}}
}

// Route returns the next owner of in.OrgID's list.
func (r *RoundRobin) Route(ctx context.Context, in *herald.InboundMessage) (string, error) {
	list, err := r.owners(ctx, in.OrgID)
	if err != nil {
		return "", fmt.Errorf("contacts: listing owners: %w", err)
	}
	if len(list) == 0 {
		return "", ErrNoOwner
	}
	r.mu.Lock()
	ctr, ok := r.next[in.OrgID]
	if !ok {
		ctr = new(atomic.Uint64)
		r.next[in.OrgID] = ctr
	}
	r.mu.Unlock()
	n := ctr.Add(1) - 1
	return list[n%uint64(len(list))], nil
}

// LoadFunc reports how loaded each owner is (open conversations, say);
// owners missing from the map count as zero.
type LoadFunc func(ctx context.Context, orgID string, owners []string) (map[string]int, error)

// LeastLoaded routes unknown senders to the available owner with the
// least load according to LoadFunc. Ties are broken in turn (the tied
// owners are taken round-robin), so a burst of new senders arriving before
// the host's figures change is spread over the tied owners rather than all
// given to the first.
type LeastLoaded struct {
	owners OwnersFunc
	load   LoadFunc
	turn   atomic.Uint64
}

// NewLeastLoaded returns a least-loaded router.
func NewLeastLoaded(owners OwnersFunc, load LoadFunc) *LeastLoaded {
	return &LeastLoaded{owners: owners, load: load}
}

// Route returns the least loaded owner.
func (r *LeastLoaded) Route(ctx context.Context, in *herald.InboundMessage) (string, error) {
	list, err := r.owners(ctx, in.OrgID)
	if err != nil {
		return "", fmt.Errorf("contacts: listing owners: %w", err)
	}
	if len(list) == 0 {
		return "", ErrNoOwner
	}
	loads, err := r.load(ctx, in.OrgID, slices.Clone(list))
	if err != nil {
		return "", fmt.Errorf("contacts: reading owner load: %w", err)
	}
	var tied []string
	best := 0
	for _, o := range list {
		switch l := loads[o]; {
		case len(tied) == 0 || l < best:
			tied, best = append(tied[:0], o), l
		case l == best:
			tied = append(tied, o)
		}
	}
	n := r.turn.Add(1) - 1
	return tied[n%uint64(len(tied))], nil
}
