package memstore

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/heraldmsg/herald"
)

// Due work is kept in two indexed heaps so that ClaimDue looks only at
// messages that are due:
//
//   - pending: queued or scheduled messages without a lease, earliest SendAt
//     (then CreatedAt, then creation order) on top. One is due once its
//     SendAt is reached.
//   - leased: queued, scheduled or sending messages that carry a lease,
//     ordered by the time they become due: the lease's end for a sending
//     message, the later of the lease's end and SendAt for a pending one.
//     Messages whose lease is live stay out of ClaimDue's way.
//
// A sending message without a lease (LeaseUntil zero) is in neither heap:
// nothing says its worker died, so ClaimDue leaves it alone; ClaimMessage
// can still take it.

// reindexWork puts r in the heap its message belongs to, at the right place,
// and takes it out of the other. Call it after any change of Status, SendAt
// or lease.
func (s *Store) reindexWork(r *msgRec) {
	st := r.m.Status
	leased := !r.m.LeaseUntil.IsZero()
	inPending := st.Pending() && !leased
	inLeased := leased && (st.Pending() || st == herald.StatusSending)
	if inPending {
		if r.pendIdx < 0 {
			heap.Push(&s.pending, r)
		} else {
			heap.Fix(&s.pending, r.pendIdx)
		}
	} else if r.pendIdx >= 0 {
		heap.Remove(&s.pending, r.pendIdx)
	}
	if inLeased {
		if r.leaseIdx < 0 {
			heap.Push(&s.leased, r)
		} else {
			heap.Fix(&s.leased, r.leaseIdx)
		}
	} else if r.leaseIdx >= 0 {
		heap.Remove(&s.leased, r.leaseIdx)
	}
}

// byDue orders messages for ClaimDue: SendAt, CreatedAt, creation order.
func byDue(a, b *msgRec) int {
	if c := a.m.SendAt.Compare(b.m.SendAt); c != 0 {
		return c
	}
	return byCreated(a, b)
}

// dueAt is when a message in the leased heap becomes due.
func (r *msgRec) dueAt() time.Time {
	if r.m.Status.Pending() && r.m.SendAt.After(r.m.LeaseUntil) {
		return r.m.SendAt
	}
	return r.m.LeaseUntil
}

type pendingHeap []*msgRec

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return byDue(h[i], h[j]) < 0 }
func (h pendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pendIdx = i
	h[j].pendIdx = j
}
func (h *pendingHeap) Push(x any) {
	r := x.(*msgRec)
	r.pendIdx = len(*h)
	*h = append(*h, r)
}
func (h *pendingHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.pendIdx = -1
	return r
}

type leasedHeap []*msgRec

func (h leasedHeap) Len() int { return len(h) }
func (h leasedHeap) Less(i, j int) bool {
	if c := h[i].dueAt().Compare(h[j].dueAt()); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h leasedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].leaseIdx = i
	h[j].leaseIdx = j
}
func (h *leasedHeap) Push(x any) {
	r := x.(*msgRec)
	r.leaseIdx = len(*h)
	*h = append(*h, r)
}
func (h *leasedHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.leaseIdx = -1
	return r
}

func (s *Store) claimArgs(p *herald.ClaimParams) (time.Time, error) {
	if p.Owner == "" {
		return time.Time{}, invalid("claim without Owner")
	}
	if p.LeaseFor <= 0 {
		return time.Time{}, invalid("claim without a positive LeaseFor")
	}
	if p.Limit < 0 {
		return time.Time{}, invalid("negative claim limit")
	}
	if p.Now.IsZero() {
		return s.clock.Now(), nil
	}
	return p.Now, nil
}

// ClaimDue leases up to p.Limit (zero: 100) due messages to p.Owner until
// p.Now+p.LeaseFor and returns copies, earliest SendAt (then CreatedAt)
// first. A zero p.Now means the store's clock. Due: queued or scheduled
// with SendAt at or before now and no live lease, or sending with a lease
// that expired.
func (s *Store) ClaimDue(ctx context.Context, p herald.ClaimParams) ([]*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	now, err := s.claimArgs(&p)
	if err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	until := now.Add(p.LeaseFor)

	s.mu.Lock()
	defer s.mu.Unlock()

	// Every leased message that is due: lease ended (and SendAt reached).
	// They are few unless workers died.
	cands := s.scratch[:0]
	for len(s.leased) > 0 && !s.leased[0].dueAt().After(now) {
		cands = append(cands, heap.Pop(&s.leased).(*msgRec))
	}
	nLeased := len(cands)
	// The first limit due messages without a lease, in due order.
	for n := 0; n < limit && len(s.pending) > 0 && !s.pending[0].m.SendAt.After(now); n++ {
		cands = append(cands, heap.Pop(&s.pending).(*msgRec))
	}
	if nLeased > 0 {
		slices.SortFunc(cands, byDue)
	}
	n := min(len(cands), limit)
	out := make([]*herald.Message, n)
	for i, r := range cands[:n] {
		r.m.LeaseOwner = p.Owner
		r.m.LeaseUntil = until
		out[i] = r.m.Clone()
	}
	// Put everything taken out back where it now belongs: the claimed ones
	// with their new lease, the others as they were.
	for i, r := range cands {
		s.reindexWork(r)
		cands[i] = nil
	}
	s.scratch = cands[:0]
	return out, nil
}

// ClaimMessage leases one message to p.Owner until p.Now+p.LeaseFor when
// it is pending or sending and its lease is free, expired or already
// p.Owner's; otherwise the error wraps herald.ErrConflict.
func (s *Store) ClaimMessage(ctx context.Context, orgID, id string, p herald.ClaimParams) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	now, err := s.claimArgs(&p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookupMsg(orgID, id)
	if r == nil {
		return nil, notFound("message", id)
	}
	m := r.m
	if !m.Status.Pending() && m.Status != herald.StatusSending {
		return nil, fmt.Errorf("memstore: message %q is %s, not claimable: %w", id, m.Status, herald.ErrConflict)
	}
	if m.LeaseOwner != p.Owner && leaseLive(m, now) {
		return nil, fmt.Errorf("memstore: message %q is leased to another worker: %w", id, herald.ErrConflict)
	}
	m.LeaseOwner = p.Owner
	m.LeaseUntil = now.Add(p.LeaseFor)
	s.reindexWork(r)
	return m.Clone(), nil
}

// ReleaseLease clears the message's lease when owner holds it; otherwise it
// changes nothing.
func (s *Store) ReleaseLease(ctx context.Context, orgID, id, owner string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookupMsg(orgID, id)
	if r == nil {
		return notFound("message", id)
	}
	if owner == "" || r.m.LeaseOwner != owner {
		return nil
	}
	r.m.LeaseOwner = ""
	r.m.LeaseUntil = time.Time{}
	s.reindexWork(r)
	return nil
}
