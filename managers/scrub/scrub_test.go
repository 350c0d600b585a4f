package scrub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/managers/scrub"
)

func fast() scrub.Options {
	return scrub.Options{LookupsPerSecond: 10000, Burst: 100, Concurrency: 8, ProgressInterval: 20 * time.Millisecond}
}

func TestMetadata(t *testing.T) {
	m := scrub.New(scrub.Options{})
	defer m.Close()
	md := m.Metadata()
	assert.Equal(t, scrub.Name, md.Name)
	assert.Equal(t, "scrub-bad-mobilenums", md.Name)
	assert.True(t, md.SupportsCampaignConfig)
	assert.True(t, md.CanSpendMoney)
	assert.Contains(t, md.MoneySpendingOperations, "OnCampaignUpdate")
	assert.NotEmpty(t, md.Description)
}

func TestCampaignDataBlocksUntilScrubbed(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(fast())
	defer m.Close()
	f.load(t, f.campaign, 0, 50)

	md := f.data(t, m, f.campaign)
	require.NotNil(t, md.FullyConfigured)
	assert.False(t, *md.FullyConfigured, "50 numbers need a lookup")
	assert.Equal(t, 50, md.Data["pending"])
	assert.Equal(t, "idle", md.Data["status"])
	assert.Equal(t, true, md.Data["lookupSupported"])
	assert.False(t, md.StartPolling)
	assert.Zero(t, f.fake.Lookups(), "reporting costs nothing")

	f.org.Features = map[string]string{scrub.FeatureOptional: "true"}
	md = f.data(t, m, f.campaign)
	assert.True(t, *md.FullyConfigured, "SCRUB_MOBILE_OPTIONAL never blocks")
	assert.Equal(t, true, md.Data["optional"])

	f.org.Features = nil
	empty := &herald.Campaign{ID: "empty", OrgID: "org1", State: herald.CampaignDraft}
	md = f.data(t, m, empty)
	assert.True(t, *md.FullyConfigured, "nothing to look up")
}

func TestScrubRemovesExactlyTheBadOnes(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(fast())
	defer m.Close()
	f.load(t, f.campaign, 0, 200)

	md, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	assert.False(t, *md.FullyConfigured)
	wait(t, m)

	assert.Equal(t, 200, f.fake.Lookups())
	left := f.remaining(t, f.campaign)
	assert.Len(t, left, 140, "numbers ending 2, 3 and 4 are removed")
	for _, c := range left {
		assert.False(t, bad(c.Phone), c.ID)
		require.NotNil(t, c.Lookup, "the lookup is recorded on the contact")
		assert.Equal(t, herald.LookupTextable, c.Lookup.StatusCode)
		assert.Equal(t, "mobile", c.Lookup.LineType)
	}
	// The removed ones' lookups stay in the organization's cache.
	res, ok, err := scrub.CachedLookup(context.Background(), f.env().State, number(2))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, herald.LookupLandline, res.StatusCode)

	md = f.data(t, m, f.campaign)
	assert.True(t, *md.FullyConfigured)
	assert.Equal(t, "finished", md.Data["status"])
	assert.Equal(t, 200, md.Data["paid"])
	assert.Equal(t, 60, md.Data["removed"])
	assert.Equal(t, 0, md.Data["pending"])
	assert.Equal(t, 200, md.Data["done"])

	// Scrubbing again pays nothing.
	_, err = f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	assert.Equal(t, 200, f.fake.Lookups())
	assert.NotContains(t, f.logs.String(), number(7), "no full number in logs")
}

