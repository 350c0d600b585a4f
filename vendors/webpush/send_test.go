package webpush_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/vendors/webpush"
)

var bg = context.Background()

func testKeys(t testing.TB) webpush.VAPIDKeys {
	k, err := webpush.GenerateVAPIDKeys()
	require.NoError(t, err)
	return k
}

// fixture is a client and the push service it sends to.
type fixture struct {
	keys   webpush.VAPIDKeys
	push   *pushService
	client *webpush.Client
}

func newFixture(t testing.TB) *fixture {
	keys := testKeys(t)
	p := newPushService(t, keys)
	c, err := webpush.New(webpush.Options{VAPIDKeys: keys, Subscriber: "ops@example.com", HTTPClient: p.srv.Client()})
	require.NoError(t, err)
	return &fixture{keys: keys, push: p, client: c}
}

// request is a push to a new subscription called name, as the dispatcher
// builds it: To is the endpoint and Device carries the subscription.
func (f *fixture) request(t testing.TB, name string) *herald.SendRequest {
	sub, endpoint := f.push.subscribe(t, name)
	return &herald.SendRequest{
		Message: &herald.Message{
			ID: "m-" + name, OrgID: "acme", Channel: herald.ChannelWebPush, To: endpoint,
			Subject: "Order shipped", Body: "Your order #42 is on its way", Data: map[string]string{"order": "42"},
		},
		Organization: &herald.Organization{ID: "acme"},
		Route:        &herald.Route{},
		Device:       &herald.Device{Channel: herald.ChannelWebPush, Token: endpoint, Subscription: sub},
	}
}

func TestSendEncryptsForTheSubscription(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "alice")
	req.Message.TTL = 90 * time.Second
	req.Message.Urgency = herald.UrgencyHigh
	req.Message.Meta = map[string]string{webpush.MetaTopic: "order-42"}
	before := req.Message.Clone()

	res, err := f.client.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusSent, res.Status)
	assert.Equal(t, before, req.Message, "Send must not modify the message")

	got := f.push.received()
	require.Len(t, got, 1)
	p := got[0]
	assert.Equal(t, f.push.srv.URL+"/m/alice-1", res.VendorMessageID, "the Location header is the vendor message ID")
	assert.Equal(t, webpush.Notification{ID: "m-alice", Title: "Order shipped", Body: "Your order #42 is on its way",
		Data: map[string]string{"order": "42"}}, p.Notification)
	assert.JSONEq(t, `{"id":"m-alice","title":"Order shipped","body":"Your order #42 is on its way","data":{"order":"42"}}`, string(p.Plaintext))
	assert.Equal(t, "90", p.Header.Get("TTL"))
	assert.Equal(t, "high", p.Header.Get("Urgency"))
	assert.Equal(t, "order-42", p.Header.Get("Topic"))
	assert.Equal(t, "application/octet-stream", p.Header.Get("Content-Type"))
	assert.Equal(t, 4096, p.BodyLen, "one padded 4096-byte record")
	assert.Equal(t, "mailto:ops@example.com", p.Claims["sub"])
	assert.Equal(t, f.push.srv.URL, p.Claims["aud"])
}

func TestSendHeaders(t *testing.T) {
	cases := []struct {
		name        string
		ttl         time.Duration
		urgency     herald.Urgency
		wantTTL     string
		wantUrgency string
	}{
		{"zero TTL is the default, never 0", 0, "", "2419200", "normal"},
		{"sub-second TTL rounds up", 1500 * time.Millisecond, herald.UrgencyLow, "2", "low"},
		{"tiny TTL is at least 1", time.Nanosecond, herald.UrgencyVeryLow, "1", "very-low"},
		{"one hour", time.Hour, herald.UrgencyNormal, "3600", "normal"},
		{"high", time.Minute, herald.UrgencyHigh, "60", "high"},
	}
	f := newFixture(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := f.request(t, "h"+string(rune('a'+i)))
			req.Message.TTL, req.Message.Urgency = c.ttl, c.urgency
			_, err := f.client.Send(bg, req)
			require.NoError(t, err)
			got := f.push.received()
			last := got[len(got)-1]
			assert.Equal(t, c.wantTTL, last.Header.Get("TTL"))
			assert.Equal(t, c.wantUrgency, last.Header.Get("Urgency"))
			assert.Empty(t, last.Header.Get("Topic"))
		})
	}
}

