package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

func (f *fixture) stateKey() herald.StateKey {
	return herald.StateKey{OrgID: f.org, Namespace: "manager-x", Key: uid("k")}
}

func testState(t *testing.T, newStore newStoreFunc) {
	t.Run("GetPutDelete", func(t *testing.T) {
		f := setup(t, newStore)
		k := f.stateKey()
		_, err := f.s.GetState(f.ctx, k)
		require.ErrorIs(t, err, herald.ErrNotFound)

		require.NoError(t, f.s.PutState(f.ctx, k, []byte("one")))
		v, err := f.s.GetState(f.ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "one", string(v))

		require.NoError(t, f.s.PutState(f.ctx, k, []byte("two")))
		v, err = f.s.GetState(f.ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "two", string(v), "overwritten")

		require.NoError(t, f.s.DeleteState(f.ctx, k))
		_, err = f.s.GetState(f.ctx, k)
		assert.ErrorIs(t, err, herald.ErrNotFound)
		assert.ErrorIs(t, f.s.DeleteState(f.ctx, k), herald.ErrNotFound, "absent")
	})

	t.Run("KeysAreIsolated", func(t *testing.T) {
		f := setup(t, newStore)
		k := f.stateKey()
		require.NoError(t, f.s.PutState(f.ctx, k, []byte("v")))
		for name, other := range map[string]herald.StateKey{
			"OtherOrg":       {OrgID: f.org2, Namespace: k.Namespace, Key: k.Key},
			"OtherNamespace": {OrgID: k.OrgID, Namespace: "manager-y", Key: k.Key},
			"OtherKey":       {OrgID: k.OrgID, Namespace: k.Namespace, Key: k.Key + "x"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.s.GetState(f.ctx, other)
				assert.ErrorIs(t, err, herald.ErrNotFound)
			})
		}
	})

	t.Run("CompareAndSwap", func(t *testing.T) {
		f := setup(t, newStore)
		k := f.stateKey()
		steps := []struct {
			name       string
			old, value []byte
			swapped    bool
			after      string // "" = absent
		}{
			{"AbsentWrongOld", []byte("x"), []byte("a"), false, ""},
			{"AbsentNilOld", nil, []byte("a"), true, "a"},
			{"PresentNilOld", nil, []byte("b"), false, "a"},
			{"PresentWrongOld", []byte("x"), []byte("b"), false, "a"},
			{"PresentRightOld", []byte("a"), []byte("b"), true, "b"},
			{"AgainOldValue", []byte("a"), []byte("c"), false, "b"},
		}
		for _, st := range steps {
			swapped, err := f.s.CompareAndSwapState(f.ctx, k, st.old, st.value)
			require.NoError(t, err, st.name)
			assert.Equal(t, st.swapped, swapped, st.name)
			v, err := f.s.GetState(f.ctx, k)
			if st.after == "" {
				assert.ErrorIs(t, err, herald.ErrNotFound, st.name)
				continue
			}
			require.NoError(t, err, st.name)
			assert.Equal(t, st.after, string(v), st.name)
		}
	})

	t.Run("CompareAndSwapConcurrent", func(t *testing.T) {
		f := setup(t, newStore)
		const n = 20
		for _, round := range []struct {
			name string
			old  []byte
		}{{"FromAbsent", nil}, {"FromValue", []byte("start")}} {
			t.Run(round.name, func(t *testing.T) {
				k := f.stateKey()
				if round.old != nil {
					require.NoError(t, f.s.PutState(f.ctx, k, round.old))
				}
				swapped := make([]bool, n)
				errs := make([]error, n)
				parallel(n, func(i int) {
					swapped[i], errs[i] = f.s.CompareAndSwapState(f.ctx, k, round.old, []byte(fmt.Sprint(i)))
				})
				wins, winner := 0, -1
				for i := range n {
					require.NoError(t, errs[i])
					if swapped[i] {
						wins++
						winner = i
					}
				}
				require.Equal(t, 1, wins, "exactly one swap wins")
				v, err := f.s.GetState(f.ctx, k)
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprint(winner), string(v))
			})
		}
	})
}

