package apns_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/apns"
)

// fixedClock is a clock stopped at one instant.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestSendAlertHeadersAndPayload(t *testing.T) {
	f := newFakeAPNs(t, false)
	now := time.Now().Truncate(time.Second)
	opts := f.options()
	opts.Clock = fixedClock{now}
	v, err := apns.New(opts)
	require.NoError(t, err)

	req := pushRequest(tokOK)
	req.Message.TTL = time.Hour
	req.Message.Urgency = herald.UrgencyHigh
	req.Message.Data = map[string]string{"order": "42", "kind": "shipping"}
	req.Message.Meta = map[string]string{apns.MetaCollapseID: "order-42", apns.MetaThreadID: "orders",
		apns.MetaBadge: "3", apns.MetaSound: "default", apns.MetaCategory: "SHIP", apns.MetaMutableContent: "true"}
	before := req.Message.Clone()
	res, err := v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, before, req.Message, "the message is not modified")

	got := f.pushes()
	require.Len(t, got, 1)
	p := got[0]
	assert.Equal(t, "HTTP/2.0", p.Proto)
	assert.Equal(t, tokOK, p.Token)
	assert.Equal(t, p.Header.Get("apns-id"), res.VendorMessageID, "the apns-id APNs answered")
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, res.VendorMessageID)
	assert.Equal(t, testTopic, p.Header.Get("apns-topic"))
	assert.Equal(t, "alert", p.Header.Get("apns-push-type"))
	assert.Equal(t, "10", p.Header.Get("apns-priority"))
	assert.Equal(t, "order-42", p.Header.Get("apns-collapse-id"))
	assert.Equal(t, now.Add(time.Hour).Unix(), int64(atoi(p.Header.Get("apns-expiration"))))
	assert.Equal(t, testTeamID, p.Claims["iss"])

	aps := p.Payload["aps"].(map[string]any)
	assert.Equal(t, map[string]any{"title": "Hello", "body": "World"}, aps["alert"])
	assert.Equal(t, "orders", aps["thread-id"])
	assert.EqualValues(t, 3, aps["badge"])
	assert.Equal(t, "default", aps["sound"])
	assert.Equal(t, "SHIP", aps["category"])
	assert.EqualValues(t, 1, aps["mutable-content"])
	assert.Nil(t, aps["content-available"])
	assert.Equal(t, "42", p.Payload["order"])
	assert.Equal(t, "shipping", p.Payload["kind"])

	// The same message again carries the same apns-id.
	res2, err := v.Send(bg, pushRequest(tokOK))
	require.NoError(t, err)
	assert.Equal(t, res.VendorMessageID, res2.VendorMessageID)
}

