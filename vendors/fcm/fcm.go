package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Compile-time checks: the vendor and every capability it implements.
var (
	_ herald.Vendor         = (*Vendor)(nil)
	_ herald.ErrorDescriber = (*Vendor)(nil)
	_ herald.OrgConfigurer  = (*Vendor)(nil)
)

// Name is the vendor's registry name unless Options.Name says otherwise.
const Name = "fcm"

// DefaultBaseURL is FCM's API host.
const DefaultBaseURL = "https://fcm.googleapis.com"

// DefaultTokenURL is Google's OAuth 2.0 token endpoint.
const DefaultTokenURL = google.JWTTokenURL

// MaxTTL is the longest time FCM keeps a message (28 days).
const MaxTTL = 28 * 24 * time.Hour

// Keys of Message.Meta and Route.Extra the vendor reads (Route.Extra wins).
const (
	// MetaCollapseKey collapses pending messages: android.collapse_key,
	// apns-collapse-id and the web push Topic.
	MetaCollapseKey = "fcm.collapse_key"
	// MetaImage is notification.image, an https URL.
	MetaImage = "fcm.image"
	// MetaAnalyticsLabel is fcm_options.analytics_label.
	MetaAnalyticsLabel = "fcm.analytics_label"
	// MetaAndroid is a JSON object merged over the android block
	// (AndroidConfig).
	MetaAndroid = "fcm.android"
	// MetaAPNs is a JSON object merged over the apns block (ApnsConfig).
	MetaAPNs = "fcm.apns"
	// MetaWebpush is a JSON object merged over the webpush block
	// (WebpushConfig).
	MetaWebpush = "fcm.webpush"
)

// Options configures a Vendor.
type Options struct {
	// Name is the registry name; default "fcm".
	Name string
	// ServiceAccountJSON is the default service account key file.
	ServiceAccountJSON []byte
	// ProjectID overrides the key file's project_id; required with
	// TokenSource.
	ProjectID string
	// TokenSource, used when ServiceAccountJSON is empty, gives the
	// default access tokens (scope Scope); it is wrapped in
	// oauth2.ReuseTokenSource.
	TokenSource oauth2.TokenSource
	// BaseURL is FCM's API host; default DefaultBaseURL.
	BaseURL string
	// TokenURL is the OAuth 2.0 token endpoint of every service account;
	// default DefaultTokenURL. Key files' token_uri is ignored.
	TokenURL string
	// HTTPClient makes FCM and token calls; default a client with a 30 s
	// timeout. For many concurrent sends give its transport a
	// MaxIdleConnsPerHost of at least the dispatcher's concurrency.
	HTTPClient *http.Client
	// Clock tells the time (expirations, Retry-After dates); default the
	// system clock.
	Clock herald.Clock
	// Logger receives debug notes, never secrets or tokens; default
	// discards.
	Logger *slog.Logger
}

// Vendor is the FCM vendor. Create it with New; it is safe for concurrent
// use.
type Vendor struct {
	name string
	def  source
	// defAccount is the account of Options.TokenSource, if any.
	defAccount *account
	baseURL    string
	tokenURL   string
	client     *http.Client
	clock      herald.Clock
	log        *slog.Logger

	mu       sync.RWMutex
	accounts map[[32]byte]*account
}

// New returns a vendor configured by opts. It fails on a malformed URL or
// default key file, or a TokenSource without ProjectID.
func New(opts Options) (*Vendor, error) {
	v := &Vendor{
		name: opts.Name, baseURL: strings.TrimRight(opts.BaseURL, "/"), tokenURL: opts.TokenURL,
		client: opts.HTTPClient, clock: opts.Clock, log: opts.Logger, accounts: map[[32]byte]*account{},
	}
	if v.name == "" {
		v.name = Name
	}
	if v.baseURL == "" {
		v.baseURL = DefaultBaseURL
	}
	if v.tokenURL == "" {
		v.tokenURL = DefaultTokenURL
	}
	for _, u := range []string{v.baseURL, v.tokenURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("fcm: URL %q: %w", u, herald.ErrConfig)
		}
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 30 * time.Second}
	}
	if v.clock == nil {
		v.clock = herald.SystemClock{}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case len(opts.ServiceAccountJSON) > 0:
		v.def = source{json: opts.ServiceAccountJSON, projectID: opts.ProjectID}
		if _, err := v.account(v.def); err != nil {
			return nil, fmt.Errorf("%w: %w", herald.ErrConfig, err)
		}
	case opts.TokenSource != nil:
		if opts.ProjectID == "" {
			return nil, fmt.Errorf("fcm: TokenSource needs ProjectID: %w", herald.ErrConfig)
		}
		v.def = source{projectID: opts.ProjectID}
		v.defAccount = &account{projectID: opts.ProjectID, ts: oauth2.ReuseTokenSource(nil, opts.TokenSource)}
	}
	return v, nil
}

