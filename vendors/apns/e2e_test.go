package apns_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/apns"
)

// TestEndToEndDevices goes through the dispatcher: register a contact's
// devices, send to each, get APNs' apns-id, see an Unregistered device
// removed from the contact in the store and a device that only failed
// transiently kept.
func TestEndToEndDevices(t *testing.T) {
	f := newFakeAPNs(t, false)
	v, err := apns.New(apns.Options{Host: f.srv.URL, TLSConfig: f.tlsConfig()})
	require.NoError(t, err)
	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v},
		Retry: dispatch.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	// The organization brings its own APNs key.
	_, err = store.PutOrganization(bg, &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{
		"apns": {apns.ConfigAuthKey: string(f.p8), apns.ConfigKeyID: testKeyID, apns.ConfigTeamID: testTeamID, apns.ConfigTopic: testTopic}}})
	require.NoError(t, err)
	_, err = store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "acme", FirstName: "Ada"})
	require.NoError(t, err)
	for _, tok := range []string{tokOK, tokGone, tokUnavail} {
		require.NoError(t, d.RegisterDevice(bg, "acme", "c1", herald.Device{Channel: herald.ChannelAPNs, Token: tok, Platform: "ios"}))
	}

	results, err := d.SendToContact(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelAPNs,
		Subject: "Order shipped", Body: "It is on its way", Data: map[string]string{"order": "42"}})
	require.NoError(t, err)
	require.Len(t, results, 3)
	byTo := map[string]*herald.Message{}
	for _, r := range results {
		require.NotNil(t, r.Result)
		byTo[r.Result.Message.To] = r.Result.Message
	}

	ok := byTo[tokOK]
	assert.Equal(t, herald.StatusSent, ok.Status)
	assert.Equal(t, "apns", ok.Vendor)
	pushes := f.pushes()
	require.Len(t, pushes, 1)
	assert.Equal(t, pushes[0].Header.Get("apns-id"), ok.VendorMessageID, "the vendor ID is APNs' apns-id")
	assert.Equal(t, "42", pushes[0].Payload["order"])
	stored, err := store.GetMessage(bg, "acme", ok.ID)
	require.NoError(t, err)
	assert.Equal(t, ok.VendorMessageID, stored.VendorMessageID)

	gone := byTo[tokGone]
	assert.Equal(t, herald.StatusFailed, gone.Status)
	assert.Equal(t, "Unregistered", gone.ErrorCode)

	transient := byTo[tokUnavail]
	assert.NotEqual(t, herald.StatusSent, transient.Status)
	assert.Equal(t, "ServiceUnavailable", transient.ErrorCode)

	c, err := store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	var left []string
	for _, dev := range c.Devices {
		left = append(left, dev.Token)
	}
	assert.ElementsMatch(t, []string{tokOK, tokUnavail}, left,
		"the Unregistered device is removed; the transient failure keeps its device")

	// BadDeviceToken removes the device too.
	require.NoError(t, d.RegisterDevice(bg, "acme", "c1", herald.Device{Channel: herald.ChannelAPNs, Token: tokBadToken}))
	_, err = d.Send(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelAPNs, To: tokBadToken, Body: "hi"})
	require.ErrorIs(t, err, herald.ClassGone)
	c, err = store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	assert.Len(t, c.Devices, 2)
}
