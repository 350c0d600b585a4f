package bandwidth_test

import (
	"bytes"
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
	"github.com/heraldmsg/herald/vendors/bandwidth"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// benchClient is the client both sides of the comparison use: one
// transport, enough idle connections for the concurrency.
func benchClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// bareToken fetches an OAuth2 token the way a hand-written client would,
// once: the vendor caches its token too, so both sides send with one.
func bareToken(b *testing.B, client *http.Client, tokenURL string) string {
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(testClient), url.QueryEscape(testSecret))
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

// BenchmarkSendVsBareHTTP compares, in the same run and at the same
// concurrency, Dispatcher.Send through the Bandwidth vendor (whole
// pipeline, memstore, OAuth2 token cached) against a bare net/http client
// posting the same Messaging API request (JSON body, Bearer token fetched
// once, JSON answer decoded) to the same local fake Bandwidth. Each
// iteration sends one message each way, and one more through the vendor's
// Send alone (with a deadline, as the dispatcher calls it); the metrics
// are messages per second of each and the ratios dispatcher / bare
// ("ratio") and vendor / bare ("vendor-ratio").
func BenchmarkSendVsBareHTTP(b *testing.B) {
	for _, c := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			api := newFakeAPI(b)
			api.quiet = true
			client := benchClient()
			opts := api.options()
			opts.HTTPClient = client
			v, err := bandwidth.New(opts)
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
			endpoint := api.srv.URL + "/api/v2/users/" + testAccount + "/messages"
			token := bareToken(b, client, opts.TokenURL)
			var tagSeq atomic.Int64
			bare := func(i int) error {
				body, err := json.Marshal(map[string]any{"applicationId": testApp, "to": []string{"+14155552671"},
					"from": testFrom, "text": "Hello from herald", "tag": fmt.Sprintf("bare-%d", tagSeq.Add(1)), "priority": "default"})
				if err != nil {
					return err
				}
				req, err := http.NewRequestWithContext(bg, http.MethodPost, endpoint, bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				req.Header.Set("Accept", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				data, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusAccepted {
					return fmt.Errorf("bare: HTTP %d", resp.StatusCode)
				}
				var m struct {
					ID string `json:"id"`
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
					Route: &herald.Route{}}
				ctx, cancel := context.WithTimeout(bg, 30*time.Second)
				defer cancel()
				_, err := v.Send(ctx, req)
				return err
			}
			vendortest.CompareThroughput(b, vendortest.CompareOptions{Concurrency: c, Between: store.Reset},
				vendortest.Path{Name: "bare", Send: bare},
				vendortest.Path{Name: "dispatch", Send: viaDispatcher},
				vendortest.Path{Name: "vendor", Send: direct})
			if f := api.tokenFetches.Load(); f != 2 {
				b.Fatalf("%d token fetches, want 2 (bare and vendor, once each)", f)
			}
		})
	}
}

// BenchmarkWebhookIngest measures delivery callbacks through
// Dispatcher.Webhooks(): Basic auth check (constant-time), JSON parsing,
// deduplication, the forward-only status change on memstore. Each callback
// delivers a different sent message.
func BenchmarkWebhookIngest(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "sequential"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			store := memstore.New()
			v, err := bandwidth.New(bandwidth.Options{AccountID: testAccount, CallbackUsername: hookUser, CallbackPassword: hookPass})
			if err != nil {
				b.Fatal(err)
			}
			d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, PublicBaseURL: "https://hooks.example.com/h"})
			if err != nil {
				b.Fatal(err)
			}
			h := d.Webhooks()
			now := time.Now()
			bodies := make([][]byte, b.N)
			for i := range b.N {
				id := fmt.Sprintf("1476207046829%08dkw2f", i)
				_, _, err := store.CreateMessage(bg, &herald.Message{ID: fmt.Sprintf("m%d", i), IdempotencyKey: fmt.Sprintf("m%d", i),
					OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: "hi", Vendor: "bandwidth",
					VendorMessageID: id, Status: herald.StatusSent, CreatedAt: now, UpdatedAt: now})
				if err != nil {
					b.Fatal(err)
				}
				bodies[i], _ = json.Marshal([]bandwidth.Event{statusEvent(id, bandwidth.EventDelivered, 0)})
			}
			var next atomic.Int64
			one := func() {
				i := int(next.Add(1)) - 1
				req := httptest.NewRequest(http.MethodPost, "/org1/bandwidth", bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				req.Header.Set("Authorization", defaultAuth)
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

// cannedTransport answers every request with the Messaging API's 202 for
// a message (and a token for token requests), without a network: what is
// left is the client side's own cost.
type cannedTransport struct{}

const cannedMessage = `{"id":"14762070468292kw2fuqty55yp2b2","owner":"+19195550100","applicationId":"93de2206-0000-4000-8000-00000000aaaa",` +
	`"time":"2026-11-22T10:00:45.179Z","segmentCount":1,"direction":"out","to":["+14155552671"],"from":"+19195550100",` +
	`"text":"Hello from herald","tag":"m","priority":"default"}`

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	status, body := http.StatusAccepted, cannedMessage
	if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		status, body = http.StatusOK, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// BenchmarkClientOverhead compares the client-side cost of one Messaging
// API call through the vendor's Send and through a bare net/http client,
// both over a transport that answers at once: the vendor's own overhead,
// without the network or the server.
func BenchmarkClientOverhead(b *testing.B) {
	client := &http.Client{Transport: cannedTransport{}}
	b.Run("vendor", func(b *testing.B) {
		v, err := bandwidth.New(bandwidth.Options{AccountID: testAccount, ClientID: testClient, ClientSecret: testSecret,
			ApplicationID: testApp, FromNumber: testFrom, HTTPClient: client})
		if err != nil {
			b.Fatal(err)
		}
		org := &herald.Organization{ID: "org1"}
		b.ReportAllocs()
		for b.Loop() {
			req := &herald.SendRequest{Message: &herald.Message{ID: "m", OrgID: "org1", Channel: herald.ChannelSMS,
				To: "+14155552671", Body: "Hello from herald"}, Organization: org, Route: &herald.Route{}}
			if _, err := v.Send(bg, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		endpoint := bandwidth.DefaultMessagingBaseURL + "/api/v2/users/" + testAccount + "/messages"
		b.ReportAllocs()
		for b.Loop() {
			body, err := json.Marshal(map[string]any{"applicationId": testApp, "to": []string{"+14155552671"},
				"from": testFrom, "text": "Hello from herald", "tag": "m", "priority": "default"})
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequestWithContext(bg, http.MethodPost, endpoint, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Authorization", "Bearer t")
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
				ID string `json:"id"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
