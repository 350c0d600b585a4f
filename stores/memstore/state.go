package memstore

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/heraldmsg/herald"
)

func validStateKey(k herald.StateKey) error {
	if k.Namespace == "" || k.Key == "" {
		return invalid("state key without Namespace or Key")
	}
	return nil
}

// GetState returns a copy of the value stored under k.
func (s *Store) GetState(ctx context.Context, k herald.StateKey) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := validStateKey(k); err != nil {
		return nil, err
	}
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	v, ok := s.state[k]
	if !ok {
		return nil, notFound("state key", k.Key)
	}
	return bytes.Clone(v), nil
}

// storedValue copies v; a nil v is stored as present and empty.
func storedValue(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return bytes.Clone(v)
}

// PutState stores a copy of value under k.
func (s *Store) PutState(ctx context.Context, k herald.StateKey, value []byte) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := validStateKey(k); err != nil {
		return err
	}
	v := storedValue(value)
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.state[k] = v
	return nil
}

// DeleteState removes k; herald.ErrNotFound when it is absent.
func (s *Store) DeleteState(ctx context.Context, k herald.StateKey) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := validStateKey(k); err != nil {
		return err
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if _, ok := s.state[k]; !ok {
		return notFound("state key", k.Key)
	}
	delete(s.state, k)
	return nil
}

// CompareAndSwapState stores a copy of value under k when the current value
// equals old (a nil old means k is absent; a non-nil empty old matches a
// present empty value) and reports whether it did.
func (s *Store) CompareAndSwapState(ctx context.Context, k herald.StateKey, old, value []byte) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if err := validStateKey(k); err != nil {
		return false, err
	}
	v := storedValue(value)
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	cur, ok := s.state[k]
	if old == nil {
		if ok {
			return false, nil
		}
	} else if !ok || !bytes.Equal(cur, old) {
		return false, nil
	}
	s.state[k] = v
	return true, nil
}

// MarkEventSeen records (orgID, vendor, eventID) and reports whether it was
// new. Seen events are kept for the life of the Store.
func (s *Store) MarkEventSeen(ctx context.Context, orgID, vendor, eventID string, at time.Time) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if eventID == "" {
		return false, invalid("event without ID")
	}
	if at.IsZero() {
		at = s.clock.Now()
	}
	k := eventKey{orgID, vendor, eventID}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if _, ok := s.seen[k]; ok {
		return false, nil
	}
	s.seen[k] = at
	return true, nil
}

// ForgetEvent removes the mark of (orgID, vendor, eventID); see
// herald.WebhookStore.
func (s *Store) ForgetEvent(ctx context.Context, orgID, vendor, eventID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.stateMu.Lock()
	delete(s.seen, eventKey{orgID, vendor, eventID})
	s.stateMu.Unlock()
	return nil
}

// PruneWebhookState forgets seen events and parked reports from before
// before; see herald.WebhookStore.
func (s *Store) PruneWebhookState(ctx context.Context, before time.Time) (events, reports int, err error) {
	if err := ctxErr(ctx); err != nil {
		return 0, 0, err
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	for k, at := range s.seen {
		if at.Before(before) {
			delete(s.seen, k)
			events++
		}
	}
	for k, rs := range s.reports {
		kept := rs[:0]
		for _, r := range rs {
			if r.At.Before(before) {
				reports++
				continue
			}
			kept = append(kept, r)
		}
		if len(kept) == 0 {
			delete(s.reports, k)
		} else {
			clear(rs[len(kept):])
			s.reports[k] = kept
		}
	}
	return events, reports, nil
}

func cloneReport(r *herald.DeliveryReport) *herald.DeliveryReport {
	c := *r
	c.Raw = maps.Clone(r.Raw)
	return &c
}

// SavePendingReport parks a copy of r (OrgID, Vendor and VendorMessageID
// required) until TakePendingReports asks for it. A zero At is set to now.
func (s *Store) SavePendingReport(ctx context.Context, r *herald.DeliveryReport) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if r == nil || r.OrgID == "" || r.Vendor == "" || r.VendorMessageID == "" {
		return invalid("pending report without OrgID, Vendor or VendorMessageID")
	}
	c := cloneReport(r)
	if c.At.IsZero() {
		c.At = s.clock.Now()
	}
	k := vendorKey{c.OrgID, c.Vendor, c.VendorMessageID}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.reports[k] = append(s.reports[k], c)
	return nil
}

// TakePendingReports removes and returns the reports parked for one vendor
// message ID, oldest (At, then saving order) first; none is an empty result,
// not an error.
func (s *Store) TakePendingReports(ctx context.Context, orgID, vendor, vendorMessageID string) ([]*herald.DeliveryReport, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	k := vendorKey{orgID, vendor, vendorMessageID}
	// Almost always nothing is parked: look under the read lock first.
	s.stateMu.RLock()
	_, parked := s.reports[k]
	s.stateMu.RUnlock()
	if !parked {
		return nil, nil
	}
	s.stateMu.Lock()
	out := s.reports[k]
	delete(s.reports, k)
	s.stateMu.Unlock()
	// The parked copies are no longer reachable from the store: hand them
	// out as they are.
	slices.SortStableFunc(out, func(a, b *herald.DeliveryReport) int { return a.At.Compare(b.At) })
	return out, nil
}