func TestSendBeforeShortensTheTTL(t *testing.T) {
	keys := testKeys(t)
	p := newPushService(t, keys)
	clock := testkit.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	c, err := webpush.New(webpush.Options{VAPIDKeys: keys, Subscriber: "ops@example.com",
		HTTPClient: p.srv.Client(), Clock: clock})
	require.NoError(t, err)
	f := &fixture{keys: keys, push: p, client: c}
	send := func(ttl time.Duration, before time.Time) error {
		req := f.request(t, "sb")
		req.Message.TTL, req.Message.SendBefore = ttl, before
		_, err := c.Send(bg, req)
		return err
	}
	lastTTL := func() string {
		got := p.received()
		return got[len(got)-1].Header.Get("TTL")
	}
	require.NoError(t, send(0, clock.Now().Add(90*time.Second)))
	assert.Equal(t, "90", lastTTL(), "the default TTL, cut to what is left before SendBefore")
	require.NoError(t, send(time.Minute, clock.Now().Add(time.Hour)))
	assert.Equal(t, "60", lastTTL(), "a shorter TTL is kept")
	require.NoError(t, send(0, clock.Now().Add(300*time.Millisecond)))
	assert.Equal(t, "1", lastTTL(), "never 0")

	n := len(p.received())
	err = send(time.Hour, clock.Now().Add(-time.Second))
	require.Error(t, err)
	assert.Equal(t, herald.ClassPermanent, herald.ClassOf(err))
	assert.Len(t, p.received(), n, "an expired message is not sent")
}

func TestDefaultTTLOption(t *testing.T) {
	keys := testKeys(t)
	p := newPushService(t, keys)
	c, err := webpush.New(webpush.Options{VAPIDKeys: keys, Subscriber: "https://example.com/contact",
		HTTPClient: p.srv.Client(), DefaultTTL: 10 * time.Minute})
	require.NoError(t, err)
	f := &fixture{keys: keys, push: p, client: c}
	req := f.request(t, "bob")
	req.Route.Extra = map[string]string{webpush.MetaTopic: "from-route"}
	_, err = c.Send(bg, req)
	require.NoError(t, err)
	got := p.received()
	require.Len(t, got, 1)
	assert.Equal(t, "600", got[0].Header.Get("TTL"))
	assert.Equal(t, "from-route", got[0].Header.Get("Topic"))
	assert.Equal(t, "https://example.com/contact", got[0].Claims["sub"])
}

func TestSendUnicodePayload(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "emoji")
	req.Message.Body = "Grüße 👋🏽 — 你好"
	_, err := f.client.Send(bg, req)
	require.NoError(t, err)
	got := f.push.received()
	require.Len(t, got, 1)
	assert.Equal(t, "Grüße 👋🏽 — 你好", got[0].Notification.Body)
}

func TestPayloadLimit(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "big")
	req.Message.Subject, req.Message.Data = "", nil
	base, err := webpush.Payload(req.Message)
	require.NoError(t, err)
	req.Message.Body += strings.Repeat("x", webpush.MaxPayload-len(base))
	exact, err := webpush.Payload(req.Message)
	require.NoError(t, err)
	require.Len(t, exact, webpush.MaxPayload)
	_, err = f.client.Send(bg, req)
	require.NoError(t, err, "a payload of exactly MaxPayload bytes fits")
	got := f.push.received()
	require.Len(t, got, 1)
	assert.Equal(t, req.Message.Body, got[0].Notification.Body)

	req.Message.Body += "x"
	_, err = f.client.Send(bg, req)
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, herald.ClassPermanent, ve.Class)
	assert.Equal(t, webpush.CodePayloadTooLarge, ve.Code)
	assert.Contains(t, ve.Error(), "3994 bytes")
	assert.Contains(t, ve.Error(), "3993")
	assert.Len(t, f.push.received(), 1, "nothing was sent")
}

