package scrub_test

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/scrub"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

func newDispatcher(t *testing.T, store herald.Store, v herald.Vendor, m *scrub.Manager) *dispatch.Dispatcher {
	t.Helper()
	d, err := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{v},
		Managers:        []herald.ServiceManager{m},
		EnabledManagers: []string{scrub.Name},
	})
	require.NoError(t, err)
	return d
}

// source yields n contacts with the test numbers, in national format.
func source(n int) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) {
		for i := range n {
			e164 := number(i)
			national := fmt.Sprintf("(%s) %s-%s", e164[2:5], e164[5:8], e164[8:])
			if !yield(&herald.Contact{ID: fmt.Sprintf("c%05d", i), FirstName: "C", Phone: national}, nil) {
				return
			}
		}
	}
}

func scrubData(t *testing.T, d *dispatch.Dispatcher, orgID, campaignID string) *herald.ManagerData {
	t.Helper()
	all, err := d.CampaignData(context.Background(), orgID, campaignID, false)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, scrub.Name, all[0].Name)
	return all[0]
}

// TestTenThousandContactsThroughTheDispatcher is the scenario: a
// start is refused before scrubbing; the job keeps to its rate; a restart
// midway pays for no number twice; exactly the bad contacts go.
func TestTenThousandContactsThroughTheDispatcher(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 lookups at a measured rate")
	}
	defer goleak.VerifyNone(t)
	const n = 10000
	const perSecond, burst = 4000.0, 20
	opts := scrub.Options{LookupsPerSecond: perSecond, Burst: burst, Concurrency: 8, ProgressInterval: 20 * time.Millisecond}
	ctx := context.Background()
	store := memstore.New()
	fv := fake.New(fake.Options{})

	first := scrub.New(opts)
	defer first.Close()
	d1 := newDispatcher(t, store, fv, first)
	_, err := d1.CreateCampaign(ctx, &herald.Campaign{ID: "big", OrgID: "org1", Title: "Big"})
	require.NoError(t, err)
	stats, err := d1.LoadContacts(ctx, "org1", "big", source(n), dispatch.LoadOptions{})
	require.NoError(t, err)
	require.Equal(t, n, stats.FinalCount)

	md := scrubData(t, d1, "org1", "big")
	assert.Equal(t, n, md.Data["pending"])
	assert.False(t, *md.FullyConfigured)
	_, err = d1.StartCampaign(ctx, "org1", "big", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked, "a start before scrubbing is refused")
	assert.Contains(t, err.Error(), scrub.Name)

	began := time.Now()
	md, err = d1.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "big", Manager: scrub.Name,
		Update: map[string]any{scrub.UpdateScrub: true}})
	require.NoError(t, err)
	assert.True(t, md.StartPolling)

	// Midway, the process "restarts": the first manager is closed.
	require.Eventually(t, func() bool { return fv.Lookups() >= n/3 }, time.Minute, time.Millisecond)
	_, err = d1.StartCampaign(ctx, "org1", "big", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked, "a start while scrubbing is refused")
	require.NoError(t, first.Close())
	paidBefore := fv.Lookups()
	require.Less(t, paidBefore, n, "the restart happened midway")
	p, err := scrub.ReadProgress(ctx, herald.NamespacedState(store, "org1", scrub.Name), "big")
	require.NoError(t, err)
	assert.Equal(t, scrub.StatusInterrupted, p.Status)
	assert.Equal(t, paidBefore, p.Paid, "every paid lookup is accounted for")

	second := scrub.New(opts)
	defer second.Close()
	d2 := newDispatcher(t, store, fv, second)
	md = scrubData(t, d2, "org1", "big")
	assert.True(t, md.StartPolling, "the new manager resumed the job")
	assert.False(t, *md.FullyConfigured)
	wait(t, second)
	elapsed := time.Since(began)

	assert.Equal(t, n, fv.Lookups(), "each number paid for once in all")
	for i := range n {
		require.Equal(t, 1, fv.LookupsFor(number(i)), "number %d", i)
	}
	// Two runs, each may start with a full bucket.
	minElapsed := time.Duration(float64(n-2*burst) / perSecond * float64(time.Second))
	assert.GreaterOrEqual(t, elapsed, minElapsed, "lookups per second stayed within rate plus burst")

	left := map[string]bool{}
	for c, err := range store.ListContacts(ctx, "org1", "big") {
		require.NoError(t, err)
		left[c.Phone] = true
		require.NotNil(t, c.Lookup)
	}
	for i := range n {
		assert.Equal(t, !bad(number(i)), left[number(i)], "number %d", i)
	}
	assert.Len(t, left, 7000)

	md = scrubData(t, d2, "org1", "big")
	assert.True(t, *md.FullyConfigured)
	assert.Equal(t, "finished", md.Data["status"])
	assert.Equal(t, 3000, md.Data["removed"])
	assert.Equal(t, n, md.Data["total"])
	assert.Equal(t, n, md.Data["paid"])
	started, err := d2.StartCampaign(ctx, "org1", "big", "admin")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignStarted, started.State)
}

func TestDispatcherContactLoadRemovesKnownBad(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	store := memstore.New()
	fv := fake.New(fake.Options{})
	m := scrub.New(fast())
	defer m.Close()
	d := newDispatcher(t, store, fv, m)
	for _, id := range []string{"a", "b"} {
		_, err := d.CreateCampaign(ctx, &herald.Campaign{ID: id, OrgID: "org1"})
		require.NoError(t, err)
	}
	_, err := d.LoadContacts(ctx, "org1", "a", source(100), dispatch.LoadOptions{})
	require.NoError(t, err)
	_, err = d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "a", Manager: scrub.Name, Update: map[string]any{scrub.UpdateScrub: true}})
	require.NoError(t, err)
	wait(t, m)

	_, err = d.LoadContacts(ctx, "org1", "b", source(100), dispatch.LoadOptions{})
	require.NoError(t, err)
	n := 0
	for _, err := range store.ListContacts(ctx, "org1", "b") {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 70, n, "known bad numbers removed on load, nothing paid")
	assert.Equal(t, 100, fv.Lookups())
	md := scrubData(t, d, "org1", "b")
	assert.True(t, *md.FullyConfigured, "every number already known")
	_, err = d.StartCampaign(ctx, "org1", "b", "admin")
	require.NoError(t, err)
}
