package main

// The four services herald talks to, played by local httptest servers. Each
// fake is small, but checks what the real service checks for the requests
// herald makes (authentication, method, path, required headers, body) and
// answers the way the real service does, so the vendors run their real
// code paths: nothing in herald knows it is talking to a fake.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald/vendors/webpush/webpushtest"
)

var b64url = base64.RawURLEncoding

// services are the four fakes, each on its own loopback port.
type services struct {
	push     *pushService
	apns     *fakeAPNs
	fcm      *fakeFCM
	sendgrid *fakeSendGrid
}

// startServices starts the fakes, issuing the credentials named by the
// constants in main.go. vapidPublic is the application server's VAPID
// public key, the one browsers subscribe with.
func startServices(vapidPublic string) (*services, error) {
	s := &services{}
	fail := func(err error) (*services, error) {
		s.close()
		return nil, fmt.Errorf("starting the fake services: %w", err)
	}
	var err error
	if s.push, err = newPushService(vapidPublic); err != nil {
		return fail(err)
	}
	if s.apns, err = newFakeAPNs(apnsKeyID, apnsTeamID, appBundleID); err != nil {
		return fail(err)
	}
	if s.fcm, err = newFakeFCM(fcmProject); err != nil {
		return fail(err)
	}
	if s.sendgrid, err = newFakeSendGrid(sendgridAPIKey); err != nil {
		return fail(err)
	}
	return s, nil
}

// close stops every fake that was started.
func (s *services) close() {
	if s.push != nil {
		s.push.srv.Close()
	}
	if s.apns != nil {
		s.apns.srv.Close()
	}
	if s.fcm != nil {
		s.fcm.srv.Close()
	}
	if s.sendgrid != nil {
		s.sendgrid.srv.Close()
	}
}

// ---------------------------------------------------------------------------
// Web push: a push service (RFC 8030) and the browsers subscribed to it.

// pushService answers pushes the way Mozilla's autopush or Google's FCM
// push endpoint do: it checks the VAPID token (RFC 8292) against the
// application server key the subscription was made with, requires the
// aes128gcm encoding and a TTL, and answers 201 Created with a Location.
// It then hands the push to the subscribed browser, which decrypts it
// (RFC 8291) as a service worker would see it.
type pushService struct {
	srv   *httptest.Server
	vapid *ecdsa.PublicKey // the application server key (VAPID public key)

	mu       sync.Mutex
	browsers map[string]*browser // by endpoint path
	n        int
}

// browser is the receiving side of one subscription: its ECDH key pair and
// auth secret (webpushtest.Subscriber, which also decrypts), and the
// notifications it decrypted.
type browser struct {
	*webpushtest.Subscriber
	received []string
}

