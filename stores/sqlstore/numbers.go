package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/heraldmsg/herald"
)

const numberCols = `org_id, vendor, number, vendor_id, area_code, country, allocated_to, allocated_to_id, allocated_at, created_at`

func scanNumber(sc scanner) (herald.OwnedNumber, error) {
	var n herald.OwnedNumber
	var allocated, created int64
	if err := sc.Scan(&n.OrgID, &n.Vendor, &n.Number, &n.VendorID, &n.AreaCode, &n.Country,
		&n.AllocatedTo, &n.AllocatedToID, &allocated, &created); err != nil {
		return n, err
	}
	n.AllocatedAt, n.CreatedAt = fromTS(allocated), fromTS(created)
	return n, nil
}

func (s *Store) queryNumbers(ctx context.Context, q querier, op, query string, args ...any) ([]herald.OwnedNumber, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	defer rows.Close()
	var out []herald.OwnedNumber
	for rows.Next() {
		n, err := scanNumber(rows)
		if err != nil {
			return nil, s.dbErr(ctx, op, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(ctx, op, err)
	}
	return out, nil
}

// AddNumbers inserts numbers, each of which needs OrgID, Vendor and Number
// (herald.ErrInvalidInput otherwise, and nothing is added), in one
// transaction. A number already stored under (OrgID, Vendor, Number) is
// left as it is. A zero CreatedAt is set to now.
func (s *Store) AddNumbers(ctx context.Context, numbers []herald.OwnedNumber) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	for _, n := range numbers {
		if n.OrgID == "" || n.Vendor == "" || n.Number == "" {
			return invalid("number without OrgID, Vendor or Number")
		}
	}
	if len(numbers) == 0 {
		return nil
	}
	now := s.now()
	return s.write(ctx, func(q querier) error {
		for _, ch := range chunks(len(numbers), 300) {
			b := s.newBuilder()
			b.sql(`INSERT INTO herald_numbers (` + numberCols + `) VALUES `)
			for i, n := range numbers[ch[0]:ch[1]] {
				if i > 0 {
					b.sql(`, `)
				}
				created := n.CreatedAt
				if created.IsZero() {
					created = now
				}
				in(b, []any{n.OrgID, n.Vendor, n.Number, n.VendorID, n.AreaCode, n.Country,
					n.AllocatedTo, n.AllocatedToID, ts(n.AllocatedAt), ts(created)})
			}
			b.sql(` ON CONFLICT DO NOTHING`)
			if _, err := q.ExecContext(ctx, b.String(), b.args...); err != nil {
				return s.dbErr(ctx, "adding numbers", err)
			}
		}
		return nil
	})
}

// numberWhere appends the conditions of f to b (after WHERE).
func numberWhere(b *builder, f *herald.NumberFilter) {
	b.sql(`org_id = `).arg(f.OrgID)
	if f.Vendor != "" {
		b.sql(` AND vendor = `).arg(f.Vendor)
	}
	if f.AreaCode != "" {
		b.sql(` AND area_code = `).arg(f.AreaCode)
	}
	if f.AllocatedTo != "" {
		b.sql(` AND allocated_to = `).arg(f.AllocatedTo)
	}
	if f.AllocatedToID != "" {
		b.sql(` AND allocated_to_id = `).arg(f.AllocatedToID)
	}
	if f.Unallocated {
		b.sql(` AND allocated_to = ''`)
	}
}

// ListNumbers returns the matching numbers ordered by Number (then
// Vendor).
func (s *Store) ListNumbers(ctx context.Context, f herald.NumberFilter) ([]herald.OwnedNumber, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if f.OrgID == "" {
		return nil, invalid("number filter without OrgID")
	}
	b := s.newBuilder()
	b.sql(`SELECT ` + numberCols + ` FROM herald_numbers WHERE `)
	numberWhere(b, &f)
	b.sql(` ORDER BY number, vendor`)
	return s.queryNumbers(ctx, s.db, "listing numbers", b.String(), b.args...)
}

// AllocateNumbers allocates p.Count free numbers of the organization (of
// p.Vendor and in p.AreaCode when set), lowest Number first, to
// p.AllocatedTo/p.AllocatedToID at p.At (zero: now), and returns them.
// When fewer are free it allocates none and the error wraps
// herald.ErrConflict. It runs in one transaction; on PostgreSQL the free
// rows are locked (FOR UPDATE, waiting rather than skipping, so that a
// concurrent allocation that gives up does not make this one fail).
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
		at = s.now()
	}
	f := herald.NumberFilter{OrgID: p.OrgID, Vendor: p.Vendor, AreaCode: p.AreaCode, Unallocated: true}
	var out []herald.OwnedNumber
	err := s.write(ctx, func(q querier) error {
		b := s.newBuilder()
		b.sql(`SELECT vendor, number FROM herald_numbers WHERE `)
		numberWhere(b, &f)
		b.sql(` ORDER BY number, vendor LIMIT `).arg(p.Count)
		if s.pg {
			b.sql(` FOR UPDATE`)
		}
		rows, err := q.QueryContext(ctx, b.String(), b.args...)
		if err != nil {
			return s.dbErr(ctx, "allocating numbers", err)
		}
		var keys [][2]string
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return s.dbErr(ctx, "allocating numbers", err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.dbErr(ctx, "allocating numbers", err)
		}
		if len(keys) < p.Count {
			return conflict("%d numbers free, %d asked", len(keys), p.Count)
		}
		u := s.newBuilder()
		u.sql(`UPDATE herald_numbers SET allocated_to = `).arg(p.AllocatedTo)
		u.sql(`, allocated_to_id = `).arg(p.AllocatedToID).sql(`, allocated_at = `).arg(ts(at))
		u.sql(` WHERE org_id = `).arg(p.OrgID).sql(` AND (vendor, number) IN (`)
		for i, k := range keys {
			if i > 0 {
				u.sql(`, `)
			}
			u.sql(`(`).arg(k[0]).sql(`, `).arg(k[1]).sql(`)`)
		}
		u.sql(`) RETURNING ` + numberCols)
		out, err = s.queryNumbers(ctx, q, "allocating numbers", u.String(), u.args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	sortNumbers(out)
	return out, nil
}

// sortNumbers orders ns by Number, then Vendor (RETURNING has no order).
func sortNumbers(ns []herald.OwnedNumber) {
	slices.SortFunc(ns, func(a, b herald.OwnedNumber) int {
		if c := strings.Compare(a.Number, b.Number); c != 0 {
			return c
		}
		return strings.Compare(a.Vendor, b.Vendor)
	})
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
	var n int64
	err := s.writeOrDB(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(`UPDATE herald_numbers SET allocated_to = '', allocated_to_id = '', allocated_at = 0
WHERE org_id = ? AND allocated_to = ? AND allocated_to_id = ?`), orgID, allocatedTo, allocatedToID)
		if err == nil {
			n, err = affected(res)
		}
		if err != nil {
			return s.dbErr(ctx, "releasing numbers", err)
		}
		return nil
	})
	return int(n), err
}

// DeleteNumbers removes the organization's numbers at vendor (every vendor
// when vendor is empty) and reports how many existed.
func (s *Store) DeleteNumbers(ctx context.Context, orgID, vendor string, numbers []string) (int, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if len(numbers) == 0 {
		return 0, nil
	}
	var total int64
	err := s.write(ctx, func(q querier) error {
		for _, ch := range chunks(len(numbers), 500) {
			b := s.newBuilder()
			b.sql(`DELETE FROM herald_numbers WHERE org_id = `).arg(orgID)
			if vendor != "" {
				b.sql(` AND vendor = `).arg(vendor)
			}
			b.sql(` AND number IN `)
			in(b, numbers[ch[0]:ch[1]])
			res, err := q.ExecContext(ctx, b.String(), b.args...)
			var n int64
			if err == nil {
				n, err = affected(res)
			}
			if err != nil {
				return s.dbErr(ctx, "deleting numbers", err)
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(total), nil
}
