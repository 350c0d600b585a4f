package bandwidth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

var bg = context.Background()

// Test accounts, clients and applications of the fake API.
const (
	testAccount  = "9900001"
	otherAccount = "9900002"
	testClient   = "client-aaaa"
	testSecret   = "secret-aaaa/+=" // characters that need form encoding
	otherClient  = "client-bbbb"
	otherSecret  = "secret-bbbb"
	testUser     = "api-user-aaaa"
	testPassword = "api-password-aaaa"
	testApp      = "93de2206-0000-4000-8000-00000000aaaa"
	otherApp     = "93de2206-0000-4000-8000-00000000bbbb"
	testSite     = "461"
	testPeer     = "651681"
	testFrom     = "+19195550100"
	hookUser     = "herald-hooks"
	hookPass     = "hook-password-aaaa"
	otherHook    = "acme-hooks"
	otherPass    = "hook-password-bbbb"
)

// fakeAPI is an httptest server that behaves like the parts of Bandwidth
// the vendor uses:
//
//   - the OAuth2 token endpoint (/api/v1/oauth2/token): client
//     credentials grant with HTTP Basic client authentication, RFC 6749
//     JSON answers and errors, tokens that expire; it counts fetches;
//   - the Messaging API v2 (/api/v2/users/{account}/messages): Bearer
//     tokens or legacy Basic API users, JSON bodies only (415 otherwise),
//     {type, description, fieldErrors} errors, 202 answers; callbacks are
//     posted to the application's callback URL as a JSON array of events,
//     with the application's callback credentials;
//   - the Numbers (Dashboard) API (/api/accounts/{account}/...), in XML:
//     availableNumbers, orders (RECEIVED, then COMPLETE or PARTIAL when
//     polled), inserviceNumbers with Link pagination, disconnects.
//
// Magic message texts: "http<status>" answers that status (429 with
// Retry-After: 3 and Bandwidth's queue-full body; 5xx with an HTML body),
// "stall" never answers until the client gives up, "slow" answers after
// 150 ms, "fail<code>" is accepted and then failed with that errorCode by
// a callback posted right after the answer.
type fakeAPI struct {
	t   testing.TB
	srv *httptest.Server
	// quiet keeps no record of messages (benchmarks).
	quiet bool

	tokenFetches atomic.Int64
	mu           sync.Mutex
	tokenTTL     int                  // seconds; default 3600
	tokenStatus  int                  // when set, the token endpoint answers this status
	clients      map[string][2]string // client ID → {secret, account}
	users        map[string][2]string // API user → {password, account}
	tokens       map[string]fakeToken
	apps         map[string]*fakeApp
	seq          int
	messages     []sentMessage
	numbers      map[string]string // in-service ten-digit number → account
	sold         map[string]bool
	stock        map[string]int // area → numbers left to sell
	orders       map[string]*fakeOrder
	requests     []string // "METHOD path?query" of every authenticated call
	stealNext    int      // numbers another customer buys between search and order
	callbacks    sync.WaitGroup
	client       *http.Client
}

type fakeToken struct {
	account string
	expires time.Time
}

type fakeApp struct {
	account, callbackURL, user, pass string
}

type sentMessage struct {
	Account string
	ID      string
	Auth    string // "bearer" or "basic"
	Body    map[string]any
}

func (m sentMessage) str(k string) string { s, _ := m.Body[k].(string); return s }

type fakeOrder struct {
	account, kind string // kind: order or disconnect
	numbers       []string
	failed        []string
	polls         int
	settled       bool
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{
		t:        t,
		tokenTTL: 3600,
		clients:  map[string][2]string{testClient: {testSecret, testAccount}, otherClient: {otherSecret, otherAccount}},
		users:    map[string][2]string{testUser: {testPassword, testAccount}},
		tokens:   map[string]fakeToken{},
		apps: map[string]*fakeApp{
			testApp:  {account: testAccount, user: hookUser, pass: hookPass},
			otherApp: {account: otherAccount, user: otherHook, pass: otherPass},
		},
		numbers: map[string]string{},
		sold:    map[string]bool{},
		stock:   map[string]int{},
		orders:  map[string]*fakeOrder{},
		client:  &http.Client{Timeout: 10 * time.Second},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.callbacks.Wait()
		f.srv.Close()
	})
	return f
}

