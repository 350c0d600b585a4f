package fcm_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fcm"
)

// fixedClock is a clock stopped at one instant.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestSendMessageShape(t *testing.T) {
	f := newFakeFCM(t)
	now := time.Now().Truncate(time.Second)
	opts := f.options()
	opts.Clock = fixedClock{now}
	v, err := fcm.New(opts)
	require.NoError(t, err)

	req := fcmRequest(tokOK)
	req.Message.Urgency = herald.UrgencyHigh
	req.Message.TTL = time.Hour
	req.Message.Data = map[string]string{"order": "42"}
	req.Message.Meta = map[string]string{
		fcm.MetaCollapseKey: "order-42", fcm.MetaImage: "https://example.com/i.png", fcm.MetaAnalyticsLabel: "shipping",
		fcm.MetaAndroid: `{"notification":{"channel_id":"orders"},"ttl":"60s"}`,
		fcm.MetaAPNs:    `{"payload":{"aps":{"badge":3}}}`,
	}
	req.Route.Extra = map[string]string{fcm.MetaWebpush: `{"fcm_options":{"link":"https://example.com/o/42"}}`}
	before := req.Message.Clone()
	res, err := v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, before, req.Message)
	assert.Regexp(t, `^projects/herald-test/messages/0:\d+%31bd1c9631bd1c96$`, res.VendorMessageID)

	got := f.messages()
	require.Len(t, got, 1)
	s := got[0]
	assert.Equal(t, testProject, s.Project, "the key file's project")
	assert.Equal(t, "Bearer ya29.fake-1", s.Auth)
	m := s.Message
	assert.Equal(t, tokOK, m["token"])
	assert.Equal(t, map[string]any{"title": "Hello", "body": "World", "image": "https://example.com/i.png"}, m["notification"])
	assert.Equal(t, map[string]any{"order": "42"}, m["data"])
	assert.Equal(t, map[string]any{"priority": "HIGH", "ttl": "60s", "collapse_key": "order-42",
		"notification": map[string]any{"channel_id": "orders"}}, m["android"], "the override merged over the generated block")
	assert.Equal(t, map[string]any{
		"headers": map[string]any{"apns-priority": "10", "apns-collapse-id": "order-42",
			"apns-expiration": itoa(now.Add(time.Hour).Unix())},
		"payload": map[string]any{"aps": map[string]any{"badge": float64(3)}},
	}, m["apns"])
	assert.Equal(t, map[string]any{
		"headers":     map[string]any{"Urgency": "high", "TTL": "3600", "Topic": "order-42"},
		"fcm_options": map[string]any{"link": "https://example.com/o/42"},
	}, m["webpush"])
	assert.Equal(t, map[string]any{"analytics_label": "shipping"}, m["fcm_options"])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSendUrgencyAndDataMessages(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	cases := []struct {
		urgency herald.Urgency
		android string
		apns    string
		web     string
	}{
		{"", "NORMAL", "10", "normal"},
		{herald.UrgencyNormal, "NORMAL", "10", "normal"},
		{herald.UrgencyHigh, "HIGH", "10", "high"},
		{herald.UrgencyLow, "NORMAL", "5", "low"},
		{herald.UrgencyVeryLow, "NORMAL", "5", "very-low"},
	}
	for _, c := range cases {
		t.Run(string(c.urgency), func(t *testing.T) {
			req := fcmRequest(tokOK)
			req.Message.Urgency = c.urgency
			_, err := v.Send(bg, req)
			require.NoError(t, err)
			got := f.messages()
			m := got[len(got)-1].Message
			assert.Equal(t, c.android, m["android"].(map[string]any)["priority"])
			assert.Equal(t, c.apns, m["apns"].(map[string]any)["headers"].(map[string]any)["apns-priority"])
			assert.Equal(t, c.web, m["webpush"].(map[string]any)["headers"].(map[string]any)["Urgency"])
			assert.NotContains(t, m["android"], "ttl", "no TTL: FCM's default")
		})
	}

	// A data message: no notification; iOS gets a background push.
	req := fcmRequest(tokOK)
	req.Message.Subject, req.Message.Body, req.Message.Urgency = "", "", herald.UrgencyHigh
	req.Message.Data = map[string]string{"sync": "1"}
	_, err := v.Send(bg, req)
	require.NoError(t, err)
	got := f.messages()
	m := got[len(got)-1].Message
	assert.NotContains(t, m, "notification")
	apns := m["apns"].(map[string]any)
	assert.Equal(t, map[string]any{"apns-priority": "5", "apns-push-type": "background"}, apns["headers"])
	assert.Equal(t, map[string]any{"aps": map[string]any{"content-available": float64(1)}}, apns["payload"])

	// SendBefore shortens the TTL; FCM's maximum caps it.
	req = fcmRequest(tokOK)
	req.Message.TTL = 24 * time.Hour
	req.Message.SendBefore = time.Now().Add(90 * time.Second)
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	got = f.messages()
	ttl := got[len(got)-1].Message["android"].(map[string]any)["ttl"].(string)
	assert.Contains(t, []string{"89s", "90s"}, ttl)
	req = fcmRequest(tokOK)
	req.Message.TTL = 60 * 24 * time.Hour
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	got = f.messages()
	assert.Equal(t, "2419200s", got[len(got)-1].Message["android"].(map[string]any)["ttl"])
}

