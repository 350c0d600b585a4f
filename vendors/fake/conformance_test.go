package fake_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fake"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// request returns a valid request for ch, as the dispatcher would build it.
func request(ch herald.Channel, body string) *herald.SendRequest {
	m := &herald.Message{
		ID: "m1", IdempotencyKey: "k1", OrgID: "org1", Channel: ch, Body: body,
	}
	switch {
	case ch.IsPhone():
		m.To, m.From = "+15555550101", "+15555550100"
	case ch == herald.ChannelEmail:
		m.To, m.From, m.Subject = "ada@example.com", "news@example.org", "Hello"
	default:
		m.To = "device-token-1"
	}
	r := &herald.SendRequest{
		Message:      m,
		Organization: &herald.Organization{ID: "org1"},
		Route:        &herald.Route{},
	}
	if ch.IsPush() {
		r.Device = &herald.Device{Channel: ch, Token: m.To}
	}
	return r
}

func failing(code string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest { return request(herald.ChannelSMS, "error"+code) }
}

func TestConformance(t *testing.T) {
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor {
			v := fake.New(fake.Options{})
			t.Cleanup(v.Wait)
			return v
		},
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			return request(ch, "hello from vendortest")
		},
		FailingRequest: failing("21211"),
		Failures: []vendortest.Failure{
			{Name: "429", Request: failing("429"), Class: herald.ClassRateLimited, Code: "429", WantRetryAfter: true},
			{Name: "20429", Request: failing("20429"), Class: herald.ClassRateLimited, Code: "20429", WantRetryAfter: true},
			{Name: "500", Request: failing("500"), Class: herald.ClassTemporary, Code: "500"},
			{Name: "503", Request: failing("503"), Class: herald.ClassTemporary, Code: "503"},
			{Name: "599", Request: failing("599"), Class: herald.ClassTemporary, Code: "599"},
			{Name: "21610", Request: failing("21610"), Class: herald.ClassOptedOut, Code: "21610"},
			{Name: "21211", Request: failing("21211"), Class: herald.ClassInvalidAddress, Code: "21211"},
			{Name: "21614", Request: failing("21614"), Class: herald.ClassInvalidAddress, Code: "21614"},
			{Name: "20003", Request: failing("20003"), Class: herald.ClassAuth, Code: "20003"},
			{Name: "401", Request: failing("401"), Class: herald.ClassAuth, Code: "401"},
			{Name: "403", Request: failing("403"), Class: herald.ClassAuth, Code: "403"},
			{Name: "410", Request: failing("410"), Class: herald.ClassGone, Code: "410"},
			{Name: "408", Request: failing("408"), Class: herald.ClassMaybeDelivered, Code: "408"},
			{Name: "400", Request: failing("400"), Class: herald.ClassPermanent, Code: "400"},
		},
		MediaRequest: func(t *testing.T) *herald.SendRequest {
			r := request(herald.ChannelMMS, "a picture")
			r.Message.Media = []string{fake.PictureURL}
			return r
		},
		Codes: []string{"400", "401", "403", "404", "408", "409", "410", "429", "20003", "20429", "21211", "21610",
			"21614", "30003", "30004", "30005", "30006", "30007", "30008"},
		Webhooks: &vendortest.WebhookKit{
			Report: func(t *testing.T) (*herald.WebhookRequest, herald.DeliveryReport) {
				want := herald.DeliveryReport{EventID: "ev-1", VendorMessageID: "FAKE-1", Status: herald.StatusFailed, ErrorCode: "30003"}
				body, err := fake.EncodeWebhook([]herald.DeliveryReport{want}, nil)
				require.NoError(t, err)
				return signedWebhook(body, "/status"), want
			},
			Inbound: func(t *testing.T) (*herald.WebhookRequest, herald.InboundMessage) {
				want := herald.InboundMessage{EventID: "in-1", From: "+15555550101", Body: "STOP", Channel: herald.ChannelSMS}
				body, err := fake.EncodeWebhook(nil, []herald.InboundMessage{want})
				require.NoError(t, err)
				return signedWebhook(body, "/inbound"), want
			},
			Forge: func(t *testing.T, valid *herald.WebhookRequest) []*herald.WebhookRequest {
				wrongKey := cloneWebhook(valid)
				wrongKey.Header.Set(fake.SignatureHeader, fake.Sign("not-the-secret", valid.Body))
				otherOrg := cloneWebhook(valid)
				otherOrg.Organization = &herald.Organization{ID: "org2", VendorConfig: map[string]map[string]string{
					"fake": {fake.ConfigSecret: "org2-secret"}}}
				return []*herald.WebhookRequest{wrongKey, otherOrg}
			},
			Malformed: func(t *testing.T) *herald.WebhookRequest { return signedWebhook([]byte(`{"reports":[{}]}`), "/status") },
		},
	})
}

const webhookSecret = "conformance-secret"

// signedWebhook is a webhook request for org1 signed with its secret.
func signedWebhook(body []byte, path string) *herald.WebhookRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(fake.SignatureHeader, fake.Sign(webhookSecret, body))
	return &herald.WebhookRequest{
		Organization: &herald.Organization{ID: "org1", VendorConfig: map[string]map[string]string{
			"fake": {fake.ConfigAccount: "acct", fake.ConfigSecret: webhookSecret}}},
		Method: http.MethodPost, URL: "https://hooks.example.com/org1/fake" + path, Path: path, Header: h, Body: body,
	}
}

func cloneWebhook(r *herald.WebhookRequest) *herald.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = append([]byte(nil), r.Body...)
	return &c
}