// options returns vendor options for the test account, OAuth2, every
// endpoint pointing at the fake.
func (f *fakeAPI) options() bandwidth.Options {
	return bandwidth.Options{
		AccountID: testAccount, ClientID: testClient, ClientSecret: testSecret, ApplicationID: testApp,
		FromNumber: testFrom, SiteID: testSite, PeerID: testPeer,
		CallbackUsername: hookUser, CallbackPassword: hookPass,
		HTTPClient: f.srv.Client(), MessagingBaseURL: f.srv.URL, DashboardBaseURL: f.srv.URL + "/api",
		TokenURL: f.srv.URL + "/api/v1/oauth2/token", OrderPollInterval: 5 * time.Millisecond,
	}
}

func (f *fakeAPI) vendor(t testing.TB) *bandwidth.Vendor {
	v, err := bandwidth.New(f.options())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// setCallback points an application's callbacks at target.
func (f *fakeAPI) setCallback(app, target string) {
	f.mu.Lock()
	f.apps[app].callbackURL = target
	f.mu.Unlock()
}

func (f *fakeAPI) sent() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

func (f *fakeAPI) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError writes the Messaging API's error body.
func apiError(w http.ResponseWriter, status int, typ, desc string, fields ...string) {
	body := map[string]any{"type": typ, "description": desc}
	if len(fields) > 0 {
		var fe []map[string]string
		for i := 0; i+1 < len(fields); i += 2 {
			fe = append(fe, map[string]string{"fieldName": fields[i], "description": fields[i+1]})
		}
		body["fieldErrors"] = fe
	}
	writeJSON(w, status, body)
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+body)
}

// xmlError writes a Numbers API error in its <ResponseStatus> shape.
func xmlError(w http.ResponseWriter, status int, code, desc string) {
	writeXML(w, status, "<ResponseStatus><ErrorCode>"+code+"</ErrorCode><Description>"+xmlEscape(desc)+"</Description></ResponseStatus>")
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var (
	messagesPath = regexp.MustCompile(`^/api/v2/users/([^/]+)/messages$`)
	accountPath  = regexp.MustCompile(`^/api/accounts/([^/]+)(/.*)?$`)
	magicHTTP    = regexp.MustCompile(`^http(\d{3})$`)
	magicFail    = regexp.MustCompile(`^fail(\d{4})$`)
	e164         = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
)

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/oauth2/token" {
		f.serveToken(w, r)
		return
	}
	if m := messagesPath.FindStringSubmatch(r.URL.Path); m != nil {
		f.serveMessages(w, r, m[1])
		return
	}
	if m := accountPath.FindStringSubmatch(r.URL.Path); m != nil {
		f.serveNumbers(w, r, m[1], m[2])
		return
	}
	writeJSON(w, 404, map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339), "status": 404,
		"error": "Not Found", "message": "Not Found", "path": r.URL.Path})
}

