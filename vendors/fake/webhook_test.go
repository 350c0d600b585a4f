package fake_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fake"
)

// receiver is a webhook endpoint that verifies and parses with the fake,
// as the dispatcher's Webhooks handler does.
type receiver struct {
	t    *testing.T
	v    *fake.Vendor
	org  *herald.Organization
	mu   sync.Mutex
	hits []string // paths
	res  []*herald.WebhookResult
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	res, err := rc.v.ParseWebhook(r.Context(), &herald.WebhookRequest{
		Organization: rc.org, Method: r.Method, URL: "http://" + r.Host + r.URL.String(),
		Path: r.URL.Path, Header: r.Header, Body: body,
	})
	rc.mu.Lock()
	rc.hits = append(rc.hits, r.URL.Path)
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	rc.res = append(rc.res, res)
	rc.mu.Unlock()
	w.Header().Set("Content-Type", res.ContentType)
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(res.Body)
}

func TestWebhooksOverHTTP(t *testing.T) {
	org := &herald.Organization{ID: "org1", VendorConfig: map[string]map[string]string{
		"fake": {"account": "AC1", "secret": "org-secret"},
	}}
	v := fake.New(fake.Options{Clock: fixedClock{t0}})
	rc := &receiver{t: t, v: v, org: org}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	req := request(herald.ChannelSMS, "autorespondPicture error30006")
	req.Organization = org
	req.StatusCallbackURL = srv.URL + "/org1/fake/status"
	res, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	v.Wait()
	require.Empty(t, v.DeliveryErrors())

	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Equal(t, []string{"/org1/fake/status", "/org1/fake/inbound"}, rc.hits)
	require.Len(t, rc.res, 2)
	require.Len(t, rc.res[0].Reports, 1)
	assert.Empty(t, rc.res[0].Inbound)
	r := rc.res[0].Reports[0]
	assert.Equal(t, v.Reports()[0], r, "the report survives the JSON round trip")
	assert.Equal(t, res.VendorMessageID, r.VendorMessageID)
	assert.True(t, r.Landline)
	assert.Equal(t, 200, rc.res[0].StatusCode)
	assert.Equal(t, "application/json", rc.res[0].ContentType)
	assert.JSONEq(t, `{"ok":true}`, string(rc.res[0].Body))
	require.Len(t, rc.res[1].Inbound, 1)
	assert.Equal(t, v.InboundMessages()[0], rc.res[1].Inbound[0])
	assert.Equal(t, []string{fake.PictureURL}, rc.res[1].Inbound[0].Media)
}

func TestWebhookWithProcessSecretAndHelpers(t *testing.T) {
	v := fake.New(fake.Options{WebhookSecret: "process-secret"})
	org := &herald.Organization{ID: "org1"}
	rc := &receiver{t: t, v: v, org: org}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// The helpers post to the last status callback URL the organization used.
	req := request(herald.ChannelSMS, "hi")
	req.StatusCallbackURL = srv.URL + "/hooks/status"
	_, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	v.Wait()
	require.NoError(t, v.Inbound(context.Background(), &herald.InboundMessage{OrgID: "org1", From: "+15555550101", Body: "STOP"}))
	require.NoError(t, v.Report(context.Background(), &herald.DeliveryReport{OrgID: "org1", VendorMessageID: "FAKE1", Status: herald.StatusSent}))
	rc.mu.Lock()
	assert.Equal(t, []string{"/hooks/status", "/hooks/inbound", "/hooks/status"}, rc.hits)
	rc.mu.Unlock()

	// A receiver that refuses makes a delivery error.
	other := fake.New(fake.Options{WebhookSecret: "another-secret"})
	other.Connect(nil)
	req2 := request(herald.ChannelSMS, "hi")
	req2.StatusCallbackURL = srv.URL + "/hooks/status"
	_, err = other.Send(context.Background(), req2)
	require.NoError(t, err)
	other.Wait()
	require.Len(t, other.DeliveryErrors(), 1)
	assert.Contains(t, other.DeliveryErrors()[0].Error(), "401")

	// With no secret at all nothing is posted.
	unsigned := fake.New(fake.Options{})
	_, err = unsigned.Send(context.Background(), req2)
	require.NoError(t, err)
	unsigned.Wait()
	require.Len(t, unsigned.DeliveryErrors(), 1)
	assert.Contains(t, unsigned.DeliveryErrors()[0].Error(), "no webhook secret")
}

