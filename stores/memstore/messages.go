package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/heraldmsg/herald"
)

// msgRec is a stored message with its history and its place in the work
// heaps. The message is owned by the store and only changed under s.mu.
type msgRec struct {
	m        *herald.Message // points at msg
	msg      herald.Message  // the stored copy, in the record's allocation
	seq      uint64
	events   []event
	pendIdx  int      // index in s.pending, -1 when absent
	leaseIdx int      // index in s.leased, -1 when absent
	evBuf    [3]event // a direct send's history: sending, sent, delivered
}

// event is a stored StatusEvent without the message and organization IDs,
// which its record holds.
type event struct {
	status     herald.Status
	engagement herald.Engagement
	at         time.Time
	source     herald.EventSource
	vendorCode string
	reason     string
	applied    bool
}

func eventOf(ev herald.StatusEvent) event {
	return event{status: ev.Status, engagement: ev.Engagement, at: ev.At, source: ev.Source,
		vendorCode: ev.VendorCode, reason: ev.Reason, applied: ev.Applied}
}

func (e event) statusEvent(m *herald.Message) herald.StatusEvent {
	return herald.StatusEvent{MessageID: m.ID, OrgID: m.OrgID, Status: e.status, Engagement: e.engagement, At: e.at,
		Source: e.source, VendorCode: e.vendorCode, Reason: e.reason, Applied: e.applied}
}

func (s *Store) lookupMsg(orgID, id string) *msgRec {
	r := s.msgs[id]
	if r == nil || r.m.OrgID != orgID {
		return nil
	}
	return r
}

// CreateMessage stores a copy of m; see herald.MessageStore.
func (s *Store) CreateMessage(ctx context.Context, m *herald.Message) (*herald.Message, bool, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, false, err
	}
	switch {
	case m == nil:
		return nil, false, invalid("nil message")
	case m.ID == "":
		return nil, false, invalid("message without ID")
	case m.OrgID == "":
		return nil, false, invalid("message without OrgID")
	case m.IdempotencyKey == "":
		return nil, false, invalid("message without IdempotencyKey")
	case m.Channel == "":
		return nil, false, invalid("message without Channel")
	case !m.Channel.Valid():
		return nil, false, invalid("message with an invalid Channel")
	case m.Status == "":
		return nil, false, invalid("message without Status")
	case !m.Status.Valid():
		return nil, false, invalid("message with an invalid Status")
	}
	// The record and the store's copy are one allocation, made before the
	// lock is taken.
	r := &msgRec{pendIdx: -1, leaseIdx: -1}
	c := &r.msg
	m.CopyTo(c)
	r.m = c
	if c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
		now := s.clock.Now()
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = now
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	key := orgKey{c.OrgID, c.IdempotencyKey}
	if r := s.msgByKey[key]; r != nil {
		return r.m.Clone(), false, nil
	}
	if _, ok := s.msgs[c.ID]; ok {
		return nil, false, fmt.Errorf("memstore: message %q exists with another idempotency key: %w", c.ID, herald.ErrConflict)
	}
	r.seq = s.nextSeq()
	r.events = append(r.evBuf[:0], event{status: c.Status, at: c.CreatedAt, source: herald.SourceDispatcher,
		reason: c.Reason, applied: true})
	s.msgs[c.ID] = r
	s.msgByKey[key] = r
	if c.VendorMessageID != "" {
		s.msgByVendor[vendorKey{c.OrgID, c.Vendor, c.VendorMessageID}] = r
	}
	toKey := orgKey{c.OrgID, c.To}
	if cur := s.latestTo[toKey]; cur == nil || !c.CreatedAt.Before(cur.m.CreatedAt) {
		s.latestTo[toKey] = r
	}
	s.orgMsgs[c.OrgID] = append(s.orgMsgs[c.OrgID], r)
	s.reindexWork(r)
	if c.CreatedAt.Equal(m.CreatedAt) && c.UpdatedAt.Equal(m.UpdatedAt) {
		// m already equals the stored message, and the store keeps its
		// own copy: hand m back rather than a second copy.
		return m, true, nil
	}
	return c.Clone(), true, nil
}