// markSeen marks (org, vendor, id) seen at f.base and reports whether it
// was new.
func (f *fixture) markSeen(org, vendor, id string) bool {
	f.t.Helper()
	ok, err := f.s.MarkEventSeen(f.ctx, org, vendor, id, f.base)
	require.NoError(f.t, err, "MarkEventSeen")
	return ok
}

func testWebhooks(t *testing.T, newStore newStoreFunc) {
	t.Run("MarkEventSeen", func(t *testing.T) {
		f := setup(t, newStore)
		ev := uid("ev")
		assert.True(t, f.markSeen(f.org, "alpha", ev), "new")
		assert.False(t, f.markSeen(f.org, "alpha", ev), "seen")
		assert.True(t, f.markSeen(f.org, "beta", ev), "another vendor")
		assert.True(t, f.markSeen(f.org2, "alpha", ev), "another organization")
		assert.True(t, f.markSeen(f.org, "alpha", uid("ev")), "another event")
	})

	t.Run("ForgetEvent", func(t *testing.T) {
		f := setup(t, newStore)
		ev, other := uid("ev"), uid("ev")
		require.True(t, f.markSeen(f.org, "alpha", ev))
		require.True(t, f.markSeen(f.org, "alpha", other))
		require.NoError(t, f.s.ForgetEvent(f.ctx, f.org, "alpha", ev))
		require.NoError(t, f.s.ForgetEvent(f.ctx, f.org, "alpha", ev), "forgetting twice")
		require.NoError(t, f.s.ForgetEvent(f.ctx, f.org2, "alpha", other), "another organization's: nothing")
		require.NoError(t, f.s.ForgetEvent(f.ctx, f.org, "beta", other), "another vendor's: nothing")
		assert.True(t, f.markSeen(f.org, "alpha", ev), "a forgotten event is new again")
		assert.False(t, f.markSeen(f.org, "alpha", other), "only the forgotten event")
	})

	t.Run("MarkEventSeenConcurrent", func(t *testing.T) {
		f := setup(t, newStore)
		ev := uid("ev")
		const n = 50
		res := make([]bool, n)
		errs := make([]error, n)
		parallel(n, func(i int) {
			res[i], errs[i] = f.s.MarkEventSeen(f.ctx, f.org, "alpha", ev, f.base)
		})
		trues := 0
		for i := range n {
			require.NoError(t, errs[i])
			if res[i] {
				trues++
			}
		}
		assert.Equal(t, 1, trues, "exactly one caller sees the event as new")
	})

	t.Run("PendingReports", func(t *testing.T) {
		f := setup(t, newStore)
		vmid := uid("vmid")
		report := func(org, vendor, id string, st herald.Status, at time.Duration) *herald.DeliveryReport {
			return &herald.DeliveryReport{
				OrgID: org, Vendor: vendor, EventID: uid("ev"), VendorMessageID: id, Status: st,
				ErrorCode: "E", To: "+15555550100", At: f.at(at), Raw: map[string]string{"k": "v"},
			}
		}
		delivered := report(f.org, "alpha", vmid, herald.StatusDelivered, 2*time.Second)
		sent := report(f.org, "alpha", vmid, herald.StatusSent, time.Second)
		failed := report(f.org, "alpha", vmid, herald.StatusFailed, 3*time.Second)
		others := []*herald.DeliveryReport{
			report(f.org, "alpha", uid("vmid"), herald.StatusSent, 0),
			report(f.org, "beta", vmid, herald.StatusSent, 0),
			report(f.org2, "alpha", vmid, herald.StatusSent, 0),
		}
		// Saved out of order: taken oldest first.
		for _, r := range append([]*herald.DeliveryReport{delivered, failed, sent}, others...) {
			require.NoError(t, f.s.SavePendingReport(f.ctx, r))
		}
		got, err := f.s.TakePendingReports(f.ctx, f.org, "alpha", vmid)
		require.NoError(t, err)
		require.Len(t, got, 3)
		for i, want := range []*herald.DeliveryReport{sent, delivered, failed} {
			assert.Equal(t, normReport(want), normReport(got[i]), "report %d", i)
		}
		got, err = f.s.TakePendingReports(f.ctx, f.org, "alpha", vmid)
		require.NoError(t, err)
		assert.Empty(t, got, "removed by the take")

		for _, o := range others {
			got, err := f.s.TakePendingReports(f.ctx, o.OrgID, o.Vendor, o.VendorMessageID)
			require.NoError(t, err)
			require.Len(t, got, 1, "scoped to (org, vendor, vendor message ID)")
			assert.Equal(t, normReport(o), normReport(got[0]))
		}
	})

	t.Run("PruneWebhookState", func(t *testing.T) {
		f := setup(t, newStore)
		old, recent := uid("ev"), uid("ev")
		for _, e := range []struct {
			org, id string
			at      time.Duration
		}{{f.org, old, -2 * time.Hour}, {f.org2, uid("ev"), -3 * time.Hour}, {f.org, recent, 0}} {
			ok, err := f.s.MarkEventSeen(f.ctx, e.org, "alpha", e.id, f.at(e.at))
			require.NoError(t, err)
			require.True(t, ok)
		}
		vmid, vmid2 := uid("vmid"), uid("vmid")
		park := func(org, id string, at time.Duration) *herald.DeliveryReport {
			r := &herald.DeliveryReport{OrgID: org, Vendor: "alpha", EventID: uid("ev"), VendorMessageID: id,
				Status: herald.StatusDelivered, At: f.at(at)}
			require.NoError(t, f.s.SavePendingReport(f.ctx, r))
			return r
		}
		park(f.org, vmid, -2*time.Hour)
		kept := park(f.org, vmid, 0)
		park(f.org2, vmid2, -3*time.Hour)

		events, reports, err := f.s.PruneWebhookState(f.ctx, f.at(-time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 2, events, "the two old events, in every organization")
		assert.Equal(t, 2, reports, "the two old reports, in every organization")

		assert.True(t, f.markSeen(f.org, "alpha", old), "a forgotten event is new again")
		assert.False(t, f.markSeen(f.org, "alpha", recent), "a recent event is still seen")
		got, err := f.s.TakePendingReports(f.ctx, f.org, "alpha", vmid)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, kept.EventID, got[0].EventID, "the recent report is kept")
		got, err = f.s.TakePendingReports(f.ctx, f.org2, "alpha", vmid2)
		require.NoError(t, err)
		assert.Empty(t, got)

		events, reports, err = f.s.PruneWebhookState(f.ctx, f.at(-time.Hour))
		require.NoError(t, err)
		assert.Zero(t, events+reports, "nothing more to prune")
	})

	t.Run("PendingReportsConcurrentTake", func(t *testing.T) {
		f := setup(t, newStore)
		vmid := uid("vmid")
		const saved, takers = 10, 8
		for i := range saved {
			require.NoError(t, f.s.SavePendingReport(f.ctx, &herald.DeliveryReport{
				OrgID: f.org, Vendor: "alpha", EventID: fmt.Sprint(i), VendorMessageID: vmid,
				Status: herald.StatusDelivered, At: f.at(time.Duration(i) * time.Second),
			}))
		}
		counts := make([]int, takers)
		errs := make([]error, takers)
		parallel(takers, func(i int) {
			got, err := f.s.TakePendingReports(f.ctx, f.org, "alpha", vmid)
			counts[i], errs[i] = len(got), err
		})
		total := 0
		for i := range takers {
			require.NoError(t, errs[i])
			total += counts[i]
		}
		assert.Equal(t, saved, total, "each parked report is taken once")
	})
}
