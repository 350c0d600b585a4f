package bandwidth

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Compile-time checks: the vendor and every capability it implements.
var (
	_ herald.Vendor          = (*Vendor)(nil)
	_ herald.WebhookHandler  = (*Vendor)(nil)
	_ herald.NumberInventory = (*Vendor)(nil)
	_ herald.CostReporter    = (*Vendor)(nil)
	_ herald.ErrorDescriber  = (*Vendor)(nil)
	_ herald.OrgConfigurer   = (*Vendor)(nil)
)

// Name is the vendor's registry name unless Options.Name says otherwise.
const Name = "bandwidth"

// Default endpoints of Bandwidth's APIs.
const (
	// DefaultMessagingBaseURL is the Messaging API v2 host; messages are
	// posted to {base}/api/v2/users/{accountId}/messages.
	DefaultMessagingBaseURL = "https://messaging.bandwidth.com"
	// DefaultDashboardBaseURL is the Numbers (Dashboard) API root; calls go
	// to {base}/accounts/{accountId}/....
	DefaultDashboardBaseURL = "https://dashboard.bandwidth.com/api"
	// DefaultTokenURL is the OAuth2 client-credentials token endpoint.
	DefaultTokenURL = "https://api.bandwidth.com/api/v1/oauth2/token"
)

// Keys of the organization configuration (Organization.VendorConfig[name])
// and of Route.Credentials.
const (
	ConfigAccountID     = "account_id"
	ConfigClientID      = "client_id"
	ConfigClientSecret  = "client_secret"
	ConfigUsername      = "username"
	ConfigPassword      = "password"
	ConfigApplicationID = "application_id"
	// ConfigFromNumber is a default sending number (E.164) for messages
	// whose route names none.
	ConfigFromNumber = "from_number"
	// ConfigSiteID and ConfigPeerID are the sub-account (site) and
	// location (SIP peer) that bought numbers are ordered into.
	ConfigSiteID = "site_id"
	ConfigPeerID = "peer_id"
	// ConfigCallbackUsername and ConfigCallbackPassword are the HTTP Basic
	// credentials configured on the Bandwidth application for its
	// callbacks; webhooks must carry them.
	ConfigCallbackUsername = "callback_username"
	ConfigCallbackPassword = "callback_password"
)

// MaxMedia is the most media URLs one message may carry, and MaxTagLength
// the longest tag Bandwidth echoes back.
const (
	MaxMedia     = 10
	MaxTagLength = 1024
)

// Options configures a Vendor. Credentials here are the process-wide
// default; organizations and routes may bring their own (see the package
// documentation).
type Options struct {
	// Name is the registry name; default "bandwidth".
	Name string
	// AccountID is the default Bandwidth account.
	AccountID string
	// ClientID and ClientSecret, when both set, authenticate with OAuth2
	// client credentials (the current scheme).
	ClientID     string
	ClientSecret string
	// Username and Password are a legacy API user, used with HTTP Basic
	// auth when no OAuth2 client is set.
	Username string
	Password string
	// ApplicationID is the default messaging application.
	ApplicationID string
	// FromNumber is the default sending number, for routes that name none.
	FromNumber string
	// SiteID and PeerID are where BuyNumbers orders numbers.
	SiteID string
	PeerID string
	// CallbackUsername and CallbackPassword are the HTTP Basic credentials
	// set on the messaging application for its callbacks.
	CallbackUsername string
	CallbackPassword string
	// HTTPClient makes every call, token requests included; default a
	// client with a 30 s timeout. For more than two concurrent sends give
	// its transport a MaxIdleConnsPerHost of at least the dispatcher's
	// Concurrency.
	HTTPClient *http.Client
	// MessagingBaseURL, DashboardBaseURL and TokenURL default to
	// Bandwidth's (tests point them at a fake).
	MessagingBaseURL string
	DashboardBaseURL string
	TokenURL         string
	// TokenRefreshMargin is how long before its expiry an OAuth2 token is
	// replaced; default 60 s (half the token's life when that is shorter).
	TokenRefreshMargin time.Duration
	// Clock tells the time (expirations, token lifetimes); default the
	// system clock.
	Clock herald.Clock
	// Logger receives debug notes, never secrets or full numbers; default
	// discards.
	Logger *slog.Logger
	// SMSSegmentPrice and MMSPrice are what CostData reports, in
	// PriceCurrency; defaults 0.004, 0.015 and "USD" (Bandwidth's US list
	// prices as Spoke knew them).
	SMSSegmentPrice float64
	MMSPrice        float64
	PriceCurrency   string
	// MaxNumbersPerBuy caps one BuyNumbers call; default 100.
	MaxNumbersPerBuy int
	// OrderPollInterval and OrderPollAttempts pace the polling of a number
	// order until Bandwidth completes it; defaults 2 s and 15.
	OrderPollInterval time.Duration
	OrderPollAttempts int
	// OrderName names number orders; default "herald".
	OrderName string
}

