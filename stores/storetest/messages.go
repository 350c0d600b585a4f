package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

func testCreateMessage(t *testing.T, newStore newStoreFunc) {
	t.Run("StoresAndReturnsIt", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.newMsg(func(m *herald.Message) {
			m.CampaignID, m.ContactID = uid("camp"), uid("contact")
			m.Subject, m.HTML = "subject", "<p>hi</p>"
			m.TTL = time.Hour
			m.SendAt, m.SendBefore = f.at(time.Minute), f.at(time.Hour)
			m.Status = herald.StatusScheduled
		})
		got, created, err := f.s.CreateMessage(f.ctx, m)
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, normMsg(m), normMsg(got), "returned message")
		assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)), "GetMessage")
		byKey, err := f.s.GetMessageByKey(f.ctx, f.org, m.IdempotencyKey)
		require.NoError(t, err)
		assert.Equal(t, normMsg(m), normMsg(byKey), "GetMessageByKey")
	})

	t.Run("AppendsInitialEvent", func(t *testing.T) {
		// A message may be created in any status: the dispatcher creates
		// one it can decide at once in sending, blocked, canceled or
		// failed, with the reason on the message and its first event.
		for _, st := range []herald.Status{herald.StatusQueued, herald.StatusScheduled, herald.StatusSending,
			herald.StatusBlocked, herald.StatusCanceled, herald.StatusFailed} {
			t.Run(string(st), func(t *testing.T) {
				f := setup(t, newStore)
				reason := ""
				if !st.Pending() && st != herald.StatusSending {
					reason = "decided before the send: " + string(st)
				}
				m := f.createMsg(withStatus(st), func(m *herald.Message) { m.Reason = reason })
				assert.Equal(t, reason, f.get(f.org, m.ID).Reason, "message Reason")
				evs := f.events(f.org, m.ID)
				require.Len(t, evs, 1)
				e := evs[0]
				assert.Equal(t, m.ID, e.MessageID)
				assert.Equal(t, f.org, e.OrgID)
				assert.Equal(t, st, e.Status)
				assert.Equal(t, reason, e.Reason)
				assert.Equal(t, herald.SourceDispatcher, e.Source)
				assert.True(t, e.Applied)
				assert.Empty(t, e.Engagement)
				assert.True(t, e.At.Equal(m.CreatedAt), "event At is CreatedAt")
			})
		}
	})

	t.Run("ZeroTimestampsSetToNow", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.newMsg(withCreatedAt(time.Time{}))
		got := f.create(m)
		assert.False(t, got.CreatedAt.IsZero(), "CreatedAt")
		assert.False(t, got.UpdatedAt.IsZero(), "UpdatedAt")
		stored := f.get(f.org, m.ID)
		assert.True(t, got.CreatedAt.Equal(stored.CreatedAt), "stored CreatedAt")
		assert.True(t, got.UpdatedAt.Equal(stored.UpdatedAt), "stored UpdatedAt")
	})

	t.Run("Idempotent", func(t *testing.T) {
		f := setup(t, newStore)
		first := f.createMsg()
		cases := []struct {
			name string
			mod  func(*herald.Message)
		}{
			{"SameMessage", func(*herald.Message) {}},
			{"OtherIDAndBody", func(m *herald.Message) {
				m.ID = uid("msg")
				m.Body = "another body"
				m.Status = herald.StatusScheduled
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				again := first.Clone()
				tc.mod(again)
				got, created, err := f.s.CreateMessage(f.ctx, again)
				require.NoError(t, err)
				assert.False(t, created)
				assert.Equal(t, normMsg(first), normMsg(got), "the first message is returned")
				if again.ID != first.ID {
					_, err := f.s.GetMessage(f.ctx, f.org, again.ID)
					assert.ErrorIs(t, err, herald.ErrNotFound, "the second message is not stored")
				}
				assert.Equal(t, normMsg(first), normMsg(f.get(f.org, first.ID)))
				assert.Len(t, f.events(f.org, first.ID), 1, "no event appended")
			})
		}
		all, err := f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org})
		require.NoError(t, err)
		assert.Equal(t, []string{first.ID}, ids(all))
	})

	t.Run("KeyIsPerOrganization", func(t *testing.T) {
		f := setup(t, newStore)
		first := f.createMsg()
		other := f.newMsg(withOrg(f.org2))
		other.IdempotencyKey = first.IdempotencyKey
		got := f.create(other)
		assert.Equal(t, other.ID, got.ID)
		assert.Equal(t, f.org2, got.OrgID)
	})

	t.Run("SameIDIsConflict", func(t *testing.T) {
		cases := []struct {
			name string
			mod  func(f *fixture, m *herald.Message)
		}{
			{"OtherKey", func(f *fixture, m *herald.Message) { m.IdempotencyKey = uid("key") }},
			{"OtherOrgSameKey", func(f *fixture, m *herald.Message) { m.OrgID = f.org2 }},
			{"OtherOrgOtherKey", func(f *fixture, m *herald.Message) {
				m.OrgID = f.org2
				m.IdempotencyKey = uid("key")
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t, newStore)
				first := f.createMsg()
				dup := f.newMsg()
				dup.ID = first.ID
				tc.mod(f, dup)
				_, _, err := f.s.CreateMessage(f.ctx, dup)
				require.ErrorIs(t, err, herald.ErrConflict)
				assert.Equal(t, normMsg(first), normMsg(f.get(f.org, first.ID)), "first unchanged")
				_, err = f.s.GetMessageByKey(f.ctx, dup.OrgID, dup.IdempotencyKey)
				if dup.OrgID != first.OrgID || dup.IdempotencyKey != first.IdempotencyKey {
					assert.ErrorIs(t, err, herald.ErrNotFound, "conflicting message not stored")
				}
			})
		}
	})

	t.Run("RequiredFields", func(t *testing.T) {
		f := setup(t, newStore)
		cases := []struct {
			name string
			mod  func(*herald.Message)
		}{
			{"ID", func(m *herald.Message) { m.ID = "" }},
			{"OrgID", func(m *herald.Message) { m.OrgID = "" }},
			{"IdempotencyKey", func(m *herald.Message) { m.IdempotencyKey = "" }},
			{"Channel", func(m *herald.Message) { m.Channel = "" }},
			{"Status", func(m *herald.Message) { m.Status = "" }},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				m := f.newMsg(tc.mod)
				_, _, err := f.s.CreateMessage(f.ctx, m)
				require.ErrorIs(t, err, herald.ErrInvalidInput)
				if m.OrgID != "" && m.ID != "" {
					_, err = f.s.GetMessage(f.ctx, m.OrgID, m.ID)
					assert.ErrorIs(t, err, herald.ErrNotFound, "nothing stored")
				}
				if m.OrgID != "" && m.IdempotencyKey != "" {
					_, err = f.s.GetMessageByKey(f.ctx, m.OrgID, m.IdempotencyKey)
					assert.ErrorIs(t, err, herald.ErrNotFound, "nothing stored")
				}
			})
		}
	})

	t.Run("ConcurrentSameKey", func(t *testing.T) {
		f := setup(t, newStore)
		const n = 50
		key := uid("key")
		type result struct {
			id      string
			created bool
			err     error
		}
		results := make([]result, n)
		parallel(n, func(i int) {
			m := f.newMsg()
			m.IdempotencyKey = key
			got, created, err := f.s.CreateMessage(f.ctx, m)
			r := result{created: created, err: err}
			if got != nil {
				r.id = got.ID
			}
			results[i] = r
		})
		createdCount := 0
		for i, r := range results {
			require.NoError(t, r.err, "create %d", i)
			if r.created {
				createdCount++
			}
			assert.Equal(t, results[0].id, r.id, "create %d returned another message", i)
		}
		assert.Equal(t, 1, createdCount, "exactly one create is created")
		all, err := f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org})
		require.NoError(t, err)
		assert.Equal(t, []string{results[0].id}, ids(all), "one message stored")
		assert.Len(t, f.events(f.org, results[0].id), 1, "one initial event")
	})

	t.Run("ConcurrentDistinctKeys", func(t *testing.T) {
		f := setup(t, newStore)
		const n = 50
		errs := make([]error, n)
		created := make([]bool, n)
		parallel(n, func(i int) {
			_, created[i], errs[i] = f.s.CreateMessage(f.ctx, f.newMsg())
		})
		for i := range n {
			require.NoError(t, errs[i])
			assert.True(t, created[i])
		}
		all, err := f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org})
		require.NoError(t, err)
		assert.Len(t, all, n)
	})
}