func TestSendPriorityPushTypeAndExpiration(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	cases := []struct {
		name     string
		edit     func(m *herald.Message, r *herald.Route)
		pushType string
		priority string
		topic    string
		check    func(t *testing.T, p pushed)
	}{
		{name: "normal urgency", edit: func(m *herald.Message, _ *herald.Route) { m.Urgency = herald.UrgencyNormal }, pushType: "alert", priority: "10"},
		{name: "no urgency", edit: func(*herald.Message, *herald.Route) {}, pushType: "alert", priority: "10",
			check: func(t *testing.T, p pushed) { assert.Empty(t, p.Header.Get("apns-expiration"), "no TTL, no header") }},
		{name: "low urgency", edit: func(m *herald.Message, _ *herald.Route) { m.Urgency = herald.UrgencyLow }, pushType: "alert", priority: "5"},
		{name: "very-low urgency", edit: func(m *herald.Message, _ *herald.Route) { m.Urgency = herald.UrgencyVeryLow }, pushType: "alert", priority: "5"},
		{name: "background inferred", edit: func(m *herald.Message, _ *herald.Route) {
			m.Subject, m.Body, m.Urgency = "", "", herald.UrgencyHigh
			m.Data = map[string]string{"sync": "1"}
		}, pushType: "background", priority: "5", check: func(t *testing.T, p pushed) {
			aps := p.Payload["aps"].(map[string]any)
			assert.EqualValues(t, 1, aps["content-available"])
			assert.Nil(t, aps["alert"])
			assert.Equal(t, "1", p.Payload["sync"])
		}},
		{name: "background asked, high urgency", edit: func(m *herald.Message, _ *herald.Route) {
			m.Urgency = herald.UrgencyHigh
			m.Meta = map[string]string{apns.MetaPushType: "background"}
		}, pushType: "background", priority: "5"},
		{name: "voip", edit: func(m *herald.Message, _ *herald.Route) {
			m.Urgency = herald.UrgencyHigh
			m.Meta = map[string]string{apns.MetaPushType: "voip"}
		}, pushType: "voip", priority: "10", topic: testTopic + ".voip"},
		{name: "route wins over meta", edit: func(m *herald.Message, r *herald.Route) {
			m.Meta = map[string]string{apns.MetaPushType: "voip", apns.MetaCollapseID: "meta"}
			r.Extra = map[string]string{apns.MetaPushType: "alert", apns.MetaCollapseID: "route"}
		}, pushType: "alert", priority: "10", check: func(t *testing.T, p pushed) {
			assert.Equal(t, "route", p.Header.Get("apns-collapse-id"))
		}},
		{name: "send before caps the TTL", edit: func(m *herald.Message, _ *herald.Route) {
			m.TTL = 24 * time.Hour
			m.SendBefore = time.Now().Add(10 * time.Minute)
		}, pushType: "alert", priority: "10", check: func(t *testing.T, p pushed) {
			exp := time.Unix(int64(atoi(p.Header.Get("apns-expiration"))), 0)
			assert.WithinDuration(t, time.Now().Add(10*time.Minute), exp, 5*time.Second)
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := pushRequest(tokOK)
			req.Message.ID = "prio-" + string(rune('a'+i))
			c.edit(req.Message, req.Route)
			_, err := v.Send(bg, req)
			require.NoError(t, err)
			got := f.pushes()
			p := got[len(got)-1]
			assert.Equal(t, c.pushType, p.Header.Get("apns-push-type"))
			assert.Equal(t, c.priority, p.Header.Get("apns-priority"))
			topic := c.topic
			if topic == "" {
				topic = testTopic
			}
			assert.Equal(t, topic, p.Header.Get("apns-topic"))
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

func TestSendCertificateAuth(t *testing.T) {
	f := newFakeAPNs(t, true)
	v, err := apns.New(apns.Options{Host: f.srv.URL, TLSConfig: f.tlsConfig(),
		Credentials: apns.Credentials{Certificate: clientCertPEM(t, "Apple Push Services: com.example.app")}})
	require.NoError(t, err)
	res, err := v.Send(bg, pushRequest(tokOK))
	require.NoError(t, err)
	assert.NotEmpty(t, res.VendorMessageID)
	got := f.pushes()
	require.Len(t, got, 1)
	assert.Equal(t, "Apple Push Services: com.example.app", got[0].ClientCert)
	assert.Empty(t, got[0].Header.Get("authorization"), "no JWT with a certificate")
	assert.Equal(t, "HTTP/2.0", got[0].Proto)
}

func TestExpiredProviderTokenIsRenewed(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	_, err := v.Send(bg, pushRequest(tokOK))
	require.NoError(t, err)
	_, err = v.Send(bg, pushRequest(tokOK))
	require.NoError(t, err)
	got := f.pushes()
	require.Len(t, got, 2)
	first := got[0].Header.Get("authorization")
	assert.Equal(t, first, got[1].Header.Get("authorization"), "a token is reused until it expires")

	// APNs says the token expired: that push fails (authentication), and
	// the next one signs a new token.
	f.expired.Store(first, true)
	_, err = v.Send(bg, pushRequest(tokOK))
	require.Error(t, err)
	assert.Equal(t, herald.ClassAuth, herald.ClassOf(err))
	assert.Equal(t, "ExpiredProviderToken", herald.CodeOf(err))
	_, err = v.Send(bg, pushRequest(tokOK))
	require.NoError(t, err)
	got = f.pushes()
	require.Len(t, got, 3)
	assert.NotEqual(t, first, got[2].Header.Get("authorization"), "a fresh token after ExpiredProviderToken")
}

func TestRejectionWithoutJSONBody(t *testing.T) {
	// A proxy in front of APNs may answer an HTML page: the status speaks.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f := newFakeAPNs(t, false)
	opts := f.options()
	opts.Host, opts.TLSConfig = srv.URL, &tls.Config{RootCAs: pool}
	v, err := apns.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, pushRequest(tokOK))
	require.Error(t, err)
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err))
	assert.Equal(t, "502", herald.CodeOf(err))
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, http.StatusBadGateway, ve.HTTPStatus)
}