func (f *fakeAPI) serveToken(w http.ResponseWriter, r *http.Request) {
	f.tokenFetches.Add(1)
	f.mu.Lock()
	status, ttl := f.tokenStatus, f.tokenTTL
	f.mu.Unlock()
	if status != 0 {
		writeJSON(w, status, map[string]string{"error": "server_error", "error_description": "token service unavailable"})
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	user, pass, ok := r.BasicAuth()
	id, _ := url.QueryUnescape(user)
	secret, _ := url.QueryUnescape(pass)
	f.mu.Lock()
	c, known := f.clients[id]
	f.mu.Unlock()
	if !ok || !known || c[0] != secret {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
		writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed"})
		return
	}
	f.mu.Lock()
	f.seq++
	tok := fmt.Sprintf("tok-%s-%d", id, f.seq)
	f.tokens[tok] = fakeToken{account: c[1], expires: time.Now().Add(time.Duration(ttl) * time.Second)}
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": ttl})
}

// authenticate checks a Bearer token or Basic API user and returns the
// account it opens and the scheme.
func (f *fakeAPI) authenticate(r *http.Request) (account, scheme string, ok bool) {
	h := r.Header.Get("Authorization")
	f.mu.Lock()
	defer f.mu.Unlock()
	if tok, found := strings.CutPrefix(h, "Bearer "); found {
		t, known := f.tokens[tok]
		if !known || time.Now().After(t.expires) {
			return "", "", false
		}
		return t.account, "bearer", true
	}
	user, pass, basic := r.BasicAuth()
	if u, known := f.users[user]; basic && known && u[0] == pass {
		return u[1], "basic", true
	}
	return "", "", false
}

func (f *fakeAPI) serveMessages(w http.ResponseWriter, r *http.Request, acct string) {
	account, scheme, ok := f.authenticate(r)
	if !ok {
		apiError(w, 401, "unauthorized", "Authentication Failed")
		return
	}
	if account != acct {
		apiError(w, 403, "forbidden", "Access Denied")
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, 405, map[string]any{"status": 405, "error": "Method Not Allowed", "path": r.URL.Path})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		apiError(w, 415, "unsupported-content-type", "Content type '"+ct+"' not supported. Please use 'application/json'")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, 400, "request-validation", "Your request could not be accepted")
		return
	}
	msg := sentMessage{Account: account, Auth: scheme, Body: body}
	text, from, app := msg.str("text"), msg.str("from"), msg.str("applicationId")
	var to []string
	if list, ok := body["to"].([]any); ok {
		for _, x := range list {
			s, _ := x.(string)
			to = append(to, s)
		}
	}
	media, _ := body["media"].([]any)
	f.mu.Lock()
	a := f.apps[app]
	f.mu.Unlock()
	switch {
	case a == nil || a.account != account:
		apiError(w, 400, "request-validation", "Your request could not be accepted", "applicationId", "unknown application")
		return
	case len(to) == 0 || len(to) > 10:
		apiError(w, 400, "request-validation", "Your request could not be accepted", "to", "between 1 and 10 recipients")
		return
	case !e164.MatchString(from):
		apiError(w, 400, "request-validation", "Your request could not be accepted", "from", "'"+from+"' is not E.164")
		return
	case text == "" && len(media) == 0:
		apiError(w, 400, "request-validation", "Your request could not be accepted", "text", "text or media required")
		return
	case len([]rune(text)) > 2048:
		apiError(w, 400, "request-validation", "Your request could not be accepted", "text", "too long")
		return
	}
	for _, n := range to {
		if !e164.MatchString(n) {
			apiError(w, 400, "request-validation", "Your request could not be accepted", "to", "'"+n+"' must be E.164")
			return
		}
	}
	if exp := msg.str("expiration"); exp != "" {
		if t, err := time.Parse(time.RFC3339, exp); err != nil || !t.After(time.Now()) {
			apiError(w, 400, "request-validation", "Your request could not be accepted", "expiration", "must be a future RFC-3339 date-time")
			return
		}
	}
	if p := msg.str("priority"); p != "" && p != "default" && p != "high" {
		apiError(w, 400, "request-validation", "Your request could not be accepted", "priority", "default or high")
		return
	}
	if m := magicHTTP.FindStringSubmatch(text); m != nil {
		status, _ := strconv.Atoi(m[1])
		switch {
		case status == 429:
			w.Header().Set("Retry-After", "3")
			apiError(w, 429, "max-message-queue-size-exceeded", "The SMS queue for your account is full and cannot accept more messages right now.")
		case status >= 500:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<html><body>%d</body></html>", status)
		case status == 403:
			apiError(w, 403, "forbidden", "Access Denied")
		default:
			apiError(w, status, "request-validation", "Your request could not be accepted")
		}
		return
	}
	switch text {
	case "stall":
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	case "slow":
		time.Sleep(150 * time.Millisecond)
	}
	f.mu.Lock()
	f.seq++
	msg.ID = fmt.Sprintf("1476207046829%06dkw2fuqty", f.seq)
	if !f.quiet {
		f.messages = append(f.messages, msg)
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	}
	f.mu.Unlock()
	priority := msg.str("priority")
	if priority == "" {
		priority = "default"
	}
	ans := map[string]any{
		"id": msg.ID, "owner": from, "applicationId": app, "time": time.Now().UTC().Format(time.RFC3339Nano),
		"segmentCount": 1 + len([]rune(text))/160, "direction": "out", "to": to, "from": from, "text": text,
		"tag": msg.str("tag"), "priority": priority,
	}
	if len(media) > 0 {
		ans["media"] = media
	}
	writeJSON(w, 202, ans)
	if m := magicFail.FindStringSubmatch(text); m != nil {
		code, _ := strconv.Atoi(m[1])
		f.callbacks.Add(1)
		go func() {
			defer f.callbacks.Done()
			f.callback(f.t, msg.ID, bandwidth.EventFailed, code)
		}()
	}
}