func testMessageLookups(t *testing.T, newStore newStoreFunc) {
	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, newStore)
		f.createMsg()
		_, err := f.s.GetMessage(f.ctx, f.org, uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound, "GetMessage")
		_, err = f.s.GetMessageByKey(f.ctx, f.org, uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound, "GetMessageByKey")
		_, err = f.s.FindMessageByVendorID(f.ctx, f.org, "fake", uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound, "FindMessageByVendorID")
		_, err = f.s.LatestMessageTo(f.ctx, f.org, "+15555550111")
		assert.ErrorIs(t, err, herald.ErrNotFound, "LatestMessageTo")
		_, err = f.s.MessageEvents(f.ctx, f.org, uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound, "MessageEvents")
	})

	t.Run("FindMessageByVendorID", func(t *testing.T) {
		f := setup(t, newStore)
		vmid := uid("vmid")
		// m1: vendor "alpha" learns vmid through a status update.
		m1 := f.createMsg()
		_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
			OrgID: f.org, ID: m1.ID, Status: herald.StatusSent,
			Vendor: ptr("alpha"), VendorMessageID: ptr(vmid),
		})
		require.NoError(t, err)
		// m2: vendor "beta" uses the same ID; set at creation.
		m2 := f.createMsg(func(m *herald.Message) {
			m.Status, m.Vendor, m.VendorMessageID = herald.StatusSent, "beta", vmid
		})
		// m3: another organization, vendor "alpha", same ID.
		m3 := f.createMsg(withOrg(f.org2), withStatus(herald.StatusSending))
		_, err = f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
			OrgID: f.org2, ID: m3.ID, Status: herald.StatusSent,
			Vendor: ptr("alpha"), VendorMessageID: ptr(vmid),
		})
		require.NoError(t, err)

		cases := []struct {
			org, vendor, vmid string
			want              string // "" = not found
		}{
			{f.org, "alpha", vmid, m1.ID},
			{f.org, "beta", vmid, m2.ID},
			{f.org2, "alpha", vmid, m3.ID},
			{f.org2, "beta", vmid, ""},
			{f.org, "gamma", vmid, ""},
			{f.org, "alpha", uid("vmid"), ""},
		}
		for i, tc := range cases {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				f := f.in(t)
				got, err := f.s.FindMessageByVendorID(f.ctx, tc.org, tc.vendor, tc.vmid)
				if tc.want == "" {
					assert.ErrorIs(t, err, herald.ErrNotFound)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.want, got.ID)
				assert.Equal(t, tc.org, got.OrgID)
				assert.Equal(t, tc.vendor, got.Vendor)
				assert.Equal(t, tc.vmid, got.VendorMessageID)
			})
		}

		t.Run("FollowsAChange", func(t *testing.T) {
			f := f.in(t)
			m := f.createMsg(withStatus(herald.StatusSending), func(m *herald.Message) {
				m.Vendor, m.VendorMessageID = "alpha", uid("vmid")
			})
			newID := uid("vmid")
			_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
				OrgID: f.org, ID: m.ID, Status: herald.StatusSent, VendorMessageID: ptr(newID),
			})
			require.NoError(t, err)
			got, err := f.s.FindMessageByVendorID(f.ctx, f.org, "alpha", newID)
			require.NoError(t, err)
			assert.Equal(t, m.ID, got.ID)
			_, err = f.s.FindMessageByVendorID(f.ctx, f.org, "alpha", m.VendorMessageID)
			assert.ErrorIs(t, err, herald.ErrNotFound, "the old vendor message ID")
		})
	})

	t.Run("LatestMessageTo", func(t *testing.T) {
		f := setup(t, newStore)
		const a, b = "+15555550101", "+15555550102"
		f.createMsg(withTo(a), withCreatedAt(f.at(1*time.Second)))
		m2 := f.createMsg(withTo(a), withCreatedAt(f.at(2*time.Second)))
		m3 := f.createMsg(withTo(b), withCreatedAt(f.at(3*time.Second)))
		m4 := f.createMsg(withTo(a), withOrg(f.org2), withCreatedAt(f.at(4*time.Second)))
		check := func(org, to, want string) {
			t.Helper()
			got, err := f.s.LatestMessageTo(f.ctx, org, to)
			require.NoError(t, err)
			assert.Equal(t, want, got.ID)
		}
		check(f.org, a, m2.ID)
		check(f.org, b, m3.ID)
		check(f.org2, a, m4.ID)
		_, err := f.s.LatestMessageTo(f.ctx, f.org2, b)
		assert.ErrorIs(t, err, herald.ErrNotFound)
		m5 := f.createMsg(withTo(a), withCreatedAt(f.at(5*time.Second)))
		check(f.org, a, m5.ID)
	})

	t.Run("ListMessages", func(t *testing.T) {
		f := setup(t, newStore)
		c1, c2, k1, k2 := uid("camp"), uid("camp"), uid("contact"), uid("contact")
		mk := func(sec int, camp, contact string, st herald.Status) func(*herald.Message) {
			return func(m *herald.Message) {
				m.CampaignID, m.ContactID, m.Status = camp, contact, st
				m.CreatedAt = f.at(time.Duration(sec) * time.Second)
				m.UpdatedAt = m.CreatedAt
			}
		}
		// Created out of CreatedAt order: the list is oldest first.
		m3 := f.createMsg(mk(3, c2, k1, herald.StatusFailed))
		m1 := f.createMsg(mk(1, c1, k1, herald.StatusQueued))
		m4 := f.createMsg(mk(4, "", k1, herald.StatusQueued))
		m2 := f.createMsg(mk(2, c1, k2, herald.StatusSent))
		other := f.createMsg(withOrg(f.org2), mk(0, c1, k1, herald.StatusQueued))

		cases := []struct {
			name string
			f    herald.MessageFilter
			want []string
		}{
			{"All", herald.MessageFilter{}, []string{m1.ID, m2.ID, m3.ID, m4.ID}},
			{"Campaign", herald.MessageFilter{CampaignID: c1}, []string{m1.ID, m2.ID}},
			{"Contact", herald.MessageFilter{ContactID: k1}, []string{m1.ID, m3.ID, m4.ID}},
			{"OneStatus", herald.MessageFilter{Statuses: []herald.Status{herald.StatusQueued}}, []string{m1.ID, m4.ID}},
			{"Statuses", herald.MessageFilter{Statuses: []herald.Status{herald.StatusSent, herald.StatusFailed}}, []string{m2.ID, m3.ID}},
			{"CampaignAndContact", herald.MessageFilter{CampaignID: c1, ContactID: k1}, []string{m1.ID}},
			{"Limit", herald.MessageFilter{Limit: 2}, []string{m1.ID, m2.ID}},
			{"LimitAfterFilter", herald.MessageFilter{ContactID: k1, Limit: 2}, []string{m1.ID, m3.ID}},
			{"LimitAboveCount", herald.MessageFilter{Limit: 10}, []string{m1.ID, m2.ID, m3.ID, m4.ID}},
			{"NoMatch", herald.MessageFilter{CampaignID: uid("camp")}, []string{}},
			{"After", herald.MessageFilter{After: m2.ID}, []string{m3.ID, m4.ID}},
			{"AfterWithLimit", herald.MessageFilter{After: m1.ID, Limit: 2}, []string{m2.ID, m3.ID}},
			{"AfterAFilteredOutMessage", herald.MessageFilter{After: m2.ID, ContactID: k1}, []string{m3.ID, m4.ID}},
			{"AfterTheLast", herald.MessageFilter{After: m4.ID}, []string{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				flt := tc.f
				flt.OrgID = f.org
				got, err := f.s.ListMessages(f.ctx, flt)
				require.NoError(t, err)
				assert.Equal(t, tc.want, ids(got))
			})
		}
		t.Run("OrgIDRequired", func(t *testing.T) {
			f := f.in(t)
			_, err := f.s.ListMessages(f.ctx, herald.MessageFilter{CampaignID: c1})
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
		})
		t.Run("AfterUnknownMessage", func(t *testing.T) {
			f := f.in(t)
			_, err := f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org, After: uid("msg")})
			assert.ErrorIs(t, err, herald.ErrNotFound)
			_, err = f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org, After: other.ID})
			assert.ErrorIs(t, err, herald.ErrNotFound, "another organization's message")
		})
		t.Run("Pages", func(t *testing.T) {
			f := f.in(t)
			var got []string
			after := ""
			for range 10 {
				page, err := f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org, Limit: 1, After: after})
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				got = append(got, page[0].ID)
				after = page[0].ID
			}
			assert.Equal(t, []string{m1.ID, m2.ID, m3.ID, m4.ID}, got, "one page at a time, each message once")
		})
	})
}