func TestOneConnectionPerCredential(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	other := newFakeAPNs(t, false) // another app's key, same server
	orgB := &herald.Organization{ID: "b", VendorConfig: map[string]map[string]string{"apns": {
		apns.ConfigAuthKey: string(other.p8), apns.ConfigKeyID: testKeyID, apns.ConfigTeamID: testTeamID, apns.ConfigTopic: "com.example.b"}}}

	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range 100 {
		wg.Go(func() {
			req := pushRequest(tokOK)
			req.Message.ID = "c" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			_, errs[i] = v.Send(bg, req)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.conns.Load(), "100 concurrent sends share one HTTP/2 connection")

	// Organization b's key: the fake (which trusts only its own key)
	// refuses the JWT, which shows the organization's key was used.
	req := pushRequest(tokOK)
	req.Organization = orgB
	_, err := v.Send(bg, req)
	require.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, "InvalidProviderToken", herald.CodeOf(err))
	assert.EqualValues(t, 2, f.conns.Load(), "a second credential has its own connection")
	_, err = v.Send(bg, req)
	require.ErrorIs(t, err, herald.ClassAuth)
	assert.EqualValues(t, 2, f.conns.Load(), "and reuses it")

	// The route's credentials win over the organization's.
	req = pushRequest(tokOK)
	req.Organization = orgB
	req.Route.Credentials = map[string]string{apns.ConfigAuthKey: string(f.p8), apns.ConfigKeyID: testKeyID,
		apns.ConfigTeamID: testTeamID, apns.ConfigTopic: "com.example.route"}
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	got := f.pushes()
	assert.Equal(t, "com.example.route", got[len(got)-1].Header.Get("apns-topic"))
}

func TestSendErrors(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	cases := []struct {
		tok    string
		class  herald.ErrorClass
		code   string
		status int
	}{
		{tokBadToken, herald.ClassGone, "BadDeviceToken", 400},
		{tokBadTopic, herald.ClassAuth, "BadTopic", 400},
		{tokInvalidJWT, herald.ClassAuth, "InvalidProviderToken", 403},
		{tokGone, herald.ClassGone, "Unregistered", 410},
		{tokTooLarge, herald.ClassPermanent, "PayloadTooLarge", 413},
		{tokTooMany, herald.ClassRateLimited, "TooManyRequests", 429},
		{tokInternal, herald.ClassTemporary, "InternalServerError", 500},
		{tokUnavail, herald.ClassTemporary, "ServiceUnavailable", 503},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			_, err := v.Send(bg, pushRequest(c.tok))
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, c.class, ve.Class)
			assert.Equal(t, c.code, ve.Code)
			assert.Equal(t, c.status, ve.HTTPStatus)
			assert.Equal(t, "apns", ve.Vendor)
			assert.NotContains(t, err.Error(), c.tok, "errors do not carry device tokens")
		})
	}
	_, err := v.Send(bg, pushRequest(tokGone))
	assert.Contains(t, err.Error(), "2026-01-02T03:04:05Z", "the 410 timestamp is kept")
}

func TestSendRefusedLocally(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	big := strings.Repeat("x", 5000)
	cases := []struct {
		name  string
		edit  func(r *herald.SendRequest)
		class herald.ErrorClass
		code  string
	}{
		{"path in token", func(r *herald.SendRequest) { r.Device.Token = "../../admin"; r.Message.To = r.Device.Token }, herald.ClassGone, "BadDeviceToken"},
		{"payload too large", func(r *herald.SendRequest) { r.Message.Body = big }, herald.ClassPermanent, "PayloadTooLarge"},
		{"collapse id too long", func(r *herald.SendRequest) {
			r.Message.Meta = map[string]string{apns.MetaCollapseID: strings.Repeat("c", 65)}
		}, herald.ClassPermanent, "BadCollapseId"},
		{"aps in data", func(r *herald.SendRequest) { r.Message.Data = map[string]string{"aps": "x"} }, herald.ClassPermanent, apns.CodeBadOption},
		{"unknown push type", func(r *herald.SendRequest) { r.Message.Meta = map[string]string{apns.MetaPushType: "carrier-pigeon"} }, herald.ClassPermanent, "InvalidPushType"},
		{"bad badge", func(r *herald.SendRequest) { r.Message.Meta = map[string]string{apns.MetaBadge: "-1"} }, herald.ClassPermanent, apns.CodeBadOption},
		{"expired", func(r *herald.SendRequest) { r.Message.SendBefore = time.Now().Add(-time.Minute) }, herald.ClassPermanent, "BadExpirationDate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := pushRequest(tokOK)
			c.edit(req)
			_, err := v.Send(bg, req)
			require.ErrorIs(t, err, c.class)
			assert.Equal(t, c.code, herald.CodeOf(err))
		})
	}
	assert.Empty(t, f.pushes(), "nothing reached APNs")

	// A VoIP payload may be larger.
	req := pushRequest(tokOK)
	req.Message.Body = strings.Repeat("x", 4500)
	req.Message.Meta = map[string]string{apns.MetaPushType: "voip"}
	_, err := v.Send(bg, req)
	require.NoError(t, err)
}

