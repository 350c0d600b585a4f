package twilio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/twilio"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// benchClient is the client both sides of the comparison use: one
// transport, enough idle connections for the concurrency.
func benchClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// BenchmarkSendVsBareHTTP compares, in the same run and at the same
// concurrency, Dispatcher.Send through the Twilio vendor (whole pipeline,
// memstore) against a bare net/http client posting the same Messages API
// request (form body, basic auth, JSON answer decoded) to the same local
// fake Twilio. Each iteration sends one message each way, and one more
// through the vendor's Send alone (with a deadline, as the dispatcher
// calls it); vendortest.CompareThroughput reports each path's rate and
// CPU per message and the ratios dispatch/bare and vendor/bare. The
// dispatcher's memstore is emptied (Reset) every 2,000 sends, so that the
// live heap is a service's, not an in-memory database's.
func BenchmarkSendVsBareHTTP(b *testing.B) {
	for _, c := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			api := newFakeAPI(b)
			api.quiet = true
			client := benchClient()
			opts := api.options()
			opts.HTTPClient = client
			v, err := twilio.New(opts)
			if err != nil {
				b.Fatal(err)
			}
			store := memstore.New()
			newDispatcher := func() *dispatch.Dispatcher {
				d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v},
					PublicBaseURL: "https://hooks.example.com/h"})
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			d := newDispatcher()
			endpoint := api.srv.URL + "/2010-04-01/Accounts/" + testAccount + "/Messages.json"
			callback := "https://hooks.example.com/h/org1/twilio/status"
			bare := func(i int) error {
				form := url.Values{"To": {"+14155552671"}, "Body": {"Hello from herald"},
					"MessagingServiceSid": {testService}, "StatusCallback": {callback}}
				req, err := http.NewRequestWithContext(bg, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Accept", "application/json")
				req.SetBasicAuth(testAccount, testToken)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				var m struct {
					SID string `json:"sid"`
				}
				data, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusCreated {
					return fmt.Errorf("bare: HTTP %d", resp.StatusCode)
				}
				return json.Unmarshal(data, &m)
			}
			viaDispatcher := func(i int) error {
				_, err := d.Send(bg, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
					To: "+14155552671", Body: "Hello from herald"})
				return err
			}
			direct := func(i int) error {
				req := &herald.SendRequest{Message: &herald.Message{ID: "m", OrgID: "org1", Channel: herald.ChannelSMS,
					To: "+14155552671", Body: "Hello from herald"}, Organization: &herald.Organization{ID: "org1"},
					Route: &herald.Route{}, StatusCallbackURL: callback}
				ctx, cancel := context.WithTimeout(bg, 30*time.Second)
				defer cancel()
				_, err := v.Send(ctx, req)
				return err
			}
			vendortest.CompareThroughput(b, vendortest.CompareOptions{Concurrency: c, Between: store.Reset},
				vendortest.Path{Name: "bare", Send: bare},
				vendortest.Path{Name: "dispatch", Send: viaDispatcher},
				vendortest.Path{Name: "vendor", Send: direct})
		})
	}
}

