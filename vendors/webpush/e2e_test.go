package webpush_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
)

// TestEndToEnd registers two browser subscriptions on a contact, sends one
// notification to the contact through the dispatcher, and sees the live
// subscription get it (decrypted by the push service) and the expired one
// (410) removed from the contact in the store; a transient 503 later
// removes nothing, even when it exhausts the retries.
func TestEndToEnd(t *testing.T) {
	f := newFixture(t)
	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{f.client}})
	require.NoError(t, err)
	_, err = store.PutOrganization(bg, &herald.Organization{ID: "acme"})
	require.NoError(t, err)
	_, err = store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "acme", FirstName: "Ada"})
	require.NoError(t, err)

	liveSub, liveEndpoint := f.push.subscribe(t, "laptop")
	goneSub, goneEndpoint := f.push.subscribe(t, "old-phone")
	require.NoError(t, d.RegisterDevice(bg, "acme", "c1", herald.Device{Channel: herald.ChannelWebPush, Subscription: goneSub}))
	require.NoError(t, d.RegisterDevice(bg, "acme", "c1", herald.Device{Channel: herald.ChannelWebPush, Subscription: liveSub, Platform: "chrome"}))
	f.push.answer("old-phone", 410, "")

	results, err := d.SendToContact(bg, &herald.Message{
		OrgID: "acme", ContactID: "c1", Channel: herald.ChannelWebPush,
		Subject: "Hi Ada", Body: "Your report is ready", Urgency: herald.UrgencyHigh,
	})
	require.NoError(t, err)
	require.Len(t, results, 2)
	byTo := map[string]dispatch.BatchResult{}
	for _, r := range results {
		require.NotNil(t, r.Result)
		byTo[r.Message.To] = r
	}

	live := byTo[liveEndpoint]
	require.NoError(t, live.Err)
	assert.Equal(t, herald.StatusSent, live.Message.Status)
	assert.NotEmpty(t, live.Message.VendorMessageID)
	got := f.push.received()
	require.Len(t, got, 1)
	assert.Equal(t, "laptop", got[0].Sub)
	assert.Equal(t, "Hi Ada", got[0].Notification.Title)
	assert.Equal(t, live.Message.ID, got[0].Notification.ID)
	assert.Equal(t, "high", got[0].Header.Get("Urgency"))
	assert.NotEqual(t, "0", got[0].Header.Get("TTL"))
	stored, err := store.GetMessage(bg, "acme", live.Message.ID)
	require.NoError(t, err)
	assert.Equal(t, live.Message.VendorMessageID, stored.VendorMessageID)

	gone := byTo[goneEndpoint]
	assert.ErrorIs(t, gone.Err, herald.ClassGone)
	assert.Equal(t, herald.StatusFailed, gone.Message.Status)
	assert.Equal(t, "410", gone.Message.ErrorCode)

	c, err := store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	require.Len(t, c.Devices, 1, "the gone subscription is removed, the live one kept")
	assert.Equal(t, liveEndpoint, c.Devices[0].Token)

	// A transient failure keeps the device.
	f.push.answer("laptop", 503, "")
	res, err := d.Send(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelWebPush, To: liveEndpoint, Body: "again"})
	assert.ErrorIs(t, err, herald.ClassTemporary)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status, "a retry is scheduled")
	c, err = store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	assert.Len(t, c.Devices, 1, "a transient error never removes a device")

	// Nor does a transient error that exhausts the retries: the message
	// fails, the device stays.
	last, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{f.client}, Retry: dispatch.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	res, err = last.Send(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelWebPush, To: liveEndpoint, Body: "last try"})
	assert.ErrorIs(t, err, herald.ClassTemporary)
	assert.Equal(t, herald.StatusFailed, res.Message.Status, "no attempts left")
	c, err = store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	assert.Len(t, c.Devices, 1, "the device is kept")
}