// fullUpdate is an update that sets every optional field.
func fullUpdate(f *fixture, m *herald.Message, to herald.Status) *herald.MessageUpdate {
	return &herald.MessageUpdate{
		OrgID:  m.OrgID,
		ID:     m.ID,
		Status: to,
		Event: herald.StatusEvent{
			At:         f.at(time.Minute),
			Source:     herald.SourceReport,
			VendorCode: "code-1",
			Reason:     "reason-1",
		},
		Vendor:             ptr("vendor-x"),
		VendorMessageID:    ptr(uid("vmid")),
		From:               ptr("+15555550123"),
		MessagingServiceID: ptr("MG-1"),
		ErrorCode:          ptr("E1"),
		Reason:             ptr("because"),
		Attempts:           ptr(3),
		SendAt:             ptr(f.at(2 * time.Minute)),
		SentAt:             ptr(f.at(3 * time.Minute)),
		Lease:              &herald.Lease{Owner: "worker-x", Until: f.at(4 * time.Minute)},
	}
}

// applied returns m after u applied, as MessageUpdate documents.
func applied(m *herald.Message, u *herald.MessageUpdate) *herald.Message {
	w := m.Clone()
	w.Status = u.Status
	w.UpdatedAt = u.Event.At
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&w.Vendor, u.Vendor)
	set(&w.VendorMessageID, u.VendorMessageID)
	set(&w.From, u.From)
	set(&w.MessagingServiceID, u.MessagingServiceID)
	set(&w.ErrorCode, u.ErrorCode)
	set(&w.Reason, u.Reason)
	if u.Attempts != nil {
		w.Attempts = *u.Attempts
	}
	if u.SendAt != nil {
		w.SendAt = *u.SendAt
	}
	if u.SentAt != nil {
		w.SentAt = *u.SentAt
	}
	if u.Lease != nil {
		w.LeaseOwner, w.LeaseUntil = u.Lease.Owner, u.Lease.Until
	}
	return w
}

