package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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

// storedValue is v as stored: a nil v is present and empty.
func storedValue(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// GetState returns the value stored under k.
func (s *Store) GetState(ctx context.Context, k herald.StateKey) ([]byte, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := validStateKey(k); err != nil {
		return nil, err
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM herald_state
WHERE org_id = ? AND namespace = ? AND state_key = ?`), k.OrgID, k.Namespace, k.Key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("state key", k.Key)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "reading state", err)
	}
	return storedValue(v), nil
}

// PutState stores value under k.
func (s *Store) PutState(ctx context.Context, k herald.StateKey, value []byte) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := validStateKey(k); err != nil {
		return err
	}
	return s.writeOrDB(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.q(`INSERT INTO herald_state (org_id, namespace, state_key, value)
VALUES (?, ?, ?, ?) ON CONFLICT (org_id, namespace, state_key) DO UPDATE SET value = excluded.value`),
			k.OrgID, k.Namespace, k.Key, storedValue(value))
		if err != nil {
			return s.dbErr(ctx, "storing state", err)
		}
		return nil
	})
}

// DeleteState removes k; herald.ErrNotFound when it is absent.
func (s *Store) DeleteState(ctx context.Context, k herald.StateKey) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := validStateKey(k); err != nil {
		return err
	}
	var n int64
	err := s.writeOrDB(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`DELETE FROM herald_state WHERE org_id = ? AND namespace = ? AND state_key = ?`),
			k.OrgID, k.Namespace, k.Key)
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "deleting state", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("state key", k.Key)
	}
	return nil
}

// CompareAndSwapState stores value under k when the current value equals
// old (a nil old means k is absent; a non-nil empty old matches a present
// empty value) and reports whether it did. It is one conditional
// statement: an INSERT ... ON CONFLICT DO NOTHING for a nil old, an
// UPDATE ... WHERE value = old otherwise.
func (s *Store) CompareAndSwapState(ctx context.Context, k herald.StateKey, old, value []byte) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if err := validStateKey(k); err != nil {
		return false, err
	}
	var n int64
	err := s.writeOrDB(ctx, func(q querier) error {
		var res sql.Result
		var err error
		if old == nil {
			res, err = q.ExecContext(ctx, s.q(`INSERT INTO herald_state (org_id, namespace, state_key, value)
VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), k.OrgID, k.Namespace, k.Key, storedValue(value))
		} else {
			res, err = q.ExecContext(ctx, s.q(`UPDATE herald_state SET value = ?
WHERE org_id = ? AND namespace = ? AND state_key = ? AND value = ?`),
				storedValue(value), k.OrgID, k.Namespace, k.Key, old)
		}
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "swapping state", err)
		}
		return nil
	})
	return n == 1, err
}

