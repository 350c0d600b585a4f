package twilio_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldmsg/herald/vendors/twilio"
)

// Test accounts of the fake API.
const (
	testAccount  = "AC0000000000000000000000000000aaaa"
	testToken    = "token-aaaa-0123456789abcdef"
	otherAccount = "AC0000000000000000000000000000bbbb"
	otherToken   = "token-bbbb-0123456789abcdef"
	testKeySID   = "SK0000000000000000000000000000aaaa"
	testKeyToken = "key-secret-aaaa"
	testService  = "MG0000000000000000000000000000aaaa"
)

// fakeAPI is an httptest server that behaves like the parts of Twilio's
// REST API the vendor uses: form bodies, HTTP basic auth (account SID and
// auth token, or API key and secret), JSON answers, Twilio's error body
// {code, message, more_info, status}, pagination, 429 with Retry-After,
// 5xx, and a stalled answer.
//
// Magic message bodies: "error<code>" answers with that Twilio error (see
// errorStatus for the HTTP status), "http<status>" answers that status with
// a non-JSON body, "stall" never answers until the client gives up.
type fakeAPI struct {
	t   testing.TB
	srv *httptest.Server
	// quiet keeps no record of messages (benchmarks).
	quiet bool

	mu        sync.Mutex
	tokens    map[string]string    // account → auth token
	keys      map[string][2]string // API key SID → {account, secret}
	seq       int
	messages  []sentMessage
	requests  []recordedRequest
	numbers   map[string]*fakeNumber // PN SID → number
	available map[string]int         // country/area → numbers left to sell
	services  map[string]*fakeService
	sold      map[string]bool // E.164 numbers ever sold
	lookups   int
	client    *http.Client
}

type sentMessage struct {
	Account string
	SID     string
	Form    url.Values
}

type recordedRequest struct {
	Method, Path, Query string
	Form                url.Values
	User                string
}

type fakeNumber struct {
	SID, Number, Account, Country string
}

type fakeService struct {
	SID, FriendlyName, StatusCallback, Inbound, Account string
	numbers                                             []string // PN SIDs
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{
		t:         t,
		tokens:    map[string]string{testAccount: testToken, otherAccount: otherToken},
		keys:      map[string][2]string{testKeySID: {testAccount, testKeyToken}},
		numbers:   map[string]*fakeNumber{},
		available: map[string]int{},
		services:  map[string]*fakeService{},
		sold:      map[string]bool{},
		client:    &http.Client{Timeout: 10 * time.Second},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// options returns vendor options pointing every base URL at the fake.
func (f *fakeAPI) options() twilio.Options {
	return twilio.Options{
		AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService,
		HTTPClient: f.srv.Client(), APIBaseURL: f.srv.URL, LookupBaseURL: f.srv.URL, MessagingBaseURL: f.srv.URL,
	}
}

func (f *fakeAPI) vendor(t testing.TB) *twilio.Vendor {
	v, err := twilio.New(f.options())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fakeAPI) sent() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages)
}

func (f *fakeAPI) recorded() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// twilioError writes Twilio's error body.
func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorStatus is the HTTP status Twilio answers an error code with.
func errorStatus(code int) int {
	switch {
	case code == 20003:
		return 401
	case code == 20429:
		return 429
	case code == 20404:
		return 404
	case code >= 20500 && code < 20600:
		return code - 20000
	}
	return 400
}

// authenticate checks basic auth and returns the account it opens.
func (f *fakeAPI) authenticate(r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if tok, ok := f.tokens[user]; ok && tok == pass {
		return user, true
	}
	if k, ok := f.keys[user]; ok && k[1] == pass {
		return k[0], true
	}
	return "", false
}

var (
	accountPath = regexp.MustCompile(`^/2010-04-01/Accounts/(AC\w+)(\.json|/.*)$`)
	magicError  = regexp.MustCompile(`^error(\d+)$`)
	magicHTTP   = regexp.MustCompile(`^http(\d{3})$`)
	e164        = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
)

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		twilioError(w, 400, 12300, "Invalid Content-Type")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, 400, 20001, "bad form")
		return
	}
	account, ok := f.authenticate(r)
	if !ok {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	if !f.quiet {
		user, _, _ := r.BasicAuth()
		f.mu.Lock()
		f.requests = append(f.requests, recordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Form: r.PostForm, User: user})
		f.mu.Unlock()
	}
	path := r.URL.Path
	if m := accountPath.FindStringSubmatch(path); m != nil {
		if m[1] != account {
			twilioError(w, 403, 20003, "Authenticated account does not match the URL")
			return
		}
		f.serveAccount(w, r, account, m[2])
		return
	}
	switch {
	case strings.HasPrefix(path, "/v2/PhoneNumbers/"):
		f.serveLookup(w, r, strings.TrimPrefix(path, "/v2/PhoneNumbers/"))
	case strings.HasPrefix(path, "/v1/Services"):
		f.serveServices(w, r, account, strings.TrimPrefix(path, "/v1/Services"))
	default:
		twilioError(w, 404, 20404, "The requested resource was not found")
	}
}