func TestRateLimitAndConcurrency(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	lv := &lookupVendor{Vendor: f.fake, delay: 5 * time.Millisecond}
	f.vendor = lv
	const n, perSecond, burst = 60, 100.0, 5
	m := scrub.New(scrub.Options{LookupsPerSecond: perSecond, Burst: burst, Concurrency: 3, ProgressInterval: 20 * time.Millisecond})
	defer m.Close()
	f.load(t, f.campaign, 0, n)

	start := time.Now()
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	elapsed := time.Since(start)

	assert.Equal(t, n, f.fake.Lookups())
	// A token bucket lets at most burst + rate×t calls through in t.
	minElapsed := time.Duration(float64(n-burst) / perSecond * float64(time.Second))
	assert.GreaterOrEqual(t, elapsed, minElapsed)
	lv.mu.Lock()
	defer lv.mu.Unlock()
	assert.LessOrEqual(t, lv.maxInFlight, 3, "Concurrency bounds lookups in flight")
	// Measured at the vendor: n calls, of which at most burst came at
	// once, span at least (n-burst-1)/rate.
	span := lv.times[len(lv.times)-1].Sub(lv.times[0])
	assert.GreaterOrEqual(t, span, time.Duration(float64(n-burst-1)/perSecond*float64(time.Second)))
}

func TestOrganizationFeatureSetsTheRate(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	f.org.Features = map[string]string{scrub.FeatureLookupsPerSecond: "50"}
	m := scrub.New(scrub.Options{LookupsPerSecond: 10000, Burst: 1})
	defer m.Close()
	f.load(t, f.campaign, 0, 20)
	start := time.Now()
	md, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: "true"})
	require.NoError(t, err)
	assert.Equal(t, 50.0, md.Data["lookupsPerSecond"])
	wait(t, m)
	assert.GreaterOrEqual(t, time.Since(start), 19*time.Second/50)
	assert.Equal(t, 20, f.fake.Lookups())
}

func TestCancelAndContinue(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(scrub.Options{LookupsPerSecond: 200, Burst: 1, Concurrency: 2, ProgressInterval: 10 * time.Millisecond})
	defer m.Close()
	f.load(t, f.campaign, 0, 100)
	md, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	assert.True(t, md.StartPolling)
	assert.Equal(t, "running", md.Data["status"])
	require.Eventually(t, func() bool { return f.fake.Lookups() >= 10 }, 10*time.Second, 5*time.Millisecond)

	md, err = f.update(m, f.campaign, map[string]any{scrub.UpdateCancel: true})
	require.NoError(t, err)
	assert.False(t, m.Running("org1", "camp1"))
	assert.Equal(t, "canceled", md.Data["status"])
	assert.False(t, md.StartPolling)
	assert.False(t, *md.FullyConfigured)
	paid := f.fake.Lookups()
	assert.Less(t, paid, 100)
	assert.Equal(t, 100-paid, md.Data["pending"])
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, paid, f.fake.Lookups(), "no lookup after cancel")
	assert.Len(t, f.remaining(t, f.campaign), 100, "nothing removed before the job finishes")

	_, err = f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	assert.Equal(t, 100, f.fake.Lookups(), "continuing pays only for the rest")
	for i := range 100 {
		assert.LessOrEqual(t, f.fake.LookupsFor(number(i)), 1)
	}
	assert.Len(t, f.remaining(t, f.campaign), 70)
}

func TestContactLoadRemovesKnownBadNumbersAtOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(fast())
	defer m.Close()
	f.load(t, f.campaign, 0, 100)
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	require.Equal(t, 100, f.fake.Lookups())

	// A second campaign shares numbers 50..99 and adds 100..149.
	other := &herald.Campaign{ID: "camp2", OrgID: "org1", State: herald.CampaignDraft}
	f.load(t, other, 50, 100)
	// A contact whose own Lookup already says landline is removed too.
	c := &herald.Contact{ID: "camp2-own", OrgID: "org1", CampaignID: "camp2", Phone: "+14152019990",
		Lookup: &herald.LookupResult{StatusCode: herald.LookupLandline}}
	_, err = f.store.PutContact(context.Background(), c)
	require.NoError(t, err)
	err = m.OnCampaignContactLoad(context.Background(), &herald.ContactLoadEvent{Env: f.env(), Organization: f.org, Campaign: other})
	require.NoError(t, err)
	assert.Len(t, f.remaining(t, other), 100-15, "15 known bad numbers and the known landline removed")
	assert.Equal(t, 100, f.fake.Lookups(), "a load pays nothing")

	md := f.data(t, m, other)
	assert.Equal(t, 50, md.Data["pending"], "only the new numbers need a lookup")
	assert.Equal(t, 16, md.Data["removedOnLoad"])
	assert.False(t, *md.FullyConfigured)

	_, err = f.update(m, other, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	assert.Equal(t, 150, f.fake.Lookups(), "no number paid for twice across campaigns")
	for i := range 150 {
		assert.Equal(t, 1, f.fake.LookupsFor(number(i)))
	}
	assert.Len(t, f.remaining(t, other), 70)
	assert.True(t, *f.data(t, m, other).FullyConfigured)
}

