package bandwidth_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

var org1 = &herald.Organization{ID: "org1"}

func parse(t *testing.T, v *bandwidth.Vendor, events ...bandwidth.Event) *herald.WebhookResult {
	t.Helper()
	res, err := v.ParseWebhook(bg, callbackRequest(org1, "", defaultAuth, events...))
	require.NoError(t, err)
	return res
}

func TestWebhookStatusMapping(t *testing.T) {
	v := newFakeAPI(t).vendor(t)
	cases := []struct {
		typ      string
		code     int
		status   herald.Status
		engaged  herald.Engagement
		optedOut bool
		landline bool
	}{
		{bandwidth.EventSending, 0, herald.StatusSent, "", false, false},
		{bandwidth.EventDelivered, 0, herald.StatusDelivered, "", false, false},
		{bandwidth.EventFailed, 4432, herald.StatusFailed, "", false, false},
		{bandwidth.EventFailed, 4775, herald.StatusFailed, "", true, false},
		{bandwidth.EventFailed, 4720, herald.StatusFailed, "", false, true},
		{bandwidth.EventFailed, 5600, herald.StatusFailed, "", false, false},
		{bandwidth.EventFailed, 9902, herald.StatusSent, "", false, false},
		{bandwidth.EventRead, 0, "", herald.EngagementOpened, false, false},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			res := parse(t, v, statusEvent("m1", c.typ, c.code))
			require.Len(t, res.Reports, 1)
			r := res.Reports[0]
			assert.Equal(t, c.status, r.Status)
			assert.Equal(t, c.engaged, r.Engagement)
			assert.Equal(t, c.optedOut, r.OptedOut)
			assert.Equal(t, c.landline, r.Landline)
			assert.Equal(t, "m1/"+c.typ, r.EventID)
			assert.Equal(t, "m1", r.VendorMessageID)
			assert.Equal(t, "Fake Wireless", r.Carrier, "carrierName is free carrier information")
			assert.Equal(t, "+14155552671", r.To)
			assert.Equal(t, testFrom, r.From)
			assert.Equal(t, testApp, r.MessagingServiceID)
			assert.Equal(t, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), r.At)
			assert.Equal(t, "msg-1", r.Raw["tag"])
			if c.code != 0 {
				assert.Equal(t, r.ErrorCode, r.Raw["errorCode"])
				assert.NotEmpty(t, r.ErrorCode)
			} else {
				assert.Empty(t, r.ErrorCode)
			}
		})
	}
	// Types herald does not record, and outbound events about inbound
	// messages, yield nothing.
	unknown := statusEvent("m1", "message-teleported", 0)
	in := statusEvent("m2", bandwidth.EventDelivered, 0)
	in.Message.Direction = "in"
	res := parse(t, v, unknown, in)
	assert.Empty(t, res.Reports)
	assert.Empty(t, res.Inbound)
	assert.Zero(t, res.StatusCode, "answered 200 with an empty body")
}

func TestWebhookErrorCodeAsString(t *testing.T) {
	v := newFakeAPI(t).vendor(t)
	e := statusEvent("m1", bandwidth.EventFailed, 0)
	e.ErrorCode = json.RawMessage(`"4775"`)
	res := parse(t, v, e)
	require.Len(t, res.Reports, 1)
	assert.Equal(t, "4775", res.Reports[0].ErrorCode)
	assert.True(t, res.Reports[0].OptedOut)
}

func TestWebhookBatchAndGroup(t *testing.T) {
	v := newFakeAPI(t).vendor(t)
	group := func(to string) bandwidth.Event {
		e := statusEvent("g1", bandwidth.EventDelivered, 0)
		e.To = to
		e.Message.To = []string{"+14155552671", "+14155552672"}
		return e
	}
	res := parse(t, v, group("+14155552671"), group("+14155552672"), inboundEvent("i1", "+14155552673", "hello"))
	require.Len(t, res.Reports, 2)
	assert.Equal(t, "g1/message-delivered/+14155552671", res.Reports[0].EventID, "one event per group recipient")
	assert.Equal(t, "g1/message-delivered/+14155552672", res.Reports[1].EventID)
	require.Len(t, res.Inbound, 1)
	in := res.Inbound[0]
	assert.Equal(t, "i1", in.EventID)
	assert.Equal(t, herald.ChannelSMS, in.Channel)
	assert.Equal(t, testFrom, in.To)
	assert.Equal(t, testApp, in.MessagingServiceID)
	assert.Equal(t, "hello", in.Body)
	assert.Equal(t, "message-received", in.Raw["type"])
}

