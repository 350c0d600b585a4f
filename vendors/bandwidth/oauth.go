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
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// tokenCache holds one OAuth2 access token per client (token URL, client
// ID and secret), shared by every organization using that client, and
// replaces each a margin before it expires. One fetch per client runs at a
// time; callers waiting for it give up when their context ends.
type tokenCache struct {
	client *http.Client
	clock  herald.Clock
	margin time.Duration

	mu      sync.Mutex
	entries map[string]*tokenEntry
}

type tokenEntry struct {
	// lock is a one-slot semaphore: held while fetching, so waiters can
	// select on their context.
	lock    chan struct{}
	token   string
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
	sum := sha256.Sum256([]byte(c.ClientSecret))
	return v.tokenURL + "\x00" + c.ClientID + "\x00" + hex.EncodeToString(sum[:8])
}

func (tc *tokenCache) entry(key string) *tokenEntry {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := tc.entries[key]
	if e == nil {
		e = &tokenEntry{lock: make(chan struct{}, 1)}
		tc.entries[key] = e
	}
	return e
}

// token returns a valid access token for c's client, fetching one when
// there is none or the cached one is due for renewal.
func (tc *tokenCache) token(ctx context.Context, v *Vendor, c Credentials) (string, error) {
	e := tc.entry(v.tokenKey(c))
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return "", &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary,
			Message: "waiting for an OAuth2 token", Err: ctx.Err()}
	}
	defer func() { <-e.lock }()
	if e.token != "" && tc.clock.Now().Before(e.renewAt) {
		return e.token, nil
	}
	tok, life, err := tc.fetch(ctx, v, c)
	if err != nil {
		return "", err
	}
	margin := tc.margin
	if margin > life/2 {
		margin = life / 2
	}
	e.token, e.renewAt = tok, tc.clock.Now().Add(life-margin)
	return tok, nil
}

// forget drops c's cached token (Bandwidth refused it).
func (tc *tokenCache) forget(v *Vendor, c Credentials) {
	e := tc.entry(v.tokenKey(c))
	select {
	case e.lock <- struct{}{}:
		e.token = ""
		<-e.lock
	default:
		// A fetch is under way: it brings a fresh token.
	}
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