func TestVendorWithoutLookupIsReported(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	f.vendor = plainVendor{}
	m := scrub.New(fast())
	defer m.Close()
	f.load(t, f.campaign, 0, 10)

	md := f.data(t, m, f.campaign)
	assert.Equal(t, false, md.Data["lookupSupported"])
	assert.Contains(t, md.Data["error"], "cannot look numbers up")
	assert.False(t, *md.FullyConfigured)

	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.ErrorIs(t, err, herald.ErrUnsupported)
	assert.Contains(t, err.Error(), `"plain"`)
}

func TestUpdateErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(fast())
	defer m.Close()
	_, err := f.update(m, f.campaign, map[string]any{"bogus": true})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	started := &herald.Campaign{ID: "s", OrgID: "org1", State: herald.CampaignStarted}
	_, err = f.update(m, started, map[string]any{scrub.UpdateScrub: true})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	require.NoError(t, m.Close())
	f.load(t, f.campaign, 0, 5)
	_, err = f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	assert.ErrorIs(t, err, scrub.ErrClosed)
}

func TestLookupErrorsAreReportedNotSwallowed(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	failing := number(15)
	f.vendor = &lookupVendor{Vendor: f.fake, fail: func(n string) error {
		if n == failing {
			return &herald.VendorError{Vendor: "fake", Class: herald.ClassPermanent, Code: "20404", Message: "no such number " + n}
		}
		return nil
	}}
	m := scrub.New(fast())
	defer m.Close()
	f.load(t, f.campaign, 0, 20)
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)

	md := f.data(t, m, f.campaign)
	assert.Equal(t, "finished", md.Data["status"])
	assert.Equal(t, 1, md.Data["failed"])
	assert.Equal(t, 1, md.Data["pending"])
	assert.False(t, *md.FullyConfigured, "a number whose lookup failed still blocks")
	lastErr, _ := md.Data["lastError"].(string)
	assert.Contains(t, lastErr, "20404")
	assert.Contains(t, lastErr, "0015")
	assert.NotContains(t, lastErr, failing)
	assert.NotContains(t, f.logs.String(), failing)
	assert.Contains(t, f.logs.String(), "lookup failed")
	assert.Len(t, f.remaining(t, f.campaign), 20-6, "the known bad ones are removed anyway")
}

func TestAuthErrorFailsTheJob(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	f.vendor = &lookupVendor{Vendor: f.fake, fail: func(string) error {
		return &herald.VendorError{Vendor: "fake", Class: herald.ClassAuth, Code: "20003", Message: "bad credentials"}
	}}
	m := scrub.New(fast())
	defer m.Close()
	f.load(t, f.campaign, 0, 20)
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	md := f.data(t, m, f.campaign)
	assert.Equal(t, "failed", md.Data["status"])
	assert.Contains(t, md.Data["lastError"], "20003")
	assert.False(t, *md.FullyConfigured)
	assert.Contains(t, f.logs.String(), "lookup job failed")
}

func TestTemporaryErrorsAreRetried(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	calls := map[string]int{}
	f.vendor = &lookupVendor{Vendor: f.fake, fail: func(n string) error {
		calls[n]++ // Concurrency 1: no race
		if calls[n] == 1 {
			return &herald.VendorError{Vendor: "fake", Class: herald.ClassTemporary, Code: "503"}
		}
		return nil
	}}
	opts := fast()
	opts.Concurrency = 1
	m := scrub.New(opts)
	defer m.Close()
	f.load(t, f.campaign, 0, 3)
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	wait(t, m)
	md := f.data(t, m, f.campaign)
	assert.Equal(t, 0, md.Data["failed"])
	assert.True(t, *md.FullyConfigured)
	assert.Equal(t, 6, md.Data["paid"], "each number was called twice: one failure, one success")
}

