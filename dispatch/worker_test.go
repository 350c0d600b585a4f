package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

func TestEnqueueThenRunSendsEverything(t *testing.T) {
	f := newFixture(t, nil)
	var ids []string
	for i := range 40 {
		m, err := f.d.Enqueue(bg, sms("org1", fmt.Sprintf("+1415555%04d", 2600+i), "queued"))
		require.NoError(t, err)
		assert.Equal(t, herald.StatusQueued, m.Status)
		ids = append(ids, m.ID)
	}
	assert.Empty(t, f.fake.Sends(), "nothing is sent before Run")
	run(t, f.d)
	eventually(t, func() bool { return len(f.fake.Sends()) == 40 }, "all sent")
	f.fake.Wait()
	for _, id := range ids {
		eventually(t, func() bool { return statusOf(t, f.store, "org1", id) == herald.StatusDelivered }, "delivered")
	}
}

func TestRunTwiceIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	run(t, f.d)
	// Once a message enqueued now is sent, the first Run is surely running.
	m, err := f.d.Enqueue(bg, sms("org1", "+14155552671", "ping"))
	require.NoError(t, err)
	eventually(t, func() bool { return f.fake.Accepted(m.IdempotencyKey) }, "first Run works")
	assert.Equal(t, dispatch.ErrRunning, f.d.Run(bg))
}

func TestRunRestartedMidFlightSendsEachMessageOnce(t *testing.T) {
	store := memstore.New()
	fv := fake.New(fake.Options{})
	slow := &slowVendor{Vendor: fv, delay: 2 * time.Millisecond}
	d, err := dispatch.New(dispatch.Config{
		Store: store, Vendors: []herald.Vendor{slow}, Concurrency: 4, PollInterval: 5 * time.Millisecond,
	})
	require.NoError(t, err)

	const n = 300
	keys := make([]string, n)
	for i := range n {
		m := sms("org1", fmt.Sprintf("+1415555%04d", 1000+i), "restart")
		m.IdempotencyKey = fmt.Sprintf("k%d", i)
		keys[i] = m.IdempotencyKey
		_, err := d.Enqueue(bg, m)
		require.NoError(t, err)
	}
	// Start, stop mid-flight, start again: several times.
	for round := 0; round < 3; round++ {
		ctx, cancel := context.WithCancel(bg)
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		time.Sleep(40 * time.Millisecond)
		cancel()
		require.NoError(t, <-done)
		// After a graceful stop nothing is left in sending or leased.
		msgs, err := store.ListMessages(bg, herald.MessageFilter{OrgID: "org1", Statuses: []herald.Status{herald.StatusSending}})
		require.NoError(t, err)
		assert.Empty(t, msgs, "no message stuck in sending after shutdown")
	}
	stop := run(t, d)
	eventually(t, func() bool { return len(fv.Sends()) == n }, "all %d sent", n)
	stop()
	for _, k := range keys {
		require.Equal(t, 1, fv.Calls(k), "key %s sent once", k)
	}
	msgs, err := store.ListMessages(bg, herald.MessageFilter{OrgID: "org1"})
	require.NoError(t, err)
	for _, m := range msgs {
		assert.Equal(t, herald.StatusSent, m.Status)
		assert.Empty(t, m.LeaseOwner)
	}
}

func TestTwoDispatchersShareOneStore(t *testing.T) {
	store := memstore.New()
	fv := fake.New(fake.Options{})
	mk := func() *dispatch.Dispatcher {
		d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{&slowVendor{Vendor: fv, delay: time.Millisecond}}, PollInterval: 5 * time.Millisecond})
		require.NoError(t, err)
		return d
	}
	d1, d2 := mk(), mk()
	const n = 200
	for i := range n {
		m := sms("org1", fmt.Sprintf("+1415555%04d", 1000+i), "shared")
		m.IdempotencyKey = fmt.Sprintf("s%d", i)
		_, err := d1.Enqueue(bg, m) // d1 is not running: d2's poller must find them too
		require.NoError(t, err)
	}
	run(t, d1)
	run(t, d2)
	eventually(t, func() bool { return len(fv.Sends()) == n }, "all sent")
	for i := range n {
		assert.Equal(t, 1, fv.Calls(fmt.Sprintf("s%d", i)))
	}
}

func TestRecoveredSendingMessage(t *testing.T) {
	clock := newFakeClock()
	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprintf("idempotent=%v", idempotent), func(t *testing.T) {
			store := memstore.New()
			fv := fake.New(fake.Options{})
			v := &slowVendor{Vendor: fv, notIdempotent: !idempotent}
			d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, Clock: clock, PollInterval: 5 * time.Millisecond})
			require.NoError(t, err)
			// A worker that died mid-send left this behind.
			now := clock.Now()
			_, _, err = store.CreateMessage(bg, &herald.Message{ID: "m1", OrgID: "org1", IdempotencyKey: "m1", Channel: herald.ChannelSMS,
				To: "+14155552671", Body: "hi", Vendor: "fake", Status: herald.StatusSending, Attempts: 1,
				LeaseOwner: "dead-worker", LeaseUntil: now.Add(time.Minute), CreatedAt: now, UpdatedAt: now})
			require.NoError(t, err)
			run(t, d)
			time.Sleep(30 * time.Millisecond)
			assert.Equal(t, herald.StatusSending, statusOf(t, store, "org1", "m1"), "the lease still lives")
			clock.Advance(2 * time.Minute)
			if idempotent {
				eventually(t, func() bool { return statusOf(t, store, "org1", "m1") == herald.StatusSent }, "resent")
				assert.Equal(t, 1, fv.Calls("m1"))
			} else {
				eventually(t, func() bool { return statusOf(t, store, "org1", "m1") == herald.StatusUnknown }, "unknown")
				assert.Equal(t, 0, fv.Calls("m1"))
			}
		})
	}
}

func TestRunPrunesOldWebhookState(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, func(c *dispatch.Config) {
		c.Clock = clock
		c.WebhookRetention = 24 * time.Hour
	})
	now := clock.Now()
	for i, at := range []time.Time{now.Add(-48 * time.Hour), now.Add(-time.Hour)} {
		ok, err := f.store.MarkEventSeen(bg, "org1", "fake", fmt.Sprint("ev", i), at)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.NoError(t, f.store.SavePendingReport(bg, &herald.DeliveryReport{OrgID: "org1", Vendor: "fake",
		VendorMessageID: "never-recorded", Status: herald.StatusDelivered, At: now.Add(-30 * time.Hour)}))

	run(t, f.d)
	eventually(t, func() bool {
		ok, err := f.store.MarkEventSeen(bg, "org1", "fake", "ev0", now)
		return err == nil && ok
	}, "the 48-hour-old event is forgotten")
	ok, err := f.store.MarkEventSeen(bg, "org1", "fake", "ev1", now)
	require.NoError(t, err)
	assert.False(t, ok, "the hour-old event is remembered")
	parked, err := f.store.TakePendingReports(bg, "org1", "fake", "never-recorded")
	require.NoError(t, err)
	assert.Empty(t, parked, "the report parked 30 hours ago is dropped")

	events, reports, err := f.d.PruneWebhookState(bg)
	require.NoError(t, err)
	assert.Zero(t, events+reports)
}
