package memstore

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// contactRec holds a contact. The *herald.Contact it points to is never
// changed once stored (every change stores a new copy), so ListContacts can
// hand out copies of a snapshot after releasing the lock.
type contactRec struct {
	c   *herald.Contact
	seq uint64 // put order, breaks UpdatedAt ties
}

// contactAddrs calls fn with every address c can be found by.
func contactAddrs(c *herald.Contact, fn func(string)) {
	if c.Phone != "" {
		fn(c.Phone)
	}
	if c.Email != "" && c.Email != c.Phone {
		fn(c.Email)
	}
	for _, d := range c.Devices {
		if d.Token != "" {
			fn(d.Token)
		}
	}
}

// index adds rec (already holding its contact) to the org map and the
// address and campaign indexes.
func (s *Store) indexContact(rec *contactRec) {
	c := rec.c
	byID := s.contacts[c.OrgID]
	if byID == nil {
		byID = make(map[string]*contactRec)
		s.contacts[c.OrgID] = byID
	}
	byID[c.ID] = rec
	if c.CampaignID != "" {
		k := orgKey{c.OrgID, c.CampaignID}
		set := s.campContacts[k]
		if set == nil {
			set = make(map[string]struct{})
			s.campContacts[k] = set
		}
		set[c.ID] = struct{}{}
	}
	contactAddrs(c, func(a string) {
		k := orgKey{c.OrgID, a}
		set := s.contactAddr[k]
		if set == nil {
			set = make(map[string]struct{})
			s.contactAddr[k] = set
		}
		set[c.ID] = struct{}{}
	})
}

// unindexContact removes rec's contact from every index.
func (s *Store) unindexContact(rec *contactRec) {
	c := rec.c
	if byID := s.contacts[c.OrgID]; byID != nil {
		delete(byID, c.ID)
		if len(byID) == 0 {
			delete(s.contacts, c.OrgID)
		}
	}
	if c.CampaignID != "" {
		k := orgKey{c.OrgID, c.CampaignID}
		if set := s.campContacts[k]; set != nil {
			delete(set, c.ID)
			if len(set) == 0 {
				delete(s.campContacts, k)
			}
		}
	}
	contactAddrs(c, func(a string) {
		k := orgKey{c.OrgID, a}
		if set := s.contactAddr[k]; set != nil {
			delete(set, c.ID)
			if len(set) == 0 {
				delete(s.contactAddr, k)
			}
		}
	})
}

func (s *Store) lookupContact(orgID, id string) *contactRec {
	return s.contacts[orgID][id]
}

// putContactLocked stores c (owned by the store from now on), keeping the
// CreatedAt of a contact stored before under the same ID (or created, when
// the caller removed it just before).
func (s *Store) putContactLocked(c *herald.Contact, created map[string]herald.Contact) {
	rec := s.lookupContact(c.OrgID, c.ID)
	if rec != nil {
		c.CreatedAt = rec.c.CreatedAt
		s.unindexContact(rec)
	} else {
		rec = &contactRec{}
		if old, ok := created[c.ID]; ok {
			c.CreatedAt = old.CreatedAt
		}
	}
	rec.c = c
	rec.seq = s.nextSeq()
	s.indexContact(rec)
}

// PutContact inserts or replaces the contact and returns a copy of what was
// stored. The first put's CreatedAt is kept; zero timestamps become now.
func (s *Store) PutContact(ctx context.Context, c *herald.Contact) (*herald.Contact, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if c == nil || c.OrgID == "" || c.ID == "" {
		return nil, invalid("contact without OrgID or ID")
	}
	nc := c.Clone()
	now := s.clock.Now()
	if nc.CreatedAt.IsZero() {
		nc.CreatedAt = now
	}
	if nc.UpdatedAt.IsZero() {
		nc.UpdatedAt = now
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	s.putContactLocked(nc, nil)
	return nc.Clone(), nil
}

// GetContact returns a copy of the contact.
func (s *Store) GetContact(ctx context.Context, orgID, id string) (*herald.Contact, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()
	rec := s.lookupContact(orgID, id)
	if rec == nil {
		return nil, notFound("contact", id)
	}
	return rec.c.Clone(), nil
}

// FindContactByAddress returns a copy of the contact whose Phone, Email or
// device Token equals address; among several, the greatest UpdatedAt (then
// the last put) wins.
func (s *Store) FindContactByAddress(ctx context.Context, orgID, address string) (*herald.Contact, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()
	var best *contactRec
	if address != "" {
		byID := s.contacts[orgID]
		for id := range s.contactAddr[orgKey{orgID, address}] {
			rec := byID[id]
			if rec == nil {
				continue
			}
			if best == nil {
				best = rec
				continue
			}
			c := rec.c.UpdatedAt.Compare(best.c.UpdatedAt)
			if c > 0 || c == 0 && rec.seq > best.seq {
				best = rec
			}
		}
	}
	if best == nil {
		return nil, notFound("contact with the address", "")
	}
	return best.c.Clone(), nil
}

// DeleteContact removes the contact.
func (s *Store) DeleteContact(ctx context.Context, orgID, id string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	rec := s.lookupContact(orgID, id)
	if rec == nil {
		return notFound("contact", id)
	}
	s.unindexContact(rec)
	return nil
}

// ListContacts yields copies of the organization's contacts ordered by ID,
// only the campaign's when campaignID is set. It reads a snapshot taken when
// iteration starts, so the loop body may call the store.
func (s *Store) ListContacts(ctx context.Context, orgID, campaignID string) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) {
		if err := ctxErr(ctx); err != nil {
			yield(nil, err)
			return
		}
		if orgID == "" {
			yield(nil, invalid("contact list without OrgID"))
			return
		}
		var snap []*herald.Contact
		s.dataMu.RLock()
		byID := s.contacts[orgID]
		if campaignID == "" {
			snap = make([]*herald.Contact, 0, len(byID))
			for _, rec := range byID {
				snap = append(snap, rec.c)
			}
		} else {
			set := s.campContacts[orgKey{orgID, campaignID}]
			snap = make([]*herald.Contact, 0, len(set))
			for id := range set {
				if rec := byID[id]; rec != nil {
					snap = append(snap, rec.c)
				}
			}
		}
		s.dataMu.RUnlock()
		slices.SortFunc(snap, func(a, b *herald.Contact) int { return strings.Compare(a.ID, b.ID) })
		for _, c := range snap {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			if !yield(c.Clone(), nil) {
				return
			}
		}
	}
}

