package apns_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/apns"
)

var bg = context.Background()

const (
	testKeyID  = "ABC123DEFG"
	testTeamID = "DEF123GHIJ"
	testTopic  = "com.example.app"
)

// devToken returns a 64-character hex device token starting with prefix; the
// fake APNs answers by the prefix (see fakeAPNs.ServeHTTP).
func devToken(prefix string) string {
	return prefix + strings.Repeat("ab", (64-len(prefix))/2)
}

// Device tokens the fake answers in a fixed way.
var (
	tokOK         = devToken("00")
	tokBadToken   = devToken("0400")
	tokBadTopic   = devToken("0401")
	tokInvalidJWT = devToken("0403")
	tokGone       = devToken("0410")
	tokTooLarge   = devToken("0413")
	tokTooMany    = devToken("0429")
	tokInternal   = devToken("0500")
	tokUnavail    = devToken("0503")
	tokStall      = devToken("0999")
)

// pushed is one request the fake APNs accepted, as it saw it.
type pushed struct {
	Token   string
	Proto   string
	Header  http.Header
	Payload map[string]any
	Claims  map[string]any
	// ClientCert is the client certificate's common name (certificate
	// authentication).
	ClientCert string
}

// fakeAPNs is a local HTTP/2 TLS server that answers like APNs: it checks
// the path, the method, the headers apns2 sends and the provider token
// (ES256 JWT signed by the test's .p8 key) or the client certificate.
type fakeAPNs struct {
	srv   *httptest.Server
	key   *ecdsa.PrivateKey // the .p8 key the provider signs with
	p8    []byte
	certs bool // require a client certificate instead of a JWT

	quiet bool
	// cacheJWT verifies each distinct provider token once (benchmarks:
	// the client's cost without the server's signature checks).
	cacheJWT bool
	verified sync.Map // bearer → claims
	// expired holds the authorization headers to answer as an expired
	// provider token (APNs does so for a token over an hour old).
	expired sync.Map
	mu      sync.Mutex
	got     []pushed
	conns   atomic.Int64
	seq     atomic.Int64
}

func newFakeAPNs(tb testing.TB, clientCerts bool) *fakeAPNs {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(tb, err)
	f := &fakeAPNs{key: key, p8: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), certs: clientCerts}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.EnableHTTP2 = true
	if clientCerts {
		f.srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	}
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.StartTLS()
	tb.Cleanup(f.srv.Close)
	return f
}

// tlsConfig trusts the fake's certificate.
func (f *fakeAPNs) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

// creds are token credentials the fake accepts.
func (f *fakeAPNs) creds() apns.Credentials {
	return apns.Credentials{AuthKey: f.p8, KeyID: testKeyID, TeamID: testTeamID, Topic: testTopic}
}

func (f *fakeAPNs) options() apns.Options {
	return apns.Options{Credentials: f.creds(), Host: f.srv.URL, TLSConfig: f.tlsConfig()}
}

func (f *fakeAPNs) vendor(tb testing.TB) *apns.Vendor {
	v, err := apns.New(f.options())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = v.Close() })
	return v
}

func (f *fakeAPNs) pushes() []pushed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pushed(nil), f.got...)
}

func (f *fakeAPNs) reject(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusGone {
		fmt.Fprintf(w, `{"reason":%q,"timestamp":%d}`, reason, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli())
		return
	}
	fmt.Fprintf(w, `{"reason":%q}`, reason)
}

