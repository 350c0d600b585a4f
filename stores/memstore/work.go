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
// messages that can be due:
//
//   - pending: every queued or scheduled message, earliest SendAt (then
//     CreatedAt, then creation order) on top. Those with a live lease are
//     skipped by ClaimDue and stay in the heap.
//   - sending: every sending message that carries a lease, earliest
//     LeaseUntil on top. One whose lease expired is due again.
//
// A sending message without a lease (LeaseUntil zero) is in neither heap:
// nothing says its worker died, so ClaimDue leaves it alone; ClaimMessage
// can still take it.

// reindexWork puts r in the heaps its message belongs to, at the right
// place, and takes it out of the others. Call it after any change of Status,
// SendAt or lease.
func (s *Store) reindexWork(r *msgRec) {
	if r.m.Status.Pending() {
		if r.pendIdx < 0 {
			heap.Push(&s.pending, r)
		} else {
			heap.Fix(&s.pending, r.pendIdx)
		}
	} else if r.pendIdx >= 0 {
		heap.Remove(&s.pending, r.pendIdx)
	}
	if r.m.Status == herald.StatusSending && !r.m.LeaseUntil.IsZero() {
		if r.sendIdx < 0 {
			heap.Push(&s.sending, r)
		} else {
			heap.Fix(&s.sending, r.sendIdx)
		}
	} else if r.sendIdx >= 0 {
		heap.Remove(&s.sending, r.sendIdx)
	}
}

// byDue orders messages for ClaimDue: SendAt, CreatedAt, creation order.
func byDue(a, b *msgRec) int {
	if c := a.m.SendAt.Compare(b.m.SendAt); c != 0 {
		return c
	}
	return byCreated(a, b)
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

type sendingHeap []*msgRec

func (h sendingHeap) Len() int { return len(h) }
func (h sendingHeap) Less(i, j int) bool {
	if c := h[i].m.LeaseUntil.Compare(h[j].m.LeaseUntil); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h sendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].sendIdx = i
	h[j].sendIdx = j
}
func (h *sendingHeap) Push(x any) {
	r := x.(*msgRec)
	r.sendIdx = len(*h)
	*h = append(*h, r)
}
func (h *sendingHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.sendIdx = -1
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

	// Sending messages whose worker's lease ran out.
	buf := s.scratch[:0]
	for len(s.sending) > 0 && !s.sending[0].m.LeaseUntil.After(now) {
		buf = append(buf, heap.Pop(&s.sending).(*msgRec))
	}
	nSending := len(buf)

	// Pending messages in due order, up to limit of them that are free.
	nFree := 0
	for len(s.pending) > 0 && nFree < limit {
		r := s.pending[0]
		if r.m.SendAt.After(now) {
			break
		}
		heap.Pop(&s.pending)
		buf = append(buf, r)
		if !leaseLive(r.m, now) {
			nFree++
		}
	}

	// Candidates: the expired sending ones and the free pending ones.
	cands := make([]*msgRec, 0, min(nSending+nFree, limit))
	for _, r := range buf {
		if r.m.Status == herald.StatusSending || !leaseLive(r.m, now) {
			cands = append(cands, r)
		}
	}
	if nSending > 0 {
		slices.SortFunc(cands, byDue)
	}
	if len(cands) > limit {
		cands = cands[:limit]
	}
	out := make([]*herald.Message, len(cands))
	for i, r := range cands {
		r.m.LeaseOwner = p.Owner
		r.m.LeaseUntil = until
		out[i] = r.m.Clone()
	}
	// Put everything popped back where it belongs (claimed ones with their
	// new lease).
	for i, r := range buf {
		s.reindexWork(r)
		buf[i] = nil
	}
	s.scratch = buf[:0]
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
