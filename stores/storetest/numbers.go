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

func (f *fixture) number(vendor, areaCode string) herald.OwnedNumber {
	n := uniquePhone()
	return herald.OwnedNumber{
		OrgID: f.org, Vendor: vendor, VendorID: "PN" + n[1:], Number: n,
		AreaCode: areaCode, Country: "US", CreatedAt: f.base,
	}
}

func (f *fixture) listNumbers(flt herald.NumberFilter) []herald.OwnedNumber {
	f.t.Helper()
	if flt.OrgID == "" {
		flt.OrgID = f.org
	}
	got, err := f.s.ListNumbers(f.ctx, flt)
	require.NoError(f.t, err, "ListNumbers")
	return got
}

func testNumbers(t *testing.T, newStore newStoreFunc) {
	t.Run("AddIsIdempotent", func(t *testing.T) {
		f := setup(t, newStore)
		n1, n2 := f.number("alpha", "212"), f.number("alpha", "212")
		require.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{n1, n2}))
		changed := n1
		changed.AreaCode, changed.VendorID = "646", "PN-other"
		n3 := f.number("alpha", "212")
		sameNumberOtherVendor := n1
		sameNumberOtherVendor.Vendor = "beta"
		require.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{changed, n3, sameNumberOtherVendor}))
		got := f.listNumbers(herald.NumberFilter{Vendor: "alpha"})
		assert.ElementsMatch(t, normNumbers([]herald.OwnedNumber{n1, n2, n3}), normNumbers(got), "existing number left as it is")
		assert.Len(t, f.listNumbers(herald.NumberFilter{}), 4, "(org, vendor, number) is the key")
	})

	t.Run("ListFiltersAndOrder", func(t *testing.T) {
		f := setup(t, newStore)
		// Numbers are increasing in creation order; add them shuffled.
		ns := make([]herald.OwnedNumber, 6)
		for i, spec := range []struct{ vendor, area string }{
			{"alpha", "212"}, {"alpha", "646"}, {"beta", "212"}, {"alpha", "212"}, {"beta", "646"}, {"alpha", "212"},
		} {
			ns[i] = f.number(spec.vendor, spec.area)
		}
		msid := uid("MG")
		ns[1].AllocatedTo, ns[1].AllocatedToID, ns[1].AllocatedAt = herald.AllocationMessagingService, msid, f.base
		ns[3].AllocatedTo, ns[3].AllocatedToID, ns[3].AllocatedAt = herald.AllocationCampaign, "camp-1", f.base
		ns[4].AllocatedTo, ns[4].AllocatedToID, ns[4].AllocatedAt = herald.AllocationCampaign, "camp-2", f.base
		require.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{ns[4], ns[0], ns[5], ns[2], ns[1], ns[3]}))
		other := f.number("alpha", "212")
		other.OrgID = f.org2
		require.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{other}))

		pick := func(is ...int) []string {
			out := []string{}
			for _, i := range is {
				out = append(out, ns[i].Number)
			}
			return out
		}
		cases := []struct {
			name string
			f    herald.NumberFilter
			want []string
		}{
			{"All", herald.NumberFilter{}, pick(0, 1, 2, 3, 4, 5)},
			{"Vendor", herald.NumberFilter{Vendor: "alpha"}, pick(0, 1, 3, 5)},
			{"AreaCode", herald.NumberFilter{AreaCode: "212"}, pick(0, 2, 3, 5)},
			{"VendorAndArea", herald.NumberFilter{Vendor: "beta", AreaCode: "646"}, pick(4)},
			{"AllocatedTo", herald.NumberFilter{AllocatedTo: herald.AllocationCampaign}, pick(3, 4)},
			{"AllocatedToID", herald.NumberFilter{AllocatedTo: herald.AllocationCampaign, AllocatedToID: "camp-2"}, pick(4)},
			{"MessagingService", herald.NumberFilter{AllocatedToID: msid}, pick(1)},
			{"Unallocated", herald.NumberFilter{Unallocated: true}, pick(0, 2, 5)},
			{"UnallocatedInArea", herald.NumberFilter{Unallocated: true, Vendor: "alpha", AreaCode: "212"}, pick(0, 5)},
			{"None", herald.NumberFilter{AreaCode: "999"}, pick()},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				got := f.listNumbers(tc.f)
				assert.Equal(t, tc.want, append([]string{}, numbersOf(got)...))
				for _, n := range got {
					assert.Equal(t, f.org, n.OrgID)
				}
			})
		}
		t.Run("FullValues", func(t *testing.T) {
			f := f.in(t)
			assert.Equal(t, normNumbers([]herald.OwnedNumber{ns[4]}),
				normNumbers(f.listNumbers(herald.NumberFilter{AllocatedToID: "camp-2"})))
		})
		t.Run("OrgIDRequired", func(t *testing.T) {
			_, err := f.s.ListNumbers(f.ctx, herald.NumberFilter{Vendor: "alpha"})
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
		})
	})

	t.Run("Allocate", func(t *testing.T) {
		f := setup(t, newStore)
		free := []herald.OwnedNumber{f.number("alpha", "212"), f.number("alpha", "212"), f.number("alpha", "212")}
		elsewhere := []herald.OwnedNumber{f.number("alpha", "646"), f.number("beta", "212")}
		taken := f.number("alpha", "212")
		taken.AllocatedTo, taken.AllocatedToID, taken.AllocatedAt = herald.AllocationCampaign, "camp-0", f.base
		require.NoError(t, f.s.AddNumbers(f.ctx, append(append(free, elsewhere...), taken)))

		p := herald.AllocateParams{OrgID: f.org, Vendor: "alpha", AreaCode: "212", Count: 2,
			AllocatedTo: herald.AllocationCampaign, AllocatedToID: "camp-1", At: f.at(time.Minute)}
		got, err := f.s.AllocateNumbers(f.ctx, p)
		require.NoError(t, err)
		require.Len(t, got, 2)
		for _, n := range got {
			assert.Contains(t, numbersOf(free), n.Number)
			assert.Equal(t, herald.AllocationCampaign, n.AllocatedTo)
			assert.Equal(t, "camp-1", n.AllocatedToID)
			assert.True(t, f.at(time.Minute).Equal(n.AllocatedAt), "AllocatedAt")
			assert.Equal(t, "alpha", n.Vendor)
			assert.Equal(t, "212", n.AreaCode)
		}
		assert.ElementsMatch(t, numbersOf(got),
			numbersOf(f.listNumbers(herald.NumberFilter{AllocatedTo: herald.AllocationCampaign, AllocatedToID: "camp-1"})))

		// One left in alpha/212: asking for two allocates none.
		p.AllocatedToID = "camp-2"
		_, err = f.s.AllocateNumbers(f.ctx, p)
		require.ErrorIs(t, err, herald.ErrConflict)
		assert.Empty(t, f.listNumbers(herald.NumberFilter{AllocatedToID: "camp-2"}), "all or nothing")
		assert.Len(t, f.listNumbers(herald.NumberFilter{Vendor: "alpha", AreaCode: "212", Unallocated: true}), 1)
		assert.Len(t, f.listNumbers(herald.NumberFilter{Unallocated: true}), 3, "other areas and vendors untouched")

		p.Count = 1
		got, err = f.s.AllocateNumbers(f.ctx, p)
		require.NoError(t, err)
		require.Len(t, got, 1)

		// Another organization's free numbers are not ours.
		other := f.number("alpha", "212")
		other.OrgID = f.org2
		require.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{other}))
		_, err = f.s.AllocateNumbers(f.ctx, p)
		require.ErrorIs(t, err, herald.ErrConflict)
	})

	t.Run("AllocateConcurrent", func(t *testing.T) {
		f := setup(t, newStore)
		var ns []herald.OwnedNumber
		for range 20 {
			ns = append(ns, f.number("alpha", "212"))
		}
		require.NoError(t, f.s.AddNumbers(f.ctx, ns))
		const workers, each = 10, 3
		results := make([][]herald.OwnedNumber, workers)
		errs := make([]error, workers)
		parallel(workers, func(i int) {
			results[i], errs[i] = f.s.AllocateNumbers(f.ctx, herald.AllocateParams{
				OrgID: f.org, Vendor: "alpha", Count: each,
				AllocatedTo: herald.AllocationCampaign, AllocatedToID: fmt.Sprintf("camp-%d", i), At: f.base,
			})
		})
		seen := map[string]int{}
		wins := 0
		for i := range workers {
			if errs[i] != nil {
				assert.ErrorIs(t, errs[i], herald.ErrConflict)
				assert.Empty(t, f.listNumbers(herald.NumberFilter{AllocatedToID: fmt.Sprintf("camp-%d", i)}))
				continue
			}
			wins++
			assert.Len(t, results[i], each)
			for _, n := range results[i] {
				seen[n.Number]++
			}
			assert.ElementsMatch(t, numbersOf(results[i]),
				numbersOf(f.listNumbers(herald.NumberFilter{AllocatedToID: fmt.Sprintf("camp-%d", i)})))
		}
		assert.Equal(t, len(ns)/each, wins, "every allocation that fits succeeds")
		for num, c := range seen {
			assert.Equal(t, 1, c, "number %s allocated %d times", num, c)
		}
		assert.Len(t, f.listNumbers(herald.NumberFilter{Unallocated: true}), len(ns)-wins*each)
	})

	t.Run("Release", func(t *testing.T) {
		f := setup(t, newStore)
		var ns []herald.OwnedNumber
		for range 5 {
			ns = append(ns, f.number("alpha", "212"))
		}
		require.NoError(t, f.s.AddNumbers(f.ctx, ns))
		alloc := func(id string, count int) {
			_, err := f.s.AllocateNumbers(f.ctx, herald.AllocateParams{OrgID: f.org, Count: count,
				AllocatedTo: herald.AllocationCampaign, AllocatedToID: id, At: f.base})
			require.NoError(t, err)
		}
		alloc("camp-1", 2)
		alloc("camp-2", 2)
		n, err := f.s.ReleaseNumbers(f.ctx, f.org, herald.AllocationCampaign, "camp-1")
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		free := f.listNumbers(herald.NumberFilter{Unallocated: true})
		assert.Len(t, free, 3)
		for _, x := range free {
			assert.Empty(t, x.AllocatedToID)
		}
		assert.Len(t, f.listNumbers(herald.NumberFilter{AllocatedToID: "camp-2"}), 2, "other allocation kept")

		n, err = f.s.ReleaseNumbers(f.ctx, f.org, herald.AllocationCampaign, "camp-1")
		require.NoError(t, err)
		assert.Equal(t, 0, n)
		n, err = f.s.ReleaseNumbers(f.ctx, f.org2, herald.AllocationCampaign, "camp-2")
		require.NoError(t, err)
		assert.Equal(t, 0, n, "another organization")
		n, err = f.s.ReleaseNumbers(f.ctx, f.org, herald.AllocationMessagingService, "camp-2")
		require.NoError(t, err)
		assert.Equal(t, 0, n, "another allocation kind")
		assert.Len(t, f.listNumbers(herald.NumberFilter{AllocatedToID: "camp-2"}), 2)
	})

	t.Run("Delete", func(t *testing.T) {
		f := setup(t, newStore)
		a, b, c := f.number("alpha", "212"), f.number("alpha", "212"), f.number("alpha", "212")
		bBeta := b
		bBeta.Vendor = "beta"
		otherOrg := a
		otherOrg.OrgID = f.org2
		require.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{a, b, c, bBeta, otherOrg}))
		n, err := f.s.DeleteNumbers(f.ctx, f.org, "alpha", []string{a.Number, b.Number, uniquePhone()})
		require.NoError(t, err)
		assert.Equal(t, 2, n, "how many existed")
		left := f.listNumbers(herald.NumberFilter{})
		assert.ElementsMatch(t, normNumbers([]herald.OwnedNumber{c, bBeta}), normNumbers(left))
		assert.Len(t, f.listNumbers(herald.NumberFilter{OrgID: f.org2}), 1, "another organization's number kept")
		n, err = f.s.DeleteNumbers(f.ctx, f.org, "alpha", []string{a.Number})
		require.NoError(t, err)
		assert.Equal(t, 0, n)
	})

	t.Run("ConcurrentAddAndList", func(t *testing.T) {
		f := setup(t, newStore)
		var mu sync.Mutex
		var all []string
		parallel(10, func(int) {
			n := f.number("alpha", "212")
			mu.Lock()
			all = append(all, n.Number)
			mu.Unlock()
			assert.NoError(t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{n}))
			_, err := f.s.ListNumbers(f.ctx, herald.NumberFilter{OrgID: f.org})
			assert.NoError(t, err)
		})
		assert.ElementsMatch(t, all, numbersOf(f.listNumbers(herald.NumberFilter{})))
	})
}
