package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/heraldmsg/herald"
)

const optOutCols = `org_id, address, channel, reason, source, campaign_id, contact_id, at`

func scanOptOut(sc scanner) (*herald.OptOut, error) {
	o := &herald.OptOut{}
	var channel string
	var at int64
	if err := sc.Scan(&o.OrgID, &o.Address, &channel, &o.Reason, &o.Source, &o.CampaignID, &o.ContactID, &at); err != nil {
		return nil, err
	}
	o.Channel, o.At = herald.Channel(channel), fromTS(at)
	return o, nil
}

// PutOptOut records o under (OrgID, OptOutScope(Channel), Address) and
// reports whether it was new; a repeat keeps the first record. The record
// keeps the Channel it was given (an mms opt-out stays mms while covering
// sms too). A zero At is set to now.
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
	at := o.At
	if at.IsZero() {
		at = s.now()
	}
	var n int64
	err := s.writeOrDB(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`INSERT INTO herald_opt_outs (scope, `+optOutCols+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			string(herald.OptOutScope(o.Channel)), o.OrgID, o.Address, string(o.Channel), o.Reason, o.Source,
			o.CampaignID, o.ContactID, ts(at))
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "storing an opt-out", err)
		}
		return nil
	})
	return n == 1, err
}

// DeleteOptOut removes the opt-out recorded for exactly (orgID,
// OptOutScope(channel), address) and reports whether there was one.
func (s *Store) DeleteOptOut(ctx context.Context, orgID string, channel herald.Channel, address string) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	var n int64
	err := s.writeOrDB(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`DELETE FROM herald_opt_outs WHERE org_id = ? AND address = ? AND scope = ?`),
			orgID, address, string(herald.OptOutScope(channel)))
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "deleting an opt-out", err)
		}
		return nil
	})
	return n > 0, err
}

// FindOptOut returns the opt-out that stops a message on channel to
// address: the one recorded for OptOutScope(channel) when there is one,
// else the one recorded for every channel.
func (s *Store) FindOptOut(ctx context.Context, orgID string, channel herald.Channel, address string) (*herald.OptOut, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	o, err := scanOptOut(s.db.QueryRowContext(ctx, s.q(`SELECT `+optOutCols+` FROM herald_opt_outs
WHERE org_id = ? AND address = ? AND scope IN (?, '')
ORDER BY CASE WHEN scope = '' THEN 1 ELSE 0 END LIMIT 1`),
		orgID, address, string(herald.OptOutScope(channel))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("opt-out for the address", "")
	}
	if err != nil {
		return nil, s.dbErr(ctx, "finding an opt-out", err)
	}
	return o, nil
}

// ListOptOuts returns the organization's opt-outs, oldest (At) first, then
// by address and scope.
func (s *Store) ListOptOuts(ctx context.Context, orgID string) ([]*herald.OptOut, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+optOutCols+` FROM herald_opt_outs WHERE org_id = ?
ORDER BY at, address, scope`), orgID)
	if err != nil {
		return nil, s.dbErr(ctx, "listing opt-outs", err)
	}
	defer rows.Close()
	out := []*herald.OptOut{}
	for rows.Next() {
		o, err := scanOptOut(rows)
		if err != nil {
			return nil, s.dbErr(ctx, "listing opt-outs", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, "listing opt-outs", err)
	}
	return out, nil
}
