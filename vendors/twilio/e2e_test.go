package twilio_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/twilio"
)

// e2e is a dispatcher sending through the Twilio vendor to the fake API,
// with Webhooks() served over HTTP where the fake posts its callbacks.
type e2e struct {
	api   *fakeAPI
	d     *dispatch.Dispatcher
	store *memstore.Store
	hooks *httptest.Server
}

func newE2E(t *testing.T) *e2e {
	api := newFakeAPI(t)
	store := memstore.New()
	mux := http.NewServeMux()
	hooks := httptest.NewServer(mux)
	t.Cleanup(hooks.Close)
	v, err := twilio.New(api.options())
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, PublicBaseURL: hooks.URL + "/hooks"})
	require.NoError(t, err)
	mux.Handle("/hooks/", http.StripPrefix("/hooks", d.Webhooks()))
	// The organization has its own Twilio account.
	_, err = store.PutOrganization(bg, &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{
		"twilio": {twilio.ConfigAccountSID: otherAccount, twilio.ConfigAuthToken: otherToken, twilio.ConfigMessagingServiceSID: testService}}})
	require.NoError(t, err)
	return &e2e{api: api, d: d, store: store, hooks: hooks}
}

func (e *e2e) status(t *testing.T, id string) *herald.Message {
	m, err := e.store.GetMessage(bg, "acme", id)
	require.NoError(t, err)
	return m
}

func sms(to, body string) *herald.Message {
	return &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS, To: to, Body: body}
}

func TestEndToEndStatusCallback(t *testing.T) {
	e := newE2E(t)
	res, err := e.d.Send(bg, sms("+14155552671", "hello"))
	require.NoError(t, err)
	msg := res.Message
	assert.Equal(t, herald.StatusSent, msg.Status)
	sent := e.api.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, otherAccount, sent[0].Account, "the organization's account")
	assert.Equal(t, e.hooks.URL+"/hooks/acme/twilio/status", sent[0].Form.Get("StatusCallback"))

	// Twilio's callbacks, over HTTP, signed with the organization's token.
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, "queued", ""))
	assert.Equal(t, herald.StatusSent, e.status(t, msg.ID).Status)
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, "delivered", ""))
	assert.Equal(t, herald.StatusDelivered, e.status(t, msg.ID).Status)
	// A redelivered callback and a late "sent" change nothing.
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, "delivered", ""))
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, "sent", ""))
	assert.Equal(t, herald.StatusDelivered, e.status(t, msg.ID).Status)
	events, err := e.store.MessageEvents(bg, "acme", msg.ID)
	require.NoError(t, err)
	delivered := 0
	for _, ev := range events {
		if ev.Status == herald.StatusDelivered && ev.Source == herald.SourceReport {
			delivered++
		}
	}
	assert.Equal(t, 1, delivered, "the replay was deduplicated")

	// A forged callback is refused and records nothing.
	res2, err := e.d.Send(bg, sms("+14155552672", "second"))
	require.NoError(t, err)
	target := e.hooks.URL + "/hooks/acme/twilio/status"
	forged := url.Values{"MessageSid": {res2.Message.VendorMessageID}, "MessageStatus": {"failed"}, "ErrorCode": {"30007"}}
	assert.Equal(t, http.StatusForbidden, e.api.post(t, target, testToken, forged), "signed by another account")
	assert.Equal(t, herald.StatusSent, e.status(t, res2.Message.ID).Status)

	// 30006: failed, and the contact is marked as a landline.
	ct, err := e.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "acme", Phone: "+14155552673"})
	require.NoError(t, err)
	m := sms("+14155552673", "third")
	m.ContactID = ct.ID
	res3, err := e.d.Send(bg, m)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, e.api.callback(t, res3.Message.VendorMessageID, "undelivered", "30006"))
	got := e.status(t, res3.Message.ID)
	assert.Equal(t, herald.StatusFailed, got.Status)
	assert.Equal(t, "30006", got.ErrorCode)
	ct, err = e.store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	require.NotNil(t, ct.Lookup)
	assert.Equal(t, herald.LookupLandline, ct.Lookup.StatusCode)
}

func TestEndToEndInboundStop(t *testing.T) {
	e := newE2E(t)
	_, err := e.d.Send(bg, sms("+14155552671", "hello"))
	require.NoError(t, err)

	inbound := url.Values{"AccountSid": {otherAccount}, "MessageSid": {"SMreply1"}, "SmsMessageSid": {"SMreply1"},
		"SmsStatus": {"received"}, "From": {"+14155552671"}, "To": {"+14155550100"}, "Body": {"Stop"}, "NumMedia": {"0"},
		"MessagingServiceSid": {testService}}
	target := e.hooks.URL + "/hooks/acme/twilio/inbound"
	assert.Equal(t, http.StatusOK, e.api.post(t, target, otherToken, inbound))
	o, err := e.store.FindOptOut(bg, "acme", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err, "STOP opted the number out")
	assert.Equal(t, "inbound", o.Source)

	before := len(e.api.sent())
	_, err = e.d.Send(bg, sms("+14155552671", "are you there?"))
	assert.ErrorIs(t, err, herald.ErrBlocked)
	assert.Len(t, e.api.sent(), before, "the blocked message never reached Twilio")

	// Unsigned inbound: refused, nothing recorded.
	req, err := http.NewRequest(http.MethodPost, target, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestEndToEndOptedOutOnSend(t *testing.T) {
	e := newE2E(t)
	_, err := e.d.Send(bg, sms("+14155552671", "error21610"))
	assert.ErrorIs(t, err, herald.ClassOptedOut)
	o, err := e.store.FindOptOut(bg, "acme", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err, "21610 recorded an opt-out")
	assert.Equal(t, "21610", o.Reason)
	assert.Equal(t, "vendor", o.Source)

	_, err = e.d.Send(bg, sms("+14155552671", "again"))
	assert.ErrorIs(t, err, herald.ErrBlocked)
	assert.Empty(t, e.api.sent(), "nothing reached Twilio")
}

func TestEndToEndTimeoutIsUnknown(t *testing.T) {
	api := newFakeAPI(t)
	v, err := twilio.New(api.options())
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}, SendTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	res, err := d.Send(bg, &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS, To: "+14155552671", Body: "stall"})
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered)
	assert.Equal(t, herald.StatusUnknown, res.Message.Status, "never resent blindly: Twilio has no idempotency key")
}