func (f *fakeAPI) serveAccount(w http.ResponseWriter, r *http.Request, account, rest string) {
	switch {
	case rest == ".json" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"sid": account, "status": "active", "friendly_name": "test account"})
	case rest == "/Messages.json" && r.Method == http.MethodPost:
		f.createMessage(w, r, account)
	case strings.HasPrefix(rest, "/AvailablePhoneNumbers/"):
		f.searchNumbers(w, r, strings.TrimPrefix(rest, "/AvailablePhoneNumbers/"))
	case rest == "/IncomingPhoneNumbers.json" && r.Method == http.MethodPost:
		f.buyNumber(w, r, account)
	case rest == "/IncomingPhoneNumbers.json" && r.Method == http.MethodGet:
		f.listNumbers(w, r, account)
	case strings.HasPrefix(rest, "/IncomingPhoneNumbers/") && r.Method == http.MethodDelete:
		sid := strings.TrimSuffix(strings.TrimPrefix(rest, "/IncomingPhoneNumbers/"), ".json")
		f.mu.Lock()
		n := f.numbers[sid]
		if n != nil && n.Account == account {
			delete(f.numbers, sid)
			for _, s := range f.services {
				s.numbers = slices.DeleteFunc(s.numbers, func(x string) bool { return x == sid })
			}
		}
		f.mu.Unlock()
		if n == nil {
			twilioError(w, 404, 20404, "The requested resource was not found")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		twilioError(w, 404, 20404, "The requested resource was not found")
	}
}