// wantEvent is the event the store must record for u.
func wantEvent(u *herald.MessageUpdate, ok bool) herald.StatusEvent {
	e := u.Event
	e.MessageID, e.OrgID, e.Status, e.Applied = u.ID, u.OrgID, u.Status, ok
	return e
}

func testUpdateMessage(t *testing.T, newStore newStoreFunc) {
	// Every pair of statuses, with herald.Status.CanMoveTo as the oracle.
	t.Run("Transitions", func(t *testing.T) {
		f := setup(t, newStore)
		for _, from := range herald.AllStatuses() {
			for _, to := range herald.AllStatuses() {
				t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
					f := f.in(t)
					m := f.createMsg(withStatus(from))
					u := fullUpdate(f, m, to)
					got, err := f.s.UpdateMessage(f.ctx, u)
					if from.CanMoveTo(to) {
						require.NoError(t, err)
						want := applied(m, u)
						assert.Equal(t, normMsg(want), normMsg(got), "returned message")
						assert.Equal(t, normMsg(want), normMsg(f.get(f.org, m.ID)), "stored message")
						assert.Equal(t, normEvents([]herald.StatusEvent{wantEvent(u, true)}),
							normEvents(f.events(f.org, m.ID)[1:]), "applied event")
						return
					}
					require.ErrorIs(t, err, herald.ErrStaleStatus)
					assert.Equal(t, normMsg(m), normMsg(got), "the current message is returned")
					assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)), "nothing changes")
					assert.Equal(t, normEvents([]herald.StatusEvent{wantEvent(u, false)}),
						normEvents(f.events(f.org, m.ID)[1:]), "event recorded, not applied")
				})
			}
		}
	})

	// A same-status update applies only when ExpectStatus names the status.
	t.Run("SameStatusWithExpect", func(t *testing.T) {
		f := setup(t, newStore)
		for _, st := range herald.AllStatuses() {
			t.Run(string(st), func(t *testing.T) {
				f := f.in(t)
				m := f.createMsg(withStatus(st))
				u := fullUpdate(f, m, st)
				u.ExpectStatus = []herald.Status{herald.StatusDelivered, st}
				got, err := f.s.UpdateMessage(f.ctx, u)
				require.NoError(t, err)
				want := applied(m, u)
				assert.Equal(t, normMsg(want), normMsg(got))
				assert.Equal(t, normMsg(want), normMsg(f.get(f.org, m.ID)))
				evs := f.events(f.org, m.ID)
				require.Len(t, evs, 2)
				assert.Equal(t, normEvents([]herald.StatusEvent{wantEvent(u, true)}), normEvents(evs[1:]))
			})
		}
	})

	// With Discard the store may skip the copy of an applied change, never
	// the change itself; a stale change still returns the current message.
	t.Run("Discard", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withStatus(herald.StatusSending))
		u := fullUpdate(f, m, herald.StatusSent)
		u.Discard = true
		got, err := f.s.UpdateMessage(f.ctx, u)
		require.NoError(t, err)
		want := applied(m, u)
		if got != nil {
			assert.Equal(t, normMsg(want), normMsg(got), "returned message")
		}
		assert.Equal(t, normMsg(want), normMsg(f.get(f.org, m.ID)), "stored message")
		own := m.Clone()
		u.Apply(own, u.Event.At)
		assert.Equal(t, normMsg(want), normMsg(own), "the caller's copy brought up to date by Apply")

		stale := fullUpdate(f, m, herald.StatusQueued)
		stale.Discard = true
		got, err = f.s.UpdateMessage(f.ctx, stale)
		require.ErrorIs(t, err, herald.ErrStaleStatus)
		require.NotNil(t, got, "a stale change returns the current message")
		assert.Equal(t, normMsg(want), normMsg(got))
	})

	// ExpectStatus satisfied, but the move is still backwards: stale.
	t.Run("ExpectStatusThenStale", func(t *testing.T) {
		f := setup(t, newStore)
		cases := []struct{ from, to herald.Status }{
			{herald.StatusDelivered, herald.StatusSent},
			{herald.StatusSent, herald.StatusSending},
			{herald.StatusFailed, herald.StatusQueued},
			{herald.StatusScheduled, herald.StatusQueued},
		}
		for _, tc := range cases {
			t.Run(string(tc.from)+"_to_"+string(tc.to), func(t *testing.T) {
				f := f.in(t)
				m := f.createMsg(withStatus(tc.from))
				u := fullUpdate(f, m, tc.to)
				u.ExpectStatus = []herald.Status{tc.from}
				got, err := f.s.UpdateMessage(f.ctx, u)
				require.ErrorIs(t, err, herald.ErrStaleStatus)
				assert.Equal(t, normMsg(m), normMsg(got))
				assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)))
				evs := f.events(f.org, m.ID)
				require.Len(t, evs, 2)
				assert.False(t, evs[1].Applied)
			})
		}
	})

	t.Run("ExpectStatusMismatch", func(t *testing.T) {
		f := setup(t, newStore)
		cases := []struct {
			name   string
			from   herald.Status
			expect []herald.Status
			to     herald.Status
		}{
			{"LegalMove", herald.StatusQueued, []herald.Status{herald.StatusScheduled, herald.StatusSending}, herald.StatusSent},
			{"StaleMove", herald.StatusDelivered, []herald.Status{herald.StatusSending}, herald.StatusSent},
			{"SameStatus", herald.StatusQueued, []herald.Status{herald.StatusScheduled}, herald.StatusQueued},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				m := f.createMsg(withStatus(tc.from))
				u := fullUpdate(f, m, tc.to)
				u.ExpectStatus = tc.expect
				_, err := f.s.UpdateMessage(f.ctx, u)
				require.ErrorIs(t, err, herald.ErrConflict)
				assert.NotErrorIs(t, err, herald.ErrStaleStatus)
				assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)), "nothing changes")
				assert.Len(t, f.events(f.org, m.ID), 1, "nothing appended")
			})
		}
	})

	t.Run("ExpectLeaseOwner", func(t *testing.T) {
		f := setup(t, newStore)
		leased := func(f *fixture) *herald.Message {
			m := f.createMsg()
			got, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("worker-1", f.base, 0))
			require.NoError(f.t, err)
			return got
		}
		t.Run("Mismatch", func(t *testing.T) {
			f := f.in(t)
			m := leased(f)
			u := fullUpdate(f, m, herald.StatusSending)
			u.ExpectLeaseOwner = "worker-2"
			_, err := f.s.UpdateMessage(f.ctx, u)
			require.ErrorIs(t, err, herald.ErrConflict)
			assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)), "nothing changes")
			assert.Len(t, f.events(f.org, m.ID), 1, "nothing appended")
		})
		t.Run("NoLease", func(t *testing.T) {
			f := f.in(t)
			m := f.createMsg()
			u := fullUpdate(f, m, herald.StatusSending)
			u.ExpectLeaseOwner = "worker-1"
			_, err := f.s.UpdateMessage(f.ctx, u)
			require.ErrorIs(t, err, herald.ErrConflict)
			assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)))
			assert.Len(t, f.events(f.org, m.ID), 1)
		})
		t.Run("Match", func(t *testing.T) {
			f := f.in(t)
			m := leased(f)
			u := fullUpdate(f, m, herald.StatusSending)
			u.ExpectLeaseOwner = "worker-1"
			u.ExpectStatus = []herald.Status{herald.StatusQueued}
			got, err := f.s.UpdateMessage(f.ctx, u)
			require.NoError(t, err)
			assert.Equal(t, normMsg(applied(m, u)), normMsg(got))
		})
	})

	t.Run("NilFieldsUntouched", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(func(m *herald.Message) {
			m.Status = herald.StatusSending
			m.Vendor, m.VendorMessageID, m.MessagingServiceID = "v", uid("vmid"), "MG"
			m.ErrorCode, m.Reason, m.Attempts = "E", "R", 2
			m.SendAt, m.SentAt = f.at(-time.Minute), f.at(-time.Second)
			m.LeaseOwner, m.LeaseUntil = "worker-1", f.at(time.Hour)
		})
		u := &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: herald.StatusSent,
			Event: herald.StatusEvent{At: f.at(time.Minute)}}
		got, err := f.s.UpdateMessage(f.ctx, u)
		require.NoError(t, err)
		want := m.Clone()
		want.Status, want.UpdatedAt = herald.StatusSent, f.at(time.Minute)
		assert.Equal(t, normMsg(want), normMsg(got))
		assert.Equal(t, normMsg(want), normMsg(f.get(f.org, m.ID)))
	})

	t.Run("Lease", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		upd := func(to herald.Status, l *herald.Lease) *herald.Message {
			t.Helper()
			got, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
				OrgID: f.org, ID: m.ID, Status: to, Lease: l,
				ExpectStatus: []herald.Status{herald.StatusQueued, herald.StatusSending},
			})
			require.NoError(t, err)
			return got
		}
		got := upd(herald.StatusSending, &herald.Lease{Owner: "worker-1", Until: f.at(time.Hour)})
		assert.Equal(t, "worker-1", got.LeaseOwner)
		assert.True(t, f.at(time.Hour).Equal(got.LeaseUntil), "LeaseUntil set")

		got = upd(herald.StatusSending, nil)
		assert.Equal(t, "worker-1", got.LeaseOwner, "nil Lease keeps the lease")
		assert.True(t, f.at(time.Hour).Equal(got.LeaseUntil))

		got = upd(herald.StatusSending, &herald.Lease{})
		assert.Empty(t, got.LeaseOwner, "zero Lease clears the owner")
		assert.True(t, got.LeaseUntil.IsZero(), "zero Lease clears the until")
		stored := f.get(f.org, m.ID)
		assert.Empty(t, stored.LeaseOwner)
		assert.True(t, stored.LeaseUntil.IsZero())
	})

	t.Run("EventFilledByStore", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		u := &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: herald.StatusSending,
			Event: herald.StatusEvent{
				MessageID: "wrong", OrgID: "wrong", Status: herald.StatusFailed,
				Source: herald.SourceDispatcher, Applied: false,
			}}
		got, err := f.s.UpdateMessage(f.ctx, u)
		require.NoError(t, err)
		evs := f.events(f.org, m.ID)
		require.Len(t, evs, 2)
		e := evs[1]
		assert.Equal(t, m.ID, e.MessageID)
		assert.Equal(t, f.org, e.OrgID)
		assert.Equal(t, herald.StatusSending, e.Status)
		assert.Equal(t, herald.SourceDispatcher, e.Source)
		assert.True(t, e.Applied)
		assert.False(t, e.At.IsZero(), "zero At becomes now")
		assert.True(t, e.At.Equal(got.UpdatedAt), "UpdatedAt becomes the event's At")
	})

	t.Run("OutOfOrderReports", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withStatus(herald.StatusSending))
		report := func(st herald.Status, sec int) (*herald.Message, error) {
			return f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
				OrgID: f.org, ID: m.ID, Status: st,
				Event: herald.StatusEvent{At: f.at(time.Duration(sec) * time.Second), Source: herald.SourceReport},
			})
		}
		got, err := report(herald.StatusDelivered, 1)
		require.NoError(t, err)
		assert.Equal(t, herald.StatusDelivered, got.Status)
		got, err = report(herald.StatusSent, 2)
		require.ErrorIs(t, err, herald.ErrStaleStatus)
		assert.Equal(t, herald.StatusDelivered, got.Status)
		got, err = report(herald.StatusFailed, 3)
		require.ErrorIs(t, err, herald.ErrStaleStatus)
		assert.Equal(t, herald.StatusDelivered, got.Status)

		stored := f.get(f.org, m.ID)
		assert.Equal(t, herald.StatusDelivered, stored.Status)
		assert.True(t, f.at(time.Second).Equal(stored.UpdatedAt), "only the applied report moved UpdatedAt")
		evs := f.events(f.org, m.ID)
		require.Len(t, evs, 4)
		type row struct {
			Status  herald.Status
			Applied bool
		}
		var rows []row
		for _, e := range evs {
			rows = append(rows, row{e.Status, e.Applied})
		}
		assert.Equal(t, []row{
			{herald.StatusSending, true},
			{herald.StatusDelivered, true},
			{herald.StatusSent, false},
			{herald.StatusFailed, false},
		}, rows)
	})

	t.Run("ConcurrentCAS", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		const n = 20
		errs := make([]error, n)
		parallel(n, func(i int) {
			_, errs[i] = f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
				OrgID: f.org, ID: m.ID, Status: herald.StatusSending,
				ExpectStatus: []herald.Status{herald.StatusQueued},
				Lease:        &herald.Lease{Owner: fmt.Sprintf("worker-%d", i), Until: f.at(time.Minute)},
			})
		})
		winners := 0
		winner := ""
		for i, err := range errs {
			if err == nil {
				winners++
				winner = fmt.Sprintf("worker-%d", i)
				continue
			}
			assert.ErrorIs(t, err, herald.ErrConflict, "loser %d", i)
		}
		require.Equal(t, 1, winners, "exactly one CAS wins")
		stored := f.get(f.org, m.ID)
		assert.Equal(t, herald.StatusSending, stored.Status)
		assert.Equal(t, winner, stored.LeaseOwner, "the winner's fields are stored")
		assert.Len(t, f.events(f.org, m.ID), 2, "one applied event")
	})

	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: uid("missing"), Status: herald.StatusSent})
		assert.ErrorIs(t, err, herald.ErrNotFound)
	})

	t.Run("StatusRequired", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID})
		require.ErrorIs(t, err, herald.ErrInvalidInput)
		assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)))
		assert.Len(t, f.events(f.org, m.ID), 1)
	})
}

