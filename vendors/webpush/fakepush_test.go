package webpush_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/vendors/webpush"
	"github.com/heraldmsg/herald/vendors/webpush/webpushtest"
)

// pushService is a push service (RFC 8030) in the test: it holds the
// browser side of each subscription (its ECDH key and auth secret), checks
// the VAPID token of every push, decrypts the payload (RFC 8291
// aes128gcm) and answers like a real service: 201 with a Location, or the
// status a test set for the subscription.
type pushService struct {
	srv   *httptest.Server
	vapid []byte // the application server's public key the pushes must carry

	mu     sync.Mutex
	subs   map[string]*browser
	done   chan struct{}
	pushes []push
	n      int
}

// browser is the receiving side of one subscription.
type browser struct {
	*webpushtest.Subscriber
	// status, when set, is the answer instead of 201; retryAfter its
	// Retry-After header.
	status     int
	retryAfter string
	// stall makes the service never answer.
	stall bool
}

// push is what the service received and decrypted.
type push struct {
	Sub          string
	Header       http.Header
	Claims       map[string]any
	Plaintext    []byte
	Notification webpush.Notification
	BodyLen      int
}

func newPushService(t testing.TB, keys webpush.VAPIDKeys) *pushService {
	vapid, err := base64.RawURLEncoding.DecodeString(keys.Public)
	require.NoError(t, err)
	p := &pushService{vapid: vapid, subs: map[string]*browser{}, done: make(chan struct{})}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		close(p.done)
		p.srv.Close()
	})
	return p
}

// subscribe creates a browser subscription and returns its JSON, as
// PushSubscription.toJSON() gives it, and its endpoint.
func (p *pushService) subscribe(t testing.TB, name string) (subJSON, endpoint string) {
	sub, err := webpushtest.NewSubscriber()
	require.NoError(t, err)
	p.mu.Lock()
	p.subs[name] = &browser{Subscriber: sub}
	p.mu.Unlock()
	endpoint = p.srv.URL + "/push/" + name
	return sub.Subscription(endpoint), endpoint
}

func (p *pushService) answer(name string, status int, retryAfter string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subs[name].status, p.subs[name].retryAfter = status, retryAfter
}

func (p *pushService) stall(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subs[name].stall = true
}

func (p *pushService) received() []push {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]push(nil), p.pushes...)
}

func (p *pushService) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/push/")
	p.mu.Lock()
	b := p.subs[name]
	p.mu.Unlock()
	if r.Method != http.MethodPost || !ok || b == nil {
		http.Error(w, `{"code":404,"errno":102,"error":"Not Found","message":"Request did not validate invalid token"}`, http.StatusNotFound)
		return
	}
	if b.stall {
		// Read the request, then never answer: hold it until the client
		// gives up or the test ends, and drop the connection without a response.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		panic(http.ErrAbortHandler)
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		http.Error(w, "unsupported content encoding", http.StatusUnsupportedMediaType)
		return
	}
	if _, err := strconv.Atoi(r.Header.Get("TTL")); err != nil {
		http.Error(w, "missing TTL header", http.StatusBadRequest)
		return
	}
	claims, err := p.checkVAPID(r.Header.Get("Authorization"), "https://"+r.Host)
	if err != nil {
		http.Error(w, "VAPID: "+err.Error(), http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil {
		return
	}
	if len(body) > 4096 {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	if b.status != 0 {
		if b.retryAfter != "" {
			w.Header().Set("Retry-After", b.retryAfter)
		}
		http.Error(w, http.StatusText(b.status), b.status)
		return
	}
	pt, err := b.Decrypt(body)
	if err != nil {
		http.Error(w, "cannot decrypt: "+err.Error(), http.StatusBadRequest)
		return
	}
	var n webpush.Notification
	_ = json.Unmarshal(pt, &n)
	p.mu.Lock()
	p.n++
	id := p.n
	p.pushes = append(p.pushes, push{Sub: name, Header: r.Header.Clone(), Claims: claims, Plaintext: pt, Notification: n, BodyLen: len(body)})
	p.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/m/%s-%d", p.srv.URL, name, id))
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<JWT>, k=<key>" (RFC 8292) as a push
// service does: see verifyVAPID, and exp is in the future and within 24 h,
// sub is mailto: or https:.
func (p *pushService) checkVAPID(h, origin string) (map[string]any, error) {
	claims, err := verifyVAPID(h, origin, p.vapid)
	if err != nil {
		return nil, err
	}
	exp, _ := claims["exp"].(float64)
	if d := time.Until(time.Unix(int64(exp), 0)); d <= 0 || d > 24*time.Hour {
		return nil, errors.New("exp is not within 24 hours")
	}
	sub, _ := claims["sub"].(string)
	if !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") || strings.HasPrefix(sub, "mailto:mailto:") {
		return nil, fmt.Errorf("bad sub %q", sub)
	}
	return claims, nil
}

// verifyVAPID checks that the key k is the application server's, that the
// ES256 signature of the JWT t holds with it, and that aud is origin.
func verifyVAPID(h, origin string, vapid []byte) (map[string]any, error) {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return nil, errors.New("not a vapid authorization")
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
	k, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || !bytes.Equal(k, vapid) {
		return nil, errors.New("k is not the application server key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("t is not a JWT")
	}
	var hdr map[string]any
	if err := decodeJSONPart(parts[0], &hdr); err != nil || hdr["alg"] != "ES256" {
		return nil, errors.New("JWT alg is not ES256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("JWT signature is not r||s")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("bad JWT signature")
	}
	var claims map[string]any
	if err := decodeJSONPart(parts[1], &claims); err != nil {
		return nil, err
	}
	if claims["aud"] != origin {
		return nil, fmt.Errorf("aud %v is not %s", claims["aud"], origin)
	}
	return claims, nil
}

func decodeJSONPart(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
