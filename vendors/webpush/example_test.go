package webpush_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/webpush"
)

// A push service that answers 201 to one subscription and 410 (the user
// unsubscribed) to another.
func Example() {
	svc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/push/unsubscribed" {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.Header().Set("Location", "https://push.example/m/1")
		w.WriteHeader(http.StatusCreated)
	}))
	defer svc.Close()

	keys, err := webpush.GenerateVAPIDKeys() // once; then LoadVAPIDKeys
	if err != nil {
		panic(err)
	}
	client, err := webpush.New(webpush.Options{VAPIDKeys: keys, Subscriber: "ops@example.com", HTTPClient: svc.Client()})
	if err != nil {
		panic(err)
	}

	for _, name := range []string{"browser", "unsubscribed"} {
		sub, endpoint := browserSubscription(svc.URL + "/push/" + name)
		_, err := client.Send(context.Background(), &herald.SendRequest{
			Message: &herald.Message{ID: "m1", Channel: herald.ChannelWebPush, To: endpoint, Subject: "Hello", Body: "Your order shipped"},
			Device:  &herald.Device{Channel: herald.ChannelWebPush, Token: endpoint, Subscription: sub},
		})
		switch {
		case errors.Is(err, herald.ClassGone):
			fmt.Println(name, "gone: remove the subscription")
		case err != nil:
			fmt.Println(name, "error:", err)
		default:
			fmt.Println(name, "sent")
		}
	}
	// Output:
	// browser sent
	// unsubscribed gone: remove the subscription
}

// browserSubscription stands for PushSubscription.toJSON() in a browser.
func browserSubscription(endpoint string) (string, string) {
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	enc := base64.RawURLEncoding.EncodeToString
	return fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}`, endpoint, enc(k.PublicKey().Bytes()), enc(auth)), endpoint
}

func ExampleLoadVAPIDKeys() {
	generated, _ := webpush.GenerateVAPIDKeys()
	// Store generated.Private as a secret; load both on start.
	keys, err := webpush.LoadVAPIDKeys(generated.Public, generated.Private)
	fmt.Println(err == nil, keys == generated)
	// Output: true true
}
