package memstore

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/heraldmsg/herald"
)

// PutOptOut records a copy of o under (OrgID, OptOutScope(Channel),
// Address) and reports whether it was new; a repeat keeps the first record.
// The record keeps the Channel it was given (an mms opt-out stays mms while
// covering sms too). A zero At is set to now.
func (s *Store) PutOptOut(ctx context.Context, o *herald.OptOut) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	switch {
	case o == nil || o.OrgID == "" || o.Address == "":
		return false, invalid("opt-out without OrgID or Address")
	case o.Channel != "" && !o.Channel.Valid():
		return false, invalid("opt-out with an invalid Channel")
	}
	c := *o
	if c.At.IsZero() {
		c.At = s.clock.Now()
	}
	k := optKey{herald.OptOutScope(c.Channel), c.Address}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	byScope := s.optOuts[c.OrgID]
	if byScope == nil {
		byScope = make(map[optKey]*herald.OptOut)
		s.optOuts[c.OrgID] = byScope
	}
	if _, ok := byScope[k]; ok {
		return false, nil
	}
	byScope[k] = &c
	return true, nil
}

// DeleteOptOut removes the opt-out recorded for exactly (orgID,
// OptOutScope(channel), address) and reports whether there was one.
func (s *Store) DeleteOptOut(ctx context.Context, orgID string, channel herald.Channel, address string) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	k := optKey{herald.OptOutScope(channel), address}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	byScope := s.optOuts[orgID]
	if _, ok := byScope[k]; !ok {
		return false, nil
	}
	delete(byScope, k)
	if len(byScope) == 0 {
		delete(s.optOuts, orgID)
	}
	return true, nil
}

// errNoOptOut is FindOptOut's miss, the common case on the send path.
var errNoOptOut = notFound("opt-out for the address", "")

// FindOptOut returns a copy of the opt-out that stops a message on channel
// to address: the one recorded for OptOutScope(channel) when there is one,
// else the one recorded for every channel.
func (s *Store) FindOptOut(ctx context.Context, orgID string, channel herald.Channel, address string) (*herald.OptOut, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()
	byScope := s.optOuts[orgID]
	o := byScope[optKey{herald.OptOutScope(channel), address}]
	if o == nil {
		o = byScope[optKey{"", address}]
	}
	if o == nil {
		return nil, errNoOptOut
	}
	c := *o
	return &c, nil
}

// ListOptOuts returns copies of the organization's opt-outs, oldest (At)
// first, then by address and scope.
func (s *Store) ListOptOuts(ctx context.Context, orgID string) ([]*herald.OptOut, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.dataMu.RLock()
	byScope := s.optOuts[orgID]
	out := make([]*herald.OptOut, 0, len(byScope))
	for _, o := range byScope {
		c := *o
		out = append(out, &c)
	}
	s.dataMu.RUnlock()
	slices.SortFunc(out, func(a, b *herald.OptOut) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
	return out, nil
}