func TestTokenCachedAndRefreshed(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	for range 6 {
		_, err := v.Send(bg, fcmRequest(tokOK))
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.tokens.Load(), "one token for six sends")

	// A token about to expire is refreshed before use.
	f2 := newFakeFCM(t)
	f2.expiresIn.Store(5) // inside oauth2's expiry margin: stale at once
	v2 := f2.vendor(t)
	_, err := v2.Send(bg, fcmRequest(tokOK))
	require.NoError(t, err)
	f2.expiresIn.Store(3600)
	_, err = v2.Send(bg, fcmRequest(tokOK))
	require.NoError(t, err)
	_, err = v2.Send(bg, fcmRequest(tokOK))
	require.NoError(t, err)
	assert.EqualValues(t, 2, f2.tokens.Load())
	got := f2.messages()
	require.Len(t, got, 3)
	assert.Equal(t, []string{"Bearer ya29.fake-1", "Bearer ya29.fake-2", "Bearer ya29.fake-2"},
		[]string{got[0].Auth, got[1].Auth, got[2].Auth})

	// A token FCM no longer takes: auth, and the next send gets a new one.
	f.revoke()
	_, err = v.Send(bg, fcmRequest(tokOK))
	require.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, "UNAUTHENTICATED", herald.CodeOf(err))
	_, err = v.Send(bg, fcmRequest(tokOK))
	require.NoError(t, err)
	assert.EqualValues(t, 2, f.tokens.Load())
}

func TestTokenEndpointFailures(t *testing.T) {
	f := newFakeFCM(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	opts := f.options()
	opts.ServiceAccountJSON = serviceAccountJSON(t, other, testProject) // a key Google does not know
	v, err := fcm.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, fcmRequest(tokOK))
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, herald.ClassAuth, ve.Class)
	assert.Equal(t, fcm.CodeTokenUnavailable, ve.Code)
	assert.Equal(t, http.StatusBadRequest, ve.HTTPStatus)
	assert.Empty(t, f.messages(), "nothing reached FCM")

	// The token endpoint unreachable: temporary, nothing sent.
	opts = f.options()
	opts.TokenURL = "http://127.0.0.1:1/token"
	v, err = fcm.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, fcmRequest(tokOK))
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err))
	assert.Equal(t, fcm.CodeTokenUnavailable, herald.CodeOf(err))
}

