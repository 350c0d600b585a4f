package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/heraldmsg/herald"
)

const campaignCols = `org_id, id, title, state, messaging_service_id, features, created_at, updated_at`

func scanCampaign(sc scanner) (*herald.Campaign, error) {
	c := &herald.Campaign{}
	var state string
	var features sql.NullString
	var created, updated int64
	if err := sc.Scan(&c.OrgID, &c.ID, &c.Title, &state, &c.MessagingServiceID, &features, &created, &updated); err != nil {
		return nil, err
	}
	c.State, c.CreatedAt, c.UpdatedAt = herald.CampaignState(state), fromTS(created), fromTS(updated)
	if err := parseJSON(features, &c.Features); err != nil {
		return nil, err
	}
	return c, nil
}

// stampCampaign copies c, setting zero timestamps to now.
func (s *Store) stampCampaign(c *herald.Campaign) *herald.Campaign {
	nc := c.Clone()
	if nc.CreatedAt.IsZero() || nc.UpdatedAt.IsZero() {
		now := s.now()
		if nc.CreatedAt.IsZero() {
			nc.CreatedAt = now
		}
		if nc.UpdatedAt.IsZero() {
			nc.UpdatedAt = now
		}
	}
	return nc
}

func storedCampaign(c *herald.Campaign) *herald.Campaign {
	c.CreatedAt, c.UpdatedAt = stored(c.CreatedAt), stored(c.UpdatedAt)
	return c
}

// PutCampaign inserts or replaces the campaign and returns a copy of what
// was stored. The first put's CreatedAt is kept; zero timestamps become
// now.
func (s *Store) PutCampaign(ctx context.Context, c *herald.Campaign) (*herald.Campaign, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if c == nil || c.OrgID == "" || c.ID == "" {
		return nil, invalid("campaign without OrgID or ID")
	}
	nc := s.stampCampaign(c)
	err := s.writeOrDB(ctx, func(q querier) error {
		var created int64
		err := q.QueryRowContext(ctx, s.q(`INSERT INTO herald_campaigns (`+campaignCols+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (org_id, id) DO UPDATE SET title = excluded.title, state = excluded.state,
	messaging_service_id = excluded.messaging_service_id, features = excluded.features,
	updated_at = excluded.updated_at
RETURNING created_at`),
			nc.OrgID, nc.ID, nc.Title, string(nc.State), nc.MessagingServiceID, jsonMap(nc.Features),
			ts(nc.CreatedAt), ts(nc.UpdatedAt)).Scan(&created)
		if err != nil {
			return s.dbErr(ctx, "storing a campaign", err)
		}
		nc.CreatedAt = fromTS(created)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return storedCampaign(nc), nil
}

// GetCampaign returns the campaign.
func (s *Store) GetCampaign(ctx context.Context, orgID, id string) (*herald.Campaign, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c, err := scanCampaign(s.db.QueryRowContext(ctx, s.q(`SELECT `+campaignCols+` FROM herald_campaigns
WHERE org_id = ? AND id = ?`), orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("campaign", id)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "reading a campaign", err)
	}
	return c, nil
}

// UpdateCampaign replaces the campaign (c.OrgID, c.ID) with a copy of c
// only while its stored State is expect: one conditional UPDATE. Otherwise
// the error wraps herald.ErrConflict (herald.ErrNotFound when there is no
// such campaign) and nothing changes. The first CreatedAt is kept.
func (s *Store) UpdateCampaign(ctx context.Context, c *herald.Campaign, expect herald.CampaignState) (*herald.Campaign, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if c == nil || c.OrgID == "" || c.ID == "" {
		return nil, invalid("campaign without OrgID or ID")
	}
	nc := s.stampCampaign(c)
	var updated, exists bool
	err := s.writeOrDB(ctx, func(q querier) error {
		var created int64
		err := q.QueryRowContext(ctx, s.q(`UPDATE herald_campaigns SET title = ?, state = ?,
	messaging_service_id = ?, features = ?, updated_at = ?
WHERE org_id = ? AND id = ? AND state = ?
RETURNING created_at`),
			nc.Title, string(nc.State), nc.MessagingServiceID, jsonMap(nc.Features), ts(nc.UpdatedAt),
			nc.OrgID, nc.ID, string(expect)).Scan(&created)
		switch {
		case err == nil:
			updated = true
			nc.CreatedAt = fromTS(created)
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return s.dbErr(ctx, "updating a campaign", err)
		}
		var n int
		if err := q.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM herald_campaigns WHERE org_id = ? AND id = ?`),
			nc.OrgID, nc.ID).Scan(&n); err != nil {
			return s.dbErr(ctx, "reading a campaign", err)
		}
		exists = n > 0
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case updated:
		return storedCampaign(nc), nil
	case !exists:
		return nil, notFound("campaign", nc.ID)
	}
	return nil, conflict("campaign %q is not %s", nc.ID, expect)
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
		no.CreatedAt = s.now()
	}
	var vendorConfig any
	if len(no.VendorConfig) > 0 {
		b, err := marshalJSON(no.VendorConfig)
		if err != nil {
			return nil, err
		}
		vendorConfig = b
	}
	err := s.writeOrDB(ctx, func(q querier) error {
		var created int64
		err := q.QueryRowContext(ctx, s.q(`INSERT INTO herald_organizations (id, name, features, vendor_config, created_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, features = excluded.features,
	vendor_config = excluded.vendor_config
RETURNING created_at`),
			no.ID, no.Name, jsonMap(no.Features), vendorConfig, ts(no.CreatedAt)).Scan(&created)
		if err != nil {
			return s.dbErr(ctx, "storing an organization", err)
		}
		no.CreatedAt = fromTS(created)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return no, nil
}

// GetOrganization returns the organization.
func (s *Store) GetOrganization(ctx context.Context, id string) (*herald.Organization, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	o := &herald.Organization{}
	var features, vendorConfig sql.NullString
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, name, features, vendor_config, created_at
FROM herald_organizations WHERE id = ?`), id).Scan(&o.ID, &o.Name, &features, &vendorConfig, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organization", id)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "reading an organization", err)
	}
	o.CreatedAt = fromTS(created)
	if err := parseJSON(features, &o.Features); err != nil {
		return nil, err
	}
	if err := parseJSON(vendorConfig, &o.VendorConfig); err != nil {
		return nil, err
	}
	return o, nil
}
