package sendgrid_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/sendgrid"
)

// Sending one email; SendGrid answers 202 with X-Message-Id.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Message-Id", "W1ykn2-aTP-8eT6CqfLg0A")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer api.Close()

	client, err := sendgrid.New(sendgrid.Options{
		APIKey: "SG.example-not-a-key", From: "Acme <news@acme.example>", BaseURL: api.URL,
	})
	if err != nil {
		panic(err)
	}
	res, err := client.Send(context.Background(), &herald.SendRequest{Message: &herald.Message{
		ID: "m1", Channel: herald.ChannelEmail, To: "ada@example.com",
		Subject: "Welcome", Body: "Hello Ada", HTML: "<p>Hello Ada</p>",
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.VendorMessageID)
	// Output: W1ykn2-aTP-8eT6CqfLg0A
}

// Verifying and parsing a signed Event Webhook post.
func ExampleClient_ParseWebhook() {
	// SendGrid's side: the key pair whose public half its settings show.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	body := []byte(`[{"email":"ada@example.com","event":"open","sg_event_id":"ev1","sg_message_id":"W1ykn2-aTP-8eT6CqfLg0A.filterdrecv-1","timestamp":1700000000}]` + "\r\n")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	digest := sha256.Sum256(append([]byte(ts), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])

	client, _ := sendgrid.New(sendgrid.Options{WebhookPublicKey: base64.StdEncoding.EncodeToString(der)})
	hdr := http.Header{}
	hdr.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	hdr.Set(sendgrid.TimestampHeader, ts)
	res, err := client.ParseWebhook(context.Background(), &herald.WebhookRequest{
		Organization: &herald.Organization{ID: "acme"}, Method: http.MethodPost, Header: hdr, Body: body,
	})
	if err != nil {
		panic(err)
	}
	r := res.Reports[0]
	fmt.Println(r.VendorMessageID, r.Engagement, r.EventID)
	// Output: W1ykn2-aTP-8eT6CqfLg0A opened ev1
}