func TestInboundURL(t *testing.T) {
	assert.Equal(t, "https://h.example/o/fake/inbound?x=1", fake.InboundURL("https://h.example/o/fake/status?x=1"))
	assert.Equal(t, "https://h.example/o/fake/other", fake.InboundURL("https://h.example/o/fake/other"))
	assert.Equal(t, "https://h.example/statusx", fake.InboundURL("https://h.example/statusx"))
}

func webhookRequest(org *herald.Organization, secret string, body []byte) *herald.WebhookRequest {
	h := http.Header{}
	if secret != "" {
		h.Set(fake.SignatureHeader, fake.Sign(secret, body))
	}
	return &herald.WebhookRequest{Organization: org, Method: "POST", Path: "/status", Header: h, Body: body}
}

func TestParseWebhook(t *testing.T) {
	v := fake.New(fake.Options{WebhookSecret: "s3cret"})
	ctx := context.Background()
	org := &herald.Organization{ID: "org9"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	body, err := fake.EncodeWebhook(
		[]herald.DeliveryReport{{OrgID: "someone-else", VendorMessageID: "FAKE1", Status: herald.StatusDelivered, At: at}},
		[]herald.InboundMessage{{EventID: "IN1", From: "+15555550101", Body: "hi", ReceivedAt: at}},
	)
	require.NoError(t, err)

	res, err := v.ParseWebhook(ctx, webhookRequest(org, "s3cret", body))
	require.NoError(t, err)
	require.Len(t, res.Reports, 1)
	require.Len(t, res.Inbound, 1)
	assert.Equal(t, "org9", res.Reports[0].OrgID, "the URL's organization wins")
	assert.Equal(t, "fake", res.Reports[0].Vendor)
	assert.Equal(t, "FAKE1/delivered", res.Reports[0].EventID, "a missing event ID is derived")
	assert.Equal(t, at, res.Reports[0].At)
	assert.Equal(t, herald.ChannelSMS, res.Inbound[0].Channel)
	assert.Equal(t, "org9", res.Inbound[0].OrgID)

	// The organization's own secret replaces the process secret.
	withOwn := &herald.Organization{ID: "org9", VendorConfig: map[string]map[string]string{"fake": {"secret": "own"}}}
	_, err = v.ParseWebhook(ctx, webhookRequest(withOwn, "s3cret", body))
	assert.ErrorIs(t, err, herald.ErrUnauthorized)
	_, err = v.ParseWebhook(ctx, webhookRequest(withOwn, "own", body))
	assert.NoError(t, err)

	unauthorized := map[string]*herald.WebhookRequest{
		"missing":   webhookRequest(org, "", body),
		"forged":    webhookRequest(org, "wrong", body),
		"not hex":   {Organization: org, Header: http.Header{fake.SignatureHeader: {"zz"}}, Body: body},
		"truncated": {Organization: org, Header: http.Header{fake.SignatureHeader: {fake.Sign("s3cret", body)[:10]}}, Body: body},
		"tampered":  {Organization: org, Header: http.Header{fake.SignatureHeader: {fake.Sign("s3cret", body)}}, Body: append([]byte(" "), body...)},
	}
	for name, req := range unauthorized {
		res, err := v.ParseWebhook(ctx, req)
		assert.ErrorIs(t, err, herald.ErrUnauthorized, name)
		assert.Nil(t, res, name)
	}
	_, err = fake.New(fake.Options{}).ParseWebhook(ctx, webhookRequest(org, "", body))
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "no secret configured fails closed")

	malformed := []string{
		``, `{`, `[]`, `{}`, `{"reports":[]}`, `{"reports":{}}`, `{} {}`,
		`{"reports":[{"status":"delivered"}]}`,
		`{"reports":[{"message_id":"X","status":"queued"}]}`,
		`{"reports":[{"message_id":"X"}]}`,
		`{"reports":[{"message_id":"X","status":"sent","engagement":"opened"}]}`,
		`{"reports":[{"message_id":"X","status":"sent","at":"yesterday"}]}`,
		`{"inbound":[{"event_id":"E"}]}`,
		`{"inbound":[{"from":"+1"}]}`,
		`{"inbound":[{"event_id":"E","from":"+1","channel":"Not A Channel"}]}`,
	}
	for _, b := range malformed {
		res, err := v.ParseWebhook(ctx, webhookRequest(org, "s3cret", []byte(b)))
		assert.ErrorIs(t, err, herald.ErrInvalidInput, b)
		assert.Nil(t, res, b)
	}

	eng, _ := fake.EncodeWebhook([]herald.DeliveryReport{{VendorMessageID: "X", Engagement: herald.EngagementClicked}}, nil)
	res, err = v.ParseWebhook(ctx, webhookRequest(nil, "s3cret", eng))
	require.NoError(t, err)
	assert.Equal(t, "X/clicked", res.Reports[0].EventID)
	assert.Empty(t, res.Reports[0].OrgID)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.ParseWebhook(cctx, webhookRequest(org, "s3cret", body))
	assert.ErrorIs(t, err, context.Canceled)
}