// GetMessage returns a copy of the message.
func (s *Store) GetMessage(ctx context.Context, orgID, id string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.lookupMsg(orgID, id)
	if r == nil {
		return nil, notFound("message", id)
	}
	return r.m.Clone(), nil
}

// GetMessageByKey returns a copy of the message with the idempotency key.
func (s *Store) GetMessageByKey(ctx context.Context, orgID, idempotencyKey string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.msgByKey[orgKey{orgID, idempotencyKey}]
	if r == nil {
		return nil, notFound("message with idempotency key", idempotencyKey)
	}
	return r.m.Clone(), nil
}

// FindMessageByVendorID returns a copy of the message the vendor knows as
// vendorMessageID in the organization.
func (s *Store) FindMessageByVendorID(ctx context.Context, orgID, vendor, vendorMessageID string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if vendorMessageID == "" {
		return nil, notFound("message with vendor message ID", "")
	}
	r := s.msgByVendor[vendorKey{orgID, vendor, vendorMessageID}]
	if r == nil {
		return nil, notFound("message with vendor message ID", vendorMessageID)
	}
	return r.m.Clone(), nil
}

// LatestMessageTo returns a copy of the most recently created message to
// the address (greatest CreatedAt; among equal ones, the last created).
func (s *Store) LatestMessageTo(ctx context.Context, orgID, to string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.latestTo[orgKey{orgID, to}]
	if r == nil {
		return nil, notFound("message to the address", "")
	}
	return r.m.Clone(), nil
}