func TestPushServiceAnswers(t *testing.T) {
	cases := []struct {
		status     int
		retryAfter string
		class      herald.ErrorClass
		code       string
		wantRetry  time.Duration
	}{
		{404, "", herald.ClassGone, "404", 0},
		{410, "", herald.ClassGone, "410", 0},
		{429, "30", herald.ClassRateLimited, "429", 30 * time.Second},
		{413, "", herald.ClassPermanent, webpush.CodePayloadTooLarge, 0},
		{400, "", herald.ClassPermanent, "400", 0},
		{401, "", herald.ClassAuth, "401", 0},
		{403, "", herald.ClassAuth, "403", 0},
		{500, "", herald.ClassTemporary, "500", 0},
		{503, "5", herald.ClassTemporary, "503", 5 * time.Second},
	}
	f := newFixture(t)
	for _, c := range cases {
		t.Run(c.code+"-"+string(c.class), func(t *testing.T) {
			name := "s" + c.code + c.retryAfter
			req := f.request(t, name)
			f.push.answer(name, c.status, c.retryAfter)
			res, err := f.client.Send(bg, req)
			require.Error(t, err, "result %+v", res)
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, webpush.Name, ve.Vendor)
			assert.Equal(t, c.class, ve.Class)
			assert.ErrorIs(t, err, c.class)
			assert.Equal(t, c.code, ve.Code)
			assert.Equal(t, c.status, ve.HTTPStatus)
			assert.Equal(t, c.wantRetry, ve.RetryAfter)
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "date")
	f.push.answer("date", 429, time.Now().Add(2*time.Minute).UTC().Format(timeFormat))
	_, err := f.client.Send(bg, req)
	ra := herald.RetryAfterOf(err)
	assert.InDelta(t, (2 * time.Minute).Seconds(), ra.Seconds(), 2)
}

const timeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestUnknownEndpointIsGone(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "carol")
	// The push service forgot the subscription.
	f.push.mu.Lock()
	delete(f.push.subs, "carol")
	f.push.mu.Unlock()
	_, err := f.client.Send(bg, req)
	assert.ErrorIs(t, err, herald.ClassGone)
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	cases := map[string]func(r *herald.SendRequest){
		"no device":            func(r *herald.SendRequest) { r.Device = nil },
		"no subscription JSON": func(r *herald.SendRequest) { r.Device.Subscription = "" },
		"not JSON":             func(r *herald.SendRequest) { r.Device.Subscription = "{" },
		"bad p256dh": func(r *herald.SendRequest) {
			r.Device.Subscription = `{"endpoint":"` + r.Message.To + `","keys":{"p256dh":"AAAA","auth":"` +
				base64.RawURLEncoding.EncodeToString(make([]byte, 16)) + `"}}`
		},
		"short auth": func(r *herald.SendRequest) {
			r.Device.Subscription = strings.Replace(r.Device.Subscription, `"auth":"`, `"auth":"AAAA`, 1)
		},
		"To is another endpoint": func(r *herald.SendRequest) { r.Message.To = "https://push.example.com/other" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			req := f.request(t, "bad")
			mutate(req)
			_, err := f.client.Send(bg, req)
			assert.ErrorIs(t, err, herald.ClassInvalidAddress)
			assert.Equal(t, webpush.CodeNoSubscription, herald.CodeOf(err))
		})
	}
	t.Run("bad topic", func(t *testing.T) {
		for _, topic := range []string{"has space", "slash/", strings.Repeat("a", 33)} {
			req := f.request(t, "topic")
			req.Message.Meta = map[string]string{webpush.MetaTopic: topic}
			_, err := f.client.Send(bg, req)
			assert.ErrorIs(t, err, herald.ClassPermanent, topic)
			assert.Equal(t, webpush.CodeInvalidRequest, herald.CodeOf(err))
		}
	})
	t.Run("plain http endpoint", func(t *testing.T) {
		req := f.request(t, "plain")
		req.Message.To = strings.Replace(req.Message.To, "https://", "http://", 1)
		req.Device.Subscription = strings.Replace(req.Device.Subscription, "https://", "http://", 1)
		_, err := f.client.Send(bg, req)
		assert.ErrorIs(t, err, herald.ClassInvalidAddress)
	})
	assert.Empty(t, f.push.received(), "nothing reached the push service")
}

