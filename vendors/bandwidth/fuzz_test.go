package bandwidth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

// FuzzParseWebhook feeds arbitrary bodies, paths and Authorization headers
// to ParseWebhook, with the right credentials (so the parser behind the
// check is reached) or not. It must never panic, must refuse with
// ErrUnauthorized or ErrInvalidInput only (unauthenticated requests always
// with ErrUnauthorized), and an accepted request must yield well-formed
// events.
func FuzzParseWebhook(f *testing.F) {
	enc := func(events ...bandwidth.Event) []byte {
		b, _ := json.Marshal(events)
		return b
	}
	f.Add(enc(statusEvent("m1", bandwidth.EventDelivered, 0)), "", true, "")
	f.Add(enc(statusEvent("m1", bandwidth.EventFailed, 4775), statusEvent("m2", bandwidth.EventFailed, 9902)), "/status", true, "")
	f.Add(enc(inboundEvent("i1", "+14155552671", "STOP", "https://x/a.jpg", "https://x/s.smil")), "/inbound", true, "")
	f.Add([]byte(`{"type":"message-read","message":{"id":"m3","to":["+1","+2"]},"to":"+2","errorCode":"x"}`), "/", true, "")
	f.Add([]byte(`[{"type":"message-received","message":{"id":"m4","direction":"out"}}]`), "", true, "")
	f.Add([]byte(`[{"type":"message-failed","errorCode":null,"message":{"id":"m5","segmentCount":"2"}}] `), "", true, "")
	f.Add([]byte("[]"), "/elsewhere", false, "Basic Og==")
	f.Add([]byte("not json"), "", false, "Basic aGVyYWxkLWhvb2tzOmhvb2stcGFzc3dvcmQtYWFhYQ")
	v, err := bandwidth.New(bandwidth.Options{CallbackUsername: hookUser, CallbackPassword: hookPass})
	if err != nil {
		f.Fatal(err)
	}
	org := &herald.Organization{ID: "org1"}
	f.Fuzz(func(t *testing.T, body []byte, path string, authorized bool, authz string) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		if authorized {
			authz = defaultAuth
		}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		req := &herald.WebhookRequest{Organization: org, Method: http.MethodPost,
			URL: "https://hooks.example.com/h/org1/bandwidth" + path, Path: path, Header: h, Body: body}
		res, err := v.ParseWebhook(bg, req)
		if err != nil {
			if res != nil {
				t.Fatalf("error %v with a result", err)
			}
			if !errors.Is(err, herald.ErrUnauthorized) && !errors.Is(err, herald.ErrInvalidInput) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if authz != defaultAuth && !errors.Is(err, herald.ErrUnauthorized) {
				t.Fatalf("unauthenticated request not refused as unauthorized: %v", err)
			}
			return
		}
		if authz != defaultAuth {
			t.Fatalf("request with Authorization %q accepted", authz)
		}
		for _, r := range res.Reports {
			if r.EventID == "" || r.VendorMessageID == "" || r.OrgID != "org1" || r.Vendor != "bandwidth" {
				t.Fatalf("bad report %+v", r)
			}
			if r.Engagement == "" && r.Status != herald.StatusSent && r.Status != herald.StatusDelivered && r.Status != herald.StatusFailed {
				t.Fatalf("report status %q", r.Status)
			}
		}
		for _, m := range res.Inbound {
			if m.EventID == "" || m.From == "" || m.OrgID != "org1" || !m.Channel.Valid() {
				t.Fatalf("bad inbound %+v", m)
			}
		}
	})
}