func (f *fakeAPI) createMessage(w http.ResponseWriter, r *http.Request, account string) {
	form := r.PostForm
	to, from, service, body := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid"), form.Get("Body")
	switch {
	case to == "":
		twilioError(w, 400, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		twilioError(w, 400, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	case from == "" && service == "":
		twilioError(w, 400, 21603, "A 'From' phone number is required.")
		return
	case body == "" && len(form["MediaUrl"]) == 0:
		twilioError(w, 400, 21619, "A text message body or media urls must be specified.")
		return
	case len([]rune(body)) > 1600:
		twilioError(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	case len(form["MediaUrl"]) > 10:
		twilioError(w, 400, 21623, "Too many media")
		return
	}
	if vp := form.Get("ValidityPeriod"); vp != "" {
		if n, err := strconv.Atoi(vp); err != nil || n < 1 || n > 36000 {
			twilioError(w, 400, 21609, "Invalid ValidityPeriod")
			return
		}
	}
	if m := magicError.FindStringSubmatch(body); m != nil {
		code, _ := strconv.Atoi(m[1])
		status := errorStatus(code)
		if code == 20429 {
			w.Header().Set("Retry-After", "7")
		}
		twilioError(w, status, code, "Magic error "+m[1]+" for "+to)
		return
	}
	if m := magicHTTP.FindStringSubmatch(body); m != nil {
		status, _ := strconv.Atoi(m[1])
		if status == 429 {
			w.Header().Set("Retry-After", "3")
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html>%d</html>", status)
		return
	}
	if body == "stall" {
		<-r.Context().Done()
		return
	}
	f.mu.Lock()
	f.seq++
	sid := fmt.Sprintf("SM%032x", f.seq)
	if !f.quiet {
		f.messages = append(f.messages, sentMessage{Account: account, SID: sid, Form: form})
	}
	f.mu.Unlock()
	status := "queued"
	var svc any
	if service != "" {
		status, svc = "accepted", service
	}
	var fromOut any
	if from != "" {
		fromOut = from
	}
	segments := 1 + len([]rune(body))/160
	writeJSON(w, 201, map[string]any{
		"sid": sid, "account_sid": account, "to": to, "from": fromOut, "messaging_service_sid": svc, "body": body,
		"status": status, "num_segments": strconv.Itoa(segments), "num_media": strconv.Itoa(len(form["MediaUrl"])),
		"direction": "outbound-api", "api_version": "2010-04-01", "price": nil, "price_unit": "USD",
		"error_code": nil, "error_message": nil, "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
		"uri": "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json",
	})
}

// callback posts a status callback for a sent message to its
// StatusCallback URL, signed with the account's token, and returns the
// HTTP status the receiver answered.
func (f *fakeAPI) callback(t testing.TB, sid, status, errorCode string) int {
	t.Helper()
	var msg *sentMessage
	for _, m := range f.sent() {
		if m.SID == sid {
			msg = &m
		}
	}
	if msg == nil {
		t.Fatalf("no message %s", sid)
	}
	params := url.Values{
		"AccountSid": {msg.Account}, "ApiVersion": {"2010-04-01"}, "MessageSid": {sid}, "SmsSid": {sid},
		"MessageStatus": {status}, "SmsStatus": {status}, "To": {msg.Form.Get("To")},
	}
	if from := msg.Form.Get("From"); from != "" {
		params.Set("From", from)
	}
	if s := msg.Form.Get("MessagingServiceSid"); s != "" {
		params.Set("MessagingServiceSid", s)
	}
	if errorCode != "" {
		params.Set("ErrorCode", errorCode)
	}
	return f.post(t, msg.Form.Get("StatusCallback"), f.tokenOf(msg.Account), params)
}

func (f *fakeAPI) tokenOf(account string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[account]
}

// post posts params to target signed with token, as Twilio does.
func (f *fakeAPI) post(t testing.TB, target, token string, params url.Values) int {
	t.Helper()
	if target == "" {
		t.Fatal("no callback URL")
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(token, target, params))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode
}

func (f *fakeAPI) serveLookup(w http.ResponseWriter, r *http.Request, number string) {
	f.mu.Lock()
	f.lookups++
	f.mu.Unlock()
	fields := r.URL.Query().Get("Fields")
	if !strings.Contains(fields, "line_type_intelligence") {
		twilioError(w, 400, 60200, "Invalid parameter Fields")
		return
	}
	if number == "" {
		twilioError(w, 404, 20404, "not found")
		return
	}
	last := number[len(number)-1]
	if last == '4' {
		twilioError(w, 404, 20404, "The requested resource /PhoneNumbers/"+number+" was not found")
		return
	}
	ans := map[string]any{"phone_number": number, "country_code": "US", "calling_country_code": "1", "valid": true,
		"validation_errors": []string{}}
	lti := map[string]any{"carrier_name": "Fake Wireless", "type": "mobile", "error_code": nil,
		"mobile_country_code": "310", "mobile_network_code": "456"}
	switch last {
	case '2':
		lti["type"], lti["carrier_name"] = "landline", "Fake Telco"
	case '3':
		lti["type"], lti["error_code"], lti["carrier_name"] = nil, 60600, nil
	case '5':
		ans["valid"], ans["validation_errors"] = false, []string{"TOO_SHORT"}
		lti = nil
	case '6':
		ans["country_code"], ans["calling_country_code"] = "GB", "44"
	case '7':
		lti["type"] = "nonFixedVoip"
	case '8':
		lti["type"] = "tollFree"
	}
	ans["line_type_intelligence"] = lti
	if strings.Contains(fields, "caller_name") {
		ans["caller_name"] = map[string]any{"caller_name": "JANE DOE", "caller_type": "CONSUMER", "error_code": nil}
	} else {
		ans["caller_name"] = nil
	}
	writeJSON(w, 200, ans)
}

// stock sets how many numbers the fake sells in an area ("US/415"); an
// area never stocked has 100.
func (f *fakeAPI) stock(area string, n int) {
	f.mu.Lock()
	f.available[area] = n
	f.mu.Unlock()
}

var callingCodes = map[string]string{"US": "1", "CA": "1", "GB": "44", "DE": "49"}

func (f *fakeAPI) searchNumbers(w http.ResponseWriter, r *http.Request, rest string) {
	country, kind, _ := strings.Cut(strings.TrimSuffix(rest, ".json"), "/")
	cc, ok := callingCodes[country]
	if !ok || (kind != "Local" && kind != "Mobile" && kind != "TollFree") {
		twilioError(w, 404, 20404, "The requested resource was not found")
		return
	}
	q := r.URL.Query()
	if q.Get("SmsEnabled") != "true" {
		twilioError(w, 400, 21000, "test fake expects SmsEnabled=true")
		return
	}
	area := q.Get("AreaCode")
	if cc != "1" {
		if area != "" {
			twilioError(w, 400, 21452, "AreaCode is only supported in the US and Canada")
			return
		}
		area = strings.TrimSuffix(q.Get("Contains"), "*")
	}
	if area == "" {
		twilioError(w, 400, 21452, "no area")
		return
	}
	size, _ := strconv.Atoi(q.Get("PageSize"))
	if size <= 0 || size > 30 {
		size = 30
	}
	key := country + "/" + area
	f.mu.Lock()
	left, stocked := f.available[key]
	if !stocked {
		left = 100
		f.available[key] = left
	}
	var out []map[string]any
	for i := 0; len(out) < min(size, left) && i < 100000; i++ {
		num := fmt.Sprintf("+%s%s%07d", cc, area, 5550000+i)
		if cc == "1" {
			num = fmt.Sprintf("+1%s%07d", area, 5550000+i)
		}
		if !f.sold[num] {
			out = append(out, map[string]any{"phone_number": num, "iso_country": country,
				"capabilities": map[string]bool{"SMS": true, "MMS": cc == "1", "voice": true}})
		}
	}
	f.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, 200, map[string]any{"available_phone_numbers": out, "uri": r.URL.Path})
}

func (f *fakeAPI) buyNumber(w http.ResponseWriter, r *http.Request, account string) {
	num := r.PostForm.Get("PhoneNumber")
	f.mu.Lock()
	defer f.mu.Unlock()
	if num == "" || f.sold[num] {
		twilioError(w, 400, 21422, "Phone number "+num+" is not available")
		return
	}
	area, country := "", ""
	for c, cc := range callingCodes {
		if strings.HasPrefix(num, "+"+cc) {
			country = c
			area = strings.TrimPrefix(num, "+"+cc)
			area = area[:len(area)-7]
		}
	}
	if cc := callingCodes["US"]; strings.HasPrefix(num, "+"+cc) {
		country = "US"
	}
	key := country + "/" + area
	if f.available[key] <= 0 {
		twilioError(w, 400, 21422, "Phone number is not available")
		return
	}
	f.available[key]--
	f.sold[num] = true
	f.seq++
	n := &fakeNumber{SID: fmt.Sprintf("PN%032x", f.seq), Number: num, Account: account, Country: country}
	f.numbers[n.SID] = n
	writeJSON(w, 201, map[string]any{"sid": n.SID, "phone_number": num, "account_sid": account,
		"friendly_name": r.PostForm.Get("FriendlyName")})
}

// addNumbers gives the account numbers directly (tests of listing).
func (f *fakeAPI) addNumbers(account string, numbers ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var sids []string
	for _, num := range numbers {
		f.seq++
		n := &fakeNumber{SID: fmt.Sprintf("PN%032x", f.seq), Number: num, Account: account, Country: "US"}
		f.numbers[n.SID] = n
		f.sold[num] = true
		sids = append(sids, n.SID)
	}
	return sids
}

func (f *fakeAPI) accountNumbers(account string) []*fakeNumber {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*fakeNumber
	for _, n := range f.numbers {
		if n.Account == account {
			c := *n
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *fakeNumber) int { return strings.Compare(a.SID, b.SID) })
	return out
}

// page cuts items by Page and PageSize as Twilio does and reports whether
// another page follows.
func page[T any](items []T, q url.Values, maxSize int) ([]T, int, bool) {
	size, _ := strconv.Atoi(q.Get("PageSize"))
	if size <= 0 || size > maxSize {
		size = maxSize
	}
	p, _ := strconv.Atoi(q.Get("Page"))
	start := min(p*size, len(items))
	end := min(start+size, len(items))
	return items[start:end], p, end < len(items)
}

// pageLimit is the fake's largest page, small so that tests paginate.
const pageLimit = 2

func (f *fakeAPI) listNumbers(w http.ResponseWriter, r *http.Request, account string) {
	all := f.accountNumbers(account)
	items, p, more := page(all, r.URL.Query(), pageLimit)
	out := []map[string]any{}
	for _, n := range items {
		out = append(out, map[string]any{"sid": n.SID, "phone_number": n.Number})
	}
	var next any
	if more {
		next = fmt.Sprintf("/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json?PageSize=%d&Page=%d", account, pageLimit, p+1)
	}
	writeJSON(w, 200, map[string]any{"incoming_phone_numbers": out, "next_page_uri": next, "page": p})
}

func (f *fakeAPI) serveServices(w http.ResponseWriter, r *http.Request, account, rest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rest == "" {
		switch r.Method {
		case http.MethodPost:
			f.seq++
			s := &fakeService{SID: fmt.Sprintf("MG%032x", f.seq), FriendlyName: r.PostForm.Get("FriendlyName"),
				StatusCallback: r.PostForm.Get("StatusCallback"), Inbound: r.PostForm.Get("InboundRequestUrl"), Account: account}
			if s.FriendlyName == "" {
				twilioError(w, 400, 20001, "FriendlyName required")
				return
			}
			f.services[s.SID] = s
			writeJSON(w, 201, map[string]any{"sid": s.SID, "friendly_name": s.FriendlyName, "account_sid": account,
				"status_callback": s.StatusCallback, "inbound_request_url": s.Inbound})
		case http.MethodGet:
			var all []*fakeService
			for _, s := range f.services {
				if s.Account == account {
					all = append(all, s)
				}
			}
			slices.SortFunc(all, func(a, b *fakeService) int { return strings.Compare(a.SID, b.SID) })
			items, p, more := page(all, r.URL.Query(), pageLimit)
			out := []map[string]any{}
			for _, s := range items {
				out = append(out, map[string]any{"sid": s.SID, "friendly_name": s.FriendlyName})
			}
			meta := map[string]any{"page": p, "next_page_url": nil}
			if more {
				meta["next_page_url"] = fmt.Sprintf("%s/v1/Services?PageSize=%d&Page=%d", f.srv.URL, pageLimit, p+1)
			}
			writeJSON(w, 200, map[string]any{"services": out, "meta": meta})
		default:
			twilioError(w, 405, 20004, "Method not allowed")
		}
		return
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	s := f.services[parts[0]]
	if s == nil || s.Account != account {
		twilioError(w, 404, 20404, "The requested resource was not found")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodDelete:
		delete(f.services, s.SID)
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 2 && parts[1] == "PhoneNumbers" && r.Method == http.MethodPost:
		sid := r.PostForm.Get("PhoneNumberSid")
		n := f.numbers[sid]
		if n == nil || n.Account != account {
			twilioError(w, 400, 21712, "Invalid PhoneNumberSid")
			return
		}
		if slices.Contains(s.numbers, sid) {
			twilioError(w, 409, 21710, "Phone Number or Short Code is already in the Messaging Service.")
			return
		}
		for _, other := range f.services {
			if slices.Contains(other.numbers, sid) {
				twilioError(w, 409, 21712, "Phone Number is associated with another Messaging Service")
				return
			}
		}
		s.numbers = append(s.numbers, sid)
		writeJSON(w, 201, map[string]any{"sid": sid, "phone_number": n.Number, "service_sid": s.SID, "country_code": n.Country})
	case len(parts) == 2 && parts[1] == "PhoneNumbers" && r.Method == http.MethodGet:
		items, p, more := page(s.numbers, r.URL.Query(), pageLimit)
		out := []map[string]any{}
		for _, sid := range items {
			n := f.numbers[sid]
			out = append(out, map[string]any{"sid": sid, "phone_number": n.Number, "country_code": n.Country})
		}
		meta := map[string]any{"page": p, "next_page_url": nil}
		if more {
			meta["next_page_url"] = fmt.Sprintf("%s/v1/Services/%s/PhoneNumbers?PageSize=%d&Page=%d", f.srv.URL, s.SID, pageLimit, p+1)
		}
		writeJSON(w, 200, map[string]any{"phone_numbers": out, "meta": meta})
	case len(parts) == 3 && parts[1] == "PhoneNumbers" && r.Method == http.MethodDelete:
		if !slices.Contains(s.numbers, parts[2]) {
			twilioError(w, 404, 20404, "The requested resource was not found")
			return
		}
		s.numbers = slices.DeleteFunc(s.numbers, func(x string) bool { return x == parts[2] })
		w.WriteHeader(http.StatusNoContent)
	default:
		twilioError(w, 404, 20404, "The requested resource was not found")
	}
}

func (f *fakeAPI) service(sid string) *fakeService {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[sid]
	if s == nil {
		return nil
	}
	c := *s
	c.numbers = slices.Clone(s.numbers)
	return &c
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