func (f *fakeAPNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		http.Error(w, "HTTP/2 required", http.StatusHTTPVersionNotSupported)
		return
	}
	if r.Method != http.MethodPost {
		f.reject(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		return
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok || tok == "" {
		f.reject(w, http.StatusNotFound, "BadPath")
		return
	}
	p := pushed{Token: tok, Proto: r.Proto, Header: r.Header.Clone()}
	if f.certs {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			f.reject(w, http.StatusForbidden, "BadCertificate")
			return
		}
		p.ClientCert = r.TLS.PeerCertificates[0].Subject.CommonName
	} else {
		claims, reason := f.checkJWT(r.Header.Get("authorization"))
		if reason != "" {
			f.reject(w, http.StatusForbidden, reason)
			return
		}
		p.Claims = claims
		if r.Header.Get("apns-topic") == "" {
			f.reject(w, http.StatusBadRequest, "MissingTopic")
			return
		}
	}
	if pr := r.Header.Get("apns-priority"); pr != "" && pr != "10" && pr != "5" && pr != "1" {
		f.reject(w, http.StatusBadRequest, "BadPriority")
		return
	}
	if r.Header.Get("apns-push-type") == "" {
		f.reject(w, http.StatusBadRequest, "InvalidPushType")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil || len(body) == 0 {
		f.reject(w, http.StatusBadRequest, "PayloadEmpty")
		return
	}
	if err := json.Unmarshal(body, &p.Payload); err != nil {
		f.reject(w, http.StatusBadRequest, "PayloadEmpty")
		return
	}
	switch {
	case strings.HasPrefix(tok, "0400"):
		f.reject(w, http.StatusBadRequest, "BadDeviceToken")
		return
	case strings.HasPrefix(tok, "0401"):
		f.reject(w, http.StatusBadRequest, "BadTopic")
		return
	case strings.HasPrefix(tok, "0403"):
		f.reject(w, http.StatusForbidden, "InvalidProviderToken")
		return
	case strings.HasPrefix(tok, "0410"):
		f.reject(w, http.StatusGone, "Unregistered")
		return
	case strings.HasPrefix(tok, "0413"):
		f.reject(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		return
	case strings.HasPrefix(tok, "0429"):
		f.reject(w, http.StatusTooManyRequests, "TooManyRequests")
		return
	case strings.HasPrefix(tok, "0500"):
		f.reject(w, http.StatusInternalServerError, "InternalServerError")
		return
	case strings.HasPrefix(tok, "0503"):
		f.reject(w, http.StatusServiceUnavailable, "ServiceUnavailable")
		return
	case strings.HasPrefix(tok, "0999"):
		<-r.Context().Done() // never answers
		return
	}
	id := r.Header.Get("apns-id")
	if id == "" {
		id = fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq.Add(1))
	}
	if !f.quiet {
		f.mu.Lock()
		f.got = append(f.got, p)
		f.mu.Unlock()
	}
	w.Header().Set("apns-id", id)
	w.WriteHeader(http.StatusOK)
}

// checkJWT verifies h, once per distinct token when cacheJWT is set.
func (f *fakeAPNs) checkJWT(h string) (map[string]any, string) {
	if _, ok := f.expired.Load(h); ok {
		return nil, "ExpiredProviderToken"
	}
	if f.cacheJWT {
		if c, ok := f.verified.Load(h); ok {
			return c.(map[string]any), ""
		}
	}
	claims, reason := f.verifyJWT(h)
	if reason == "" && f.cacheJWT {
		f.verified.Store(h, claims)
	}
	return claims, reason
}

// verifyJWT checks an "authorization: bearer <jwt>" header as APNs does:
// ES256, the key ID, the team ID as issuer, a fresh iat, and the signature
// by the provider's key. It returns the claims or APNs' reason.
func (f *fakeAPNs) verifyJWT(h string) (map[string]any, string) {
	tok, ok := strings.CutPrefix(h, "bearer ")
	if !ok {
		return nil, "MissingProviderToken"
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, "InvalidProviderToken"
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims map[string]any
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return nil, "InvalidProviderToken"
	}
	if hdr.Alg != "ES256" || hdr.Kid != testKeyID || claims["iss"] != testTeamID || len(sig) != 64 {
		return nil, "InvalidProviderToken"
	}
	iat, _ := claims["iat"].(float64)
	if age := time.Since(time.Unix(int64(iat), 0)); age > time.Hour || age < -time.Minute {
		return nil, "ExpiredProviderToken"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&f.key.PublicKey, digest[:], r, s) {
		return nil, "InvalidProviderToken"
	}
	return claims, ""
}

// clientCertPEM makes a self-signed client certificate and its key, in one
// PEM, as certificate authentication takes them.
func clientCertPEM(tb testing.TB, cn string) []byte {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(tb, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err)
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
}

// pushRequest is a request to the device tok.
func pushRequest(tok string) *herald.SendRequest {
	return &herald.SendRequest{
		Message: &herald.Message{ID: "m-" + tok[:8], OrgID: "acme", Channel: herald.ChannelAPNs, To: tok,
			Subject: "Hello", Body: "World"},
		Route:  &herald.Route{},
		Device: &herald.Device{Channel: herald.ChannelAPNs, Token: tok},
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