func TestStaleLeaseIsResumed(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	f.load(t, f.campaign, 0, 30)
	// A job of a process that died: running, its lease long expired.
	dead := scrub.Progress{Status: scrub.StatusRunning, Owner: "dead", LeaseUntil: time.Now().Add(-time.Minute), Total: 30}
	b, err := json.Marshal(dead)
	require.NoError(t, err)
	require.NoError(t, f.env().State.Put(context.Background(), "campaign/camp1", b))

	// Slow enough (30 lookups at 100/s) that the resumed job still runs
	// when CampaignData answers.
	m := scrub.New(scrub.Options{LookupsPerSecond: 100, Concurrency: 2, ProgressInterval: 10 * time.Millisecond})
	defer m.Close()
	md := f.data(t, m, f.campaign)
	assert.True(t, md.StartPolling, "CampaignData resumed the job")
	wait(t, m)
	assert.Equal(t, 30, f.fake.Lookups())
	p, err := scrub.ReadProgress(context.Background(), f.env().State, "camp1")
	require.NoError(t, err)
	assert.Equal(t, scrub.StatusFinished, p.Status)
	assert.Equal(t, 30, p.Total)
	assert.Empty(t, p.Owner)
}

func TestALiveJobElsewhereIsLeftAlone(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	f.load(t, f.campaign, 0, 40)
	a := scrub.New(scrub.Options{LookupsPerSecond: 100, Concurrency: 1, ProgressInterval: 10 * time.Millisecond})
	defer a.Close()
	b := scrub.New(fast())
	defer b.Close()

	_, err := f.update(a, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	md, err := f.update(b, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	assert.False(t, b.Running("org1", "camp1"), "b does not run a second job")
	assert.True(t, md.StartPolling)
	md = f.data(t, b, f.campaign)
	assert.True(t, md.StartPolling)
	assert.False(t, b.Running("org1", "camp1"))

	// b cancels a's job through State; a notices at its next progress write.
	_, err = f.update(b, f.campaign, map[string]any{scrub.UpdateCancel: true})
	require.NoError(t, err)
	wait(t, a)
	p, err := scrub.ReadProgress(context.Background(), f.env().State, "camp1")
	require.NoError(t, err)
	assert.Equal(t, scrub.StatusCanceled, p.Status)
	assert.Less(t, f.fake.Lookups(), 40)
}

func TestContactLoadStopsARunningJob(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(scrub.Options{LookupsPerSecond: 100, Concurrency: 1})
	defer m.Close()
	f.load(t, f.campaign, 0, 50)
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	f.load(t, f.campaign, 1000, 10)
	require.NoError(t, m.OnCampaignContactLoad(context.Background(), &herald.ContactLoadEvent{Env: f.env(), Organization: f.org, Campaign: f.campaign}))
	assert.False(t, m.Running("org1", "camp1"))
	md := f.data(t, m, f.campaign)
	assert.Equal(t, "idle", md.Data["status"])
	assert.Equal(t, 10, md.Data["pending"])
}

func TestWaitHonoursContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixture(t)
	m := scrub.New(scrub.Options{LookupsPerSecond: 5, Concurrency: 1})
	f.load(t, f.campaign, 0, 50)
	_, err := f.update(m, f.campaign, map[string]any{scrub.UpdateScrub: true})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, m.Wait(ctx), context.DeadlineExceeded)
	require.NoError(t, m.Close())
	p, err := scrub.ReadProgress(context.Background(), f.env().State, "camp1")
	require.NoError(t, err)
	assert.Equal(t, scrub.StatusInterrupted, p.Status, "Close marks the job interrupted")
	assert.NoError(t, m.Wait(context.Background()), "nothing runs after Close")
	assert.NotContains(t, f.logs.String(), number(1))
}
