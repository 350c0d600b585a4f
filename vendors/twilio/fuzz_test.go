package twilio_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/twilio"
)

// FuzzParseWebhook feeds arbitrary bodies, paths and methods to
// ParseWebhook, signed correctly (so the parser behind the signature is
// reached) or not. It must never panic, must refuse with ErrUnauthorized or
// ErrInvalidInput only, and an accepted request must yield well-formed
// events.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(statusParams("SM1", "delivered", "").Encode()), "/status", true, false)
	f.Add([]byte(statusParams("SM1", "read", "30006").Encode()), "/", true, false)
	f.Add([]byte("MessageSid=SM2&From=%2B14155552671&Body=STOP&NumMedia=2&MediaUrl0=x&MediaUrl1=y"), "/inbound", true, false)
	f.Add([]byte("MessageSid=SM2&From=x&NumMedia=-1"), "/inbound", true, false)
	f.Add([]byte(`{"MessageSid":"SM3","MessageStatus":"failed","ErrorCode":30007}`), "/status", true, true)
	f.Add([]byte("%zz=%"), "/status", false, false)
	f.Add([]byte(""), "", true, false)
	v, err := twilio.New(twilio.Options{AuthToken: testToken})
	if err != nil {
		f.Fatal(err)
	}
	org := &herald.Organization{ID: "org1"}
	f.Fuzz(func(t *testing.T, body []byte, path string, sign, jsonBody bool) {
		u := hookURL + "/status"
		h := http.Header{}
		if jsonBody {
			h.Set("Content-Type", "application/json")
			u += "?bodySHA256=" + sha256Hex(body)
			if sign {
				h.Set(twilio.SignatureHeader, twilio.Signature(testToken, u, nil))
			}
		} else {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			params, _ := url.ParseQuery(string(body))
			if sign {
				h.Set(twilio.SignatureHeader, twilio.Signature(testToken, u, params))
			}
		}
		req := &herald.WebhookRequest{Organization: org, Method: http.MethodPost, URL: u, Path: path, Header: h, Body: body}
		res, err := v.ParseWebhook(bg, req)
		if err != nil {
			if res != nil {
				t.Fatalf("error %v with a result", err)
			}
			if !errors.Is(err, herald.ErrUnauthorized) && !errors.Is(err, herald.ErrInvalidInput) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if !sign && !errors.Is(err, herald.ErrUnauthorized) {
				t.Fatalf("unsigned request not refused as unauthorized: %v", err)
			}
			return
		}
		if !sign {
			t.Fatal("unsigned request accepted")
		}
		for _, r := range res.Reports {
			if r.EventID == "" || r.VendorMessageID == "" || r.OrgID != "org1" || r.Vendor != "twilio" {
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

// FuzzValidSignature checks the validator never panics on odd URLs and
// that a signature made for a URL always validates at that URL.
func FuzzValidSignature(f *testing.F) {
	f.Add("https://hooks.example.com:443/a?b=c d&e=%7E", "k", "v")
	f.Add("http://[::1]:80/x#frag", "MediaUrl", "ü")
	f.Add("not a url", "", "")
	f.Add("https://user:pw@Example.COM/%zz?x=%", "a", "b")
	f.Fuzz(func(t *testing.T, rawURL, key, value string) {
		params := url.Values{key: {value}}
		sig := twilio.Signature(testToken, rawURL, params)
		ok := twilio.ValidSignature(testToken, sig, rawURL, params)
		if !ok {
			t.Fatal("a signature made for the URL does not validate at it")
		}
		if twilio.ValidSignature("other", sig, rawURL, params) {
			t.Fatal("another token validated")
		}
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