// event builds the callback event Bandwidth posts for a sent message.
func (f *fakeAPI) event(id, typ string, code int) (bandwidth.Event, *fakeApp) {
	var msg *sentMessage
	for _, m := range f.sent() {
		if m.ID == id {
			msg = &m
		}
	}
	if msg == nil {
		f.t.Errorf("fake: no message %s", id)
		return bandwidth.Event{}, nil
	}
	to := ""
	if list, _ := msg.Body["to"].([]any); len(list) > 0 {
		to, _ = list[0].(string)
	}
	f.mu.Lock()
	app := *f.apps[msg.str("applicationId")]
	f.mu.Unlock()
	e := bandwidth.Event{Type: typ, Time: time.Now().UTC().Format(time.RFC3339Nano), To: to, Description: "ok",
		CarrierName: "Fake Wireless",
		Message: &bandwidth.EventMessage{ID: id, Owner: msg.str("from"), ApplicationID: msg.str("applicationId"),
			Time: time.Now().UTC().Format(time.RFC3339Nano), SegmentCount: json.RawMessage("1"), Direction: "out",
			To: []string{to}, From: msg.str("from"), Text: "", Tag: msg.str("tag"), Priority: "default"}}
	if typ == bandwidth.EventFailed {
		e.ErrorCode = json.RawMessage(strconv.Itoa(code))
		e.Description = "rejected"
	}
	return e, &app
}

// callback posts one event about a sent message to its application's
// callback URL with the application's credentials, as Bandwidth does, and
// returns the HTTP status the receiver answered (0 when it could not post).
func (f *fakeAPI) callback(t testing.TB, id, typ string, code int) int {
	e, app := f.event(id, typ, code)
	if app == nil {
		return 0
	}
	return f.post(t, app.callbackURL, bandwidth.CallbackAuthorization(app.user, app.pass), []bandwidth.Event{e})
}

// inbound posts a message-received event from a contact to one of the
// application's numbers.
func (f *fakeAPI) inbound(t testing.TB, app, from, to, text string, media ...string) int {
	f.mu.Lock()
	a := *f.apps[app]
	f.seq++
	id := fmt.Sprintf("1589228074636%06dlm4ewz", f.seq)
	f.mu.Unlock()
	e := bandwidth.Event{Type: bandwidth.EventReceived, Time: time.Now().UTC().Format(time.RFC3339Nano), To: to,
		Description: "Incoming message received",
		Message: &bandwidth.EventMessage{ID: id, Owner: to, ApplicationID: app, Time: time.Now().UTC().Format(time.RFC3339Nano),
			SegmentCount: json.RawMessage("1"), Direction: "in", To: []string{to}, From: from, Text: text, Media: media}}
	return f.post(t, a.callbackURL, bandwidth.CallbackAuthorization(a.user, a.pass), []bandwidth.Event{e})
}