func TestWebhookInboundEchoIgnored(t *testing.T) {
	v := newFakeAPI(t).vendor(t)
	e := inboundEvent("i1", testFrom, "our own message")
	e.Message.Direction = "out"
	res := parse(t, v, e)
	assert.Empty(t, res.Inbound, "never taken for a reply")
}

func TestWebhookSingleEventObject(t *testing.T) {
	v := newFakeAPI(t).vendor(t)
	req := callbackRequest(org1, bandwidth.PathStatus, defaultAuth)
	body, err := json.Marshal(statusEvent("m1", bandwidth.EventDelivered, 0))
	require.NoError(t, err)
	req.Body = body
	res, err := v.ParseWebhook(bg, req)
	require.NoError(t, err)
	require.Len(t, res.Reports, 1)
}

func TestWebhookCredentials(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	ev := statusEvent("m1", bandwidth.EventDelivered, 0)
	own := &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigCallbackUsername: otherHook, bandwidth.ConfigCallbackPassword: otherPass}}}
	sameAccount := &herald.Organization{ID: "beta", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigAccountID: testAccount}}}
	halfConfigured := &herald.Organization{ID: "gamma", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigCallbackUsername: otherHook}}}
	cases := []struct {
		name  string
		org   *herald.Organization
		authz string
		ok    bool
	}{
		{"own credentials", own, bandwidth.CallbackAuthorization(otherHook, otherPass), true},
		{"defaults for an org with its own", own, defaultAuth, false},
		{"defaults on the default account", sameAccount, defaultAuth, true},
		{"defaults without config", org1, defaultAuth, true},
		{"half-configured org", halfConfigured, defaultAuth, false},
		{"lower-case scheme", org1, "basic " + defaultAuth[len("Basic "):], true},
		{"password with colon", org1, bandwidth.CallbackAuthorization(hookUser, hookPass+":x"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := v.ParseWebhook(bg, callbackRequest(c.org, "", c.authz, ev))
			if c.ok {
				require.NoError(t, err)
				assert.Len(t, res.Reports, 1)
				return
			}
			assert.ErrorIs(t, err, herald.ErrUnauthorized)
			assert.Nil(t, res)
		})
	}
	// A vendor without default callback credentials takes nothing for
	// organizations without their own.
	opts := api.options()
	opts.CallbackUsername, opts.CallbackPassword = "", ""
	bare, err := bandwidth.New(opts)
	require.NoError(t, err)
	_, err = bare.ParseWebhook(bg, callbackRequest(org1, "", bandwidth.CallbackAuthorization("", ""), ev))
	assert.ErrorIs(t, err, herald.ErrUnauthorized)
}

func TestWebhookMalformed(t *testing.T) {
	v := newFakeAPI(t).vendor(t)
	noFrom := inboundEvent("i1", "", "hi")
	noType := statusEvent("m1", "", 0)
	noID := statusEvent("", bandwidth.EventDelivered, 0)
	enc := func(e bandwidth.Event) string {
		b, _ := json.Marshal([]bandwidth.Event{e})
		return string(b)
	}
	bodies := map[string]string{
		"empty":         "",
		"not json":      "hello",
		"trailing data": `[] []`,
		"truncated":     `[{"type":"message-delivered"`,
		"number":        `42`,
		"wrong shape":   `[{"type":1}]`,
		"no from":       enc(noFrom),
		"no type":       enc(noType),
		"no id":         enc(noID),
		"no message":    `[{"type":"message-failed","errorCode":4775}]`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			req := callbackRequest(org1, "", defaultAuth)
			req.Body = []byte(body)
			res, err := v.ParseWebhook(bg, req)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
			assert.NotErrorIs(t, err, herald.ErrUnauthorized)
			assert.Nil(t, res)
		})
	}
	req := callbackRequest(org1, "/elsewhere", defaultAuth, statusEvent("m1", bandwidth.EventDelivered, 0))
	_, err := v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "unknown path")
	// Empty array: nothing to record, accepted.
	req = callbackRequest(org1, "", defaultAuth)
	req.Body = []byte(`[]`)
	res, err := v.ParseWebhook(bg, req)
	require.NoError(t, err)
	assert.Empty(t, res.Reports)
}

func TestValidCallbackAuth(t *testing.T) {
	assert.True(t, bandwidth.ValidCallbackAuth("u", "p", "u", "p"))
	assert.False(t, bandwidth.ValidCallbackAuth("u", "p", "u", "p "))
	assert.False(t, bandwidth.ValidCallbackAuth("u", "p", "U", "p"))
	assert.False(t, bandwidth.ValidCallbackAuth("", "", "", ""), "nothing configured verifies nothing")
}
