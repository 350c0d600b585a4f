package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// JSON forms of a contact's nested records. Field names are part of the
// schema; times are microseconds like the columns.

type deviceJSON struct {
	Channel      string `json:"channel"`
	Token        string `json:"token"`
	Subscription string `json:"subscription,omitempty"`
	Platform     string `json:"platform,omitempty"`
	CreatedAt    int64  `json:"created_at,omitempty"`
}

type lookupJSON struct {
	Number     string `json:"number"`
	Carrier    string `json:"carrier,omitempty"`
	LineType   string `json:"line_type,omitempty"`
	StatusCode int    `json:"status_code"`
	ErrorCode  string `json:"error_code,omitempty"`
	CallerName string `json:"caller_name,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	LookedUpAt int64  `json:"looked_up_at,omitempty"`
}

func devicesJSON(ds []herald.Device) any {
	if len(ds) == 0 {
		return nil
	}
	out := make([]deviceJSON, len(ds))
	for i, d := range ds {
		out[i] = deviceJSON{string(d.Channel), d.Token, d.Subscription, d.Platform, ts(d.CreatedAt)}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func parseDevices(ns sql.NullString) ([]herald.Device, error) {
	var js []deviceJSON
	if err := parseJSON(ns, &js); err != nil || len(js) == 0 {
		return nil, err
	}
	out := make([]herald.Device, len(js))
	for i, d := range js {
		out[i] = herald.Device{Channel: herald.Channel(d.Channel), Token: d.Token, Subscription: d.Subscription,
			Platform: d.Platform, CreatedAt: fromTS(d.CreatedAt)}
	}
	return out, nil
}

func lookupToJSON(l *herald.LookupResult) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(lookupJSON{l.Number, l.Carrier, l.LineType, l.StatusCode, l.ErrorCode,
		l.CallerName, l.Vendor, ts(l.LookedUpAt)})
	return string(b)
}

func parseLookup(ns sql.NullString) (*herald.LookupResult, error) {
	if !ns.Valid {
		return nil, nil
	}
	var l lookupJSON
	if err := parseJSON(ns, &l); err != nil {
		return nil, err
	}
	return &herald.LookupResult{Number: l.Number, Carrier: l.Carrier, LineType: l.LineType,
		StatusCode: l.StatusCode, ErrorCode: l.ErrorCode, CallerName: l.CallerName, Vendor: l.Vendor,
		LookedUpAt: fromTS(l.LookedUpAt)}, nil
}

var contactColList = []string{
	"org_id", "id", "campaign_id", "external_id", "first_name", "last_name", "phone", "email",
	"zip", "owner", "timezone", "custom_fields", "devices", "lookup", "created_at", "updated_at",
}

var (
	contactCols  = strings.Join(contactColList, ", ")
	cContactCols = "c." + strings.Join(contactColList, ", c.")
)

func scanContact(sc scanner) (*herald.Contact, error) {
	c := &herald.Contact{}
	var custom, devices, lookup sql.NullString
	var created, updated int64
	if err := sc.Scan(&c.OrgID, &c.ID, &c.CampaignID, &c.ExternalID, &c.FirstName, &c.LastName,
		&c.Phone, &c.Email, &c.Zip, &c.Owner, &c.Timezone, &custom, &devices, &lookup,
		&created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	if err := parseJSON(custom, &c.CustomFields); err != nil {
		return nil, err
	}
	var err error
	if c.Devices, err = parseDevices(devices); err != nil {
		return nil, err
	}
	if c.Lookup, err = parseLookup(lookup); err != nil {
		return nil, err
	}
	return c, nil
}

func contactArgs(c *herald.Contact) []any {
	return []any{c.OrgID, c.ID, c.CampaignID, c.ExternalID, c.FirstName, c.LastName, c.Phone, c.Email,
		c.Zip, c.Owner, c.Timezone, jsonMap(c.CustomFields), devicesJSON(c.Devices), lookupToJSON(c.Lookup),
		ts(c.CreatedAt), ts(c.UpdatedAt)}
}

// upsertContactTail replaces every column but the key and created_at: the
// first put's CreatedAt is kept.
const upsertContactTail = `
ON CONFLICT (org_id, id) DO UPDATE SET campaign_id = excluded.campaign_id,
	external_id = excluded.external_id, first_name = excluded.first_name,
	last_name = excluded.last_name, phone = excluded.phone, email = excluded.email,
	zip = excluded.zip, owner = excluded.owner, timezone = excluded.timezone,
	custom_fields = excluded.custom_fields, devices = excluded.devices,
	lookup = excluded.lookup, updated_at = excluded.updated_at`

// storedContact returns c as the database holds it (times in UTC, to the
// microsecond).
func storedContact(c *herald.Contact) *herald.Contact {
	c.CreatedAt, c.UpdatedAt = stored(c.CreatedAt), stored(c.UpdatedAt)
	for i := range c.Devices {
		c.Devices[i].CreatedAt = stored(c.Devices[i].CreatedAt)
	}
	if c.Lookup != nil {
		c.Lookup.LookedUpAt = stored(c.Lookup.LookedUpAt)
	}
	return c
}

// contactAddrs returns every address c can be found by, without repeats.
func contactAddrs(c *herald.Contact) []string {
	var out []string
	add := func(a string) {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	add(c.Phone)
	add(c.Email)
	for _, d := range c.Devices {
		add(d.Token)
	}
	return out
}

// writeAddresses replaces the address rows of the contacts in cs (all of
// one organization) with their current addresses.
func (s *Store) writeAddresses(ctx context.Context, q querier, orgID string, cs []*herald.Contact) error {
	for _, ch := range chunks(len(cs), 500) {
		ids := make([]string, 0, ch[1]-ch[0])
		for _, c := range cs[ch[0]:ch[1]] {
			ids = append(ids, c.ID)
		}
		b := s.newBuilder()
		b.sql(`DELETE FROM herald_contact_addresses WHERE org_id = `).arg(orgID).sql(` AND contact_id IN `)
		in(b, ids)
		if _, err := q.ExecContext(ctx, b.String(), b.args...); err != nil {
			return s.dbErr(ctx, "deleting contact addresses", err)
		}
	}
	type addr struct{ address, id string }
	var all []addr
	for _, c := range cs {
		for _, a := range contactAddrs(c) {
			all = append(all, addr{a, c.ID})
		}
	}
	for _, ch := range chunks(len(all), 300) {
		b := s.newBuilder()
		b.sql(`INSERT INTO herald_contact_addresses (org_id, address, contact_id) VALUES `)
		for i, a := range all[ch[0]:ch[1]] {
			if i > 0 {
				b.sql(`, `)
			}
			b.sql(`(`).arg(orgID).sql(`, `).arg(a.address).sql(`, `).arg(a.id).sql(`)`)
		}
		b.sql(` ON CONFLICT DO NOTHING`)
		if _, err := q.ExecContext(ctx, b.String(), b.args...); err != nil {
			return s.dbErr(ctx, "writing contact addresses", err)
		}
	}
	return nil
}

// PutContact inserts or replaces the contact and returns a copy of what
// was stored. The first put's CreatedAt is kept; zero timestamps become
// now.
func (s *Store) PutContact(ctx context.Context, c *herald.Contact) (*herald.Contact, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if c == nil || c.OrgID == "" || c.ID == "" {
		return nil, invalid("contact without OrgID or ID")
	}
	nc := c.Clone()
	now := s.now()
	if nc.CreatedAt.IsZero() {
		nc.CreatedAt = now
	}
	if nc.UpdatedAt.IsZero() {
		nc.UpdatedAt = now
	}
	err := s.write(ctx, func(q querier) error {
		var created int64
		err := q.QueryRowContext(ctx, s.q(`INSERT INTO herald_contacts (`+contactCols+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+upsertContactTail+` RETURNING created_at`),
			contactArgs(nc)...).Scan(&created)
		if err != nil {
			return s.dbErr(ctx, "storing a contact", err)
		}
		nc.CreatedAt = fromTS(created)
		return s.writeAddresses(ctx, q, nc.OrgID, []*herald.Contact{nc})
	})
	if err != nil {
		return nil, err
	}
	return storedContact(nc), nil
}

// getContact reads one contact; nil when absent. forUpdate locks the row
// (PostgreSQL).
func (s *Store) getContact(ctx context.Context, q querier, orgID, id string, forUpdate bool) (*herald.Contact, error) {
	query := `SELECT ` + contactCols + ` FROM herald_contacts WHERE org_id = ? AND id = ?`
	if forUpdate && s.pg {
		query += ` FOR UPDATE`
	}
	c, err := scanContact(q.QueryRowContext(ctx, s.q(query), orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.dbErr(ctx, "reading a contact", err)
	}
	return c, nil
}

// GetContact returns the contact.
func (s *Store) GetContact(ctx context.Context, orgID, id string) (*herald.Contact, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c, err := s.getContact(ctx, s.db, orgID, id, false)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notFound("contact", id)
	}
	return c, nil
}

// FindContactByAddress returns the contact whose Phone, Email or device
// Token equals address; among several, the greatest UpdatedAt (then the
// greatest ID) wins.
func (s *Store) FindContactByAddress(ctx context.Context, orgID, address string) (*herald.Contact, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	c, err := scanContact(s.db.QueryRowContext(ctx, s.q(`SELECT `+cContactCols+`
FROM herald_contact_addresses a JOIN herald_contacts c ON c.org_id = a.org_id AND c.id = a.contact_id
WHERE a.org_id = ? AND a.address = ?
ORDER BY c.updated_at DESC, c.id DESC LIMIT 1`), orgID, address))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("contact with the address", "")
	}
	if err != nil {
		return nil, s.dbErr(ctx, "finding a contact", err)
	}
	return c, nil
}

// DeleteContact removes the contact.
func (s *Store) DeleteContact(ctx context.Context, orgID, id string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	var n int64
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`DELETE FROM herald_contacts WHERE org_id = ? AND id = ?`), orgID, id)
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "deleting a contact", err)
		}
		if n == 0 {
			return nil
		}
		if _, err := q.ExecContext(ctx, s.q(`DELETE FROM herald_contact_addresses WHERE org_id = ? AND contact_id = ?`), orgID, id); err != nil {
			return s.dbErr(ctx, "deleting contact addresses", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("contact", id)
	}
	return nil
}

// listPage is how many contacts ListContacts reads per query.
const listPage = 500

// ListContacts yields the organization's contacts ordered by ID, only the
// campaign's when campaignID is set. It reads pages of contacts by ID, so
// no query is open while the loop body runs (which may call the store);
// contacts changed during the iteration may or may not be seen.
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
		after := ""
		for {
			b := s.newBuilder()
			b.sql(`SELECT ` + contactCols + ` FROM herald_contacts WHERE org_id = `).arg(orgID)
			if campaignID != "" {
				b.sql(` AND campaign_id = `).arg(campaignID)
			}
			b.sql(` AND id > `).arg(after).sql(` ORDER BY id LIMIT `).arg(listPage)
			page, err := s.queryContacts(ctx, b)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, c := range page {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
				if !yield(c, nil) {
					return
				}
			}
			if len(page) < listPage {
				return
			}
			after = page[len(page)-1].ID
		}
	}
}

func (s *Store) queryContacts(ctx context.Context, b *builder) ([]*herald.Contact, error) {
	rows, err := s.db.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, s.dbErr(ctx, "listing contacts", err)
	}
	defer rows.Close()
	var out []*herald.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, s.dbErr(ctx, "listing contacts", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, "listing contacts", err)
	}
	return out, nil
}

// ReplaceCampaignContacts atomically replaces the campaign's contacts with
// copies of contacts, in one transaction. Every contact must carry orgID,
// campaignID and an ID (herald.ErrInvalidInput otherwise, and nothing
// changes). A contact whose ID is stored elsewhere is moved into the
// campaign; when an ID repeats, the last one wins. CreatedAt is kept for
// IDs stored before.
func (s *Store) ReplaceCampaignContacts(ctx context.Context, orgID, campaignID string, contacts []*herald.Contact) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if orgID == "" || campaignID == "" {
		return invalid("campaign contacts without OrgID or CampaignID")
	}
	now := s.now()
	pos := make(map[string]int, len(contacts))
	copies := make([]*herald.Contact, 0, len(contacts))
	for _, c := range contacts {
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
		if i, ok := pos[nc.ID]; ok {
			copies[i] = nc // the last one wins
			continue
		}
		pos[nc.ID] = len(copies)
		copies = append(copies, nc)
	}

	return s.write(ctx, func(q querier) error {
		// Drop the old set, remembering when each was created.
		rows, err := q.QueryContext(ctx, s.q(`DELETE FROM herald_contacts WHERE org_id = ? AND campaign_id = ?
RETURNING id, created_at`), orgID, campaignID)
		if err != nil {
			return s.dbErr(ctx, "deleting campaign contacts", err)
		}
		var removed []*herald.Contact
		createdAt := map[string]int64{}
		for rows.Next() {
			var id string
			var created int64
			if err := rows.Scan(&id, &created); err != nil {
				rows.Close()
				return s.dbErr(ctx, "deleting campaign contacts", err)
			}
			createdAt[id] = created
			removed = append(removed, &herald.Contact{ID: id})
		}
		if err := rows.Close(); err != nil {
			return s.dbErr(ctx, "deleting campaign contacts", err)
		}
		if err := rows.Err(); err != nil {
			return s.dbErr(ctx, "deleting campaign contacts", err)
		}
		if err := s.writeAddresses(ctx, q, orgID, removed); err != nil {
			return err
		}
		for _, c := range copies {
			if created, ok := createdAt[c.ID]; ok {
				c.CreatedAt = fromTS(created)
			}
		}
		// Insert the new set; an ID stored outside the campaign is moved
		// in, keeping its CreatedAt.
		for _, ch := range chunks(len(copies), 200) {
			b := s.newBuilder()
			b.sql(`INSERT INTO herald_contacts (` + contactCols + `) VALUES `)
			for i, c := range copies[ch[0]:ch[1]] {
				if i > 0 {
					b.sql(`, `)
				}
				in(b, contactArgs(c))
			}
			b.sql(upsertContactTail)
			if _, err := q.ExecContext(ctx, b.String(), b.args...); err != nil {
				return s.dbErr(ctx, "storing campaign contacts", err)
			}
		}
		return s.writeAddresses(ctx, q, orgID, copies)
	})
}

// PutDevice puts d first in the contact's devices, replacing any device
// with the same Token, and takes the token from any other contact of the
// organization. A zero d.CreatedAt is set to now; the UpdatedAt of every
// contact changed becomes now. The contacts are locked in ID order.
func (s *Store) PutDevice(ctx context.Context, orgID, contactID string, d herald.Device) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if d.Token == "" {
		return invalid("device without Token")
	}
	now := s.now()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	return s.write(ctx, func(q querier) error {
		ids, err := s.addressHolders(ctx, q, orgID, d.Token)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, contactID) {
			ids = append(ids, contactID)
		}
		slices.Sort(ids)
		var changed []*herald.Contact
		for _, id := range ids {
			c, err := s.getContact(ctx, q, orgID, id, true)
			if err != nil {
				return err
			}
			switch {
			case id == contactID:
				if c == nil {
					return notFound("contact", contactID)
				}
				c.Devices = herald.WithDevice(c.Devices, d)
			case c == nil:
				continue
			default:
				// Another contact that had the device loses it.
				var had bool
				if c.Devices, had = herald.WithoutDevice(c.Devices, d.Token); !had {
					continue
				}
			}
			changed = append(changed, c)
		}
		return s.storeDevices(ctx, q, orgID, changed, now)
	})
}

// RemoveDevice removes the device with token from the contact;
// herald.ErrNotFound when the contact or the device is absent. The
// contact's UpdatedAt becomes now.
func (s *Store) RemoveDevice(ctx context.Context, orgID, contactID, token string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(q querier) error {
		c, err := s.getContact(ctx, q, orgID, contactID, true)
		if err != nil {
			return err
		}
		if c == nil {
			return notFound("contact", contactID)
		}
		var had bool
		if c.Devices, had = herald.WithoutDevice(c.Devices, token); !had || token == "" {
			return notFound("device of contact", contactID)
		}
		return s.storeDevices(ctx, q, orgID, []*herald.Contact{c}, s.now())
	})
}

// addressHolders returns the IDs of the organization's contacts with
// address (a phone, an email or a device token).
func (s *Store) addressHolders(ctx context.Context, q querier, orgID, address string) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT contact_id FROM herald_contact_addresses WHERE org_id = ? AND address = ?`), orgID, address)
	if err != nil {
		return nil, s.dbErr(ctx, "finding contacts by address", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.dbErr(ctx, "finding contacts by address", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, "finding contacts by address", err)
	}
	return ids, nil
}

// storeDevices writes the devices of cs, their UpdatedAt (now) and their
// addresses.
func (s *Store) storeDevices(ctx context.Context, q querier, orgID string, cs []*herald.Contact, now time.Time) error {
	for _, c := range cs {
		if _, err := q.ExecContext(ctx, s.q(`UPDATE herald_contacts SET devices = ?, updated_at = ? WHERE org_id = ? AND id = ?`),
			devicesJSON(c.Devices), ts(now), orgID, c.ID); err != nil {
			return s.dbErr(ctx, "storing devices", err)
		}
	}
	return s.writeAddresses(ctx, q, orgID, cs)
}
