package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// msgCols are the columns a message is read from, in scanMsg's order.
var msgColList = []string{
	"seq", "id", "org_id", "idempotency_key", "campaign_id", "contact_id", "channel",
	"to_addr", "from_addr", "subject", "body", "html", "media", "data", "urgency",
	"ttl_ns", "send_at", "send_before", "vendor", "vendor_message_id",
	"messaging_service_id", "status", "error_code", "reason", "attempts",
	"lease_owner", "lease_until", "created_at", "updated_at", "sent_at", "meta",
}

var (
	msgCols  = strings.Join(msgColList, ", ")
	mMsgCols = "m." + strings.Join(msgColList, ", m.")
)

// msgRow is a message read from the database with its insertion number,
// which breaks ties between equal timestamps.
type msgRow struct {
	seq int64
	m   *herald.Message
}

func scanMsg(sc scanner) (msgRow, error) {
	m := &herald.Message{}
	var (
		seq                                                   int64
		media, data, meta                                     sql.NullString
		ttl, sendAt, sendBefore, leaseUntil, created, updated int64
		sentAt                                                int64
		channel, urgency, status                              string
	)
	err := sc.Scan(&seq, &m.ID, &m.OrgID, &m.IdempotencyKey, &m.CampaignID, &m.ContactID, &channel,
		&m.To, &m.From, &m.Subject, &m.Body, &m.HTML, &media, &data, &urgency,
		&ttl, &sendAt, &sendBefore, &m.Vendor, &m.VendorMessageID,
		&m.MessagingServiceID, &status, &m.ErrorCode, &m.Reason, &m.Attempts,
		&m.LeaseOwner, &leaseUntil, &created, &updated, &sentAt, &meta)
	if err != nil {
		return msgRow{}, err
	}
	m.Channel, m.Urgency, m.Status = herald.Channel(channel), herald.Urgency(urgency), herald.Status(status)
	m.TTL = time.Duration(ttl)
	m.SendAt, m.SendBefore, m.LeaseUntil = fromTS(sendAt), fromTS(sendBefore), fromTS(leaseUntil)
	m.CreatedAt, m.UpdatedAt, m.SentAt = fromTS(created), fromTS(updated), fromTS(sentAt)
	if err := parseJSON(media, &m.Media); err != nil {
		return msgRow{}, err
	}
	if err := parseJSON(data, &m.Data); err != nil {
		return msgRow{}, err
	}
	if err := parseJSON(meta, &m.Meta); err != nil {
		return msgRow{}, err
	}
	return msgRow{seq: seq, m: m}, nil
}