func TestSendNotConfigured(t *testing.T) {
	v, err := apns.New(apns.Options{})
	require.NoError(t, err)
	_, err = v.Send(bg, pushRequest(tokOK))
	require.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, apns.CodeNotConfigured, herald.CodeOf(err))

	v, err = apns.New(apns.Options{Credentials: apns.Credentials{AuthKey: []byte("not a key"), KeyID: "k", TeamID: "t", Topic: "x"}})
	require.NoError(t, err)
	_, err = v.Send(bg, pushRequest(tokOK))
	require.ErrorIs(t, err, herald.ClassAuth)

	_, err = apns.New(apns.Options{Host: "http://plain.example"})
	require.ErrorIs(t, err, herald.ErrConfig)
}

func TestSendDeadlineAfterRequestIsMaybeDelivered(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	// Warm the connection so the deadline hits after the request left.
	_, err := v.Send(bg, pushRequest(tokOK))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(bg, 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = v.Send(ctx, pushRequest(tokStall))
	assert.Less(t, time.Since(start), 2*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, herald.ClassMaybeDelivered, herald.ClassOf(err))

	// A context that ended first: nothing sent, temporary.
	_, err = v.Send(ctx, pushRequest(tokOK))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err))
}

func TestSendConnectionRefusedIsTemporary(t *testing.T) {
	f := newFakeAPNs(t, false)
	opts := f.options()
	f.srv.Close()
	v, err := apns.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, pushRequest(tokOK))
	require.Error(t, err)
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err), "the request never left: %v", err)
}

func TestClassify(t *testing.T) {
	assert.Equal(t, herald.ClassGone, apns.Classify(http.StatusGone, "ExpiredToken"))
	assert.Equal(t, herald.ClassAuth, apns.Classify(http.StatusForbidden, "BadCertificateEnvironment"))
	assert.Equal(t, herald.ClassAuth, apns.Classify(http.StatusForbidden, "ExpiredProviderToken"))
	assert.Equal(t, herald.ClassRateLimited, apns.Classify(http.StatusTooManyRequests, "TooManyProviderTokenUpdates"))
	assert.Equal(t, herald.ClassTemporary, apns.Classify(http.StatusBadGateway, ""))
	assert.Equal(t, herald.ClassPermanent, apns.Classify(http.StatusBadRequest, "BadPriority"))
	assert.Equal(t, herald.ClassAuth, apns.Classify(http.StatusBadRequest, "DeviceTokenNotForTopic"))
}

func TestOrgConfig(t *testing.T) {
	f := newFakeAPNs(t, false)
	v := f.vendor(t)
	org := &herald.Organization{ID: "acme"}
	ok, err := v.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.True(t, ok, "the defaults are complete")

	cfg, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		apns.ConfigAuthKey: string(f.p8), apns.ConfigKeyID: testKeyID, apns.ConfigTeamID: testTeamID,
		apns.ConfigTopic: "com.example.acme", apns.ConfigEnvironment: "sandbox"}})
	require.NoError(t, err)
	org.VendorConfig = map[string]map[string]string{"apns": cfg}
	shown, err := v.OrgConfig(bg, org, true)
	require.NoError(t, err)
	assert.Equal(t, herald.ObscuredSecret, shown[apns.ConfigAuthKey])
	assert.Equal(t, "com.example.acme", shown[apns.ConfigTopic])

	// An obscured secret sent back keeps the saved key.
	shown[apns.ConfigTopic] = "com.example.acme2"
	cfg2, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: shown})
	require.NoError(t, err)
	assert.Equal(t, string(f.p8), strings.TrimSpace(cfg2[apns.ConfigAuthKey])+"\n")
	assert.Equal(t, "com.example.acme2", cfg2[apns.ConfigTopic])

	for name, bad := range map[string]map[string]string{
		"unknown key":     {"password": "x"},
		"not a key":       {apns.ConfigAuthKey: "nope"},
		"no topic":        {apns.ConfigTopic: ""},
		"bad environment": {apns.ConfigEnvironment: "staging"},
	} {
		_, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: bad})
		assert.ErrorIs(t, err, herald.ErrInvalidInput, name)
	}
	_, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: &herald.Organization{ID: "x"},
		New: map[string]string{apns.ConfigCertificate: string(clientCertPEM(t, "c"))}})
	assert.NoError(t, err, "a certificate alone is enough")

	none, err := apns.New(apns.Options{})
	require.NoError(t, err)
	ok, err = none.FullyConfigured(bg, &herald.Organization{ID: "y"}, nil)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = none.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.True(t, ok, "the organization's own credentials")
}
