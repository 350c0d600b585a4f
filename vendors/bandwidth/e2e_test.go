package bandwidth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

const acmeFrom = "+19195550200"

// e2e is a dispatcher sending through the Bandwidth vendor to the fake
// API, with Webhooks() served over HTTP where the fake posts the
// organization's application callbacks.
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
	v, err := bandwidth.New(api.options())
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, PublicBaseURL: hooks.URL + "/hooks"})
	require.NoError(t, err)
	mux.Handle("/hooks/", http.StripPrefix("/hooks", d.Webhooks()))
	// The organization has its own Bandwidth account, application and
	// callback credentials; the application calls back to its mount.
	_, err = store.PutOrganization(bg, &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{
		"bandwidth": {
			bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient, bandwidth.ConfigClientSecret: otherSecret,
			bandwidth.ConfigApplicationID: otherApp, bandwidth.ConfigFromNumber: acmeFrom,
			bandwidth.ConfigCallbackUsername: otherHook, bandwidth.ConfigCallbackPassword: otherPass,
		}}})
	require.NoError(t, err)
	api.setCallback(otherApp, hooks.URL+"/hooks/acme/bandwidth")
	return &e2e{api: api, d: d, store: store, hooks: hooks}
}

func (e *e2e) message(t *testing.T, id string) *herald.Message {
	m, err := e.store.GetMessage(bg, "acme", id)
	require.NoError(t, err)
	return m
}

func sms(to, body string) *herald.Message {
	return &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS, To: to, Body: body}
}

func TestEndToEndDeliveryCallback(t *testing.T) {
	e := newE2E(t)
	res, err := e.d.Send(bg, sms("+14155552671", "hello"))
	require.NoError(t, err)
	msg := res.Message
	assert.Equal(t, herald.StatusSent, msg.Status)
	assert.Equal(t, acmeFrom, msg.From, "the number Bandwidth sent from")
	assert.Equal(t, otherApp, msg.MessagingServiceID)
	sent := e.api.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, otherAccount, sent[0].Account, "the organization's account")
	assert.Equal(t, "bearer", sent[0].Auth)
	assert.Equal(t, msg.ID, sent[0].str("tag"), "the tag carries herald's message ID")

	// Bandwidth's callbacks, over HTTP, with the application's credentials.
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, bandwidth.EventSending, 0))
	assert.Equal(t, herald.StatusSent, e.message(t, msg.ID).Status)
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, bandwidth.EventDelivered, 0))
	assert.Equal(t, herald.StatusDelivered, e.message(t, msg.ID).Status)
	// A redelivered callback and a late message-sending change nothing.
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, bandwidth.EventDelivered, 0))
	assert.Equal(t, http.StatusOK, e.api.callback(t, msg.VendorMessageID, bandwidth.EventSending, 0))
	assert.Equal(t, herald.StatusDelivered, e.message(t, msg.ID).Status)
	events, err := e.store.MessageEvents(bg, "acme", msg.ID)
	require.NoError(t, err)
	delivered := 0
	for _, ev := range events {
		if ev.Status == herald.StatusDelivered && ev.Source == herald.SourceReport {
			delivered++
		}
	}
	assert.Equal(t, 1, delivered, "the replay was deduplicated")

	// Callbacks with other credentials are refused and record nothing.
	res2, err := e.d.Send(bg, sms("+14155552672", "second"))
	require.NoError(t, err)
	ev, _ := e.api.event(res2.Message.VendorMessageID, bandwidth.EventFailed, 4750)
	target := e.hooks.URL + "/hooks/acme/bandwidth"
	assert.Equal(t, http.StatusForbidden, e.api.post(t, target, defaultAuth, []bandwidth.Event{ev}), "the default account's credentials")
	assert.Equal(t, http.StatusForbidden, e.api.post(t, target, bandwidth.CallbackAuthorization(otherHook, "guess"), []bandwidth.Event{ev}))
	assert.Equal(t, http.StatusUnauthorized, e.api.post(t, target, "", []bandwidth.Event{ev}), "no credentials: challenged")
	resp, err := http.Post(target, "application/json", strings.NewReader("[]"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, `Basic realm="herald"`, resp.Header.Get("WWW-Authenticate"), "the challenge asks for Basic credentials")
	assert.Equal(t, herald.StatusSent, e.message(t, res2.Message.ID).Status)

	// 4720: failed, and the contact is marked as a landline.
	ct, err := e.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "acme", Phone: "+14155552673"})
	require.NoError(t, err)
	m := sms("+14155552673", "third")
	m.ContactID = ct.ID
	res3, err := e.d.Send(bg, m)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, e.api.callback(t, res3.Message.VendorMessageID, bandwidth.EventFailed, 4720))
	got := e.message(t, res3.Message.ID)
	assert.Equal(t, herald.StatusFailed, got.Status)
	assert.Equal(t, "4720", got.ErrorCode)
	assert.Contains(t, got.Reason, "landline", "described through DescribeError")
	ct, err = e.store.GetContact(bg, "acme", "c1")
	require.NoError(t, err)
	require.NotNil(t, ct.Lookup)
	assert.Equal(t, herald.LookupLandline, ct.Lookup.StatusCode)
}