func FuzzParseWebhook(f *testing.F) {
	seed, _ := fake.EncodeWebhook(
		[]herald.DeliveryReport{{VendorMessageID: "FAKE1", Status: herald.StatusFailed, ErrorCode: "30006", Landline: true}},
		[]herald.InboundMessage{{EventID: "IN1", From: "+15555550101", Body: "hi", Media: []string{fake.PictureURL}}},
	)
	f.Add(seed)
	f.Add([]byte(`{"reports":[{"message_id":"X","status":"sent"}]}`))
	f.Add([]byte(`{"inbound":[{"event_id":"E","from":"a","channel":"sms"}]}`))
	f.Add([]byte(`not json`))
	v := fake.New(fake.Options{WebhookSecret: "fuzz"})
	org := &herald.Organization{ID: "o"}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Unsigned: always refused.
		_, err := v.ParseWebhook(context.Background(), &herald.WebhookRequest{Organization: org, Header: http.Header{}, Body: body})
		require.ErrorIs(t, err, herald.ErrUnauthorized)

		res, err := v.ParseWebhook(context.Background(), webhookRequest(org, "fuzz", body))
		if err != nil {
			require.ErrorIs(t, err, herald.ErrInvalidInput)
			require.Nil(t, res)
			return
		}
		require.NotEmpty(t, append(append([]any{}, anySlice(res.Reports)...), anySlice(res.Inbound)...))
		for _, r := range res.Reports {
			require.NotEmpty(t, r.VendorMessageID)
			require.NotEmpty(t, r.EventID)
			require.Equal(t, "o", r.OrgID)
			require.Equal(t, "fake", r.Vendor)
			require.True(t, r.Status != "" || r.Engagement != "")
		}
		for _, m := range res.Inbound {
			require.NotEmpty(t, m.EventID)
			require.NotEmpty(t, m.From)
			require.True(t, m.Channel.Valid())
		}
		// What parses re-encodes and parses to the same events.
		again, err := fake.EncodeWebhook(res.Reports, res.Inbound)
		require.NoError(t, err)
		res2, err := v.ParseWebhook(context.Background(), webhookRequest(org, "fuzz", again))
		require.NoError(t, err)
		require.Equal(t, len(res.Reports), len(res2.Reports))
		require.Equal(t, len(res.Inbound), len(res2.Inbound))
		for i := range res.Reports {
			require.Equal(t, res.Reports[i].EventID, res2.Reports[i].EventID)
			require.True(t, res.Reports[i].At.Equal(res2.Reports[i].At))
		}
	})
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}