// Metadata describes the vendor: the fcm channel, per-organization
// configuration, no idempotent sends.
func (v *Vendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{
		Name:              v.name,
		DisplayName:       "Firebase Cloud Messaging",
		Channels:          []herald.Channel{herald.ChannelFCM},
		SupportsOrgConfig: true,
	}
}

// token returns an access token of a, without waiting past ctx.
func (v *Vendor) token(ctx context.Context, a *account) (*oauth2.Token, *herald.VendorError) {
	if t := a.last.Load(); t != nil && t.Valid() {
		return t, nil
	}
	type result struct {
		t   *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		t, err := a.ts.Token()
		ch <- result{t, err}
	}()
	select {
	case <-ctx.Done():
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary, Code: CodeTokenUnavailable,
			Message: "context ended while getting an access token", Err: ctx.Err()}
	case r := <-ch:
		if r.err == nil && r.t != nil {
			a.last.Store(r.t)
			return r.t, nil
		}
		ve := &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary, Code: CodeTokenUnavailable,
			Message: "getting an access token"}
		var re *oauth2.RetrieveError
		if errors.As(r.err, &re) && re.Response != nil {
			ve.HTTPStatus = re.Response.StatusCode
			switch {
			case re.Response.StatusCode == http.StatusTooManyRequests:
				ve.Class = herald.ClassRateLimited
			case re.Response.StatusCode < 500:
				ve.Class = herald.ClassAuth
				ve.Message = "the token endpoint refused the service account"
				if re.ErrorCode != "" {
					ve.Message += " (" + re.ErrorCode + ")"
				}
			}
			return nil, ve
		}
		ve.Err = vendorhttp.RedactURL("fcm", r.err)
		return nil, ve
	}
}

// Send sends one message; see the package documentation.
func (v *Vendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if err := vendorhttp.CheckSend(ctx, v.name, req); err != nil {
		return nil, err
	}
	src := v.resolve(req.Organization, req.Route)
	a, err := v.account(src)
	if err != nil {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth, Code: CodeNotConfigured,
			Message: "no usable FCM service account", Err: err}
	}
	body, verr := v.message(req)
	if verr != nil {
		return nil, verr
	}
	tok, verr := v.token(ctx, a)
	if verr != nil {
		return nil, verr
	}

	endpoint := v.baseURL + "/v1/projects/" + url.PathEscape(a.projectID) + "/messages:send"
	var wrote atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	hreq, err := http.NewRequestWithContext(tctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth, Code: CodeNotConfigured,
			Message: "bad project ID", Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
	hreq.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
	resp, err := v.client.Do(hreq)
	if err != nil {
		class, msg := herald.ClassTemporary, "message not sent"
		if wrote.Load() {
			class, msg = herald.ClassMaybeDelivered, "message sent, no answer"
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return nil, &herald.VendorError{Vendor: v.name, Class: class, Message: msg, Err: vendorhttp.RedactURL("fcm", err)}
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		ve := v.responseError(resp, data)
		if ve.Code == CodeUnauthenticated {
			// FCM refused the access token itself: start afresh.
			v.forget(src)
			a.last.Store(nil)
		}
		return nil, ve
	}
	var ok struct {
		Name string `json:"name"`
	}
	if rerr != nil || json.Unmarshal(data, &ok) != nil || ok.Name == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassMaybeDelivered, HTTPStatus: resp.StatusCode,
			Message: "accepted, but the answer has no message name", Err: rerr}
	}
	return &herald.SendResult{VendorMessageID: ok.Name, Status: herald.StatusSent}, nil
}

// responseError turns an error answer into a classified VendorError.
func (v *Vendor) responseError(resp *http.Response, data []byte) *herald.VendorError {
	info := parseError(data)
	code := info.code
	if code == "" {
		code = strconv.Itoa(resp.StatusCode)
	}
	msg := info.message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	ve := &herald.VendorError{Vendor: v.name, Class: Classify(resp.StatusCode, info.code, info.aboutToken),
		Code: code, Message: msg, HTTPStatus: resp.StatusCode}
	if ve.Class == herald.ClassRateLimited || ve.Class == herald.ClassTemporary {
		ve.RetryAfter = vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), v.clock.Now())
	}
	return ve
}