// ListMessages returns copies of the organization's messages that match f,
// oldest (CreatedAt, then creation order) first.
func (s *Store) ListMessages(ctx context.Context, f herald.MessageFilter) ([]*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if f.OrgID == "" {
		return nil, invalid("message filter without OrgID")
	}
	if f.Limit < 0 {
		return nil, invalid("negative limit")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	all := s.orgMsgs[f.OrgID]
	if !slices.IsSortedFunc(all, byCreated) {
		all = slices.Clone(all)
		slices.SortStableFunc(all, byCreated)
	}
	if f.After != "" {
		cur := s.lookupMsg(f.OrgID, f.After)
		if cur == nil {
			return nil, notFound("message to list after", f.After)
		}
		i, _ := slices.BinarySearchFunc(all, cur, byCreated)
		all = all[min(i+1, len(all)):]
	}
	var out []*herald.Message
	for _, r := range all {
		m := r.m
		if f.CampaignID != "" && m.CampaignID != f.CampaignID ||
			f.ContactID != "" && m.ContactID != f.ContactID ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, m.Status) {
			continue
		}
		out = append(out, m.Clone())
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func byCreated(a, b *msgRec) int {
	if c := a.m.CreatedAt.Compare(b.m.CreatedAt); c != 0 {
		return c
	}
	return cmpSeq(a.seq, b.seq)
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UpdateMessage applies one status change as a compare-and-set; see
// herald.MessageUpdate for the rules.
func (s *Store) UpdateMessage(ctx context.Context, u *herald.MessageUpdate) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	switch {
	case u == nil:
		return nil, invalid("nil update")
	case u.OrgID == "" || u.ID == "":
		return nil, invalid("update without OrgID or ID")
	case !u.Status.Valid():
		return nil, invalid("update without a valid Status")
	}
	ev := u.Event
	if ev.At.IsZero() {
		ev.At = s.clock.Now()
	}
	ev.MessageID = u.ID
	ev.OrgID = u.OrgID
	ev.Status = u.Status

	// The copy handed back is allocated before the lock is taken and its
	// maps cloned after it is released (the store never changes a stored
	// message's maps in place), so that no allocation happens while other
	// callers wait. With Discard the caller keeps its own copy: none is
	// made unless the change is stale.
	var out *herald.Message
	if !u.Discard {
		out = new(herald.Message)
	}
	s.mu.Lock()
	out, err := s.updateLocked(u, ev, out)
	s.mu.Unlock()
	if out != nil {
		out.Media = slices.Clone(out.Media)
		out.Data = maps.Clone(out.Data)
		out.Meta = maps.Clone(out.Meta)
	}
	return out, err
}

// updateLocked applies u under s.mu and copies the message (maps shared)
// into out.
func (s *Store) updateLocked(u *herald.MessageUpdate, ev herald.StatusEvent, out *herald.Message) (*herald.Message, error) {
	r := s.lookupMsg(u.OrgID, u.ID)
	if r == nil {
		return nil, notFound("message", u.ID)
	}
	m := r.m
	cur := m.Status
	if len(u.ExpectStatus) > 0 && !slices.Contains(u.ExpectStatus, cur) {
		return nil, fmt.Errorf("memstore: message %q is %s, not as expected: %w", u.ID, cur, herald.ErrConflict)
	}
	if u.ExpectLeaseOwner != "" && m.LeaseOwner != u.ExpectLeaseOwner {
		return nil, fmt.Errorf("memstore: message %q is not leased to %q: %w", u.ID, u.ExpectLeaseOwner, herald.ErrConflict)
	}
	if !cur.CanMoveTo(u.Status) && !(u.Status == cur && slices.Contains(u.ExpectStatus, cur)) {
		ev.Applied = false
		r.events = append(r.events, eventOf(ev))
		if out == nil {
			out = new(herald.Message)
		}
		*out = *m
		return out, fmt.Errorf("memstore: message %q cannot move from %s to %s: %w", u.ID, cur, u.Status, herald.ErrStaleStatus)
	}

	oldVendor, oldVMID := m.Vendor, m.VendorMessageID
	u.Apply(m, ev.At)
	if m.Vendor != oldVendor || m.VendorMessageID != oldVMID {
		if oldVMID != "" {
			k := vendorKey{m.OrgID, oldVendor, oldVMID}
			if s.msgByVendor[k] == r {
				delete(s.msgByVendor, k)
			}
		}
		if m.VendorMessageID != "" {
			s.msgByVendor[vendorKey{m.OrgID, m.Vendor, m.VendorMessageID}] = r
		}
	}
	ev.Applied = true
	r.events = append(r.events, eventOf(ev))
	s.reindexWork(r)
	if u.Discard {
		return nil, nil
	}
	*out = *m
	return out, nil
}

// AddMessageEvent appends ev to the history of the message it names
// (ev.OrgID, ev.MessageID) without changing the message. A zero At is set to
// now and an empty Status to the message's current status.
func (s *Store) AddMessageEvent(ctx context.Context, ev herald.StatusEvent) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if ev.At.IsZero() {
		ev.At = s.clock.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookupMsg(ev.OrgID, ev.MessageID)
	if r == nil {
		return notFound("message", ev.MessageID)
	}
	if ev.Status == "" {
		ev.Status = r.m.Status
	}
	r.events = append(r.events, eventOf(ev))
	return nil
}

// MessageEvents returns a copy of the message's history, oldest first.
func (s *Store) MessageEvents(ctx context.Context, orgID, id string) ([]herald.StatusEvent, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.lookupMsg(orgID, id)
	if r == nil {
		return nil, notFound("message", id)
	}
	out := make([]herald.StatusEvent, len(r.events))
	for i, e := range r.events {
		out[i] = e.statusEvent(r.m)
	}
	return out, nil
}

// leaseLive reports whether m's lease still holds at now.
func leaseLive(m *herald.Message, now time.Time) bool {
	return m.LeaseUntil.After(now)
}