func TestEndToEndInboundStop(t *testing.T) {
	e := newE2E(t)
	_, err := e.d.Send(bg, sms("+14155552671", "hello"))
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, e.api.inbound(t, otherApp, "+14155552671", acmeFrom, "Stop"))
	o, err := e.store.FindOptOut(bg, "acme", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err, "STOP opted the number out")
	assert.Equal(t, "inbound", o.Source)

	before := len(e.api.sent())
	_, err = e.d.Send(bg, sms("+14155552671", "are you there?"))
	assert.ErrorIs(t, err, herald.ErrBlocked)
	assert.Len(t, e.api.sent(), before, "the blocked message never reached Bandwidth")

	// An inbound STOP without credentials: refused, nothing recorded.
	target := e.hooks.URL + "/hooks/acme/bandwidth"
	forged := inboundEvent("forged1", "+14155552699", "STOP")
	assert.Equal(t, http.StatusUnauthorized, e.api.post(t, target, "", []bandwidth.Event{forged}))
	_, err = e.store.FindOptOut(bg, "acme", herald.ChannelSMS, "+14155552699")
	assert.ErrorIs(t, err, herald.ErrNotFound)
}

func TestEndToEndOptedOutOnSend(t *testing.T) {
	e := newE2E(t)
	// Bandwidth accepts the message (202) and fails it at once with 4775
	// in a callback posted right after its answer, perhaps before the
	// dispatcher has recorded the message id (the report is then parked).
	res, err := e.d.Send(bg, sms("+14155552671", "fail4775"))
	require.NoError(t, err)
	e.api.callbacks.Wait()
	got := e.message(t, res.Message.ID)
	assert.Equal(t, herald.StatusFailed, got.Status)
	assert.Equal(t, bandwidth.CodeOptedOut, got.ErrorCode)
	o, err := e.store.FindOptOut(bg, "acme", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err, "4775 recorded an opt-out")
	assert.Equal(t, "4775", o.Reason)
	assert.Equal(t, "vendor", o.Source)

	_, err = e.d.Send(bg, sms("+14155552671", "again"))
	assert.ErrorIs(t, err, herald.ErrBlocked)
	assert.Len(t, e.api.sent(), 1, "nothing more reached Bandwidth")
}

func TestEndToEndTimeoutIsUnknown(t *testing.T) {
	api := newFakeAPI(t)
	v, err := bandwidth.New(api.options())
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}, SendTimeout: 100 * time.Millisecond})
	require.NoError(t, err)
	res, err := d.Send(bg, &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS, To: "+14155552671", Body: "stall"})
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered)
	assert.Equal(t, herald.StatusUnknown, res.Message.Status, "never resent blindly: Bandwidth has no idempotency key")
}

func TestEndToEndRateLimitedIsRetried(t *testing.T) {
	api := newFakeAPI(t)
	v, err := bandwidth.New(api.options())
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
	require.NoError(t, err)
	res, err := d.Send(bg, &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS, To: "+14155552671", Body: "http429"})
	assert.ErrorIs(t, err, herald.ClassRateLimited)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.WithinDuration(t, time.Now().Add(3*time.Second), res.NextAttempt, 2*time.Second, "after Retry-After")
}
