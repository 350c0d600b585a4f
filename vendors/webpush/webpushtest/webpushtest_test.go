package webpushtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	wp "github.com/SherClockHolmes/webpush-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/vendors/webpush/webpushtest"
)

// A payload encrypted by webpush-go to the subscription decrypts to what
// was sent; one encrypted to another subscriber does not.
func TestDecryptWhatAPushLibrarySent(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	sub, err := webpushtest.NewSubscriber()
	require.NoError(t, err)
	var s wp.Subscription
	require.NoError(t, json.Unmarshal([]byte(sub.Subscription(srv.URL+"/push/1")), &s))
	priv, pub, err := wp.GenerateVAPIDKeys()
	require.NoError(t, err)
	resp, err := wp.SendNotification([]byte(`{"title":"hi"}`), &s, &wp.Options{
		Subscriber: "ops@example.com", VAPIDPublicKey: pub, VAPIDPrivateKey: priv, TTL: 60, HTTPClient: srv.Client()})
	require.NoError(t, err)
	resp.Body.Close()

	plain, err := sub.Decrypt(body)
	require.NoError(t, err)
	assert.Equal(t, `{"title":"hi"}`, string(plain))

	other, err := webpushtest.NewSubscriber()
	require.NoError(t, err)
	_, err = other.Decrypt(body)
	assert.Error(t, err, "another subscriber's keys")
	_, err = sub.Decrypt(body[:10])
	assert.Error(t, err, "a truncated body")
}
