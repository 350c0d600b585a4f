package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

// claimDue calls ClaimDue and requires no error.
func (f *fixture) claimDue(owner string, now time.Time, limit int) []*herald.Message {
	f.t.Helper()
	got, err := f.s.ClaimDue(f.ctx, f.claimParams(owner, now, limit))
	require.NoError(f.t, err, "ClaimDue")
	return got
}

// toSending moves a message to sending under owner's lease, as a worker does
// after claiming it.
func (f *fixture) toSending(m *herald.Message, owner string) *herald.Message {
	f.t.Helper()
	got, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{
		OrgID: m.OrgID, ID: m.ID, Status: herald.StatusSending,
		ExpectStatus:     []herald.Status{herald.StatusQueued, herald.StatusScheduled},
		ExpectLeaseOwner: owner,
		Event:            herald.StatusEvent{At: f.base},
	})
	require.NoError(f.t, err)
	return got
}

func testClaimDue(t *testing.T, newStore newStoreFunc) {
	t.Run("OrderAndLease", func(t *testing.T) {
		f := setup(t, newStore)
		// CreatedAt runs against SendAt, so that only the documented order
		// passes.
		a := f.createMsg(withCreatedAt(f.at(-1 * time.Second)))
		b := f.createMsg(withStatus(herald.StatusScheduled), withSendAt(f.at(-2*time.Minute)), withCreatedAt(f.at(-5*time.Second)))
		c := f.createMsg(withStatus(herald.StatusScheduled), withSendAt(f.at(-2*time.Minute)), withCreatedAt(f.at(-6*time.Second)))
		d := f.createMsg(withOrg(f.org2), withSendAt(f.at(-time.Minute)), withCreatedAt(f.at(-30*time.Second)))
		e := f.createMsg(withStatus(herald.StatusScheduled), withSendAt(f.base), withCreatedAt(f.at(-40*time.Second)))
		g := f.createMsg(withStatus(herald.StatusScheduled), withSendAt(f.at(time.Second)), withCreatedAt(f.at(-50*time.Second)))

		got := f.claimDue("worker-1", f.base, 10)
		require.Equal(t, []string{a.ID, c.ID, b.ID, d.ID, e.ID}, ids(got),
			"due messages, zero SendAt first, then SendAt, then CreatedAt, across organizations; future SendAt skipped")
		for _, m := range got {
			assert.Equal(t, "worker-1", m.LeaseOwner)
			assert.True(t, f.at(time.Minute).Equal(m.LeaseUntil), "LeaseUntil is Now+LeaseFor")
			stored := f.get(m.OrgID, m.ID)
			assert.Equal(t, "worker-1", stored.LeaseOwner, "lease stored")
			assert.True(t, f.at(time.Minute).Equal(stored.LeaseUntil))
			assert.Equal(t, m.Status, stored.Status, "claiming does not change the status")
		}
		assert.Empty(t, ids(f.claimDue("worker-2", f.base, 10)), "claimed messages are not due while leased")
		assert.Equal(t, []string{g.ID}, ids(f.claimDue("worker-2", f.at(time.Second), 10)), "SendAt reached")
	})

	t.Run("Limit", func(t *testing.T) {
		f := setup(t, newStore)
		var want []string
		for i := range 5 {
			want = append(want, f.createMsg(withSendAt(f.at(time.Duration(i-10)*time.Second)),
				withCreatedAt(f.at(time.Duration(-i)*time.Second))).ID)
		}
		assert.Equal(t, want[:2], ids(f.claimDue("w1", f.base, 2)))
		assert.Equal(t, want[2:4], ids(f.claimDue("w2", f.base, 2)))
		assert.Equal(t, want[4:], ids(f.claimDue("w3", f.base, 2)))
		assert.Empty(t, f.claimDue("w4", f.base, 2))
	})

	t.Run("ZeroLimitMeans100", func(t *testing.T) {
		f := setup(t, newStore)
		for i := range 105 {
			f.createMsg(withCreatedAt(f.at(time.Duration(i-200) * time.Millisecond)))
		}
		assert.Len(t, f.claimDue("w1", f.base, 0), 100)
		assert.Len(t, f.claimDue("w2", f.base, 0), 5)
	})

	t.Run("FutureSendAt", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withStatus(herald.StatusScheduled), withSendAt(f.at(time.Minute)))
		assert.Empty(t, f.claimDue("w1", f.base, 0))
		assert.Empty(t, f.claimDue("w1", f.at(time.Minute-time.Millisecond), 0))
		assert.Equal(t, []string{m.ID}, ids(f.claimDue("w1", f.at(time.Minute), 0)), "due at SendAt")
	})

	t.Run("ExpiredLeaseFutureSendAt", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withStatus(herald.StatusScheduled), withSendAt(f.at(time.Hour)))
		_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
		require.NoError(t, err)
		assert.Empty(t, f.claimDue("w2", f.at(2*time.Minute), 0), "lease expired, SendAt not reached")
		assert.Equal(t, []string{m.ID}, ids(f.claimDue("w2", f.at(time.Hour), 0)))
	})

	t.Run("LiveLeaseSkippedExpiredReclaimed", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
		require.NoError(t, err)
		assert.Empty(t, f.claimDue("w2", f.at(30*time.Second), 0), "live lease")
		got := f.claimDue("w2", f.at(2*time.Minute), 0)
		require.Equal(t, []string{m.ID}, ids(got), "expired lease")
		assert.Equal(t, "w2", got[0].LeaseOwner)
		assert.True(t, f.at(3*time.Minute).Equal(got[0].LeaseUntil))
	})

	t.Run("SendingReclaimedOnlyAfterLeaseExpires", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg(withSendAt(f.at(-time.Hour)))
		require.Len(t, f.claimDue("w1", f.base, 0), 1)
		f.toSending(m, "w1")
		for _, now := range []time.Time{f.base, f.at(30 * time.Second), f.at(time.Minute - time.Millisecond)} {
			assert.Empty(t, f.claimDue("w2", now, 0), "sending with a live lease, now=%s", now)
		}
		got := f.claimDue("w2", f.at(2*time.Minute), 0)
		require.Equal(t, []string{m.ID}, ids(got), "sending with an expired lease")
		assert.Equal(t, herald.StatusSending, got[0].Status)
		assert.Equal(t, "w2", got[0].LeaseOwner)
		assert.Empty(t, f.claimDue("w3", f.at(2*time.Minute), 0), "reclaimed once")
	})

	// Reclaimed and never-claimed messages come out in one SendAt order.
	t.Run("ReclaimedAndFreshInSendAtOrder", func(t *testing.T) {
		const r, fr = "reclaimed", "fresh"
		cases := []struct {
			name                 string
			reclaimedAt, freshAt time.Duration // SendAt offsets
			limit                int
			want                 []string
		}{
			{"ReclaimedEarlier", -time.Hour, -time.Minute, 0, []string{r, fr}},
			{"ReclaimedEarlierLimit1", -time.Hour, -time.Minute, 1, []string{r}},
			{"FreshEarlier", -time.Minute, -time.Hour, 0, []string{fr, r}},
			{"FreshEarlierLimit1", -time.Minute, -time.Hour, 1, []string{fr}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t, newStore)
				reclaimed := f.createMsg(withSendAt(f.at(tc.reclaimedAt)))
				require.Len(t, f.claimDue("w1", f.base, 0), 1)
				f.toSending(reclaimed, "w1")
				fresh := f.createMsg(withSendAt(f.at(tc.freshAt)))
				byName := map[string]string{r: reclaimed.ID, fr: fresh.ID}
				var want []string
				for _, n := range tc.want {
					want = append(want, byName[n])
				}
				assert.Equal(t, want, ids(f.claimDue("w2", f.at(2*time.Minute), tc.limit)))
			})
		}
	})

	t.Run("NeverTerminalOrSent", func(t *testing.T) {
		f := setup(t, newStore)
		for _, st := range herald.AllStatuses() {
			if st.Pending() || st == herald.StatusSending {
				continue
			}
			// Created in the status, due long ago, no lease.
			f.createMsg(withStatus(st), withSendAt(f.at(-time.Hour)))
			// Reached the status from sending, leaving an expired lease.
			m := f.createMsg(withSendAt(f.at(-time.Hour)))
			_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.at(-time.Hour), 0))
			require.NoError(t, err)
			f.toSending(m, "w1")
			_, err = f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: st,
				Event: herald.StatusEvent{At: f.base}})
			require.NoError(t, err, "to %s", st)
		}
		assert.Empty(t, ids(f.claimDue("w2", f.at(time.Hour), 0)))
	})

	t.Run("Concurrent", func(t *testing.T) {
		f := setup(t, newStore)
		const total, workers = 500, 8
		want := make(map[string]bool, total)
		for i := range total {
			org := f.org
			if i%5 == 0 {
				org = f.org2
			}
			m := f.createMsg(withOrg(org), withSendAt(f.at(time.Duration(i%37-40)*time.Second)))
			want[m.ID] = true
		}
		var mu sync.Mutex
		claims := make(map[string][]int)
		errs := make([]error, workers)
		parallel(workers, func(w int) {
			owner := fmt.Sprintf("worker-%d", w)
			for range total { // a correct store runs dry well before this

				got, err := f.s.ClaimDue(f.ctx, f.claimParams(owner, f.base, 7))
				if err != nil {
					errs[w] = err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claims[m.ID] = append(claims[m.ID], w)
				}
				mu.Unlock()
			}
		})
		for w, err := range errs {
			require.NoError(t, err, "worker %d", w)
		}
		assert.Len(t, claims, total, "every message claimed")
		for id, by := range claims {
			assert.True(t, want[id], "unknown message %s", id)
			assert.Len(t, by, 1, "message %s claimed by workers %v", id, by)
		}
	})
}

