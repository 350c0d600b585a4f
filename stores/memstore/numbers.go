package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// AddNumbers inserts copies of numbers, each of which needs OrgID, Vendor
// and Number (herald.ErrInvalidInput otherwise, and nothing is added). A
// number already stored under (OrgID, Vendor, Number) is left as it is. A
// zero CreatedAt is set to now.
func (s *Store) AddNumbers(ctx context.Context, numbers []herald.OwnedNumber) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	for _, n := range numbers {
		if n.OrgID == "" || n.Vendor == "" || n.Number == "" {
			return invalid("number without OrgID, Vendor or Number")
		}
	}
	now := s.clock.Now()
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	for _, n := range numbers {
		byKey := s.numbers[n.OrgID]
		if byKey == nil {
			byKey = make(map[numKey]*herald.OwnedNumber)
			s.numbers[n.OrgID] = byKey
		}
		k := numKey{n.Vendor, n.Number}
		if _, ok := byKey[k]; ok {
			continue
		}
		if n.CreatedAt.IsZero() {
			n.CreatedAt = now
		}
		byKey[k] = &n
	}
	return nil
}

func numberMatches(n *herald.OwnedNumber, f *herald.NumberFilter) bool {
	return (f.Vendor == "" || n.Vendor == f.Vendor) &&
		(f.AreaCode == "" || n.AreaCode == f.AreaCode) &&
		(f.AllocatedTo == "" || n.AllocatedTo == f.AllocatedTo) &&
		(f.AllocatedToID == "" || n.AllocatedToID == f.AllocatedToID) &&
		(!f.Unallocated || n.AllocatedTo == "")
}

func byNumber(a, b *herald.OwnedNumber) int {
	if c := strings.Compare(a.Number, b.Number); c != 0 {
		return c
	}
	return strings.Compare(a.Vendor, b.Vendor)
}

// matchingNumbers returns pointers to the organization's stored numbers
// matching f, ordered by Number then Vendor. Call with s.mu held.
func (s *Store) matchingNumbers(f *herald.NumberFilter) []*herald.OwnedNumber {
	var out []*herald.OwnedNumber
	for _, n := range s.numbers[f.OrgID] {
		if numberMatches(n, f) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, byNumber)
	return out
}

// ListNumbers returns the matching numbers ordered by Number (then Vendor).
func (s *Store) ListNumbers(ctx context.Context, f herald.NumberFilter) ([]herald.OwnedNumber, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if f.OrgID == "" {
		return nil, invalid("number filter without OrgID")
	}
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()
	ptrs := s.matchingNumbers(&f)
	out := make([]herald.OwnedNumber, len(ptrs))
	for i, n := range ptrs {
		out[i] = *n
	}
	return out, nil
}

// AllocateNumbers allocates p.Count free numbers of the organization (of
// p.Vendor and in p.AreaCode when set), lowest Number first, to
// p.AllocatedTo/p.AllocatedToID at p.At (zero: now), and returns them. When
// fewer are free it allocates none and the error wraps herald.ErrConflict.
func (s *Store) AllocateNumbers(ctx context.Context, p herald.AllocateParams) ([]herald.OwnedNumber, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	switch {
	case p.OrgID == "":
		return nil, invalid("allocation without OrgID")
	case p.Count <= 0:
		return nil, invalid("allocation of no numbers")
	case p.AllocatedTo == "":
		return nil, invalid("allocation without AllocatedTo")
	}
	at := p.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	f := herald.NumberFilter{OrgID: p.OrgID, Vendor: p.Vendor, AreaCode: p.AreaCode, Unallocated: true}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	free := s.matchingNumbers(&f)
	if len(free) < p.Count {
		return nil, fmt.Errorf("memstore: %d numbers free, %d asked: %w", len(free), p.Count, herald.ErrConflict)
	}
	out := make([]herald.OwnedNumber, p.Count)
	for i, n := range free[:p.Count] {
		n.AllocatedTo = p.AllocatedTo
		n.AllocatedToID = p.AllocatedToID
		n.AllocatedAt = at
		out[i] = *n
	}
	return out, nil
}

// ReleaseNumbers frees every number of the organization allocated to
// (allocatedTo, allocatedToID) and reports how many.
func (s *Store) ReleaseNumbers(ctx context.Context, orgID, allocatedTo, allocatedToID string) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if allocatedTo == "" {
		return 0, invalid("release without AllocatedTo")
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	count := 0
	for _, n := range s.numbers[orgID] {
		if n.AllocatedTo == allocatedTo && n.AllocatedToID == allocatedToID {
			n.AllocatedTo, n.AllocatedToID, n.AllocatedAt = "", "", time.Time{}
			count++
		}
	}
	return count, nil
}

// DeleteNumbers removes the organization's numbers at vendor (every vendor
// when vendor is empty) and reports how many existed.
func (s *Store) DeleteNumbers(ctx context.Context, orgID, vendor string, numbers []string) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	byKey := s.numbers[orgID]
	if len(byKey) == 0 || len(numbers) == 0 {
		return 0, nil
	}
	count := 0
	if vendor != "" {
		for _, num := range numbers {
			k := numKey{vendor, num}
			if _, ok := byKey[k]; ok {
				delete(byKey, k)
				count++
			}
		}
	} else {
		want := make(map[string]struct{}, len(numbers))
		for _, num := range numbers {
			want[num] = struct{}{}
		}
		for k := range byKey {
			if _, ok := want[k.number]; ok {
				delete(byKey, k)
				count++
			}
		}
	}
	if len(byKey) == 0 {
		delete(s.numbers, orgID)
	}
	return count, nil
}
