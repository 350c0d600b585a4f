package fcm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fcm"
)

// TestEndToEndDevices goes through the dispatcher: register a contact's
// devices, send to each, get FCM's message name, see an UNREGISTERED
// device removed from the contact in the store, and devices that failed
// transiently (UNAVAILABLE, QUOTA_EXCEEDED) or with an invalid token kept.
func TestEndToEndDevices(t *testing.T) {
	f := newFakeFCM(t)
	v, err := fcm.New(fcm.Options{BaseURL: f.srv.URL, TokenURL: f.tokenURL()})
	require.NoError(t, err)
	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v},
		Retry: dispatch.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	// The organization brings its own service account.
	_, err = store.PutOrganization(bg, &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{
		"fcm": {fcm.ConfigServiceAccountJSON: string(f.sa)}}})
	require.NoError(t, err)
	_, err = store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "acme"})
	require.NoError(t, err)
	for _, tok := range []string{tokOK, tokUnreg, tokUnavailable, tokQuota} {
		require.NoError(t, d.RegisterDevice(bg, "acme", "c1", herald.Device{Channel: herald.ChannelFCM, Token: tok, Platform: "android"}))
	}

	results, err := d.SendToContact(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelFCM,
		Subject: "Order shipped", Body: "It is on its way", Urgency: herald.UrgencyHigh})
	require.NoError(t, err)
	require.Len(t, results, 4)
	byTo := map[string]*herald.Message{}
	for _, r := range results {
		require.NotNil(t, r.Result)
		byTo[r.Result.Message.To] = r.Result.Message
	}
	ok := byTo[tokOK]
	assert.Equal(t, herald.StatusSent, ok.Status)
	assert.Equal(t, "fcm", ok.Vendor)
	assert.Regexp(t, `^projects/herald-test/messages/`, ok.VendorMessageID)
	stored, err := store.GetMessage(bg, "acme", ok.ID)
	require.NoError(t, err)
	assert.Equal(t, ok.VendorMessageID, stored.VendorMessageID)
	sent := f.messages()
	require.Len(t, sent, 1)
	assert.Equal(t, "HIGH", sent[0].Message["android"].(map[string]any)["priority"])

	assert.Equal(t, herald.StatusFailed, byTo[tokUnreg].Status)
	assert.Equal(t, "UNREGISTERED", byTo[tokUnreg].ErrorCode)
	assert.Equal(t, "UNAVAILABLE", byTo[tokUnavailable].ErrorCode)
	assert.Equal(t, "QUOTA_EXCEEDED", byTo[tokQuota].ErrorCode)

	c, err := store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	var left []string
	for _, dev := range c.Devices {
		left = append(left, dev.Token)
	}
	assert.ElementsMatch(t, []string{tokOK, tokUnavailable, tokQuota}, left,
		"UNREGISTERED removed the device; transient failures keep theirs")

	// An invalid token fails the message but is not "gone": kept.
	require.NoError(t, d.RegisterDevice(bg, "acme", "c1", herald.Device{Channel: herald.ChannelFCM, Token: tokInvalid}))
	_, err = d.Send(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelFCM, To: tokInvalid, Body: "hi"})
	require.ErrorIs(t, err, herald.ClassInvalidAddress)
	c, err = store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	assert.Len(t, c.Devices, 4)
	assert.EqualValues(t, 1, f.tokens.Load(), "one access token for every send")
}