// ReplaceCampaignContacts atomically replaces the campaign's contacts with
// copies of contacts. Every contact must carry orgID, campaignID and an ID
// (herald.ErrInvalidInput otherwise, and nothing changes). A contact whose
// ID is already stored elsewhere is replaced (moved into the campaign);
// when an ID repeats, the last one wins. CreatedAt is kept for IDs stored
// before.
func (s *Store) ReplaceCampaignContacts(ctx context.Context, orgID, campaignID string, contacts []*herald.Contact) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if orgID == "" || campaignID == "" {
		return invalid("campaign contacts without OrgID or CampaignID")
	}
	now := s.clock.Now()
	copies := make([]*herald.Contact, len(contacts))
	for i, c := range contacts {
		switch {
		case c == nil:
			return invalid("nil contact")
		case c.ID == "":
			return invalid("contact without ID")
		case c.OrgID != orgID:
			return invalid("contact of another organization")
		case c.CampaignID != campaignID:
			return invalid("contact of another campaign")
		}
		nc := c.Clone()
		if nc.CreatedAt.IsZero() {
			nc.CreatedAt = now
		}
		if nc.UpdatedAt.IsZero() {
			nc.UpdatedAt = now
		}
		copies[i] = nc
	}

	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	k := orgKey{orgID, campaignID}
	var removed map[string]herald.Contact
	if set := s.campContacts[k]; len(set) > 0 {
		removed = make(map[string]herald.Contact, len(set))
		byID := s.contacts[orgID]
		for id := range set {
			if rec := byID[id]; rec != nil {
				removed[id] = *rec.c
				s.unindexContact(rec)
			}
		}
	}
	for _, c := range copies {
		s.putContactLocked(c, removed)
	}
	return nil
}

// PutDevice puts d first in the contact's devices, replacing any device
// with the same Token, and takes the token from any other contact of the
// organization. A zero d.CreatedAt is set to now; the UpdatedAt of every
// contact changed becomes now.
func (s *Store) PutDevice(ctx context.Context, orgID, contactID string, d herald.Device) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if d.Token == "" {
		return invalid("device without Token")
	}
	now := s.clock.Now()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	rec := s.lookupContact(orgID, contactID)
	if rec == nil {
		return notFound("contact", contactID)
	}
	// Another contact that had the device loses it. (setDevices changes
	// the index the IDs come from, so they are collected first.)
	var others []*contactRec
	for id := range s.contactAddr[orgKey{orgID, d.Token}] {
		if o := s.lookupContact(orgID, id); o != nil && o != rec {
			others = append(others, o)
		}
	}
	for _, o := range others {
		if devs, had := herald.WithoutDevice(o.c.Devices, d.Token); had {
			s.setDevices(o, devs, now)
		}
	}
	s.setDevices(rec, herald.WithDevice(rec.c.Devices, d), now)
	return nil
}

// setDevices replaces the devices of rec's contact (a new copy of it, so
// copies handed out never change) and reindexes it.
func (s *Store) setDevices(rec *contactRec, devs []herald.Device, now time.Time) {
	nc := rec.c.Clone()
	nc.Devices = devs
	nc.UpdatedAt = now
	s.unindexContact(rec)
	rec.c = nc
	rec.seq = s.nextSeq()
	s.indexContact(rec)
}

// RemoveDevice removes the device with token from the contact;
// herald.ErrNotFound when the contact or the device is absent. The
// contact's UpdatedAt becomes now.
func (s *Store) RemoveDevice(ctx context.Context, orgID, contactID, token string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	now := s.clock.Now()
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	rec := s.lookupContact(orgID, contactID)
	if rec == nil {
		return notFound("contact", contactID)
	}
	devs, had := herald.WithoutDevice(rec.c.Devices, token)
	if token == "" || !had {
		return notFound("device of contact", contactID)
	}
	s.setDevices(rec, devs, now)
	return nil
}