// newPushService starts a push service that accepts pushes signed with the
// VAPID key whose public half is vapidPublic (base64url, as browsers get it).
func newPushService(vapidPublic string) (*pushService, error) {
	raw, err := b64url.DecodeString(vapidPublic)
	if err != nil {
		return nil, fmt.Errorf("push service: VAPID key: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, fmt.Errorf("push service: VAPID key: %w", err)
	}
	p := &pushService{vapid: pub, browsers: map[string]*browser{}}
	p.srv = httptest.NewTLSServer(p) // push services are https only
	return p, nil
}

// subscribe does what PushManager.subscribe does in a browser: it makes
// the browser's P-256 key pair and auth secret, gets an endpoint from the
// push service and returns the subscription as PushSubscription.toJSON()
// gives it, the JSON a web page posts to its server.
func (p *pushService) subscribe(name string) (string, error) {
	sub, err := webpushtest.NewSubscriber()
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	p.browsers["/push/"+name] = &browser{Subscriber: sub}
	p.mu.Unlock()
	return sub.Subscription(p.srv.URL + "/push/" + name), nil
}

// received returns the notifications the browser behind name decrypted.
func (p *pushService) received(name string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.browsers["/push/"+name]; b != nil {
		return append([]string(nil), b.received...)
	}
	return nil
}

func (p *pushService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	b := p.browsers[r.URL.Path]
	p.mu.Unlock()
	switch {
	case r.Method != http.MethodPost:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case b == nil: // an unknown subscription (410 Gone: one that expired)
		http.Error(w, "no such subscription", http.StatusNotFound)
		return
	case r.Header.Get("Content-Encoding") != "aes128gcm":
		http.Error(w, "Content-Encoding must be aes128gcm", http.StatusUnsupportedMediaType)
		return
	case r.Header.Get("TTL") == "":
		http.Error(w, "TTL header required", http.StatusBadRequest)
		return
	}
	if err := p.checkVAPID(r); err != nil {
		http.Error(w, "VAPID: "+err.Error(), http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	if err != nil {
		return
	}
	if len(body) > 4096 {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	// Delivery to the browser: it decrypts with its private key.
	plain, err := b.Decrypt(body)
	if err != nil {
		http.Error(w, "cannot decrypt: "+err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	b.received = append(b.received, string(plain))
	p.n++
	id := p.n
	p.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/m/%d", p.srv.URL, id))
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "Authorization: vapid t=<JWT>, k=<key>": k is the
// application server key of the subscription, t an ES256 JWT signed by it
// for this origin, not expired.
func (p *pushService) checkVAPID(r *http.Request) error {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return errors.New("no vapid authorization")
	}
	var tok, key string
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "t="); ok {
			tok = v
		} else if v, ok := strings.CutPrefix(part, "k="); ok {
			key = v
		}
	}
	want, err := p.vapid.Bytes()
	if err != nil {
		return err
	}
	if k, err := b64url.DecodeString(key); err != nil || !bytes.Equal(k, want) {
		return errors.New("k is not the key the subscription was made with")
	}
	_, claims, err := verifyES256(tok, p.vapid)
	if err != nil {
		return err
	}
	if aud, _ := claims["aud"].(string); aud != "https://"+r.Host {
		return fmt.Errorf("aud %q is not this push service", aud)
	}
	if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).Before(time.Now()) {
		return errors.New("token expired")
	}
	return nil
}

// ---------------------------------------------------------------------------
// APNs: Apple's HTTP/2 provider API.

// fakeAPNs answers POST /3/device/{token} over HTTP/2 and TLS, as
// api.push.apple.com does, for a provider using token authentication: the
// ES256 JWT must carry the key ID and team ID and be signed by the .p8 key
// Apple issued; apns-topic must be the app's bundle ID. A token whose app
// was uninstalled is answered 410 Unregistered.
type fakeAPNs struct {
	srv                  *httptest.Server
	key                  *ecdsa.PrivateKey // the .p8 signing key Apple issued
	keyID, teamID, topic string

	mu           sync.Mutex
	unregistered map[string]time.Time // token → when the app was uninstalled
	received     []string             // payloads accepted
}

func newFakeAPNs(keyID, teamID, topic string) (*fakeAPNs, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	f := &fakeAPNs{key: key, keyID: keyID, teamID: teamID, topic: topic, unregistered: map[string]time.Time{}}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.EnableHTTP2 = true // APNs speaks HTTP/2 only
	f.srv.StartTLS()
	return f, nil
}

// authKey is the .p8 file Apple's developer site lets you download once.
func (f *fakeAPNs) authKey() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// tlsConfig trusts the fake's self-signed certificate, the way the real
// host's certificate is trusted through the system roots.
func (f *fakeAPNs) tlsConfig() *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(f.srv.Certificate())
	return &tls.Config{RootCAs: roots}
}

// uninstall makes APNs answer 410 Unregistered for token from now on.
func (f *fakeAPNs) uninstall(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unregistered[token] = time.Now().Add(-time.Hour)
}

// payloads returns the payloads of the pushes APNs accepted.
func (f *fakeAPNs) payloads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.received...)
}

