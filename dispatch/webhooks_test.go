package dispatch_test

import (
	"bytes"
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
	"github.com/heraldmsg/herald/vendors/fake"
)

const secret = "webhook-secret"

// webhookFixture serves Webhooks() over HTTP with the fake posting to it.
func webhookFixture(t *testing.T) (*dispatch.Dispatcher, *memstore.Store, *fake.Vendor, *httptest.Server) {
	t.Helper()
	store := memstore.New()
	fv := fake.New(fake.Options{WebhookSecret: secret})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	d, err := dispatch.New(dispatch.Config{
		Store: store, Vendors: []herald.Vendor{fv}, PublicBaseURL: srv.URL + "/hooks", MaxWebhookBody: 4096,
	})
	require.NoError(t, err)
	mux.Handle("/hooks/", http.StripPrefix("/hooks", d.Webhooks()))
	t.Cleanup(fv.Wait)
	return d, store, fv, srv
}

func post(t *testing.T, url string, body []byte, sig string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(fake.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestWebhooksEndToEnd(t *testing.T) {
	d, store, fv, _ := webhookFixture(t)
	res, err := d.Send(bg, sms("org1", "+14155552671", "autorespond please"))
	require.NoError(t, err)
	sent := fv.Sends()
	require.Len(t, sent, 1)
	assert.True(t, strings.HasSuffix(sent[0].Request.StatusCallbackURL, "/hooks/org1/fake/status"))
	fv.Wait()
	require.Empty(t, fv.DeliveryErrors())
	assert.Equal(t, herald.StatusDelivered, statusOf(t, store, "org1", res.Message.ID), "report came over HTTP")
	events, err := store.MessageEvents(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	assert.True(t, hasEngagement(events, herald.EngagementReplied), "the autoresponse came over HTTP")
}

func TestWebhooksRefuseBadRequests(t *testing.T) {
	_, store, _, srv := webhookFixture(t)
	// A message the fake accepted earlier (created directly, so that the
	// fake posts nothing of its own during the test).
	now := time.Now()
	_, _, err := store.CreateMessage(bg, &herald.Message{ID: "m1", OrgID: "org1", IdempotencyKey: "m1", Channel: herald.ChannelSMS,
		To: "+14155552671", Body: "hi", Vendor: "fake", VendorMessageID: "FAKE-1", Status: herald.StatusSent, CreatedAt: now, UpdatedAt: now})
	require.NoError(t, err)
	res := &dispatch.Result{Message: &herald.Message{ID: "m1"}}
	url := srv.URL + "/hooks/org1/fake/status"
	body, err := fake.EncodeWebhook([]herald.DeliveryReport{{EventID: "ev1", VendorMessageID: "FAKE-1",
		Status: herald.StatusFailed, ErrorCode: "30003", At: time.Now()}}, nil)
	require.NoError(t, err)

	assert.Equal(t, http.StatusForbidden, post(t, url, body, "").StatusCode, "unsigned")
	assert.Equal(t, http.StatusForbidden, post(t, url, body, fake.Sign("wrong", body)).StatusCode, "forged")
	tampered := bytes.Replace(body, []byte("30003"), []byte("30004"), 1)
	assert.Equal(t, http.StatusForbidden, post(t, url, tampered, fake.Sign(secret, body)).StatusCode, "tampered")
	big := append(bytes.Repeat([]byte(" "), 5000), body...)
	assert.Equal(t, http.StatusRequestEntityTooLarge, post(t, url, big, fake.Sign(secret, big)).StatusCode, "oversize")
	junk := []byte("{not json")
	assert.Equal(t, http.StatusBadRequest, post(t, url, junk, fake.Sign(secret, junk)).StatusCode, "malformed")
	assert.Equal(t, http.StatusNotFound, post(t, srv.URL+"/hooks/org1/nope/status", body, fake.Sign(secret, body)).StatusCode, "unknown vendor")

	// Nothing of the refused requests was recorded: the status is as the
	// send left it, and the same event, properly signed, still applies.
	assert.Equal(t, herald.StatusSent, statusOf(t, store, "org1", res.Message.ID))
	resp := post(t, url, body, fake.Sign(secret, body))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, herald.StatusFailed, statusOf(t, store, "org1", res.Message.ID))
	// A replay is answered 200 and changes nothing.
	assert.Equal(t, http.StatusOK, post(t, url, body, fake.Sign(secret, body)).StatusCode)
	events, err := store.MessageEvents(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	assert.Len(t, events, 2) // sent, failed
}
