package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
)

// smsAPI plays the SMS provider every worker sends through: it accepts
// each idempotency key once (a repeated key gets the first answer, as
// providers with idempotency keys do) and records every request it sees,
// so that the proof can count sends per key and requests per second.
type smsAPI struct {
	srv *httptest.Server

	mu       sync.Mutex
	accepted map[string]string // idempotency key → provider message ID
	calls    map[string]int    // idempotency key → requests seen
	times    []time.Time       // arrival of every request
	seq      int
}

type apiRequest struct {
	Key  string `json:"key"`
	To   string `json:"to"`
	From string `json:"from"`
	Body string `json:"body"`
}

type apiResponse struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
}

func newSMSAPI() *smsAPI {
	a := &smsAPI{accepted: map[string]string{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /messages", a.send)
	a.srv = httptest.NewServer(mux)
	return a
}

func (a *smsAPI) send(w http.ResponseWriter, r *http.Request) {
	var req apiRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Key == "" || req.To == "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(apiResponse{Error: "key and to are required"})
		return
	}
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.calls[req.Key]++
	id, dup := a.accepted[req.Key]
	if !dup {
		a.seq++
		id = "SM" + strconv.Itoa(a.seq)
		a.accepted[req.Key] = id
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(apiResponse{ID: id, Duplicate: dup})
}

// acceptedCount is how many distinct keys were accepted.
func (a *smsAPI) acceptedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.accepted)
}

// smsVendor is the herald vendor for smsAPI. Because the API deduplicates
// by idempotency key, it declares IdempotentSend: the dispatcher may then
// resend a message whose worker died mid-send.
type smsVendor struct {
	url    string
	client *http.Client
}

func newSMSVendor(url string) *smsVendor {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &smsVendor{url: url, client: &http.Client{Transport: t}}
}

func (v *smsVendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "smsapi", DisplayName: "SMS API", Channels: []herald.Channel{herald.ChannelSMS}, IdempotentSend: true}
}

func (v *smsVendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	m := req.Message
	from := req.Route.From
	if from == "" {
		from = m.From
	}
	body, err := json.Marshal(apiRequest{Key: m.OrgID + "/" + m.IdempotencyKey, To: m.To, From: from, Body: m.Body})
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url+"/messages", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := v.client.Do(hreq)
	if err != nil {
		class := herald.ClassTemporary
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			class = herald.ClassMaybeDelivered // timed out: it may have arrived
		}
		return nil, &herald.VendorError{Vendor: "smsapi", Class: class, Message: "request failed", Err: err}
	}
	defer resp.Body.Close()
	var out apiResponse
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.ID == "" {
		class := herald.ClassPermanent
		if resp.StatusCode >= 500 {
			class = herald.ClassTemporary
		}
		return nil, &herald.VendorError{Vendor: "smsapi", Class: class, HTTPStatus: resp.StatusCode, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, out.Error)}
	}
	return &herald.SendResult{VendorMessageID: out.ID, Status: herald.StatusSent, From: from}, nil
}