func (f *fakeAPNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		http.Error(w, "HTTP/2 required", http.StatusHTTPVersionNotSupported)
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	switch {
	case r.Method != http.MethodPost:
		apnsReject(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		return
	case !ok || token == "":
		apnsReject(w, http.StatusNotFound, "BadPath")
		return
	}
	if reason := f.checkProviderToken(r.Header.Get("authorization")); reason != "" {
		apnsReject(w, http.StatusForbidden, reason)
		return
	}
	switch {
	case r.Header.Get("apns-topic") == "":
		apnsReject(w, http.StatusBadRequest, "MissingTopic")
		return
	case r.Header.Get("apns-topic") != f.topic:
		apnsReject(w, http.StatusBadRequest, "DeviceTokenNotForTopic")
		return
	case r.Header.Get("apns-push-type") == "":
		apnsReject(w, http.StatusBadRequest, "InvalidPushType")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	switch {
	case err != nil || len(body) == 0:
		apnsReject(w, http.StatusBadRequest, "PayloadEmpty")
		return
	case len(body) > 4096:
		apnsReject(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		return
	}
	f.mu.Lock()
	since, gone := f.unregistered[token]
	if !gone {
		f.received = append(f.received, string(body))
	}
	f.mu.Unlock()
	if gone {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGone)
		fmt.Fprintf(w, `{"reason":"Unregistered","timestamp":%d}`, since.UnixMilli())
		return
	}
	id := r.Header.Get("apns-id") // APNs echoes the provider's apns-id, or makes one
	if id == "" {
		id = newUUID()
	}
	w.Header().Set("apns-id", id)
	w.WriteHeader(http.StatusOK)
}

// checkProviderToken verifies "authorization: bearer <JWT>" and returns
// APNs' reason when it is refused.
func (f *fakeAPNs) checkProviderToken(h string) string {
	tok, ok := strings.CutPrefix(h, "bearer ")
	if !ok {
		return "MissingProviderToken"
	}
	hdr, claims, err := verifyES256(tok, &f.key.PublicKey)
	if err != nil || hdr["kid"] != f.keyID || claims["iss"] != f.teamID {
		return "InvalidProviderToken"
	}
	if iat, _ := claims["iat"].(float64); time.Since(time.Unix(int64(iat), 0)) > time.Hour {
		return "ExpiredProviderToken"
	}
	return ""
}

func apnsReject(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"reason":%q}`, reason)
}

// ---------------------------------------------------------------------------
// FCM: Google's OAuth 2.0 token endpoint and the FCM HTTP v1 API.

// fakeFCM serves two Google endpoints from one server: POST /token, the
// OAuth 2.0 JWT-bearer grant that exchanges a service account's signed
// assertion for an access token, and POST
// /v1/projects/{project}/messages:send, which takes a message with such a
// token and answers with the message's name.
type fakeFCM struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey // the service account's key; Google keeps the public half
	project string
	email   string

	mu       sync.Mutex
	issued   map[string]bool // access tokens handed out
	received []string        // messages accepted: notification and data, JSON
	n        int
}

func newFakeFCM(project string) (*fakeFCM, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	f := &fakeFCM{key: key, project: project, email: "herald@" + project + ".iam.gserviceaccount.com", issued: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.send)
	f.srv = httptest.NewTLSServer(mux)
	return f, nil
}

func (f *fakeFCM) tokenURL() string { return f.srv.URL + "/token" }

// messages returns what the accepted messages carried.
func (f *fakeFCM) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.received...)
}

// serviceAccountJSON is the key file Google Cloud's console downloads for
// the service account.
func (f *fakeFCM) serviceAccountJSON() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     f.project,
		"private_key_id": "demo-key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   f.email,
		"client_id":      "100000000000000000001",
		"token_uri":      "https://oauth2.googleapis.com/token", // ignored: fcm.Options.TokenURL wins
	})
}

// token checks the RS256 assertion (issuer, audience, scope, expiry and
// signature) and issues an access token.
func (f *fakeFCM) token(w http.ResponseWriter, r *http.Request) {
	refuse := func(desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, desc)
	}
	if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		refuse("unsupported grant")
		return
	}
	hdr, claims, signed, sig, err := parseJWT(r.PostForm.Get("assertion"))
	if err != nil || hdr["alg"] != "RS256" {
		refuse("Invalid JWT.")
		return
	}
	digest := sha256.Sum256(signed)
	if rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		refuse("Invalid JWT Signature.")
		return
	}
	exp, _ := claims["exp"].(float64)
	scope, _ := claims["scope"].(string)
	if claims["iss"] != f.email || claims["aud"] != f.tokenURL() || time.Unix(int64(exp), 0).Before(time.Now()) ||
		!strings.Contains(scope, "https://www.googleapis.com/auth/firebase.messaging") {
		refuse("Invalid JWT claims.")
		return
	}
	access := "ya29.demo-" + randomHex(12)
	f.mu.Lock()
	f.issued[access] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, access)
}

// send takes one v1 message.
func (f *fakeFCM) send(w http.ResponseWriter, r *http.Request) {
	access, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	authorized := f.issued[access]
	f.mu.Unlock()
	if !authorized {
		fcmError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	}
	if r.PathValue("project") != f.project {
		fcmError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied.")
		return
	}
	var body struct {
		Message map[string]json.RawMessage `json:"message"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(raw, &body) != nil || body.Message == nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	var token string
	if json.Unmarshal(body.Message["token"], &token) != nil || token == "" {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Recipient of the message is not set.")
		return
	}
	// Keep what a phone would show: the notification and the data.
	shown, _ := json.Marshal(map[string]json.RawMessage{"notification": body.Message["notification"], "data": body.Message["data"]})
	f.mu.Lock()
	f.n++
	name := fmt.Sprintf("projects/%s/messages/0:%d%%%s", f.project, 1732000000000000+f.n, randomHex(8))
	f.received = append(f.received, string(shown))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	fmt.Fprintf(w, `{"name":%q}`, name)
}

func fcmError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q}}`, code, msg, status)
}

// ---------------------------------------------------------------------------
// SendGrid: Mail Send v3 and the signed Event Webhook.

// fakeSendGrid accepts POST /v3/mail/send with the API key, answers 202
// Accepted with an X-Message-Id, and posts Event Webhook batches signed
// with its ECDSA P-256 key, as SendGrid does once the signed webhook is
// turned on.
type fakeSendGrid struct {
	srv      *httptest.Server
	apiKey   string
	eventKey *ecdsa.PrivateKey // signs Event Webhook posts

	mu    sync.Mutex
	mails []sgMail
}

// sgMail is one accepted mail: the parts of the v3 body this example uses.
type sgMail struct {
	ID         string
	From       string
	Subject    string
	To         string
	CustomArgs map[string]string // echoed on every event
}

func newFakeSendGrid(apiKey string) (*fakeSendGrid, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	f := &fakeSendGrid{apiKey: apiKey, eventKey: key}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/mail/send", f.send)
	f.srv = httptest.NewTLSServer(mux)
	return f, nil
}

// verificationKey is the Event Webhook's public key as SendGrid's settings
// page shows it: base64 DER.
func (f *fakeSendGrid) verificationKey() (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&f.eventKey.PublicKey)
	return base64.StdEncoding.EncodeToString(der), err
}

func (f *fakeSendGrid) send(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.apiKey {
		sgError(w, http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	var body struct {
		From             struct{ Email, Name string } `json:"from"`
		Subject          string                       `json:"subject"`
		Personalizations []struct {
			To []struct{ Email string } `json:"to"`
		} `json:"personalizations"`
		Content    []struct{ Type, Value string } `json:"content"`
		CustomArgs map[string]string              `json:"custom_args"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 30<<20)).Decode(&body); err != nil {
		sgError(w, http.StatusBadRequest, "", "Bad Request")
		return
	}
	switch {
	case !strings.Contains(body.From.Email, "@"):
		sgError(w, http.StatusBadRequest, "from.email", "The from email does not contain a valid address.")
		return
	case len(body.Personalizations) == 0 || len(body.Personalizations[0].To) == 0 ||
		!strings.Contains(body.Personalizations[0].To[0].Email, "@"):
		sgError(w, http.StatusBadRequest, "personalizations.0.to", "The to array is required for all personalization objects.")
		return
	case body.Subject == "":
		sgError(w, http.StatusBadRequest, "subject", "The subject is required.")
		return
	case len(body.Content) == 0:
		sgError(w, http.StatusBadRequest, "content", "Unless a valid template_id is provided, the content parameter is required.")
		return
	}
	m := sgMail{ID: randomID(22), From: body.From.Email, Subject: body.Subject,
		To: body.Personalizations[0].To[0].Email, CustomArgs: body.CustomArgs}
	f.mu.Lock()
	f.mails = append(f.mails, m)
	f.mu.Unlock()
	w.Header().Set("X-Message-Id", m.ID)
	w.WriteHeader(http.StatusAccepted)
}

