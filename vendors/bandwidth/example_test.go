package bandwidth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

// A dispatcher sending SMS through Bandwidth with OAuth2 client
// credentials. Here a stand-in for Bandwidth's token endpoint and
// Messaging API answers; in production leave the URLs empty.
func Example() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/oauth2/token" {
			fmt.Fprint(w, `{"access_token":"token","token_type":"Bearer","expires_in":3600}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"id":"14762070468292kw2fuqty55yp2b2","owner":"+19195550100","from":"+19195550100",`+
			`"applicationId":"93de2206-9669-4e07-948d-329f4b722ee2","segmentCount":1,"direction":"out"}`)
	}))
	defer api.Close()

	v, err := bandwidth.New(bandwidth.Options{
		AccountID:        "9900000",
		ClientID:         "client-id",
		ClientSecret:     "client-secret", // from your secret store
		ApplicationID:    "93de2206-9669-4e07-948d-329f4b722ee2",
		FromNumber:       "+19195550100", // or let a numpicker manager choose
		MessagingBaseURL: api.URL,
		TokenURL:         api.URL + "/api/v1/oauth2/token",
	})
	if err != nil {
		panic(err)
	}
	d, err := dispatch.New(dispatch.Config{
		Vendors:       []herald.Vendor{v},
		PublicBaseURL: "https://example.com/hooks", // the application's callback URL is …/{org}/bandwidth
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
	// Output: sent 14762070468292kw2fuqty55yp2b2
}

// ParseWebhook turns an authenticated callback into delivery reports.
func ExampleVendor_ParseWebhook() {
	v, err := bandwidth.New(bandwidth.Options{CallbackUsername: "hooks", CallbackPassword: "hook-secret"})
	if err != nil {
		panic(err)
	}
	body := `[{"type":"message-failed","time":"2026-11-22T10:00:00Z","description":"rejected","to":"+14155552671",` +
		`"errorCode":4775,"carrierName":"T-Mobile USA, Inc.","message":{"id":"1476207046829","direction":"out",` +
		`"to":["+14155552671"],"from":"+19195550100","text":"","tag":"msg-42"}}]`
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", bandwidth.CallbackAuthorization("hooks", "hook-secret")) // what Bandwidth sends
	res, err := v.ParseWebhook(context.Background(), &herald.WebhookRequest{
		Organization: &herald.Organization{ID: "acme"}, Method: http.MethodPost,
		URL: "https://example.com/hooks/acme/bandwidth", Path: "/", Header: h, Body: []byte(body),
	})
	if err != nil {
		panic(err)
	}
	r := res.Reports[0]
	fmt.Println(r.Status, r.ErrorCode, r.OptedOut, r.Carrier, r.EventID)
	fmt.Println(v.DescribeError(r.ErrorCode).Description)

	h.Set("Authorization", bandwidth.CallbackAuthorization("hooks", "guess"))
	_, err = v.ParseWebhook(context.Background(), &herald.WebhookRequest{
		Organization: &herald.Organization{ID: "acme"}, Method: http.MethodPost, Header: h, Body: []byte(body),
	})
	fmt.Println(err)
	// Output:
	// failed 4775 true T-Mobile USA, Inc. 1476207046829/message-failed
	// The recipient opted out of messages from this sender.
	// bandwidth: wrong callback credentials: herald: unauthorized
}

// Classify tells what a Bandwidth code means for the dispatcher.
func ExampleClassify() {
	fmt.Println(string(bandwidth.Classify("4775", 0)))
	fmt.Println(string(bandwidth.Classify("4720", 0)))
	fmt.Println(string(bandwidth.Classify("5600", 0)))
	fmt.Println(string(bandwidth.Classify(bandwidth.CodeQueueFull, http.StatusTooManyRequests)))
	fmt.Println(string(bandwidth.Classify("unauthorized", http.StatusUnauthorized)))
	// Output:
	// opted-out
	// invalid-address
	// temporary
	// rate-limited
	// auth
}