// MarkEventSeen records (orgID, vendor, eventID) and reports whether it
// was new: an INSERT ... ON CONFLICT DO NOTHING on the triple's primary
// key. Seen events are kept until the host deletes them from
// herald_seen_events (their at column says when each was seen).
func (s *Store) MarkEventSeen(ctx context.Context, orgID, vendor, eventID string, at time.Time) (bool, error) {
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	if eventID == "" {
		return false, invalid("event without ID")
	}
	if at.IsZero() {
		at = s.now()
	}
	var n int64
	err := s.writeOrDB(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`INSERT INTO herald_seen_events (org_id, vendor, event_id, at)
VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), orgID, vendor, eventID, ts(at))
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "marking an event seen", err)
		}
		return nil
	})
	return n == 1, err
}

// ForgetEvent removes the mark of (orgID, vendor, eventID); see
// herald.WebhookStore.
func (s *Store) ForgetEvent(ctx context.Context, orgID, vendor, eventID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	return s.writeOrDB(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.q(`DELETE FROM herald_seen_events WHERE org_id = ? AND vendor = ? AND event_id = ?`),
			orgID, vendor, eventID)
		if err != nil {
			return s.dbErr(ctx, "forgetting an event", err)
		}
		return nil
	})
}

// reportJSON is a parked DeliveryReport; At is its own column.
type reportJSON struct {
	OrgID              string            `json:"org_id"`
	Vendor             string            `json:"vendor"`
	EventID            string            `json:"event_id,omitempty"`
	VendorMessageID    string            `json:"vendor_message_id"`
	Status             string            `json:"status,omitempty"`
	Engagement         string            `json:"engagement,omitempty"`
	ErrorCode          string            `json:"error_code,omitempty"`
	From               string            `json:"from,omitempty"`
	To                 string            `json:"to,omitempty"`
	MessagingServiceID string            `json:"messaging_service_id,omitempty"`
	Carrier            string            `json:"carrier,omitempty"`
	Landline           bool              `json:"landline,omitempty"`
	OptedOut           bool              `json:"opted_out,omitempty"`
	Raw                map[string]string `json:"raw,omitempty"`
}

// SavePendingReport parks r (OrgID, Vendor and VendorMessageID required)
// until TakePendingReports asks for it. A zero At is set to now.
func (s *Store) SavePendingReport(ctx context.Context, r *herald.DeliveryReport) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if r == nil || r.OrgID == "" || r.Vendor == "" || r.VendorMessageID == "" {
		return invalid("pending report without OrgID, Vendor or VendorMessageID")
	}
	at := r.At
	if at.IsZero() {
		at = s.now()
	}
	body, err := json.Marshal(reportJSON{r.OrgID, r.Vendor, r.EventID, r.VendorMessageID, string(r.Status),
		string(r.Engagement), r.ErrorCode, r.From, r.To, r.MessagingServiceID, r.Carrier, r.Landline,
		r.OptedOut, r.Raw})
	if err != nil {
		return invalid("pending report that does not encode")
	}
	return s.writeOrDB(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.q(`INSERT INTO herald_pending_reports (org_id, vendor, vendor_message_id, at, report)
VALUES (?, ?, ?, ?, ?)`), r.OrgID, r.Vendor, r.VendorMessageID, ts(at), string(body))
		if err != nil {
			return s.dbErr(ctx, "parking a report", err)
		}
		return nil
	})
}

// TakePendingReports removes and returns the reports parked for one vendor
// message ID, oldest (At, then saving order) first; none is an empty
// result, not an error. It is one DELETE ... RETURNING, so concurrent
// takers each get a report at most once.
func (s *Store) TakePendingReports(ctx context.Context, orgID, vendor, vendorMessageID string) ([]*herald.DeliveryReport, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	type parked struct {
		seq int64
		r   *herald.DeliveryReport
	}
	var out []parked
	err := s.writeOrDB(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, s.q(`DELETE FROM herald_pending_reports
WHERE org_id = ? AND vendor = ? AND vendor_message_id = ?
RETURNING seq, at, report`), orgID, vendor, vendorMessageID)
		if err != nil {
			return s.dbErr(ctx, "taking reports", err)
		}
		defer rows.Close()
		for rows.Next() {
			var seq, at int64
			var body string
			if err := rows.Scan(&seq, &at, &body); err != nil {
				return s.dbErr(ctx, "taking reports", err)
			}
			var j reportJSON
			if err := json.Unmarshal([]byte(body), &j); err != nil {
				return s.dbErr(ctx, "decoding a parked report", err)
			}
			out = append(out, parked{seq, &herald.DeliveryReport{
				OrgID: j.OrgID, Vendor: j.Vendor, EventID: j.EventID, VendorMessageID: j.VendorMessageID,
				Status: herald.Status(j.Status), Engagement: herald.Engagement(j.Engagement),
				ErrorCode: j.ErrorCode, From: j.From, To: j.To, MessagingServiceID: j.MessagingServiceID,
				Carrier: j.Carrier, Landline: j.Landline, OptedOut: j.OptedOut, At: fromTS(at), Raw: j.Raw,
			}})
		}
		if err := rows.Err(); err != nil {
			return s.dbErr(ctx, "taking reports", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b parked) int {
		if c := a.r.At.Compare(b.r.At); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	reports := make([]*herald.DeliveryReport, len(out))
	for i, p := range out {
		reports[i] = p.r
	}
	return reports, nil
}

// PruneWebhookState forgets seen events and parked reports from before
// before; see herald.WebhookStore. Both deletes run in one write.
func (s *Store) PruneWebhookState(ctx context.Context, before time.Time) (events, reports int, err error) {
	if err := ctxErr(ctx); err != nil {
		return 0, 0, err
	}
	err = s.writeOrDB(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`DELETE FROM herald_seen_events WHERE at < ?`), ts(before))
		if err != nil {
			return s.dbErr(ctx, "pruning seen events", err)
		}
		n, err := affected(res)
		if err != nil {
			return s.dbErr(ctx, "pruning seen events", err)
		}
		events = int(n)
		res, err = q.ExecContext(ctx, s.q(`DELETE FROM herald_pending_reports WHERE at < ?`), ts(before))
		if err != nil {
			return s.dbErr(ctx, "pruning parked reports", err)
		}
		if n, err = affected(res); err != nil {
			return s.dbErr(ctx, "pruning parked reports", err)
		}
		reports = int(n)
		return nil
	})
	return events, reports, err
}
