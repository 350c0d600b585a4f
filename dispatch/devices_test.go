package dispatch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/vendors/fake"
)

// tokenVendor answers by device token: "gone-…" is gone, "busy-…" is a
// temporary failure, anything else is sent by the fake. It exposes only
// the Vendor interface (no batch send).
type tokenVendor struct{ fake *fake.Vendor }

func (v tokenVendor) Metadata() herald.VendorMetadata { return v.fake.Metadata() }

func (v tokenVendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	tok := req.Message.To
	if req.Device != nil {
		tok = req.Device.Token
	}
	switch {
	case strings.HasPrefix(tok, "gone-"):
		return nil, &herald.VendorError{Vendor: "fake", Class: herald.ClassGone, Code: "410"}
	case strings.HasPrefix(tok, "busy-"):
		return nil, &herald.VendorError{Vendor: "fake", Class: herald.ClassTemporary, Code: "503"}
	}
	return v.fake.Send(ctx, req)
}

func TestDevicesRegisterSendAndGone(t *testing.T) {
	fv := fake.New(fake.Options{})
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Vendors = []herald.Vendor{tokenVendor{fv}}
		cfg.Retry.MaxAttempts = 1
	})
	_, err := f.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1", Email: "ada@example.com"})
	require.NoError(t, err)
	for _, tok := range []string{"tok-a", "gone-b", "busy-c", "tok-a"} {
		require.NoError(t, f.d.RegisterDevice(bg, "org1", "c1", herald.Device{Channel: herald.ChannelAPNs, Token: tok}))
	}
	c, err := f.store.GetContact(bg, "org1", "c1")
	require.NoError(t, err)
	var toks []string
	for _, dev := range c.Devices {
		toks = append(toks, dev.Token)
	}
	assert.Equal(t, []string{"tok-a", "busy-c", "gone-b"}, toks, "deduplicated by token, newest first")

	msg := &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelAPNs, Subject: "Hi", Body: "Your order shipped", IdempotencyKey: "ship-1"}
	out, err := f.d.SendToContact(bg, msg)
	require.NoError(t, err)
	require.Len(t, out, 3, "one message per device")
	byTo := map[string]dispatch.BatchResult{}
	for _, r := range out {
		byTo[r.Message.To] = r
	}
	require.NoError(t, byTo["tok-a"].Err)
	assert.NotEmpty(t, byTo["tok-a"].Message.VendorMessageID)
	assert.ErrorIs(t, byTo["gone-b"].Err, herald.ClassGone)
	assert.ErrorIs(t, byTo["busy-c"].Err, herald.ClassTemporary)

	c, err = f.store.GetContact(bg, "org1", "c1")
	require.NoError(t, err)
	toks = nil
	for _, dev := range c.Devices {
		toks = append(toks, dev.Token)
	}
	assert.Equal(t, []string{"tok-a", "busy-c"}, toks, "only the gone device is removed, never on a transient error")

	// The same call again sends nothing twice.
	before := len(fv.Sends())
	again, err := f.d.SendToContact(bg, msg)
	require.NoError(t, err)
	for _, r := range again {
		assert.False(t, r.Created)
	}
	assert.Equal(t, before, len(fv.Sends()))

	// Email goes to the contact's address; a channel without one is an error.
	out, err = f.d.SendToContact(bg, &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelEmail, Subject: "Hi", Body: "x"})
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Equal(t, "ada@example.com", out[0].Message.To)
	_, err = f.d.SendToContact(bg, &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelSMS, Body: "x"})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = f.d.SendToContact(bg, &herald.Message{OrgID: "org1", ContactID: "nobody", Channel: herald.ChannelSMS, Body: "x"})
	assert.ErrorIs(t, err, herald.ErrNotFound)
}

func TestGoneDeviceRemovedWhoeverHasIt(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Vendors = []herald.Vendor{tokenVendor{fake.New(fake.Options{})}}
		cfg.Retry.MaxAttempts = 1
	})
	for _, id := range []string{"c1", "c2"} {
		_, err := f.store.PutContact(bg, &herald.Contact{ID: id, OrgID: "org1"})
		require.NoError(t, err)
	}
	tokens := func(id string) (out []string) {
		c, err := f.store.GetContact(bg, "org1", id)
		require.NoError(t, err)
		for _, dev := range c.Devices {
			out = append(out, dev.Token)
		}
		return out
	}
	reg := func(id, tok string) {
		require.NoError(t, f.d.RegisterDevice(bg, "org1", id, herald.Device{Channel: herald.ChannelFCM, Token: tok}))
	}
	reg("c1", "gone-1")
	reg("c1", "tok-1")

	// Sent to the token without a contact: the contact that has it loses it.
	_, err := f.d.Send(bg, &herald.Message{OrgID: "org1", Channel: herald.ChannelFCM, To: "gone-1", Body: "hi"})
	require.ErrorIs(t, err, herald.ClassGone)
	assert.Equal(t, []string{"tok-1"}, tokens("c1"))

	// A device that changed hands: registered to c2, it leaves c1; a gone
	// answer to a message addressed to c1 removes it from c2.
	reg("c1", "gone-2")
	msg := &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelFCM, To: "gone-2", Body: "hi"}
	reg("c2", "gone-2")
	assert.Equal(t, []string{"tok-1"}, tokens("c1"), "the device moved to c2")
	assert.Equal(t, []string{"gone-2"}, tokens("c2"))
	_, err = f.d.Send(bg, msg)
	require.ErrorIs(t, err, herald.ClassGone)
	assert.Empty(t, tokens("c2"))
	assert.Equal(t, []string{"tok-1"}, tokens("c1"), "c1's other device stays")
}

func TestRegisterDeviceChecksInput(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1"})
	require.NoError(t, err)
	sub := `{"endpoint":"https://push.example.com/s/1","keys":{"p256dh":"BN8","auth":"0yw"}}`
	require.NoError(t, f.d.RegisterDevice(bg, "org1", "c1", herald.Device{Channel: herald.ChannelWebPush, Subscription: sub}))
	c, err := f.store.GetContact(bg, "org1", "c1")
	require.NoError(t, err)
	assert.Equal(t, "https://push.example.com/s/1", c.Devices[0].Token, "the endpoint is the token")

	for name, dev := range map[string]herald.Device{
		"not push":      {Channel: herald.ChannelSMS, Token: "x"},
		"empty token":   {Channel: herald.ChannelFCM, Token: " "},
		"bad json":      {Channel: herald.ChannelWebPush, Subscription: "{"},
		"http":          {Channel: herald.ChannelWebPush, Subscription: `{"endpoint":"http://x","keys":{"p256dh":"a","auth":"b"}}`},
		"no keys":       {Channel: herald.ChannelWebPush, Subscription: `{"endpoint":"https://x"}`},
		"token differs": {Channel: herald.ChannelWebPush, Token: "https://y", Subscription: sub},
	} {
		assert.ErrorIs(t, f.d.RegisterDevice(bg, "org1", "c1", dev), herald.ErrInvalidInput, name)
	}
	assert.ErrorIs(t, f.d.RegisterDevice(bg, "org1", "nobody", herald.Device{Channel: herald.ChannelFCM, Token: "t"}), herald.ErrNotFound)
}