// sent returns the mails accepted so far.
func (f *fakeSendGrid) sent() []sgMail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sgMail(nil), f.mails...)
}

func sgError(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fieldJSON := "null"
	if field != "" {
		fieldJSON = strconv.Quote(field)
	}
	fmt.Fprintf(w, `{"errors":[{"field":%s,"message":%q,"help":null}]}`, fieldJSON, msg)
}

// event is one Event Webhook event about mail m, as SendGrid posts it:
// sg_message_id extends the X-Message-Id, and the mail's custom args are
// echoed as top-level fields.
func (f *fakeSendGrid) event(kind string, m sgMail) map[string]any {
	ev := map[string]any{
		"email":         m.To,
		"event":         kind,
		"timestamp":     time.Now().Unix(),
		"sg_event_id":   randomID(22),
		"sg_message_id": m.ID + ".recvd-7d8c9f6b4-demo-1-6740A1B2-3.0",
		"smtp-id":       "<" + m.ID + "@ismtpd0001p1.sendgrid.net>",
	}
	for k, v := range m.CustomArgs {
		ev[k] = v
	}
	return ev
}

// postEvents posts events to url as the signed Event Webhook does: the
// signature is ECDSA over SHA-256 of the timestamp header followed by the
// raw body. It returns the HTTP status the receiver answered.
func (f *fakeSendGrid) postEvents(ctx context.Context, url string, events ...map[string]any) (int, error) {
	body, err := json.Marshal(events)
	if err != nil {
		return 0, err
	}
	body = append(body, '\r', '\n')
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	digest := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, f.eventKey, digest[:])
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "SendGrid Event API")
	req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
	req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// ---------------------------------------------------------------------------