// Vendor is the Bandwidth vendor. Create it with New; it is safe for
// concurrent use.
type Vendor struct {
	name     string
	def      Credentials
	defHook  hookCreds
	client   *http.Client
	msgBase  string
	dashBase string
	tokenURL string
	tokens   *tokenCache
	// Made once for the vendor's own credentials: the token cache key, the
	// Basic Authorization header and the Messages URL.
	defTokenKey string
	defBasic    []string
	defMessages string
	clock       herald.Clock
	log         *slog.Logger
	smsPrice    float64
	mmsPrice    float64
	currency    string
	maxBuy      int
	pollEvery   time.Duration
	pollMax     int
	orderName   string
}

// New returns a vendor configured by opts. It fails only on a malformed
// base URL.
func New(opts Options) (*Vendor, error) {
	v := &Vendor{
		name: opts.Name,
		def: Credentials{AccountID: opts.AccountID, ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
			Username: opts.Username, Password: opts.Password, ApplicationID: opts.ApplicationID,
			FromNumber: opts.FromNumber, SiteID: opts.SiteID, PeerID: opts.PeerID},
		defHook:   hookCreds{user: opts.CallbackUsername, pass: opts.CallbackPassword},
		client:    opts.HTTPClient,
		msgBase:   strings.TrimRight(opts.MessagingBaseURL, "/"),
		dashBase:  strings.TrimRight(opts.DashboardBaseURL, "/"),
		tokenURL:  opts.TokenURL,
		clock:     opts.Clock,
		log:       opts.Logger,
		smsPrice:  opts.SMSSegmentPrice,
		mmsPrice:  opts.MMSPrice,
		currency:  opts.PriceCurrency,
		maxBuy:    opts.MaxNumbersPerBuy,
		pollEvery: opts.OrderPollInterval,
		pollMax:   opts.OrderPollAttempts,
		orderName: opts.OrderName,
	}
	if v.name == "" {
		v.name = Name
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 30 * time.Second}
	}
	for _, b := range []struct {
		p   *string
		def string
	}{{&v.msgBase, DefaultMessagingBaseURL}, {&v.dashBase, DefaultDashboardBaseURL}, {&v.tokenURL, DefaultTokenURL}} {
		var err error
		if *b.p, err = vendorhttp.BaseURL("bandwidth", *b.p, b.def); err != nil {
			return nil, err
		}
	}
	if v.clock == nil {
		v.clock = herald.SystemClock{}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	margin := opts.TokenRefreshMargin
	if margin <= 0 {
		margin = 60 * time.Second
	}
	v.tokens = &tokenCache{client: v.client, clock: v.clock, margin: margin}
	if v.def.oauth() {
		v.defTokenKey = tokenKeyOf(v.tokenURL, v.def)
	}
	if v.def.Username != "" {
		v.defBasic = vendorhttp.BasicAuth(v.def.Username, v.def.Password)
	}
	if v.def.AccountID != "" {
		v.defMessages = messagesURLOf(v.msgBase, v.def.AccountID)
	}
	if v.smsPrice == 0 {
		v.smsPrice = 0.004
	}
	if v.mmsPrice == 0 {
		v.mmsPrice = 0.015
	}
	if v.currency == "" {
		v.currency = "USD"
	}
	if v.maxBuy <= 0 {
		v.maxBuy = 100
	}
	if v.pollEvery <= 0 {
		v.pollEvery = 2 * time.Second
	}
	if v.pollMax <= 0 {
		v.pollMax = 15
	}
	if v.orderName == "" {
		v.orderName = "herald"
	}
	return v, nil
}

