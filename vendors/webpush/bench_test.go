package webpush_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/webpush"
)

// discard is an HTTP client that answers 201 without a network, so the
// benchmark measures what Send costs: payload JSON, key agreement, HKDF,
// AES-GCM over the padded 4096-byte record and the VAPID ES256 signature.
type discard struct{}

func (discard) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Location", "https://push.example/m")
	rec.WriteHeader(http.StatusCreated)
	return rec.Result(), nil
}

// BenchmarkSendEncrypt is the cost per message of encrypting and signing
// one web push (no network).
func BenchmarkSendEncrypt(b *testing.B) {
	keys := testKeys(b)
	c, err := webpush.New(webpush.Options{VAPIDKeys: keys, Subscriber: "ops@example.com",
		HTTPClient: &http.Client{Transport: discard{}}})
	require.NoError(b, err)
	sub, endpoint := browserSubscription("https://push.example/push/bench")
	req := &herald.SendRequest{
		Message: &herald.Message{ID: "m1", Channel: herald.ChannelWebPush, To: endpoint,
			Subject: "Order shipped", Body: "Your order #42 is on its way", Data: map[string]string{"order": "42"}},
		Device: &herald.Device{Channel: herald.ChannelWebPush, Token: endpoint, Subscription: sub},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(bg, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendToPushService is a whole send to the fake push service over
// TLS on loopback, including its VAPID check and decryption.
func BenchmarkSendToPushService(b *testing.B) {
	f := newFixture(b)
	req := f.request(b, "bench")
	_, err := f.client.Send(bg, req)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.client.Send(bg, req); err != nil {
			b.Fatal(err)
		}
	}
}
