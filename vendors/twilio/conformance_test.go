package twilio_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/twilio"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

func failing(body string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest { return smsRequest(body) }
}

// TestConformance runs herald's vendor conformance kit against the fake
// Twilio API.
func TestConformance(t *testing.T) {
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor { return newFakeAPI(t).vendor(t) },
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			r := smsRequest("hello from vendortest")
			r.Message.Channel = ch
			return r
		},
		MediaRequest: func(t *testing.T) *herald.SendRequest {
			r := smsRequest("a picture")
			r.Message.Channel = herald.ChannelMMS
			r.Message.Media = []string{"https://example.com/a.png"}
			return r
		},
		Stall:          failing("stall"),
		FailingRequest: failing("error21211"),
		Failures: []vendortest.Failure{
			{Name: "20429", Request: failing("error20429"), Class: herald.ClassRateLimited, Code: "20429", RetryAfter: 7 * time.Second},
			{Name: "429", Request: failing("http429"), Class: herald.ClassRateLimited, Code: "429", RetryAfter: 3 * time.Second},
			{Name: "500", Request: failing("http500"), Class: herald.ClassTemporary, Code: "500"},
			{Name: "503", Request: failing("http503"), Class: herald.ClassTemporary, Code: "503"},
			{Name: "20500", Request: failing("error20500"), Class: herald.ClassTemporary, Code: "20500"},
			{Name: "21610", Request: failing("error21610"), Class: herald.ClassOptedOut, Code: "21610"},
			{Name: "21211", Request: failing("error21211"), Class: herald.ClassInvalidAddress, Code: "21211"},
			{Name: "21614", Request: failing("error21614"), Class: herald.ClassInvalidAddress, Code: "21614"},
			{Name: "21617", Request: failing("error21617"), Class: herald.ClassPermanent, Code: "21617"},
			{Name: "20003", Request: failing("error20003"), Class: herald.ClassAuth, Code: "20003"},
			{Name: "403", Request: failing("http403"), Class: herald.ClassAuth, Code: "403"},
			{Name: "30007", Request: failing("error30007"), Class: herald.ClassPermanent, Code: "30007"},
		},
		Codes: twilio.Codes(),
		Webhooks: &vendortest.WebhookKit{
			Report: func(t *testing.T) (*herald.WebhookRequest, herald.DeliveryReport) {
				return signedForm(otherToken, "/status", statusParams("SM7", "undelivered", "30003")),
					herald.DeliveryReport{EventID: "SM7/undelivered", VendorMessageID: "SM7", Status: herald.StatusFailed, ErrorCode: "30003"}
			},
			Inbound: func(t *testing.T) (*herald.WebhookRequest, herald.InboundMessage) {
				p := url.Values{"MessageSid": {"SM8"}, "SmsStatus": {"received"}, "From": {"+14155552671"},
					"To": {"+14155550100"}, "Body": {"STOP"}, "NumMedia": {"1"}, "MediaUrl0": {"https://api.twilio.com/m/ME1"}}
				return signedForm(otherToken, "/inbound", p), herald.InboundMessage{EventID: "SM8", From: "+14155552671",
					Body: "STOP", Channel: herald.ChannelMMS, Media: []string{"https://api.twilio.com/m/ME1"}}
			},
			Forge: func(t *testing.T, valid *herald.WebhookRequest) []*herald.WebhookRequest {
				params, _ := url.ParseQuery(string(valid.Body))
				wrongToken := *valid
				wrongToken.Header = http.Header{}
				wrongToken.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				wrongToken.Header.Set(twilio.SignatureHeader, twilio.Signature(testToken, valid.URL, params))
				otherURL := *valid
				otherURL.URL = "https://hooks.example.com/h/org2/twilio" + valid.Path
				return []*herald.WebhookRequest{&wrongToken, &otherURL}
			},
			Malformed: func(t *testing.T) *herald.WebhookRequest {
				return signedForm(otherToken, "/status", url.Values{"MessageStatus": {"delivered"}})
			},
		},
	})
}