func testClaimMessage(t *testing.T, newStore newStoreFunc) {
	f := setup(t, newStore)
	type setupFn func(t *testing.T, m *herald.Message) // runs after creation
	leaseBy := func(owner string, at time.Time) setupFn {
		return func(t *testing.T, m *herald.Message) {
			_, err := f.s.ClaimMessage(f.ctx, m.OrgID, m.ID, f.claimParams(owner, at, 0))
			require.NoError(t, err)
		}
	}
	sendingBy := func(owner string, at time.Time) setupFn {
		return func(t *testing.T, m *herald.Message) {
			leaseBy(owner, at)(t, m)
			_, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: m.OrgID, ID: m.ID,
				Status: herald.StatusSending, ExpectLeaseOwner: owner})
			require.NoError(t, err)
		}
	}
	cases := []struct {
		name   string
		status herald.Status
		sendAt time.Time
		prep   setupFn
		ok     bool
	}{
		{"QueuedFree", herald.StatusQueued, time.Time{}, nil, true},
		{"ScheduledInFuture", herald.StatusScheduled, f.at(time.Hour), nil, true},
		{"HeldByOtherLive", herald.StatusQueued, time.Time{}, leaseBy("other", f.base), false},
		{"HeldByOtherExpired", herald.StatusQueued, time.Time{}, leaseBy("other", f.at(-2*time.Minute)), true},
		{"HeldByOwnerLive", herald.StatusQueued, time.Time{}, leaseBy("me", f.at(-30*time.Second)), true},
		{"SendingFree", herald.StatusSending, time.Time{}, nil, true},
		{"SendingHeldByOtherLive", herald.StatusQueued, time.Time{}, sendingBy("other", f.base), false},
		{"SendingHeldByOtherExpired", herald.StatusQueued, time.Time{}, sendingBy("other", f.at(-2*time.Minute)), true},
		{"SendingHeldByOwner", herald.StatusQueued, time.Time{}, sendingBy("me", f.at(-30*time.Second)), true},
		{"Sent", herald.StatusSent, time.Time{}, nil, false},
		{"Delivered", herald.StatusDelivered, time.Time{}, nil, false},
		{"Failed", herald.StatusFailed, time.Time{}, nil, false},
		{"Blocked", herald.StatusBlocked, time.Time{}, nil, false},
		{"Canceled", herald.StatusCanceled, time.Time{}, nil, false},
		{"Unknown", herald.StatusUnknown, time.Time{}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			m := f.createMsg(withStatus(tc.status), withSendAt(tc.sendAt))
			if tc.prep != nil {
				tc.prep(t, m)
			}
			before := normMsg(f.get(f.org, m.ID))
			got, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("me", f.base, 0))
			if !tc.ok {
				require.ErrorIs(t, err, herald.ErrConflict)
				assert.Equal(t, before, normMsg(f.get(f.org, m.ID)), "nothing changes")
				return
			}
			require.NoError(t, err)
			want := before.Clone()
			want.LeaseOwner, want.LeaseUntil = "me", f.at(time.Minute)
			want.UpdatedAt = got.UpdatedAt.UTC() // not specified for claims
			assert.Equal(t, normMsg(want), normMsg(got), "the returned message carries the new lease")
			assert.Equal(t, normMsg(want), normMsg(f.get(f.org, m.ID)))
		})
	}
	t.Run("NotFound", func(t *testing.T) {
		f := f.in(t)
		m := f.createMsg()
		_, err := f.s.ClaimMessage(f.ctx, f.org, uid("missing"), f.claimParams("me", f.base, 0))
		assert.ErrorIs(t, err, herald.ErrNotFound)
		_, err = f.s.ClaimMessage(f.ctx, f.org2, m.ID, f.claimParams("me", f.base, 0))
		assert.ErrorIs(t, err, herald.ErrNotFound, "another organization's message")
		assert.Empty(t, f.get(f.org, m.ID).LeaseOwner)
	})
	t.Run("Concurrent", func(t *testing.T) {
		f := f.in(t)
		m := f.createMsg()
		const n = 20
		errs := make([]error, n)
		parallel(n, func(i int) {
			_, errs[i] = f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams(fmt.Sprintf("w%d", i), f.base, 0))
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				assert.ErrorIs(t, err, herald.ErrConflict)
			}
		}
		assert.Equal(t, 1, wins)
	})
}