func TestStalledPushServiceIsMaybeDelivered(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "slow")
	f.push.stall("slow")
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client.Send(ctx, req)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered)
}

func TestUnreachablePushServiceIsTemporary(t *testing.T) {
	f := newFixture(t)
	req := f.request(t, "down")
	f.push.srv.Close()
	_, err := f.client.Send(bg, req)
	assert.ErrorIs(t, err, herald.ClassTemporary, "the request never left: safe to retry")
}

func TestVAPIDKeys(t *testing.T) {
	k := testKeys(t)
	pub, err := base64.RawURLEncoding.DecodeString(k.Public)
	require.NoError(t, err)
	assert.Len(t, pub, 65)
	assert.Equal(t, byte(4), pub[0], "uncompressed point")
	priv, err := base64.RawURLEncoding.DecodeString(k.Private)
	require.NoError(t, err)
	assert.Len(t, priv, 32)

	// Padded and standard base64 load to the canonical form.
	again, err := webpush.LoadVAPIDKeys(base64.URLEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(priv))
	require.NoError(t, err)
	assert.Equal(t, k, again)

	other := testKeys(t)
	_, err = webpush.LoadVAPIDKeys(other.Public, k.Private)
	assert.ErrorContains(t, err, "does not belong")
	_, err = webpush.LoadVAPIDKeys(k.Public, "")
	assert.Error(t, err)
	_, err = webpush.LoadVAPIDKeys("not base64!", k.Private)
	assert.Error(t, err)
	_, err = webpush.LoadVAPIDKeys(k.Public, base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	assert.Error(t, err, "zero is not a private key")
}

func TestNewValidates(t *testing.T) {
	k := testKeys(t)
	for name, o := range map[string]webpush.Options{
		"no keys":          {Subscriber: "ops@example.com"},
		"no subscriber":    {VAPIDKeys: k},
		"http subscriber":  {VAPIDKeys: k, Subscriber: "http://example.com"},
		"negative default": {VAPIDKeys: k, Subscriber: "ops@example.com", DefaultTTL: -time.Second},
	} {
		_, err := webpush.New(o)
		assert.ErrorIs(t, err, herald.ErrConfig, name)
	}
	c, err := webpush.New(webpush.Options{VAPIDKeys: k, Subscriber: "mailto:ops@example.com"})
	require.NoError(t, err)
	assert.Equal(t, webpush.Name, c.Metadata().Name)
}

func TestDescribeError(t *testing.T) {
	c, err := webpush.New(webpush.Options{VAPIDKeys: testKeys(t), Subscriber: "ops@example.com"})
	require.NoError(t, err)
	assert.Contains(t, c.DescribeError("410").Description, "removed")
	assert.Equal(t, "web push error 999", c.DescribeError("999").Description)
}

func TestParseSubscription(t *testing.T) {
	f := newFixture(t)
	raw, endpoint := f.push.subscribe(t, "dave")
	s, err := webpush.ParseSubscription(raw)
	require.NoError(t, err)
	assert.Equal(t, endpoint, s.Endpoint)
	for _, bad := range []string{"", "null", `{"endpoint":"x"}`, `{"endpoint":"ftp://x/y","keys":{}}`} {
		_, err := webpush.ParseSubscription(bad)
		assert.Error(t, err, bad)
	}
}
