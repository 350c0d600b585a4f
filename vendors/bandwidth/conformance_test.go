package bandwidth_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/bandwidth"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

func failing(body string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest { return smsRequest(body) }
}

func withRoute(body string, creds map[string]string, to string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest {
		r := smsRequest(body)
		r.Route = &herald.Route{Credentials: creds}
		if to != "" {
			r.Message.To = to
		}
		return r
	}
}

// TestConformance runs herald's vendor conformance kit against the fake
// Bandwidth API, webhooks included but for the tampered-body forgery:
// Bandwidth's callbacks carry HTTP Basic credentials, no signature over the
// body.
func TestConformance(t *testing.T) {
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor { return newFakeAPI(t).vendor(t) },
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			r := smsRequest("hello from vendortest")
			r.Message.Channel = ch
			if ch == herald.ChannelMMS {
				r.Message.Media = []string{"https://example.com/a.png"}
			}
			return r
		},
		MediaRequest: func(t *testing.T) *herald.SendRequest {
			r := smsRequest("a picture")
			r.Message.Channel = herald.ChannelMMS
			r.Message.Media = []string{"https://example.com/a.png", "https://example.com/b.gif"}
			return r
		},
		Stall:          failing("stall"),
		FailingRequest: failing("http400"),
		Failures: []vendortest.Failure{
			{Name: "429", Request: failing("http429"), Class: herald.ClassRateLimited, Code: bandwidth.CodeQueueFull, RetryAfter: 3 * time.Second},
			{Name: "500", Request: failing("http500"), Class: herald.ClassTemporary, Code: "500"},
			{Name: "503", Request: failing("http503"), Class: herald.ClassTemporary, Code: "503"},
			{Name: "400", Request: failing("http400"), Class: herald.ClassPermanent, Code: "request-validation"},
			{Name: "400-to", Request: withRoute("hi", nil, "415555"), Class: herald.ClassInvalidAddress, Code: "request-validation"},
			{Name: "403", Request: failing("http403"), Class: herald.ClassAuth, Code: "forbidden"},
			{Name: "401-basic", Request: withRoute("hi", map[string]string{bandwidth.ConfigAccountID: testAccount,
				bandwidth.ConfigUsername: testUser, bandwidth.ConfigPassword: "wrong"}, ""), Class: herald.ClassAuth, Code: "unauthorized"},
			{Name: "401-token", Request: withRoute("hi", map[string]string{bandwidth.ConfigAccountID: testAccount,
				bandwidth.ConfigClientID: testClient, bandwidth.ConfigClientSecret: "wrong"}, ""), Class: herald.ClassAuth, Code: "invalid_client"},
			{Name: "no-from", Request: withRoute("hi", map[string]string{bandwidth.ConfigAccountID: otherAccount,
				bandwidth.ConfigClientID: otherClient, bandwidth.ConfigClientSecret: otherSecret, bandwidth.ConfigApplicationID: otherApp}, ""),
				Class: herald.ClassAuth},
			{Name: "closed-window", Request: func(t *testing.T) *herald.SendRequest {
				r := smsRequest("too late")
				r.Message.SendBefore = time.Now().Add(-time.Minute)
				return r
			}, Class: herald.ClassPermanent, Code: "4360"},
		},
		Codes:    bandwidth.Codes(),
		Webhooks: webhookKit(),
	})
}

// callbackRequest is a webhook request carrying events, with the given
// Authorization header (none when empty).
func callbackRequest(org *herald.Organization, path, authz string, events ...bandwidth.Event) *herald.WebhookRequest {
	body, err := json.Marshal(events)
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "BandwidthAPI/v2")
	if authz != "" {
		h.Set("Authorization", authz)
	}
	return &herald.WebhookRequest{Organization: org, Method: http.MethodPost,
		URL: "https://hooks.example.com/h/" + org.ID + "/bandwidth" + path, Path: path, Header: h, Body: body}
}