func TestStaticTokenSource(t *testing.T) {
	f := newFakeFCM(t)
	// Issue a token through the fake, then hand it over as a static source.
	f.mu.Lock()
	f.issued["ya29.static"] = true
	f.mu.Unlock()
	v, err := fcm.New(fcm.Options{BaseURL: f.srv.URL, ProjectID: "other-project",
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.static"})})
	require.NoError(t, err)
	_, err = v.Send(bg, fcmRequest(tokOK))
	require.NoError(t, err)
	got := f.messages()
	require.Len(t, got, 1)
	assert.Equal(t, "other-project", got[0].Project)
	assert.Equal(t, "Bearer ya29.static", got[0].Auth)

	_, err = fcm.New(fcm.Options{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	assert.ErrorIs(t, err, herald.ErrConfig, "a token source needs a project")
	_, err = fcm.New(fcm.Options{ServiceAccountJSON: []byte(`{"type":"authorized_user"}`)})
	assert.ErrorIs(t, err, herald.ErrConfig, "only service accounts")
	_, err = fcm.New(fcm.Options{BaseURL: "ftp://x"})
	assert.ErrorIs(t, err, herald.ErrConfig)
}

func TestPerOrganizationServiceAccount(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	org := &herald.Organization{ID: "b", VendorConfig: map[string]map[string]string{"fcm": {
		fcm.ConfigServiceAccountJSON: string(f.sa), fcm.ConfigProjectID: "other-project"}}}
	for range 3 {
		req := fcmRequest(tokOK)
		req.Organization = org
		_, err := v.Send(bg, req)
		require.NoError(t, err)
	}
	_, err := v.Send(bg, fcmRequest(tokOK))
	require.NoError(t, err)
	got := f.messages()
	require.Len(t, got, 4)
	assert.Equal(t, "other-project", got[0].Project)
	assert.Equal(t, testProject, got[3].Project)
	assert.EqualValues(t, 2, f.tokens.Load(), "one token per service account, cached")
}

func TestSendErrors(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	cases := []struct {
		tok        string
		class      herald.ErrorClass
		code       string
		status     int
		retryAfter time.Duration
	}{
		{tokUnreg, herald.ClassGone, "UNREGISTERED", 404, 0},
		{tokInvalid, herald.ClassInvalidAddress, "INVALID_ARGUMENT", 400, 0},
		{tokBadPayload, herald.ClassPermanent, "INVALID_ARGUMENT", 400, 0},
		{tokQuota, herald.ClassRateLimited, "QUOTA_EXCEEDED", 429, 17 * time.Second},
		{tokUnavailable, herald.ClassTemporary, "UNAVAILABLE", 503, 5 * time.Second},
		{tokInternal, herald.ClassTemporary, "INTERNAL", 500, 0},
		{tokHTML502, herald.ClassTemporary, "502", 502, 0},
		{tokMismatch, herald.ClassAuth, "SENDER_ID_MISMATCH", 403, 0},
		{tokThirdParty, herald.ClassAuth, "THIRD_PARTY_AUTH_ERROR", 401, 0},
	}
	for _, c := range cases {
		t.Run(c.tok, func(t *testing.T) {
			_, err := v.Send(bg, fcmRequest(c.tok))
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, c.class, ve.Class)
			assert.Equal(t, c.code, ve.Code)
			assert.Equal(t, c.status, ve.HTTPStatus)
			assert.Equal(t, c.retryAfter, ve.RetryAfter)
			assert.Equal(t, "fcm", ve.Vendor)
		})
	}
}

func TestSendRefusedLocally(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	cases := map[string]func(r *herald.SendRequest){
		"reserved key from":     func(r *herald.SendRequest) { r.Message.Data = map[string]string{"from": "x"} },
		"reserved google.":      func(r *herald.SendRequest) { r.Message.Data = map[string]string{"google.x": "x"} },
		"android not JSON":      func(r *herald.SendRequest) { r.Message.Meta = map[string]string{fcm.MetaAndroid: "{"} },
		"apns not an object":    func(r *herald.SendRequest) { r.Message.Meta = map[string]string{fcm.MetaAPNs: `[1]`} },
		"expired before send":   func(r *herald.SendRequest) { r.Message.SendBefore = time.Now().Add(-time.Second) },
		"webpush null override": func(r *herald.SendRequest) { r.Route.Extra = map[string]string{fcm.MetaWebpush: "null"} },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			req := fcmRequest(tokOK)
			edit(req)
			_, err := v.Send(bg, req)
			require.ErrorIs(t, err, herald.ClassPermanent)
			assert.Equal(t, fcm.CodeBadOption, herald.CodeOf(err))
		})
	}
	assert.Empty(t, f.messages())
	assert.Zero(t, f.tokens.Load(), "refused before asking for a token")

	none, err := fcm.New(fcm.Options{})
	require.NoError(t, err)
	_, err = none.Send(bg, fcmRequest(tokOK))
	require.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, fcm.CodeNotConfigured, herald.CodeOf(err))
}

