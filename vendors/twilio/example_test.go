package twilio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/vendors/twilio"
)

// A dispatcher sending SMS through Twilio. Here a stand-in for Twilio's
// API answers; in production leave the base URLs empty.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SM00000000000000000000000000000001","status":"accepted","num_segments":"1",`+
			`"messaging_service_sid":"MG00000000000000000000000000000001","from":null}`)
	}))
	defer api.Close()

	v, err := twilio.New(twilio.Options{
		AccountSID:          "AC00000000000000000000000000000001",
		AuthToken:           "auth-token", // from your secret store
		MessagingServiceSID: "MG00000000000000000000000000000001",
		APIBaseURL:          api.URL,
	})
	if err != nil {
		panic(err)
	}
	d, err := dispatch.New(dispatch.Config{
		Vendors:       []herald.Vendor{v},
		PublicBaseURL: "https://example.com/hooks", // mount d.Webhooks() there
	})
	if err != nil {
		panic(err)
	}
	res, err := d.Send(context.Background(), &herald.Message{
		OrgID: "acme", Channel: herald.ChannelSMS, To: "+14155552671", Body: "Your order has shipped",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Message.Status, res.Message.VendorMessageID)
	// Output: sent SM00000000000000000000000000000001
}

// Verifying a status callback the way ParseWebhook does.
func ExampleValidSignature() {
	params := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	u := "https://example.com/hooks/acme/twilio/status"
	sig := twilio.Signature("auth-token", u, params) // what Twilio sends in X-Twilio-Signature

	fmt.Println(twilio.ValidSignature("auth-token", sig, u, params))
	fmt.Println(twilio.ValidSignature("auth-token", sig, "https://example.com:443/hooks/acme/twilio/status", params))
	fmt.Println(twilio.ValidSignature("other-token", sig, u, params))
	// Output:
	// true
	// true
	// false
}

// ParseWebhook turns a signed status callback into a delivery report.
func ExampleVendor_ParseWebhook() {
	v, err := twilio.New(twilio.Options{AuthToken: "auth-token"})
	if err != nil {
		panic(err)
	}
	params := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30006"}}
	u := "https://example.com/hooks/acme/twilio/status"
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set(twilio.SignatureHeader, twilio.Signature("auth-token", u, params))
	res, err := v.ParseWebhook(context.Background(), &herald.WebhookRequest{
		Organization: &herald.Organization{ID: "acme"}, Method: http.MethodPost,
		URL: u, Path: twilio.PathStatus, Header: h, Body: []byte(params.Encode()),
	})
	if err != nil {
		panic(err)
	}
	r := res.Reports[0]
	fmt.Println(r.Status, r.ErrorCode, r.Landline, r.EventID)
	fmt.Println(v.DescribeError(r.ErrorCode).Description)
	// Output:
	// failed 30006 true SM1/undelivered
	// Landline or unreachable carrier: the number cannot take texts.
}