func testReleaseLease(t *testing.T, newStore newStoreFunc) {
	t.Run("OwnerReleases", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
		require.NoError(t, err)
		require.NoError(t, f.s.ReleaseLease(f.ctx, f.org, m.ID, "w1"))
		assert.Empty(t, f.get(f.org, m.ID).LeaseOwner)
		got := f.claimDue("w2", f.at(time.Second), 0)
		assert.Equal(t, []string{m.ID}, ids(got), "another worker may take it at once")
	})

	t.Run("OwnerReleasesSending", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
		require.NoError(t, err)
		f.toSending(m, "w1")
		require.NoError(t, f.s.ReleaseLease(f.ctx, f.org, m.ID, "w1"))
		got, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w2", f.at(time.Second), 0))
		require.NoError(t, err, "another worker may take it at once")
		assert.Equal(t, "w2", got.LeaseOwner)
	})

	t.Run("NotTheOwner", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
		require.NoError(t, err)
		before := normMsg(f.get(f.org, m.ID))
		assert.NoError(t, f.s.ReleaseLease(f.ctx, f.org, m.ID, "w2"))
		assert.Equal(t, before, normMsg(f.get(f.org, m.ID)), "lease kept")
		_, err = f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w2", f.at(time.Second), 0))
		assert.ErrorIs(t, err, herald.ErrConflict)
	})

	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		_, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
		require.NoError(t, err)
		assert.ErrorIs(t, f.s.ReleaseLease(f.ctx, f.org, uid("missing"), "w1"), herald.ErrNotFound)
		assert.ErrorIs(t, f.s.ReleaseLease(f.ctx, f.org2, m.ID, "w1"), herald.ErrNotFound, "another organization's message")
		assert.Equal(t, "w1", f.get(f.org, m.ID).LeaseOwner)
	})
}
