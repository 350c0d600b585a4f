package fcm_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fcm"
)

var bg = context.Background()

const (
	testProject = "herald-test"
	testEmail   = "sender@herald-test.iam.gserviceaccount.com"
)

// Registration tokens the fake FCM answers in a fixed way; any other token
// is accepted.
const (
	tokOK          = "fOK:APA91b-device-token"
	tokUnreg       = "unregistered"
	tokInvalid     = "invalid-token"
	tokBadPayload  = "invalid-payload"
	tokQuota       = "quota"
	tokUnavailable = "unavailable"
	tokInternal    = "internal"
	tokHTML502     = "html502"
	tokMismatch    = "sender-mismatch"
	tokThirdParty  = "third-party-auth"
	tokStall       = "stall"
)

// sent is one message the fake FCM accepted, as it saw it.
type sent struct {
	Project string
	Auth    string
	Message map[string]any
}

// fakeFCM is Google's token endpoint and FCM's v1 API in one httptest
// server: /token exchanges a service account's signed assertion for an
// access token; /v1/projects/{p}/messages:send takes messages with one of
// those tokens and answers like FCM.
type fakeFCM struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	sa  []byte // the service account key file

	expiresIn atomic.Int64 // seconds, for the next token
	tokens    atomic.Int64 // token endpoint calls
	quiet     bool

	mu     sync.Mutex
	issued map[string]bool
	got    []sent
	seq    atomic.Int64
}

func newFakeFCM(tb testing.TB) *fakeFCM {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(tb, err)
	f := &fakeFCM{key: key, issued: map[string]bool{}}
	f.expiresIn.Store(3600)
	f.srv = httptest.NewServer(f)
	tb.Cleanup(f.srv.Close)
	f.sa = serviceAccountJSON(tb, key, testProject)
	return f
}

// serviceAccountJSON is a key file for key; its token_uri points nowhere
// useful, to show the vendor uses its own TokenURL.
func serviceAccountJSON(tb testing.TB, key *rsa.PrivateKey, project string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(tb, err)
	out, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": testEmail, "client_id": "1234567890",
		"token_uri": "https://token-uri.invalid/token",
	})
	require.NoError(tb, err)
	return out
}

func (f *fakeFCM) tokenURL() string { return f.srv.URL + "/token" }

func (f *fakeFCM) options() fcm.Options {
	return fcm.Options{ServiceAccountJSON: f.sa, BaseURL: f.srv.URL, TokenURL: f.tokenURL()}
}

func (f *fakeFCM) vendor(tb testing.TB) *fcm.Vendor {
	v, err := fcm.New(f.options())
	require.NoError(tb, err)
	return v
}

func (f *fakeFCM) messages() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.got...)
}

func (f *fakeFCM) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.issued)
}

func (f *fakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		f.serveToken(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	project, ok2 := strings.CutSuffix(rest, "/messages:send")
	if !ok || !ok2 || r.Method != http.MethodPost {
		f.fail(w, 404, "NOT_FOUND", "", "Requested entity was not found.")
		return
	}
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	valid := f.issued[strings.TrimPrefix(auth, "Bearer ")]
	f.mu.Unlock()
	if !strings.HasPrefix(auth, "Bearer ") || !valid {
		f.fail(w, 401, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.")
		return
	}
	if project != testProject && project != "other-project" {
		f.fail(w, 403, "PERMISSION_DENIED", "", "Permission 'cloudmessaging.messages.create' denied")
		return
	}
	var body struct {
		Message map[string]any `json:"message"`
	}
	if r.Header.Get("Content-Type") != "application/json; charset=utf-8" || json.NewDecoder(r.Body).Decode(&body) != nil || body.Message == nil {
		f.fail(w, 400, "INVALID_ARGUMENT", "", "Invalid JSON payload received.")
		return
	}
	tok, _ := body.Message["token"].(string)
	switch tok {
	case tokUnreg:
		f.fail(w, 404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
		return
	case tokInvalid:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"The registration token is not a valid FCM registration token"}]},{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}`)
		return
	case tokBadPayload:
		f.fail(w, 400, "INVALID_ARGUMENT", "", "Request contains an invalid argument.")
		return
	case tokQuota:
		w.Header().Set("Retry-After", "17")
		f.fail(w, 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send requests'")
		return
	case tokUnavailable:
		w.Header().Set("Retry-After", "5")
		f.fail(w, 503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable.")
		return
	case tokInternal:
		f.fail(w, 500, "INTERNAL", "INTERNAL", "Internal error encountered.")
		return
	case tokHTML502:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(502)
		io.WriteString(w, "<!DOCTYPE html><html><title>Error 502 (Server Error)!!1</title><p>That’s an error.</p></html>")
		return
	case tokMismatch:
		f.fail(w, 403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch")
		return
	case tokThirdParty:
		f.fail(w, 401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service")
		return
	case tokStall:
		<-r.Context().Done()
		return
	}
	if !f.quiet {
		f.mu.Lock()
		f.got = append(f.got, sent{Project: project, Auth: auth, Message: body.Message})
		f.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	fmt.Fprintf(w, `{"name":"projects/%s/messages/0:%d%%31bd1c9631bd1c96"}`, project, 1500415314455276+f.seq.Add(1))
}

func (f *fakeFCM) fail(w http.ResponseWriter, code int, status, errorCode, msg string) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if errorCode != "" {
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// serveToken is the OAuth 2.0 JWT-bearer grant: it verifies the RS256
// assertion with the service account's public key and its claims.
func (f *fakeFCM) serveToken(w http.ResponseWriter, r *http.Request) {
	f.tokens.Add(1)
	bad := func(desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, desc)
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		bad("bad request")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		bad("grant_type")
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		bad("assertion")
		return
	}
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		bad("assertion")
		return
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if hdr["alg"] != "RS256" || rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		bad("Invalid JWT Signature.")
		return
	}
	exp, _ := claims["exp"].(float64)
	if claims["iss"] != testEmail || claims["scope"] != fcm.Scope || claims["aud"] != f.tokenURL() ||
		time.Unix(int64(exp), 0).Before(time.Now()) {
		bad("claims")
		return
	}
	tok := fmt.Sprintf("ya29.fake-%d", f.tokens.Load())
	f.mu.Lock()
	f.issued[tok] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":%d,"token_type":"Bearer"}`, tok, f.expiresIn.Load())
}

// fcmRequest is a request to the registration token tok.
func fcmRequest(tok string) *herald.SendRequest {
	return &herald.SendRequest{
		Message: &herald.Message{ID: "m-" + tok, OrgID: "acme", Channel: herald.ChannelFCM, To: tok,
			Subject: "Hello", Body: "World"},
		Route:  &herald.Route{},
		Device: &herald.Device{Channel: herald.ChannelFCM, Token: tok},
	}
}