// post posts events to target with the Authorization header authz.
func (f *fakeAPI) post(t testing.TB, target, authz string, events any) int {
	if target == "" {
		t.Errorf("fake: no callback URL")
		return 0
	}
	body, err := json.Marshal(events)
	if err != nil {
		t.Errorf("fake: %v", err)
		return 0
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Errorf("fake: %v", err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "BandwidthAPI/v2")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Errorf("fake: posting callback: %v", err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// setStock sets how many numbers the fake sells in an area code; an area
// never stocked has 200.
func (f *fakeAPI) setStock(area string, n int) {
	f.mu.Lock()
	f.stock[area] = n
	f.mu.Unlock()
}

// addNumbers puts numbers (ten digits) in service on an account.
func (f *fakeAPI) addNumbers(account string, tns ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tn := range tns {
		f.numbers[tn] = account
		f.sold[tn] = true
	}
}

func (f *fakeAPI) accountNumbers(account string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for tn, a := range f.numbers {
		if a == account {
			out = append(out, tn)
		}
	}
	slices.Sort(out)
	return out
}

// pageLimit is the fake's largest page of in-service numbers, small so
// that tests paginate.
const pageLimit = 2

func (f *fakeAPI) serveNumbers(w http.ResponseWriter, r *http.Request, acct, rest string) {
	account, _, ok := f.authenticate(r)
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if account != acct {
		xmlError(w, 403, "12345", "Access denied to account "+acct)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	q := r.URL.Query()
	switch {
	case rest == "" && r.Method == http.MethodGet:
		writeXML(w, 200, "<AccountResponse><Account><AccountId>"+acct+"</AccountId><CompanyName>Test</CompanyName></Account></AccountResponse>")
	case rest == "/availableNumbers" && r.Method == http.MethodGet:
		f.searchNumbers(w, q)
	case rest == "/orders" && r.Method == http.MethodPost:
		f.createOrder(w, r, acct, "order")
	case rest == "/disconnects" && r.Method == http.MethodPost:
		f.createOrder(w, r, acct, "disconnect")
	case strings.HasPrefix(rest, "/orders/") && r.Method == http.MethodGet:
		f.getOrder(w, acct, strings.TrimPrefix(rest, "/orders/"), "order")
	case strings.HasPrefix(rest, "/disconnects/") && r.Method == http.MethodGet:
		f.getOrder(w, acct, strings.TrimPrefix(rest, "/disconnects/"), "disconnect")
	case rest == "/inserviceNumbers" && r.Method == http.MethodGet:
		f.listNumbers(w, acct, q)
	default:
		xmlError(w, 404, "404", "Resource not found")
	}
}

func (f *fakeAPI) searchNumbers(w http.ResponseWriter, q url.Values) {
	area := q.Get("areaCode")
	if area == "" {
		area = q.Get("tollFreeWildCardPattern")
		if area != "" && !strings.HasPrefix(area, "8") {
			writeXML(w, 400, "<SearchResult><Error><Code>4004</Code><Description>Please verify that your Toll Free Wild Card search input parameters are correct.</Description></Error><ResultCount>0</ResultCount></SearchResult>")
			return
		}
	}
	if len(area) != 3 || area[0] < '2' {
		writeXML(w, 400, "<SearchResult><Error><Code>4000</Code><Description>Please verify that your Area Code search input parameters are correct.</Description></Error><ResultCount>0</ResultCount></SearchResult>")
		return
	}
	quantity, _ := strconv.Atoi(q.Get("quantity"))
	if quantity <= 0 || quantity > 5000 {
		quantity = 5000
	}
	f.mu.Lock()
	left, stocked := f.stock[area]
	if !stocked {
		left = 200
	}
	var out []string
	for i := 0; len(out) < min(quantity, left) && i < 10000; i++ {
		tn := fmt.Sprintf("%s555%04d", area, i)
		if !f.sold[tn] {
			out = append(out, tn)
		}
	}
	f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "<SearchResult><ResultCount>%d</ResultCount>", len(out))
	if len(out) > 0 {
		b.WriteString("<TelephoneNumberList>")
		for _, tn := range out {
			b.WriteString("<TelephoneNumber>" + tn + "</TelephoneNumber>")
		}
		b.WriteString("</TelephoneNumberList>")
	}
	b.WriteString("</SearchResult>")
	writeXML(w, 200, b.String())
}

func (f *fakeAPI) createOrder(w http.ResponseWriter, r *http.Request, acct, kind string) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/xml") {
		xmlError(w, 415, "415", "Unsupported media type")
		return
	}
	var in struct {
		Name    string   `xml:"Name"`
		LName   string   `xml:"name"`
		SiteID  string   `xml:"SiteId"`
		Numbers []string `xml:"ExistingTelephoneNumberOrderType>TelephoneNumberList>TelephoneNumber"`
		Disc    []string `xml:"DisconnectTelephoneNumberOrderType>TelephoneNumberList>TelephoneNumber"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&in); err != nil {
		xmlError(w, 400, "1001", "Invalid XML")
		return
	}
	numbers := in.Numbers
	if kind == "disconnect" {
		numbers = in.Disc
		if in.LName == "" {
			xmlError(w, 400, "7300", "Name is required")
			return
		}
	} else {
		if in.Name == "" || in.SiteID != testSite {
			xmlError(w, 400, "5023", "SiteId "+in.SiteID+" is not valid")
			return
		}
	}
	if len(numbers) == 0 {
		xmlError(w, 400, "5001", "At least one telephone number is required")
		return
	}
	f.mu.Lock()
	if kind == "order" {
		for i := 0; i < len(numbers) && f.stealNext > 0; i++ {
			f.sold[numbers[i]] = true
			f.stealNext--
		}
	}
	f.seq++
	id := fmt.Sprintf("47955555-67aa-4adb-8c0f-%012d", f.seq)
	f.orders[id] = &fakeOrder{account: acct, kind: kind, numbers: numbers}
	f.mu.Unlock()
	w.Header().Set("Location", f.srv.URL+"/api/accounts/"+acct+"/"+kind+"s/"+id)
	if kind == "disconnect" {
		writeXML(w, 201, "<DisconnectTelephoneNumberOrderResponse><orderRequest><OrderCreateDate>2018-01-23T21:00:23.802Z</OrderCreateDate><id>"+id+
			"</id></orderRequest><OrderStatus>RECEIVED</OrderStatus></DisconnectTelephoneNumberOrderResponse>")
		return
	}
	writeXML(w, 201, "<OrderResponse><Order><OrderCreateDate>2018-01-23T19:56:29.678Z</OrderCreateDate><id>"+id+
		"</id><SiteId>"+testSite+"</SiteId></Order><OrderStatus>RECEIVED</OrderStatus></OrderResponse>")
}

// getOrder answers PROCESSING on the first poll and settles the order on
// the second: numbers still for sale are bought (numbers to disconnect
// that the account has are disconnected), the others fail.
func (f *fakeAPI) getOrder(w http.ResponseWriter, acct, id, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[id]
	if o == nil || o.account != acct || o.kind != kind {
		xmlError(w, 404, "5005", "Order not found")
		return
	}
	o.polls++
	if o.polls == 1 {
		if kind == "disconnect" {
			writeXML(w, 200, "<DisconnectTelephoneNumberOrderResponse><OrderStatus>PROCESSING</OrderStatus></DisconnectTelephoneNumberOrderResponse>")
		} else {
			writeXML(w, 200, "<OrderResponse><Order><SiteId>"+testSite+"</SiteId></Order><OrderStatus>PROCESSING</OrderStatus></OrderResponse>")
		}
		return
	}
	if !o.settled {
		var done []string
		for _, tn := range o.numbers {
			area := tn[:3]
			switch {
			case kind == "disconnect" && f.numbers[tn] == acct:
				delete(f.numbers, tn)
				done = append(done, tn)
			case kind == "order" && !f.sold[tn] && f.left(area) > 0:
				f.stock[area] = f.left(area) - 1
				f.sold[tn] = true
				f.numbers[tn] = acct
				done = append(done, tn)
			default:
				o.failed = append(o.failed, tn)
			}
		}
		o.numbers, o.settled = done, true
	}
	failed, nFailed := o.failed, len(o.failed)
	status := "COMPLETE"
	switch {
	case len(o.numbers) == 0:
		status = "FAILED"
	case nFailed > 0:
		status = "PARTIAL"
	}
	var b strings.Builder
	var errs strings.Builder
	for _, tn := range failed {
		errs.WriteString("<Error><Code>5005</Code><Description>Telephone number " + tn + " is not available</Description><TelephoneNumber>" + tn + "</TelephoneNumber></Error>")
	}
	if kind == "disconnect" {
		b.WriteString("<DisconnectTelephoneNumberOrderResponse><OrderStatus>" + status + "</OrderStatus>")
		if errs.Len() > 0 {
			b.WriteString("<ErrorList>" + errs.String() + "</ErrorList>")
		}
		b.WriteString("</DisconnectTelephoneNumberOrderResponse>")
		writeXML(w, 200, b.String())
		return
	}
	fmt.Fprintf(&b, "<OrderResponse><CompletedQuantity>%d</CompletedQuantity><Order><SiteId>%s</SiteId></Order><OrderStatus>%s</OrderStatus>",
		len(o.numbers), testSite, status)
	if len(o.numbers) > 0 {
		b.WriteString("<CompletedNumbers>")
		for _, tn := range o.numbers {
			b.WriteString("<TelephoneNumber><FullNumber>" + tn + "</FullNumber></TelephoneNumber>")
		}
		b.WriteString("</CompletedNumbers>")
	}
	fmt.Fprintf(&b, "<FailedQuantity>%d</FailedQuantity>", nFailed)
	if errs.Len() > 0 {
		b.WriteString("<ErrorList>" + errs.String() + "</ErrorList>")
	}
	b.WriteString("</OrderResponse>")
	writeXML(w, 200, b.String())
}

// left is how many numbers an area still has; f.mu is held.
func (f *fakeAPI) left(area string) int {
	if n, ok := f.stock[area]; ok {
		return n
	}
	return 200
}

// listNumbers pages in-service numbers: page is "1" for the first page,
// else the number to start from; size is capped at pageLimit.
func (f *fakeAPI) listNumbers(w http.ResponseWriter, acct string, q url.Values) {
	f.mu.Lock()
	var all []string
	for tn, a := range f.numbers {
		if a == acct && (q.Get("areaCode") == "" || strings.HasPrefix(tn, q.Get("areaCode"))) {
			all = append(all, tn)
		}
	}
	f.mu.Unlock()
	slices.Sort(all)
	size, _ := strconv.Atoi(q.Get("size"))
	if size <= 0 || size > pageLimit {
		size = pageLimit
	}
	start := 0
	if p := q.Get("page"); p != "" && p != "1" {
		start, _ = slices.BinarySearch(all, p)
	}
	end := min(start+size, len(all))
	var b strings.Builder
	fmt.Fprintf(&b, "<TNs><TotalCount>%d</TotalCount><Links><first>Link=&lt;%s/v1.0/accounts/%s/inserviceNumbers?page=1&amp;size=%d&gt;;rel=\"first\";</first>",
		len(all), f.srv.URL, acct, size)
	if end < len(all) {
		next := url.Values{"page": {all[end]}, "size": {strconv.Itoa(size)}}
		if a := q.Get("areaCode"); a != "" {
			next.Set("areaCode", a)
		}
		// The link names another host: the vendor must not follow it blindly.
		fmt.Fprintf(&b, "<next>Link=&lt;https://evil.example.com:443/v1.0/accounts/%s/inserviceNumbers?%s&gt;;rel=\"next\";</next>",
			acct, xmlEscape(next.Encode()))
	}
	fmt.Fprintf(&b, "</Links><TelephoneNumbers><Count>%d</Count>", end-start)
	for _, tn := range all[start:end] {
		b.WriteString("<TelephoneNumber>" + tn + "</TelephoneNumber>")
	}
	b.WriteString("</TelephoneNumbers></TNs>")
	writeXML(w, 200, b.String())
}

// newRawServer answers every request with status and body.
func newRawServer(t testing.TB, status int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// smsRequest is a request the fake accepts (unless body is magic).
func smsRequest(body string) *herald.SendRequest {
	return &herald.SendRequest{
		Message:      &herald.Message{ID: "msg-1", OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: body},
		Organization: &herald.Organization{ID: "org1"},
		Route:        &herald.Route{},
	}
}