// Metadata describes the vendor: sms and mms, per-organization
// configuration, and no idempotent sends (the Messaging API has no
// idempotency key).
func (v *Vendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{
		Name:              v.name,
		DisplayName:       "Bandwidth",
		Channels:          []herald.Channel{herald.ChannelSMS, herald.ChannelMMS},
		SupportsOrgConfig: true,
		IdempotentSend:    false,
	}
}

// Credentials are one Bandwidth account's credentials and defaults.
type Credentials struct {
	AccountID     string
	ClientID      string
	ClientSecret  string
	Username      string
	Password      string
	ApplicationID string
	FromNumber    string
	SiteID        string
	PeerID        string
}

func credsFrom(m map[string]string) Credentials {
	return Credentials{
		AccountID: m[ConfigAccountID], ClientID: m[ConfigClientID], ClientSecret: m[ConfigClientSecret],
		Username: m[ConfigUsername], Password: m[ConfigPassword], ApplicationID: m[ConfigApplicationID],
		FromNumber: m[ConfigFromNumber], SiteID: m[ConfigSiteID], PeerID: m[ConfigPeerID],
	}
}

// oauth reports whether c authenticates with OAuth2 client credentials.
func (c Credentials) oauth() bool { return c.ClientID != "" && c.ClientSecret != "" }

// usable reports whether c can authenticate API calls.
func (c Credentials) usable() bool {
	return c.AccountID != "" && (c.oauth() || (c.Username != "" && c.Password != ""))
}

// orgConfig returns the organization's configuration for this vendor.
func (v *Vendor) orgConfig(org *herald.Organization) map[string]string {
	if org == nil {
		return nil
	}
	return org.VendorConfig[v.name]
}

// credentials resolves the credentials of a call: the route's override
// (when it names an account), the organization's (when it names an
// account), else the defaults. A source that leaves a default (application,
// from number, site, peer) or its secrets empty borrows them only from the
// same account; an organization that names no account but an application
// (or another default) uses it with the default account.
func (v *Vendor) credentials(org *herald.Organization, route *herald.Route) Credentials {
	orgC := credsFrom(v.orgConfig(org))
	base := v.def
	if orgC.AccountID != "" {
		if orgC.AccountID == base.AccountID {
			orgC.borrow(base)
		}
		base = orgC
	} else {
		base.override(orgC)
	}
	if route != nil && route.Credentials[ConfigAccountID] != "" {
		rc := credsFrom(route.Credentials)
		if rc.AccountID == base.AccountID {
			rc.borrow(base)
		}
		return rc
	}
	return base
}

// borrow fills c's empty defaults from d, an account's other source; and
// its credentials too when c brings none.
func (c *Credentials) borrow(d Credentials) {
	if !c.oauth() && (c.Username == "" || c.Password == "") {
		c.ClientID, c.ClientSecret, c.Username, c.Password = d.ClientID, d.ClientSecret, d.Username, d.Password
	}
	for _, p := range []struct{ dst, src *string }{
		{&c.ApplicationID, &d.ApplicationID}, {&c.FromNumber, &d.FromNumber},
		{&c.SiteID, &d.SiteID}, {&c.PeerID, &d.PeerID},
	} {
		if *p.dst == "" {
			*p.dst = *p.src
		}
	}
}

// override replaces c's defaults (not its account or secrets) with d's
// non-empty ones.
func (c *Credentials) override(d Credentials) {
	for _, p := range []struct{ dst, src *string }{
		{&c.ApplicationID, &d.ApplicationID}, {&c.FromNumber, &d.FromNumber},
		{&c.SiteID, &d.SiteID}, {&c.PeerID, &d.PeerID},
	} {
		if *p.src != "" {
			*p.dst = *p.src
		}
	}
}

// api says which of Bandwidth's APIs a call goes to: their error bodies
// differ (JSON for messaging, XML for the dashboard).
type api int

