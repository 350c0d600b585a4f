package sendgrid_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/sendgrid"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

func TestConformance(t *testing.T) {
	// The fake API of the vendor the kit built last; webhook fixtures are
	// signed with its key.
	var current atomic.Pointer[fakeAPI]
	to := func(addr string) func(t *testing.T) *herald.SendRequest {
		return func(t *testing.T) *herald.SendRequest { return emailRequest(addr) }
	}
	org := &herald.Organization{ID: "acme"}
	signed := func(t *testing.T, b []byte) *herald.WebhookRequest {
		f := current.Load()
		return hookRequest(org, f.sign(t, f.key, time.Now().Unix(), b), b)
	}
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor {
			f := newFakeAPI(t)
			current.Store(f)
			c, err := sendgrid.New(f.options())
			require.NoError(t, err)
			return c
		},
		Request:        func(t *testing.T, _ herald.Channel) *herald.SendRequest { return emailRequest("ada@example.com") },
		FailingRequest: to("invalid@example.com"),
		MediaRequest: func(t *testing.T) *herald.SendRequest {
			r := emailRequest("ada@example.com")
			r.Message.Media = []string{current.Load().srv.URL + "/files/report.pdf"}
			return r
		},
		Stall: to("stall@example.com"),
		Failures: []vendortest.Failure{
			{Name: "400-recipient", Request: to("invalid@example.com"), Class: herald.ClassInvalidAddress, Code: "400"},
			{Name: "429", Request: to("429@example.com"), Class: herald.ClassRateLimited, Code: "429", WantRetryAfter: true},
			{Name: "429-retry-after", Request: to("retry@example.com"), Class: herald.ClassRateLimited, Code: "429", RetryAfter: 7 * time.Second},
			{Name: "500", Request: to("500@example.com"), Class: herald.ClassTemporary, Code: "500"},
			{Name: "503", Request: to("503@example.com"), Class: herald.ClassTemporary, Code: "503"},
			{Name: "403", Request: func(t *testing.T) *herald.SendRequest {
				r := emailRequest("ada@example.com")
				r.Message.From = "unverified@acme.example"
				return r
			}, Class: herald.ClassAuth, Code: "403"},
		},
		Codes: []string{sendgrid.CodeInvalidRequest, sendgrid.CodeNoAPIKey, sendgrid.CodeNoSender, sendgrid.CodeAttachment,
			"400", "401", "403", "406", "413", "429", "451", "500", "503", "bounce", "dropped", "deferred",
			"unsubscribe", "group_unsubscribe", "spamreport"},
		Webhooks: &vendortest.WebhookKit{
			Report: func(t *testing.T) (*herald.WebhookRequest, herald.DeliveryReport) {
				e := ev("delivered", "W1ykn2-aTP-8eT6CqfLg0A", "ada@example.com", "response", "250 OK")
				return signed(t, body(t, e)), herald.DeliveryReport{
					VendorMessageID: "W1ykn2-aTP-8eT6CqfLg0A", Status: herald.StatusDelivered, EventID: e["sg_event_id"].(string)}
			},
			Forge: func(t *testing.T, valid *herald.WebhookRequest) []*herald.WebhookRequest {
				other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				require.NoError(t, err)
				f := current.Load()
				wrongKey := hookRequest(org, f.sign(t, other, time.Now().Unix(), valid.Body), valid.Body)
				stale := hookRequest(org, f.sign(t, f.key, time.Now().Add(-time.Hour).Unix(), valid.Body), valid.Body)
				// Signed for acme, posted to an organization with its own key.
				der, err := x509.MarshalPKIXPublicKey(&other.PublicKey)
				require.NoError(t, err)
				beta := &herald.Organization{ID: "beta", VendorConfig: map[string]map[string]string{
					"sendgrid": {sendgrid.ConfigWebhookPublicKey: base64.StdEncoding.EncodeToString(der)}}}
				otherOrg := hookRequest(beta, valid.Header.Clone(), valid.Body)
				get := hookRequest(org, valid.Header.Clone(), valid.Body)
				get.Header.Del(sendgrid.SignatureHeader)
				get.Method = http.MethodGet
				return []*herald.WebhookRequest{wrongKey, stale, otherOrg, get}
			},
			Malformed: func(t *testing.T) *herald.WebhookRequest { return signed(t, []byte(`{"event":"delivered"}`)) },
		},
	})
}