func testMessageEvents(t *testing.T, newStore newStoreFunc) {
	t.Run("AddMessageEvent", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withStatus(herald.StatusSending))
		_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: herald.StatusDelivered,
			Event: herald.StatusEvent{At: f.at(time.Second), Source: herald.SourceReport}})
		require.NoError(t, err)
		opened := herald.StatusEvent{MessageID: m.ID, OrgID: f.org, Status: herald.StatusDelivered,
			Engagement: herald.EngagementOpened, At: f.at(2 * time.Second), Source: herald.SourceReport, Applied: true}
		clicked := opened
		clicked.Engagement, clicked.At, clicked.VendorCode = herald.EngagementClicked, f.at(3*time.Second), "click"
		replied := opened
		replied.Engagement, replied.At, replied.Reason = herald.EngagementReplied, f.at(4*time.Second), "reply"
		for _, e := range []herald.StatusEvent{opened, clicked, replied} {
			require.NoError(t, f.s.AddMessageEvent(f.ctx, e))
		}
		evs := f.events(f.org, m.ID)
		require.Len(t, evs, 5)
		assert.Equal(t, herald.StatusSending, evs[0].Status)
		assert.Equal(t, herald.StatusDelivered, evs[1].Status)
		assert.Equal(t, normEvents([]herald.StatusEvent{opened, clicked, replied}), normEvents(evs[2:]), "oldest first")
		assert.Equal(t, herald.StatusDelivered, f.get(f.org, m.ID).Status)
	})

	t.Run("DoesNotChangeStatus", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withStatus(herald.StatusSent))
		require.NoError(t, f.s.AddMessageEvent(f.ctx, herald.StatusEvent{
			MessageID: m.ID, OrgID: f.org, Status: herald.StatusDelivered,
			At: f.at(time.Second), Source: herald.SourceHost, Applied: true,
		}))
		assert.Equal(t, normMsg(m), normMsg(f.get(f.org, m.ID)))
		assert.Len(t, f.events(f.org, m.ID), 2)
	})

	t.Run("MessageMustExist", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		cases := []struct{ name, org, id string }{
			{"UnknownID", f.org, uid("missing")},
			{"OtherOrg", f.org2, m.ID},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				err := f.s.AddMessageEvent(f.ctx, herald.StatusEvent{MessageID: tc.id, OrgID: tc.org,
					Status: herald.StatusQueued, Engagement: herald.EngagementOpened, At: f.base})
				assert.ErrorIs(t, err, herald.ErrNotFound)
			})
		}
		assert.Len(t, f.events(f.org, m.ID), 1)
	})

	t.Run("HistoryInCallOrder", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		step := 0
		next := func() time.Time { step++; return f.at(time.Duration(step) * time.Second) }
		upd := func(st herald.Status) {
			_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: st,
				Event: herald.StatusEvent{At: next()}})
			require.NoError(t, err)
		}
		upd(herald.StatusSending)
		upd(herald.StatusSent)
		require.NoError(t, f.s.AddMessageEvent(f.ctx, herald.StatusEvent{MessageID: m.ID, OrgID: f.org,
			Status: herald.StatusSent, Engagement: herald.EngagementOpened, At: next(), Applied: true}))
		upd(herald.StatusDelivered)
		_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: herald.StatusFailed,
			Event: herald.StatusEvent{At: next()}})
		require.ErrorIs(t, err, herald.ErrStaleStatus)

		var got []string
		for _, e := range f.events(f.org, m.ID) {
			got = append(got, fmt.Sprintf("%s/%s/%v", e.Status, e.Engagement, e.Applied))
		}
		assert.Equal(t, []string{
			"queued//true", "sending//true", "sent//true", "sent/opened/true", "delivered//true", "failed//false",
		}, got)
	})
}