const (
	apiMessaging api = iota
	apiDashboard
)

// call is one API request.
type call struct {
	api         api
	method      string
	url         string
	body        []byte
	contentType []string // jsonContentType or xmlContentType
	creds       Credentials
	// out receives the body of a 2xx answer; nil ignores it.
	out func(data []byte) error
	// header, when set, receives the answer's headers.
	header *http.Header
}

// bufPool holds buffers for reading answers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do makes c and decodes its answer. Every failure is a *herald.VendorError:
// ClassTemporary when nothing was written (an OAuth2 token that could not
// be had included), ClassMaybeDelivered when a request with a body was
// written and no answer came, else the class of the answer.
func (v *Vendor) do(ctx context.Context, c call) (int, error) {
	if err := vendorhttp.Ended(ctx, v.name); err != nil {
		return 0, err
	}
	if !c.creds.usable() {
		return 0, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth,
			Message: "no Bandwidth credentials configured (account_id with client_id/client_secret or username/password)",
			Err:     herald.ErrConfig}
	}
	var authz []string
	var tok *issued
	if c.creds.oauth() {
		var err error
		if tok, err = v.tokens.token(ctx, v, c.creds); err != nil {
			return 0, err
		}
		authz = tok.header
	} else {
		authz = v.basicAuth(c.creds)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, nil)
	if err != nil {
		return 0, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Message: "building the request", Err: err}
	}
	var body *vendorhttp.Body
	// The header values are shared, read-only slices: transports only
	// read a request's headers.
	if c.body != nil {
		body = vendorhttp.SetBody(req, c.body)
		req.Header["Content-Type"] = c.contentType
	}
	if c.api == apiMessaging {
		req.Header["Accept"] = acceptJSON
	} else {
		req.Header["Accept"] = acceptXML
	}
	req.Header["Authorization"] = authz
	resp, err := v.client.Do(req)
	if err != nil {
		// A request whose body was read to the end was written to a
		// connection: Bandwidth may have it. Requests without a body are
		// reads, safe to repeat.
		class, msg := herald.ClassTemporary, "request not sent"
		if body != nil && body.Sent() {
			class, msg = herald.ClassMaybeDelivered, "request sent, no answer"
		}
		return 0, &herald.VendorError{Vendor: v.name, Class: class, Message: msg, Err: vendorhttp.RedactURL("bandwidth", err)}
	}
	defer resp.Body.Close()
	if c.header != nil {
		*c.header = resp.Header
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, 4<<20))
	data := buf.Bytes()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if resp.StatusCode == http.StatusUnauthorized && c.creds.oauth() {
			v.tokens.forget(v, c.creds, tok) // revoked or expired early: fetch a new one next time
		}
		if c.api == apiDashboard {
			return resp.StatusCode, v.dashboardError(resp, data)
		}
		return resp.StatusCode, v.messagingError(resp, data)
	}
	// A 2xx answer we cannot read means Bandwidth acted on a write.
	class := herald.ClassTemporary
	if body != nil {
		class = herald.ClassMaybeDelivered
	}
	if err != nil {
		return resp.StatusCode, &herald.VendorError{Vendor: v.name, Class: class, HTTPStatus: resp.StatusCode,
			Message: "reading the answer", Err: err}
	}
	if c.out != nil {
		if err := c.out(data); err != nil {
			return resp.StatusCode, &herald.VendorError{Vendor: v.name, Class: class,
				HTTPStatus: resp.StatusCode, Message: "undecodable answer", Err: err}
		}
	}
	return resp.StatusCode, nil
}

// Header values of the API calls: shared, read-only.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	xmlContentType  = []string{"application/xml; charset=utf-8"}
	acceptJSON      = []string{"application/json"}
	acceptXML       = []string{"application/xml"}
)

// basicAuth is the Authorization header of a legacy API user, made once
// for the vendor's own.
func (v *Vendor) basicAuth(c Credentials) []string {
	if c.Username == v.def.Username && c.Password == v.def.Password && v.defBasic != nil {
		return v.defBasic
	}
	return vendorhttp.BasicAuth(c.Username, c.Password)
}
