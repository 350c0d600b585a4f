package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/heraldmsg/herald"
)

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
		return s.now(), nil
	}
	return p.Now, nil
}

// Due work, in the two shapes the partial indexes hold: pending messages
// (queued or scheduled) whose SendAt is reached and whose lease, if any,
// expired; and sending messages whose lease expired (their worker died
// mid-send). A sending message without a lease is never due. Both are read
// in due order: SendAt (zero first), CreatedAt, insertion order.
const (
	dueFresh = `SELECT seq, send_at, created_at FROM herald_messages
	WHERE status IN ('queued', 'scheduled') AND send_at <= ? AND lease_until <= ?
	ORDER BY send_at, created_at, seq LIMIT ?`
	dueReclaim = `SELECT seq, send_at, created_at FROM herald_messages
	WHERE status = 'sending' AND lease_until <> 0 AND lease_until <= ?
	ORDER BY send_at, created_at, seq LIMIT ?`
)

// claimDuePG leases the due rows in one statement. FOR UPDATE SKIP LOCKED
// makes concurrent claimers pass over the rows another claimer is taking
// instead of waiting for them; a row that another claimer leased and
// committed meanwhile is re-checked against the WHERE clause after it is
// locked, and dropped because its new lease is live.
var claimDuePG = `WITH fresh AS (` + dueFresh + ` FOR UPDATE SKIP LOCKED),
reclaim AS (` + dueReclaim + ` FOR UPDATE SKIP LOCKED),
pick AS (SELECT seq FROM (SELECT * FROM fresh UNION ALL SELECT * FROM reclaim) due
	ORDER BY send_at, created_at, seq LIMIT ?)
UPDATE herald_messages m SET lease_owner = ?, lease_until = ?
FROM pick WHERE m.seq = pick.seq
RETURNING ` + mMsgCols

// claimDueSQLite is the same claim as one UPDATE ... WHERE seq IN
// (SELECT ... LIMIT n) RETURNING, run inside BEGIN IMMEDIATE: SQLite has
// one writer at a time, so no other claim can interleave.
var claimDueSQLite = `UPDATE herald_messages SET lease_owner = ?, lease_until = ?
WHERE seq IN (SELECT seq FROM (
	SELECT * FROM (` + dueFresh + `)
	UNION ALL
	SELECT * FROM (` + dueReclaim + `)
) ORDER BY send_at, created_at, seq LIMIT ?)
RETURNING ` + msgCols

// ClaimDue leases up to p.Limit (zero: 100) due messages to p.Owner until
// p.Now+p.LeaseFor and returns them, earliest SendAt (zero first, then
// CreatedAt) first, across organizations. A zero p.Now means the store's
// clock. Claiming changes the lease only.
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
	nowTS, untilTS := ts(now), ts(now.Add(p.LeaseFor))

	var rows []msgRow
	if s.pg {
		rows, err = s.queryMsgs(ctx, s.db, "claiming due messages", s.q(claimDuePG),
			nowTS, nowTS, limit, nowTS, limit, limit, p.Owner, untilTS)
	} else {
		err = s.write(ctx, func(q querier) error {
			var err error
			rows, err = s.queryMsgs(ctx, q, "claiming due messages", claimDueSQLite,
				p.Owner, untilTS, nowTS, nowTS, limit, nowTS, limit, limit)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	// RETURNING yields rows in no particular order.
	slices.SortFunc(rows, func(a, b msgRow) int {
		if c := a.m.SendAt.Compare(b.m.SendAt); c != 0 {
			return c
		}
		if c := a.m.CreatedAt.Compare(b.m.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := make([]*herald.Message, len(rows))
	for i, r := range rows {
		out[i] = r.m
	}
	return out, nil
}

// ClaimMessage leases one message to p.Owner until p.Now+p.LeaseFor when
// it is pending or sending and its lease is free, expired or already
// p.Owner's (herald.ErrConflict otherwise). It is one conditional UPDATE.
func (s *Store) ClaimMessage(ctx context.Context, orgID, id string, p herald.ClaimParams) (*herald.Message, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	now, err := s.claimArgs(&p)
	if err != nil {
		return nil, err
	}
	query := s.q(`UPDATE herald_messages SET lease_owner = ?, lease_until = ?
WHERE id = ? AND org_id = ? AND status IN ('queued', 'scheduled', 'sending')
	AND (lease_owner = ? OR lease_until <= ?)
RETURNING ` + msgCols)
	args := []any{p.Owner, ts(now.Add(p.LeaseFor)), id, orgID, p.Owner, ts(now)}
	var m *herald.Message
	var exists bool
	err = s.writeOrDB(ctx, func(q querier) error {
		var err error
		m, err = s.queryMsg(ctx, q, "claiming a message", query, args...)
		if err != nil || m != nil {
			return err
		}
		exists, err = s.messageExists(ctx, q, orgID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if m != nil {
		return m, nil
	}
	if !exists {
		return nil, notFound("message", id)
	}
	return nil, conflict("message %q is not claimable (finished, or leased to another worker)", id)
}

// writeOrDB runs fn for a change made by single statements, each atomic on
// its own: on SQLite in a write transaction (the store's one writer), on
// PostgreSQL straight on the pool, without a transaction's round trips.
func (s *Store) writeOrDB(ctx context.Context, fn func(q querier) error) error {
	if s.pg {
		return fn(s.db)
	}
	return s.write(ctx, fn)
}

func (s *Store) messageExists(ctx context.Context, q querier, orgID, id string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM herald_messages WHERE id = ? AND org_id = ?`), id, orgID).Scan(&n)
	if err != nil {
		return false, s.dbErr(ctx, "reading a message", err)
	}
	return n > 0, nil
}

// ReleaseLease clears the message's lease when owner holds it; otherwise
// it changes nothing.
func (s *Store) ReleaseLease(ctx context.Context, orgID, id, owner string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	var exists bool
	err := s.writeOrDB(ctx, func(q querier) error {
		if owner != "" {
			res, err := q.ExecContext(ctx, s.q(`UPDATE herald_messages SET lease_owner = '', lease_until = 0
WHERE id = ? AND org_id = ? AND lease_owner = ?`), id, orgID, owner)
			var n int64
			if err == nil {
				n, err = affected(res)
			}
			if err != nil {
				return s.dbErr(ctx, "releasing a lease", err)
			}
			if n > 0 {
				exists = true
				return nil
			}
		}
		var err error
		exists, err = s.messageExists(ctx, q, orgID, id)
		return err
	})
	if err != nil {
		return err
	}
	if !exists {
		return notFound("message", id)
	}
	return nil
}