// BenchmarkWebhookIngest measures status callbacks through
// Dispatcher.Webhooks(): signature verification (HMAC-SHA1 over the URL
// and sorted params), parsing, deduplication, the forward-only status
// change on memstore. Each callback delivers a different sent message.
func BenchmarkWebhookIngest(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "sequential"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			store := memstore.New()
			v, err := twilio.New(twilio.Options{AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService})
			if err != nil {
				b.Fatal(err)
			}
			const base = "https://hooks.example.com/h"
			d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, PublicBaseURL: base})
			if err != nil {
				b.Fatal(err)
			}
			h := d.Webhooks()
			now := time.Now()
			bodies := make([]string, b.N)
			sigs := make([]string, b.N)
			target := base + "/org1/twilio/status"
			for i := range b.N {
				sid := fmt.Sprintf("SM%032d", i)
				_, _, err := store.CreateMessage(bg, &herald.Message{ID: fmt.Sprintf("m%d", i), IdempotencyKey: fmt.Sprintf("m%d", i),
					OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: "hi", Vendor: "twilio",
					VendorMessageID: sid, Status: herald.StatusSent, CreatedAt: now, UpdatedAt: now})
				if err != nil {
					b.Fatal(err)
				}
				p := url.Values{"AccountSid": {testAccount}, "ApiVersion": {"2010-04-01"}, "MessageSid": {sid}, "SmsSid": {sid},
					"MessageStatus": {"delivered"}, "SmsStatus": {"delivered"}, "To": {"+14155552671"},
					"MessagingServiceSid": {testService}}
				bodies[i] = p.Encode()
				sigs[i] = twilio.Signature(testToken, target, p)
			}
			var next atomic.Int64
			one := func() {
				i := int(next.Add(1)) - 1
				req := httptest.NewRequest(http.MethodPost, "/org1/twilio/status", strings.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set(twilio.SignatureHeader, sigs[i])
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Errorf("HTTP %d: %s", w.Code, w.Body)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						one()
					}
				})
			} else {
				for range b.N {
					one()
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reports/s")
		})
	}
}

// BenchmarkValidSignature is the verification alone, for a typical status
// callback.
func BenchmarkValidSignature(b *testing.B) {
	p := statusParams("SM00000000000000000000000000000001", "delivered", "")
	u := "https://hooks.example.com/h/org1/twilio/status"
	sig := twilio.Signature(testToken, u, p)
	b.ReportAllocs()
	for b.Loop() {
		if !twilio.ValidSignature(testToken, sig, u, p) {
			b.Fatal("invalid")
		}
	}
}

// cannedTransport answers every request with Twilio's 201 for a message,
// without a network: what is left is the client side's own cost.
type cannedTransport struct{ body string }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r}, nil
}

const cannedMessage = `{"sid":"SM00000000000000000000000000000001","account_sid":"AC0000000000000000000000000000aaaa",` +
	`"to":"+14155552671","from":null,"messaging_service_sid":"MG0000000000000000000000000000aaaa","body":"Hello from herald",` +
	`"status":"accepted","num_segments":"1","num_media":"0","direction":"outbound-api","api_version":"2010-04-01",` +
	`"price":null,"price_unit":"USD","error_code":null,"error_message":null,"date_created":"Thu, 24 Aug 2023 05:01:45 +0000",` +
	`"uri":"/2010-04-01/Accounts/AC0000000000000000000000000000aaaa/Messages/SM00000000000000000000000000000001.json"}`

// BenchmarkClientOverhead compares the client-side cost of one Messages
// API call through the vendor's Send and through a bare net/http client,
// both over a transport that answers at once: the vendor's own overhead,
// without the network or the server.
func BenchmarkClientOverhead(b *testing.B) {
	client := &http.Client{Transport: cannedTransport{cannedMessage}}
	b.Run("vendor", func(b *testing.B) {
		v, err := twilio.New(twilio.Options{AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService,
			HTTPClient: client})
		if err != nil {
			b.Fatal(err)
		}
		org := &herald.Organization{ID: "org1"}
		b.ReportAllocs()
		for b.Loop() {
			req := &herald.SendRequest{Message: &herald.Message{ID: "m", OrgID: "org1", Channel: herald.ChannelSMS,
				To: "+14155552671", Body: "Hello from herald"}, Organization: org, Route: &herald.Route{},
				StatusCallbackURL: "https://hooks.example.com/h/org1/twilio/status"}
			if _, err := v.Send(bg, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		endpoint := "https://api.twilio.com/2010-04-01/Accounts/" + testAccount + "/Messages.json"
		b.ReportAllocs()
		for b.Loop() {
			form := url.Values{"To": {"+14155552671"}, "Body": {"Hello from herald"},
				"MessagingServiceSid": {testService}, "StatusCallback": {"https://hooks.example.com/h/org1/twilio/status"}}
			req, err := http.NewRequestWithContext(bg, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			req.SetBasicAuth(testAccount, testToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			var m struct {
				SID string `json:"sid"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