// queryMsg reads at most one message; nil when there is none.
func (s *Store) queryMsg(ctx context.Context, q querier, op, query string, args ...any) (*herald.Message, error) {
	r, err := scanMsg(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	return r.m, nil
}

// queryMsgs reads every message a query returns.
func (s *Store) queryMsgs(ctx context.Context, q querier, op, query string, args ...any) ([]msgRow, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []msgRow
	for rows.Next() {
		r, err := scanMsg(rows)
		if err != nil {
			return nil, s.dbErr(ctx, op, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	return out, nil
}

func validateMessage(m *herald.Message) error {
	switch {
	case m == nil:
		return invalid("nil message")
	case m.ID == "":
		return invalid("message without ID")
	case m.OrgID == "":
		return invalid("message without OrgID")
	case m.IdempotencyKey == "":
		return invalid("message without IdempotencyKey")
	case m.Channel == "":
		return invalid("message without Channel")
	case !m.Channel.Valid():
		return invalid("message with an invalid Channel")
	case m.Status == "":
		return invalid("message without Status")
	case !m.Status.Valid():
		return invalid("message with an invalid Status")
	}
	return nil
}

const insertMsgSQL = `INSERT INTO herald_messages (
	id, org_id, idempotency_key, campaign_id, contact_id, channel, to_addr, from_addr,
	subject, body, html, media, data, urgency, ttl_ns, send_at, send_before, vendor,
	vendor_message_id, messaging_service_id, status, error_code, reason, attempts,
	lease_owner, lease_until, created_at, updated_at, sent_at, meta)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// The initial event is inserted with the message. PostgreSQL does both in
// one statement (one round trip, atomic without a transaction).
const (
	insertMsgPG = `WITH ins AS (` + insertMsgSQL + `
	RETURNING id, org_id, status, reason, created_at)
INSERT INTO herald_message_events (message_id, org_id, status, reason, at, source, applied)
SELECT id, org_id, status, reason, created_at, 'dispatcher', TRUE FROM ins`
	insertInitialEvent = `INSERT INTO herald_message_events (message_id, org_id, status, reason, at, source, applied)
VALUES (?, ?, ?, ?, ?, 'dispatcher', 1)`
)

func msgArgs(c *herald.Message) []any {
	return []any{
		c.ID, c.OrgID, c.IdempotencyKey, c.CampaignID, c.ContactID, string(c.Channel), c.To, c.From,
		c.Subject, c.Body, c.HTML, jsonSlice(c.Media), jsonMap(c.Data), string(c.Urgency), int64(c.TTL),
		ts(c.SendAt), ts(c.SendBefore), c.Vendor,
		c.VendorMessageID, c.MessagingServiceID, string(c.Status), c.ErrorCode, c.Reason, c.Attempts,
		c.LeaseOwner, ts(c.LeaseUntil), ts(c.CreatedAt), ts(c.UpdatedAt), ts(c.SentAt), jsonMap(c.Meta),
	}
}

// CreateMessage stores a copy of m; see herald.MessageStore. The insert
// runs with ON CONFLICT DO NOTHING; when it inserts nothing, the message
// with m's idempotency key is returned, and when there is none, another
// message holds m.ID: herald.ErrConflict.
func (s *Store) CreateMessage(ctx context.Context, m *herald.Message) (*herald.Message, bool, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, false, err
	}
	if err := validateMessage(m); err != nil {
		return nil, false, err
	}
	c := m.Clone()
	if c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
		now := s.now()
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = now
		}
	}
	args := msgArgs(c)

	var inserted int64
	var err error
	if s.pg {
		var res sql.Result
		res, err = s.db.ExecContext(ctx, s.q(insertMsgPG), args...)
		if err == nil {
			inserted, err = affected(res)
		}
		if err != nil {
			return nil, false, s.dbErr(ctx, "creating a message", err)
		}
	} else {
		err = s.write(ctx, func(q querier) error {
			res, err := q.ExecContext(ctx, insertMsgSQL, args...)
			if err == nil {
				inserted, err = affected(res)
			}
			if err != nil {
				return s.dbErr(ctx, "creating a message", err)
			}
			if inserted == 0 {
				return nil
			}
			if _, err := q.ExecContext(ctx, insertInitialEvent, c.ID, c.OrgID, string(c.Status), c.Reason, ts(c.CreatedAt)); err != nil {
				return s.dbErr(ctx, "recording the initial event", err)
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	if inserted == 1 {
		return storedCopy(c), true, nil
	}
	// Not inserted: either the key exists (committed: ON CONFLICT waits
	// for a concurrent insert to finish) or the ID does.
	first, err := s.queryMsg(ctx, s.db, "reading a message", s.q(`SELECT `+msgCols+` FROM herald_messages
WHERE org_id = ? AND idempotency_key = ?`), c.OrgID, c.IdempotencyKey)
	if err != nil {
		return nil, false, err
	}
	if first == nil {
		return nil, false, conflict("message %q exists with another idempotency key", c.ID)
	}
	return first, false, nil
}

// storedCopy returns c as the database holds it: times in UTC, truncated
// to the microsecond. c is owned by the caller afterwards.
func storedCopy(c *herald.Message) *herald.Message {
	c.SendAt, c.SendBefore, c.LeaseUntil = stored(c.SendAt), stored(c.SendBefore), stored(c.LeaseUntil)
	c.CreatedAt, c.UpdatedAt, c.SentAt = stored(c.CreatedAt), stored(c.UpdatedAt), stored(c.SentAt)
	return c
}

// GetMessage returns the message.
func (s *Store) GetMessage(ctx context.Context, orgID, id string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	m, err := s.queryMsg(ctx, s.db, "reading a message",
		s.q(`SELECT `+msgCols+` FROM herald_messages WHERE id = ? AND org_id = ?`), id, orgID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, notFound("message", id)
	}
	return m, nil
}

// GetMessageByKey returns the message with the idempotency key.
func (s *Store) GetMessageByKey(ctx context.Context, orgID, idempotencyKey string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	m, err := s.queryMsg(ctx, s.db, "reading a message",
		s.q(`SELECT `+msgCols+` FROM herald_messages WHERE org_id = ? AND idempotency_key = ?`), orgID, idempotencyKey)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, notFound("message with idempotency key", idempotencyKey)
	}
	return m, nil
}

// FindMessageByVendorID returns the message the vendor knows as
// vendorMessageID in the organization; should several carry it, the one
// updated last.
func (s *Store) FindMessageByVendorID(ctx context.Context, orgID, vendor, vendorMessageID string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if vendorMessageID == "" {
		return nil, notFound("message with vendor message ID", "")
	}
	// The literal condition lets the planner use the partial index.
	m, err := s.queryMsg(ctx, s.db, "reading a message", s.q(`SELECT `+msgCols+` FROM herald_messages
WHERE org_id = ? AND vendor = ? AND vendor_message_id = ? AND vendor_message_id <> ''
ORDER BY updated_at DESC, seq DESC LIMIT 1`), orgID, vendor, vendorMessageID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, notFound("message with vendor message ID", vendorMessageID)
	}
	return m, nil
}

// LatestMessageTo returns the most recently created message to the address
// (greatest CreatedAt; among equal ones, the last inserted).
func (s *Store) LatestMessageTo(ctx context.Context, orgID, to string) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	m, err := s.queryMsg(ctx, s.db, "reading a message", s.q(`SELECT `+msgCols+` FROM herald_messages
WHERE org_id = ? AND to_addr = ? ORDER BY created_at DESC, seq DESC LIMIT 1`), orgID, to)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, notFound("message to the address", "")
	}
	return m, nil
}

// ListMessages returns the organization's messages that match f, oldest
// (CreatedAt, then insertion order) first.
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
	b := s.newBuilder()
	b.sql(`SELECT ` + msgCols + ` FROM herald_messages WHERE org_id = `).arg(f.OrgID)
	if f.After != "" {
		var createdAt, seq int64
		err := s.db.QueryRowContext(ctx, s.q(`SELECT created_at, seq FROM herald_messages WHERE org_id = ? AND id = ?`),
			f.OrgID, f.After).Scan(&createdAt, &seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlstore: message to list after %q: %w", f.After, herald.ErrNotFound)
		}
		if err != nil {
			return nil, s.dbErr(ctx, "listing messages", err)
		}
		b.sql(` AND (created_at, seq) > (`).arg(createdAt).sql(`, `).arg(seq).sql(`)`)
	}
	if f.CampaignID != "" {
		b.sql(` AND campaign_id = `).arg(f.CampaignID)
	}
	if f.ContactID != "" {
		b.sql(` AND contact_id = `).arg(f.ContactID)
	}
	if len(f.Statuses) > 0 {
		b.sql(` AND status IN `)
		in(b, statusStrings(f.Statuses))
	}
	b.sql(` ORDER BY created_at, seq`)
	if f.Limit > 0 {
		b.sql(` LIMIT `).arg(f.Limit)
	}
	rows, err := s.queryMsgs(ctx, s.db, "listing messages", b.String(), b.args...)
	if err != nil {
		return nil, err
	}
	out := make([]*herald.Message, len(rows))
	for i, r := range rows {
		out[i] = r.m
	}
	return out, nil
}

func statusStrings(ss []herald.Status) []string {
	out := make([]string, len(ss))
	for i, st := range ss {
		out[i] = string(st)
	}
	return out
}

// UpdateMessage applies one status change as a compare-and-set; see
// herald.MessageUpdate for the rules.
//
// The change is first tried as one conditional UPDATE whose WHERE clause
// holds every rule (the current status is one the new one may follow, or
// the same status named by ExpectStatus; the expected statuses; the
// expected lease owner), with the applied event appended in the same
// transaction. When that matches no row, the current row is read (and, on
// PostgreSQL, locked) to tell which rule failed: a missing message is
// herald.ErrNotFound, a failed expectation herald.ErrConflict, and a move
// backwards appends the event with Applied false and returns the current
// message with herald.ErrStaleStatus.
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
		ev.At = s.now()
	}
	ev.MessageID, ev.OrgID, ev.Status = u.ID, u.OrgID, u.Status

	if s.pg {
		// Fast path: UPDATE and applied event in one statement.
		if b := s.conditionalUpdate(u, ev, true); b != nil {
			m, err := s.queryMsg(ctx, s.db, "updating a message", b.String(), b.args...)
			if err != nil {
				return nil, err
			}
			if m != nil {
				return m, nil
			}
		}
	}
	var out *herald.Message
	var outErr error
	err := s.write(ctx, func(q querier) error {
		if !s.pg {
			if b := s.conditionalUpdate(u, ev, false); b != nil {
				m, err := s.queryMsg(ctx, q, "updating a message", b.String(), b.args...)
				if err != nil {
					return err
				}
				if m != nil {
					out = m
					return s.appendEvent(ctx, q, ev, true)
				}
			}
		}
		// The row as it is now, locked until the transaction ends.
		query := `SELECT ` + msgCols + ` FROM herald_messages WHERE id = ? AND org_id = ?`
		if s.pg {
			query += ` FOR UPDATE`
		}
		cur, err := s.queryMsg(ctx, q, "reading a message", s.q(query), u.ID, u.OrgID)
		if err != nil {
			return err
		}
		if cur == nil {
			outErr = notFound("message", u.ID)
			return nil
		}
		if len(u.ExpectStatus) > 0 && !slices.Contains(u.ExpectStatus, cur.Status) {
			outErr = conflict("message %q is %s, not as expected", u.ID, cur.Status)
			return nil
		}
		if u.ExpectLeaseOwner != "" && cur.LeaseOwner != u.ExpectLeaseOwner {
			outErr = conflict("message %q is not leased to %q", u.ID, u.ExpectLeaseOwner)
			return nil
		}
		if !cur.Status.CanMoveTo(u.Status) && !(u.Status == cur.Status && slices.Contains(u.ExpectStatus, cur.Status)) {
			out = cur
			outErr = staleError(u.ID, cur.Status, u.Status)
			return s.appendEvent(ctx, q, ev, false)
		}
		// The rules hold now that the row is locked (it changed between
		// the conditional UPDATE and the read): apply under the lock.
		b := s.conditionalUpdate(u, ev, false)
		m, err := s.queryMsg(ctx, q, "updating a message", b.String(), b.args...)
		if err != nil {
			return err
		}
		if m == nil {
			return conflict("message %q changed while locked", u.ID)
		}
		out = m
		return s.appendEvent(ctx, q, ev, true)
	})
	if err != nil {
		return nil, err
	}
	if outErr != nil && !errors.Is(outErr, herald.ErrStaleStatus) {
		return nil, outErr
	}
	return out, outErr
}

func staleError(id string, from, to herald.Status) error {
	return &staleStatusError{id: id, from: from, to: to}
}

type staleStatusError struct {
	id       string
	from, to herald.Status
}

func (e *staleStatusError) Error() string {
	return "sqlstore: message " + `"` + e.id + `"` + " cannot move from " + string(e.from) + " to " + string(e.to) + ": " + herald.ErrStaleStatus.Error()
}

func (e *staleStatusError) Unwrap() error { return herald.ErrStaleStatus }

// conditionalUpdate builds the UPDATE that applies u when every rule holds,
// returning the updated row; with withEvent (PostgreSQL), the applied
// event is inserted by the same statement. It returns nil when no current
// status could satisfy the rules.
func (s *Store) conditionalUpdate(u *herald.MessageUpdate, ev herald.StatusEvent, withEvent bool) *builder {
	allowed := herald.StatusesBefore(u.Status)
	if slices.Contains(u.ExpectStatus, u.Status) {
		allowed = append(allowed, u.Status)
	}
	if len(u.ExpectStatus) > 0 {
		allowed = slices.DeleteFunc(allowed, func(st herald.Status) bool { return !slices.Contains(u.ExpectStatus, st) })
	}
	if len(allowed) == 0 {
		return nil
	}
	b := s.newBuilder()
	if withEvent {
		b.sql(`WITH u AS (`)
	}
	b.sql(`UPDATE herald_messages SET status = `).arg(string(u.Status))
	b.sql(`, updated_at = `).arg(ts(ev.At))
	set := func(col string, v *string) {
		if v != nil {
			b.sql(`, ` + col + ` = `).arg(*v)
		}
	}
	set("vendor", u.Vendor)
	set("vendor_message_id", u.VendorMessageID)
	set("from_addr", u.From)
	set("messaging_service_id", u.MessagingServiceID)
	set("error_code", u.ErrorCode)
	set("reason", u.Reason)
	if u.Attempts != nil {
		b.sql(`, attempts = `).arg(*u.Attempts)
	}
	if u.SendAt != nil {
		b.sql(`, send_at = `).arg(ts(*u.SendAt))
	}
	if u.SentAt != nil {
		b.sql(`, sent_at = `).arg(ts(*u.SentAt))
	}
	if u.Lease != nil {
		b.sql(`, lease_owner = `).arg(u.Lease.Owner)
		b.sql(`, lease_until = `).arg(ts(u.Lease.Until))
	}
	b.sql(` WHERE id = `).arg(u.ID)
	b.sql(` AND org_id = `).arg(u.OrgID)
	b.sql(` AND status IN `)
	in(b, statusStrings(allowed))
	if u.ExpectLeaseOwner != "" {
		b.sql(` AND lease_owner = `).arg(u.ExpectLeaseOwner)
	}
	b.sql(` RETURNING ` + msgCols)
	if withEvent {
		b.sql(`), e AS (INSERT INTO herald_message_events
	(message_id, org_id, status, engagement, at, source, vendor_code, reason, applied)
SELECT id, org_id, status, `).arg(string(ev.Engagement)).sql(`, CAST(`).arg(ts(ev.At)).sql(` AS BIGINT), `).arg(string(ev.Source))
		b.sql(`, `).arg(ev.VendorCode).sql(`, `).arg(ev.Reason).sql(`, TRUE FROM u)
SELECT ` + msgCols + ` FROM u`)
	}
	return b
}

const insertEventSQL = `INSERT INTO herald_message_events
	(message_id, org_id, status, engagement, at, source, vendor_code, reason, applied)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// appendEvent inserts ev (whose message exists) with Applied set.
func (s *Store) appendEvent(ctx context.Context, q querier, ev herald.StatusEvent, applied bool) error {
	_, err := q.ExecContext(ctx, s.q(insertEventSQL), ev.MessageID, ev.OrgID, string(ev.Status),
		string(ev.Engagement), ts(ev.At), string(ev.Source), ev.VendorCode, ev.Reason, applied)
	if err != nil {
		return s.dbErr(ctx, "appending a status event", err)
	}
	return nil
}

// AddMessageEvent appends ev to the history of the message it names
// (ev.OrgID, ev.MessageID) without changing the message. A zero At is set
// to now and an empty Status to the message's current status.
func (s *Store) AddMessageEvent(ctx context.Context, ev herald.StatusEvent) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	var n int64
	err := s.write(ctx, func(q querier) error {
		// One statement: the message must exist, and lends its status.
		res, err := q.ExecContext(ctx, s.q(`INSERT INTO herald_message_events
	(message_id, org_id, status, engagement, at, source, vendor_code, reason, applied)
SELECT id, org_id, CASE WHEN ? = '' THEN status ELSE ? END, ?, CAST(? AS BIGINT), ?, ?, ?, CAST(? AS BOOLEAN)
FROM herald_messages WHERE id = ? AND org_id = ?`),
			string(ev.Status), string(ev.Status), string(ev.Engagement), ts(ev.At), string(ev.Source),
			ev.VendorCode, ev.Reason, ev.Applied, ev.MessageID, ev.OrgID)
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "appending an event", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("message", ev.MessageID)
	}
	return nil
}

// MessageEvents returns the message's history in the order it was
// recorded.
func (s *Store) MessageEvents(ctx context.Context, orgID, id string) ([]herald.StatusEvent, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT message_id, org_id, status, engagement, at, source,
	vendor_code, reason, applied
FROM herald_message_events WHERE message_id = ? AND org_id = ? ORDER BY seq`), id, orgID)
	if err != nil {
		return nil, s.dbErr(ctx, "reading events", err)
	}
	defer rows.Close()
	var out []herald.StatusEvent
	for rows.Next() {
		var e herald.StatusEvent
		var status, engagement, source string
		var at int64
		if err := rows.Scan(&e.MessageID, &e.OrgID, &status, &engagement, &at, &source,
			&e.VendorCode, &e.Reason, &e.Applied); err != nil {
			return nil, s.dbErr(ctx, "reading events", err)
		}
		e.Status, e.Engagement, e.Source = herald.Status(status), herald.Engagement(engagement), herald.EventSource(source)
		e.At = fromTS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, "reading events", err)
	}
	if len(out) == 0 {
		// Every message has its initial event: none means no message.
		return nil, notFound("message", id)
	}
	return out, nil
}