// Helpers shared by the fakes.

// parseJWT splits a compact JWT into its decoded header and claims, the
// signed part and the signature.
func parseJWT(tok string) (hdr, claims map[string]any, signed, sig []byte, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, nil, nil, errors.New("not a JWT")
	}
	h, err1 := b64url.DecodeString(parts[0])
	c, err2 := b64url.DecodeString(parts[1])
	sig, err3 := b64url.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, nil, nil, err
	}
	if err := errors.Join(json.Unmarshal(h, &hdr), json.Unmarshal(c, &claims)); err != nil {
		return nil, nil, nil, nil, err
	}
	return hdr, claims, []byte(parts[0] + "." + parts[1]), sig, nil
}

// verifyES256 checks a JWT signed with ES256 (the signature is r‖s, 32
// bytes each) by pub and returns its header and claims.
func verifyES256(tok string, pub *ecdsa.PublicKey) (hdr, claims map[string]any, err error) {
	hdr, claims, signed, sig, err := parseJWT(tok)
	if err != nil {
		return nil, nil, err
	}
	if hdr["alg"] != "ES256" || len(sig) != 64 {
		return nil, nil, errors.New("not an ES256 JWT")
	}
	digest := sha256.Sum256(signed)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return nil, nil, errors.New("bad JWT signature")
	}
	return hdr, claims, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomID is n characters of URL-safe base64, like SendGrid's IDs.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64url.EncodeToString(b)[:n]
}

// newUUID is a random (version 4) UUID, APNs' apns-id format.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
