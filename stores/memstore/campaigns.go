package memstore

import (
	"context"
	"fmt"

	"github.com/heraldmsg/herald"
)

// PutCampaign inserts or replaces the campaign and returns a copy of what
// was stored. The first put's CreatedAt is kept; zero timestamps become now.
func (s *Store) PutCampaign(ctx context.Context, c *herald.Campaign) (*herald.Campaign, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if c == nil || c.OrgID == "" || c.ID == "" {
		return nil, invalid("campaign without OrgID or ID")
	}
	nc := s.stampCampaign(c)
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	k := orgKey{nc.OrgID, nc.ID}
	if old := s.campaigns[k]; old != nil {
		nc.CreatedAt = old.CreatedAt
	}
	s.campaigns[k] = nc
	return nc.Clone(), nil
}

func (s *Store) stampCampaign(c *herald.Campaign) *herald.Campaign {
	nc := c.Clone()
	if nc.CreatedAt.IsZero() || nc.UpdatedAt.IsZero() {
		now := s.clock.Now()
		if nc.CreatedAt.IsZero() {
			nc.CreatedAt = now
		}
		if nc.UpdatedAt.IsZero() {
			nc.UpdatedAt = now
		}
	}
	return nc
}

// GetCampaign returns a copy of the campaign.
func (s *Store) GetCampaign(ctx context.Context, orgID, id string) (*herald.Campaign, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()
	c := s.campaigns[orgKey{orgID, id}]
	if c == nil {
		return nil, notFound("campaign", id)
	}
	return c.Clone(), nil
}

// UpdateCampaign replaces the campaign (c.OrgID, c.ID) with a copy of c only
// while its stored State is expect; otherwise the error wraps
// herald.ErrConflict and nothing changes. The first CreatedAt is kept.
func (s *Store) UpdateCampaign(ctx context.Context, c *herald.Campaign, expect herald.CampaignState) (*herald.Campaign, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if c == nil || c.OrgID == "" || c.ID == "" {
		return nil, invalid("campaign without OrgID or ID")
	}
	nc := s.stampCampaign(c)
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	k := orgKey{nc.OrgID, nc.ID}
	old := s.campaigns[k]
	if old == nil {
		return nil, notFound("campaign", nc.ID)
	}
	if old.State != expect {
		return nil, fmt.Errorf("memstore: campaign %q is %s, not %s: %w", nc.ID, old.State, expect, herald.ErrConflict)
	}
	nc.CreatedAt = old.CreatedAt
	s.campaigns[k] = nc
	return nc.Clone(), nil
}

// PutOrganization inserts or replaces the organization and returns a copy.
// The first put's CreatedAt is kept; a zero CreatedAt becomes now.
func (s *Store) PutOrganization(ctx context.Context, o *herald.Organization) (*herald.Organization, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if o == nil || o.ID == "" {
		return nil, invalid("organization without ID")
	}
	no := o.Clone()
	if no.CreatedAt.IsZero() {
		no.CreatedAt = s.clock.Now()
	}
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	if old := s.orgs[no.ID]; old != nil {
		no.CreatedAt = old.CreatedAt
	}
	s.orgs[no.ID] = no
	return no.Clone(), nil
}

// GetOrganization returns a copy of the organization.
func (s *Store) GetOrganization(ctx context.Context, id string) (*herald.Organization, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	s.dataMu.RLock()
	defer s.dataMu.RUnlock()
	o := s.orgs[id]
	if o == nil {
		return nil, notFound("organization", id)
	}
	return o.Clone(), nil
}