func TestSendContext(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	_, err := v.Send(bg, fcmRequest(tokOK)) // token cached, connection warm
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(bg, 150*time.Millisecond)
	defer cancel()
	_, err = v.Send(ctx, fcmRequest(tokStall))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, herald.ClassMaybeDelivered, herald.ClassOf(err), "the message was written")
	_, err = v.Send(ctx, fcmRequest(tokOK))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err))
}

func TestClassify(t *testing.T) {
	assert.Equal(t, herald.ClassRateLimited, fcm.Classify(429, "RESOURCE_EXHAUSTED", false))
	assert.Equal(t, herald.ClassAuth, fcm.Classify(403, "PERMISSION_DENIED", false))
	assert.Equal(t, herald.ClassPermanent, fcm.Classify(404, "NOT_FOUND", false), "only UNREGISTERED removes a device")
	assert.Equal(t, herald.ClassTemporary, fcm.Classify(504, "", false))
	assert.Equal(t, herald.ClassRateLimited, fcm.Classify(429, "", false))
	assert.Equal(t, herald.ClassPermanent, fcm.Classify(400, "", false))
}

func TestOrgConfig(t *testing.T) {
	f := newFakeFCM(t)
	v := f.vendor(t)
	org := &herald.Organization{ID: "acme"}
	cfg, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org,
		New: map[string]string{fcm.ConfigServiceAccountJSON: string(f.sa), fcm.ConfigProjectID: "other-project"}})
	require.NoError(t, err)
	assert.EqualValues(t, 1, f.tokens.Load(), "the key was checked at the token endpoint")
	org.VendorConfig = map[string]map[string]string{"fcm": cfg}
	shown, err := v.OrgConfig(bg, org, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{fcm.ConfigServiceAccountJSON: herald.ObscuredSecret, fcm.ConfigProjectID: "other-project"}, shown)
	kept, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: shown})
	require.NoError(t, err)
	assert.Equal(t, cfg, kept, "an obscured secret sent back is kept")

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org,
		New: map[string]string{fcm.ConfigServiceAccountJSON: string(serviceAccountJSON(t, other, testProject))}})
	require.ErrorIs(t, err, herald.ClassAuth, "a key Google refuses")
	for name, bad := range map[string]map[string]string{
		"unknown key": {"api_key": "x"},
		"not JSON":    {fcm.ConfigServiceAccountJSON: "nope"},
		"wrong type":  {fcm.ConfigServiceAccountJSON: `{"type":"authorized_user","client_email":"a","private_key":"b"}`},
	} {
		_, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: bad})
		assert.ErrorIs(t, err, herald.ErrInvalidInput, name)
	}

	ok, err := v.FullyConfigured(bg, &herald.Organization{ID: "x"}, nil)
	require.NoError(t, err)
	assert.True(t, ok, "the defaults")
	none, err := fcm.New(fcm.Options{})
	require.NoError(t, err)
	ok, err = none.FullyConfigured(bg, &herald.Organization{ID: "x"}, nil)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = none.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.True(t, ok)
}