func statusEvent(id, typ string, code int) bandwidth.Event {
	e := bandwidth.Event{Type: typ, Time: "2026-11-22T10:00:00.000Z", To: "+14155552671", Description: "ok",
		CarrierName: "Fake Wireless",
		Message: &bandwidth.EventMessage{ID: id, Owner: testFrom, ApplicationID: testApp, Direction: "out",
			To: []string{"+14155552671"}, From: testFrom, Tag: "msg-1", SegmentCount: json.RawMessage("1")}}
	if code != 0 {
		b, _ := json.Marshal(code)
		e.ErrorCode = b
	}
	return e
}

func inboundEvent(id, from, text string, media ...string) bandwidth.Event {
	return bandwidth.Event{Type: bandwidth.EventReceived, Time: "2026-11-22T10:00:00.000Z", To: testFrom,
		Description: "Incoming message received",
		Message: &bandwidth.EventMessage{ID: id, Owner: testFrom, ApplicationID: testApp, Direction: "in",
			To: []string{testFrom}, From: from, Text: text, Media: media}}
}

var defaultAuth = bandwidth.CallbackAuthorization(hookUser, hookPass)

// webhookKit builds Bandwidth callbacks in vendortest's shape: "signed"
// means carrying the right Basic credentials.
func webhookKit() *vendortest.WebhookKit {
	org := &herald.Organization{ID: "org1"}
	return &vendortest.WebhookKit{
		Report: func(t *testing.T) (*herald.WebhookRequest, herald.DeliveryReport) {
			return callbackRequest(org, "", defaultAuth, statusEvent("r1", bandwidth.EventFailed, 5600)),
				herald.DeliveryReport{EventID: "r1/message-failed", VendorMessageID: "r1", Status: herald.StatusFailed, ErrorCode: "5600"}
		},
		Inbound: func(t *testing.T) (*herald.WebhookRequest, herald.InboundMessage) {
			e := inboundEvent("i1", "+14155552671", "STOP", "https://messaging.bandwidth.com/api/v2/users/9900001/media/i1/0/a.jpg",
				"https://messaging.bandwidth.com/api/v2/users/9900001/media/i1/1/smil.smil")
			return callbackRequest(org, bandwidth.PathInbound, defaultAuth, e), herald.InboundMessage{EventID: "i1",
				From: "+14155552671", Body: "STOP", Channel: herald.ChannelMMS,
				Media: []string{"https://messaging.bandwidth.com/api/v2/users/9900001/media/i1/0/a.jpg"}}
		},
		Forge: func(t *testing.T, valid *herald.WebhookRequest) []*herald.WebhookRequest {
			with := func(authz string) *herald.WebhookRequest {
				c := *valid
				c.Header = valid.Header.Clone()
				c.Header.Set("Authorization", authz)
				return &c
			}
			// Another organization, with callback credentials of its own,
			// does not take the default ones.
			otherOrg := *valid
			otherOrg.Organization = &herald.Organization{ID: "org2", VendorConfig: map[string]map[string]string{
				"bandwidth": {bandwidth.ConfigCallbackUsername: otherHook, bandwidth.ConfigCallbackPassword: otherPass}}}
			// An organization on another account without callback
			// credentials: nothing verifies, so nothing is taken.
			otherAccountOrg := *valid
			otherAccountOrg.Organization = &herald.Organization{ID: "org3", VendorConfig: map[string]map[string]string{
				"bandwidth": {bandwidth.ConfigAccountID: otherAccount}}}
			return []*herald.WebhookRequest{
				with(bandwidth.CallbackAuthorization(hookUser, "wrong")),
				with(bandwidth.CallbackAuthorization("wrong", hookPass)),
				with(bandwidth.CallbackAuthorization(hookUser, hookPass+"x")),
				with(bandwidth.CallbackAuthorization("", "")),
				with("Bearer " + hookPass),
				with("Basic !!!not-base64"),
				&otherOrg, &otherAccountOrg,
			}
		},
		BodyUnauthenticated: true,
		Malformed: func(t *testing.T) *herald.WebhookRequest {
			r := callbackRequest(org, "", defaultAuth)
			r.Body = []byte(`[{"type":"message-delivered","time":"2026-11-22T10:00:00Z"}]`)
			return r
		},
	}
}
