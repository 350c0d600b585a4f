package bandwidth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// tokenCache holds one OAuth2 access token per client (token URL, client
// ID and secret), shared by every organization using that client, and
// replaces each a margin before it expires. A valid token is read without
// locking; one fetch per client runs at a time, and callers waiting for it
// give up when their context ends.
type tokenCache struct {
	client *http.Client
	clock  herald.Clock
	margin time.Duration

	entries sync.Map // token key → *tokenEntry
}

type tokenEntry struct {
	// lock is a one-slot semaphore: held while fetching, so waiters can
	// select on their context.
	lock chan struct{}
	cur  atomic.Pointer[issued] // the token in use; nil before the first fetch or once refused
}

// issued is one access token, never changed once stored.
type issued struct {
	header  []string // the Authorization header, "Bearer <token>": shared, read-only
	renewAt time.Time
}

// tokenAnswer is the token endpoint's JSON answer (RFC 6749 §5.1, §5.2).
type tokenAnswer struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
}

func (v *Vendor) tokenKey(c Credentials) string {
	if c.ClientID == v.def.ClientID && c.ClientSecret == v.def.ClientSecret && v.defTokenKey != "" {
		return v.defTokenKey
	}
	return tokenKeyOf(v.tokenURL, c)
}

func tokenKeyOf(tokenURL string, c Credentials) string {
	sum := sha256.Sum256([]byte(c.ClientSecret))
	return tokenURL + "\x00" + c.ClientID + "\x00" + hex.EncodeToString(sum[:8])
}

func (tc *tokenCache) entry(key string) *tokenEntry {
	if e, ok := tc.entries.Load(key); ok {
		return e.(*tokenEntry)
	}
	e, _ := tc.entries.LoadOrStore(key, &tokenEntry{lock: make(chan struct{}, 1)})
	return e.(*tokenEntry)
}

// token returns a valid access token for c's client, fetching one when
// there is none or the cached one is due for renewal.
func (tc *tokenCache) token(ctx context.Context, v *Vendor, c Credentials) (*issued, error) {
	e := tc.entry(v.tokenKey(c))
	if t := e.cur.Load(); t != nil && tc.clock.Now().Before(t.renewAt) {
		return t, nil
	}
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary,
			Message: "waiting for an OAuth2 token", Err: ctx.Err()}
	}
	defer func() { <-e.lock }()
	if t := e.cur.Load(); t != nil && tc.clock.Now().Before(t.renewAt) {
		return t, nil // fetched while this caller waited
	}
	tok, life, err := tc.fetch(ctx, v, c)
	if err != nil {
		return nil, err
	}
	margin := tc.margin
	if margin > life/2 {
		margin = life / 2
	}
	t := &issued{header: []string{"Bearer " + tok}, renewAt: tc.clock.Now().Add(life - margin)}
	e.cur.Store(t)
	return t, nil
}

// forget drops the token t of c's client, which Bandwidth refused; a token
// fetched since is kept.
func (tc *tokenCache) forget(v *Vendor, c Credentials, t *issued) {
	tc.entry(v.tokenKey(c)).cur.CompareAndSwap(t, nil)
}

// fetch asks the token endpoint for a token with the client credentials
// grant, authenticating the client with HTTP Basic auth. Failures are
// classified: no message was sent, so at worst temporary; refused client
// credentials are auth.
func (tc *tokenCache) fetch(ctx context.Context, v *Vendor, c Credentials) (string, time.Duration, error) {
	fail := func(class herald.ErrorClass, status int, code, msg string, err error) (string, time.Duration, error) {
		return "", 0, &herald.VendorError{Vendor: v.name, Class: class, HTTPStatus: status, Code: code,
			Message: "OAuth2 token: " + msg, Err: err}
	}
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.tokenURL, strings.NewReader(form))
	if err != nil {
		return fail(herald.ClassAuth, 0, "", "building the request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	resp, err := tc.client.Do(req)
	if err != nil {
		return fail(herald.ClassTemporary, 0, "", "request failed", vendorhttp.RedactURL("bandwidth", err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fail(herald.ClassTemporary, resp.StatusCode, "", "reading the answer", err)
	}
	var ans tokenAnswer
	jsonErr := json.Unmarshal(data, &ans)
	if resp.StatusCode != http.StatusOK {
		code := ans.Error
		if code == "" {
			code = strconv.Itoa(resp.StatusCode)
		}
		msg := "HTTP " + strconv.Itoa(resp.StatusCode)
		if ans.Description != "" {
			msg += ": " + ans.Description
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			ve := &herald.VendorError{Vendor: v.name, Class: herald.ClassRateLimited, HTTPStatus: resp.StatusCode,
				Code: code, Message: "OAuth2 token: " + msg,
				RetryAfter: vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), tc.clock.Now())}
			return "", 0, ve
		case resp.StatusCode >= 500:
			return fail(herald.ClassTemporary, resp.StatusCode, code, msg, nil)
		}
		// 400 invalid_client / unauthorized_client, 401, 403: the client
		// credentials are wrong.
		return fail(herald.ClassAuth, resp.StatusCode, code, msg, herald.ErrConfig)
	}
	if jsonErr != nil || ans.AccessToken == "" {
		return fail(herald.ClassTemporary, resp.StatusCode, "", "no access_token in the answer", jsonErr)
	}
	if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "bearer") {
		return fail(herald.ClassAuth, resp.StatusCode, "", fmt.Sprintf("token type %q is not bearer", ans.TokenType), herald.ErrConfig)
	}
	life := time.Hour
	if s := strings.Trim(string(ans.ExpiresIn), `"`); s != "" && s != "null" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			life = time.Duration(n) * time.Second
		}
	}
	return ans.AccessToken, life, nil
}
