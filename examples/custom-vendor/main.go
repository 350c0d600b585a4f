// Command custom-vendor shows how to write a vendor from scratch: a driver
// for "Acme SMS", an HTTP API (played here by an in-process server), with
// error classes and a verified delivery-report webhook.
//
// A vendor needs two methods, Metadata and Send. Send must honour its
// context and return failures as *herald.VendorError with a class, which
// tells the dispatcher whether to retry, fail, record an opt-out, and so
// on. Everything else is optional: implementing herald.WebhookHandler makes
// the dispatcher mount the vendor's callbacks under Webhooks().
//
// Run it with:
//
//	go run ./examples/custom-vendor
package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
)

// Acme is the driver.
type Acme struct {
	BaseURL string
	APIKey  string
	Client  *http.Client
}

// Compile-time checks: the vendor and the capability it offers.
var (
	_ herald.Vendor         = (*Acme)(nil)
	_ herald.WebhookHandler = (*Acme)(nil)
)

// Metadata describes the vendor.
func (a *Acme) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "acme", DisplayName: "Acme SMS", Channels: []herald.Channel{herald.ChannelSMS}}
}

// Send posts the message to Acme's API.
func (a *Acme) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	m := req.Message
	body, _ := json.Marshal(map[string]string{
		"to": m.To, "from": req.Route.From, "text": m.Body, "callback": req.StatusCallbackURL,
	})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, &herald.VendorError{Vendor: "acme", Class: herald.ClassPermanent, Err: err}
	}
	hr.Header.Set("Authorization", "Bearer "+a.APIKey)
	hr.Header.Set("Content-Type", "application/json")
	// Acme deduplicates on this header, which is why a retry is safe.
	hr.Header.Set("Idempotency-Key", m.IdempotencyKey)
	resp, err := a.Client.Do(hr)
	if err != nil {
		// The request may have reached Acme: never guess it did not.
		return nil, &herald.VendorError{Vendor: "acme", Class: herald.ClassMaybeDelivered, Err: err}
	}
	defer resp.Body.Close()
	var out struct {
		ID      string `json:"id"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	if resp.StatusCode == http.StatusCreated {
		return &herald.SendResult{VendorMessageID: out.ID, Status: herald.StatusSent}, nil
	}
	ve := &herald.VendorError{Vendor: "acme", Code: out.Code, Message: out.Message, HTTPStatus: resp.StatusCode}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ve.Class = herald.ClassRateLimited
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			ve.RetryAfter = time.Duration(s) * time.Second
		}
	case resp.StatusCode >= 500:
		ve.Class = herald.ClassTemporary
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		ve.Class = herald.ClassAuth
	case out.Code == "invalid_number":
		ve.Class = herald.ClassInvalidAddress
	case out.Code == "opted_out":
		ve.Class = herald.ClassOptedOut
	default:
		ve.Class = herald.ClassPermanent
	}
	return nil, ve
}

// ParseWebhook verifies Acme's callback (it sends the API key back in a
// header; compare in constant time) and turns it into a delivery report.
func (a *Acme) ParseWebhook(ctx context.Context, req *herald.WebhookRequest) (*herald.WebhookResult, error) {
	if subtle.ConstantTimeCompare([]byte(req.Header.Get("X-Acme-Key")), []byte(a.APIKey)) != 1 {
		return nil, fmt.Errorf("acme webhook: %w", herald.ErrUnauthorized)
	}
	var ev struct {
		EventID string `json:"event_id"`
		ID      string `json:"id"`
		Status  string `json:"status"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(req.Body, &ev); err != nil || ev.ID == "" {
		return nil, fmt.Errorf("acme webhook: %w: malformed body", herald.ErrInvalidInput)
	}
	status := herald.StatusSent
	switch ev.Status {
	case "delivered":
		status = herald.StatusDelivered
	case "failed":
		status = herald.StatusFailed
	}
	return &herald.WebhookResult{Reports: []herald.DeliveryReport{{
		EventID: ev.EventID, VendorMessageID: ev.ID, Status: status, ErrorCode: ev.Error,
	}}}, nil
}

// acmeAPI plays Acme: it accepts messages, refuses numbers ending in 0000,
// and posts a delivery report to the callback URL.
func acmeAPI(key string) (*httptest.Server, *sync.WaitGroup) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]string{} // idempotency key → message ID
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(in["to"], "0000") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"code":"invalid_number","message":"not a mobile number"}`)
			return
		}
		mu.Lock()
		id, dup := seen[r.Header.Get("Idempotency-Key")]
		if !dup {
			n++
			id = "AC" + strconv.Itoa(n)
			seen[r.Header.Get("Idempotency-Key")] = id
		}
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q}`, id)
		if cb := in["callback"]; cb != "" && !dup {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(20 * time.Millisecond)
				body := fmt.Sprintf(`{"event_id":"ev-%s","id":%q,"status":"delivered"}`, id, id)
				req, _ := http.NewRequest(http.MethodPost, cb, strings.NewReader(body))
				req.Header.Set("X-Acme-Key", key)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		}
	}))
	return srv, &wg
}

func main() {
	ctx := context.Background()
	const key = "acme-demo-key"
	api, callbacks := acmeAPI(key)
	defer api.Close()

	// The host's HTTP server, with herald's webhooks mounted on /hooks.
	mux := http.NewServeMux()
	host := httptest.NewServer(mux)
	defer host.Close()

	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{
		Store:         store,
		Vendors:       []herald.Vendor{&Acme{BaseURL: api.URL, APIKey: key, Client: &http.Client{Timeout: 10 * time.Second}}},
		PublicBaseURL: host.URL + "/hooks",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/hooks/", http.StripPrefix("/hooks", d.Webhooks()))

	var ids []string
	for _, to := range []string{"+14155550123", "+14155550000"} {
		res, err := d.Send(ctx, &herald.Message{OrgID: "acme-co", Channel: herald.ChannelSMS, To: to, Body: "Your code is 4711"})
		var ve *herald.VendorError
		switch {
		case errors.As(err, &ve):
			fmt.Printf("send to …%s: %s, class %s, code %s\n", to[len(to)-4:], res.Message.Status, string(ve.Class), ve.Code)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Printf("send to …%s: accepted as %s\n", to[len(to)-4:], res.Message.VendorMessageID)
			ids = append(ids, res.Message.ID)
		}
	}
	callbacks.Wait()
	for _, id := range ids {
		m, err := store.GetMessage(ctx, "acme-co", id)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("after Acme's webhook, %s is %s\n", m.VendorMessageID, m.Status)
	}
}
