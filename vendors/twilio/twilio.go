package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Compile-time checks: the vendor and every capability it implements.
var (
	_ herald.Vendor                 = (*Vendor)(nil)
	_ herald.WebhookHandler         = (*Vendor)(nil)
	_ herald.ContactLookup          = (*Vendor)(nil)
	_ herald.NumberInventory        = (*Vendor)(nil)
	_ herald.MessagingServices      = (*Vendor)(nil)
	_ herald.MessagingServiceFinder = (*Vendor)(nil)
	_ herald.CostReporter           = (*Vendor)(nil)
	_ herald.ErrorDescriber         = (*Vendor)(nil)
	_ herald.OrgConfigurer          = (*Vendor)(nil)
)

// Name is the vendor's registry name unless Options.Name says otherwise.
const Name = "twilio"

// Default base URLs of Twilio's APIs.
const (
	DefaultAPIBaseURL       = "https://api.twilio.com"
	DefaultLookupBaseURL    = "https://lookups.twilio.com"
	DefaultMessagingBaseURL = "https://messaging.twilio.com"
)

// Keys of the organization configuration (Organization.VendorConfig[name])
// and of Route.Credentials.
const (
	ConfigAccountSID          = "account_sid"
	ConfigAuthToken           = "auth_token"
	ConfigAPIKeySID           = "api_key_sid"
	ConfigAPIKeySecret        = "api_key_secret"
	ConfigMessagingServiceSID = "messaging_service_sid"
)

// ManagerDataSkipMessagingService is the manager-data key (from the
// vendor-setup and fully-configured hooks) that, set to "true", lets an
// organization work without a messaging_service_sid: its managers choose
// From numbers themselves.
const ManagerDataSkipMessagingService = "skipOrgMessageService"

// MaxValidityPeriod is the longest ValidityPeriod Twilio accepts.
const MaxValidityPeriod = 36000 * time.Second

// MaxMedia is the most MediaUrl values one message may carry.
const MaxMedia = 10

// Options configures a Vendor. Credentials here are the process-wide
// default; organizations and routes may bring their own (see the package
// documentation).
type Options struct {
	// Name is the registry name; default "twilio".
	Name string
	// AccountSID and AuthToken are the default account credentials.
	AccountSID string
	AuthToken  string
	// APIKeySID and APIKeySecret, when both set, authenticate REST calls
	// instead of the auth token (which still verifies webhooks).
	APIKeySID    string
	APIKeySecret string
	// MessagingServiceSID is the default sender pool.
	MessagingServiceSID string
	// AuthTokenFor returns the auth token of another account, for webhooks
	// of accounts a manager switched to (Route.Credentials); optional. It
	// is called with the AccountSid the request claims, before the request
	// is verified: return an error for accounts the organization does not
	// use.
	AuthTokenFor func(ctx context.Context, org *herald.Organization, accountSID string) (string, error)
	// HTTPClient makes every call; default a client with a 30 s timeout
	// on http.DefaultTransport. Share one across vendors: connections are
	// reused. For more than two concurrent sends give its transport a
	// MaxIdleConnsPerHost of at least the dispatcher's Concurrency, or
	// connections to Twilio are closed and reopened under load.
	HTTPClient *http.Client
	// APIBaseURL, LookupBaseURL and MessagingBaseURL default to Twilio's.
	APIBaseURL       string
	LookupBaseURL    string
	MessagingBaseURL string
	// Clock tells the time (validity periods, lookups, numbers); default
	// the system clock.
	Clock herald.Clock
	// Logger receives debug notes, never secrets or full numbers; default
	// discards.
	Logger *slog.Logger
	// SMSSegmentPrice and MMSPrice are what CostData reports, in
	// PriceCurrency; defaults 0.0075, 0.02 and "USD" (Twilio's US list
	// prices as Spoke knew them).
	SMSSegmentPrice float64
	MMSPrice        float64
	PriceCurrency   string
	// MaxNumbersPerBuy caps one BuyNumbers call; default 100.
	MaxNumbersPerBuy int
	// NumberFriendlyName names bought numbers; default "Managed by herald".
	NumberFriendlyName string
}

// Vendor is the Twilio vendor. Create it with New; it is safe for
// concurrent use.
type Vendor struct {
	name     string
	def      Credentials
	tokenFor func(ctx context.Context, org *herald.Organization, accountSID string) (string, error)
	client   *http.Client
	// The vendor's own credentials' Authorization header and Messages
	// URL, made once.
	defUser, defPass string
	defAuth          []string
	defMessages      string
	apiBase          string
	lookupURL        string
	msgBase          string
	clock            herald.Clock
	log              *slog.Logger
	smsPrice         float64
	mmsPrice         float64
	currency         string
	maxBuy           int
	friendly         string
}

// New returns a vendor configured by opts. It fails only on a malformed
// base URL.
func New(opts Options) (*Vendor, error) {
	v := &Vendor{
		name: opts.Name,
		def: Credentials{AccountSID: opts.AccountSID, AuthToken: opts.AuthToken, APIKeySID: opts.APIKeySID,
			APIKeySecret: opts.APIKeySecret, MessagingServiceSID: opts.MessagingServiceSID},
		tokenFor:  opts.AuthTokenFor,
		client:    opts.HTTPClient,
		apiBase:   strings.TrimRight(opts.APIBaseURL, "/"),
		lookupURL: strings.TrimRight(opts.LookupBaseURL, "/"),
		msgBase:   strings.TrimRight(opts.MessagingBaseURL, "/"),
		clock:     opts.Clock,
		log:       opts.Logger,
		smsPrice:  opts.SMSSegmentPrice,
		mmsPrice:  opts.MMSPrice,
		currency:  opts.PriceCurrency,
		maxBuy:    opts.MaxNumbersPerBuy,
		friendly:  opts.NumberFriendlyName,
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
	}{{&v.apiBase, DefaultAPIBaseURL}, {&v.lookupURL, DefaultLookupBaseURL}, {&v.msgBase, DefaultMessagingBaseURL}} {
		var err error
		if *b.p, err = vendorhttp.BaseURL("twilio", *b.p, b.def); err != nil {
			return nil, err
		}
	}
	v.defUser, v.defPass = v.def.basicAuth()
	v.defAuth = vendorhttp.BasicAuth(v.defUser, v.defPass)
	if v.def.AccountSID != "" {
		v.defMessages = v.accountURL(v.def, "/Messages.json")
	}
	if v.clock == nil {
		v.clock = herald.SystemClock{}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.smsPrice == 0 {
		v.smsPrice = 0.0075
	}
	if v.mmsPrice == 0 {
		v.mmsPrice = 0.02
	}
	if v.currency == "" {
		v.currency = "USD"
	}
	if v.maxBuy <= 0 {
		v.maxBuy = 100
	}
	if v.friendly == "" {
		v.friendly = "Managed by herald"
	}
	return v, nil
}

// Metadata describes the vendor: sms and mms, per-organization
// configuration, and no idempotent sends (Twilio has no idempotency key).
func (v *Vendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{
		Name:              v.name,
		DisplayName:       "Twilio",
		Channels:          []herald.Channel{herald.ChannelSMS, herald.ChannelMMS},
		SupportsOrgConfig: true,
		IdempotentSend:    false,
	}
}

// Credentials are one Twilio account's credentials.
type Credentials struct {
	AccountSID          string
	AuthToken           string
	APIKeySID           string
	APIKeySecret        string
	MessagingServiceSID string
}

func credsFrom(m map[string]string) Credentials {
	return Credentials{
		AccountSID: m[ConfigAccountSID], AuthToken: m[ConfigAuthToken],
		APIKeySID: m[ConfigAPIKeySID], APIKeySecret: m[ConfigAPIKeySecret],
		MessagingServiceSID: m[ConfigMessagingServiceSID],
	}
}

// usable reports whether c can authenticate REST calls.
func (c Credentials) usable() bool {
	return c.AccountSID != "" && (c.AuthToken != "" || (c.APIKeySID != "" && c.APIKeySecret != ""))
}

// basicAuth returns the user and password of the REST calls.
func (c Credentials) basicAuth() (string, string) {
	if c.APIKeySID != "" && c.APIKeySecret != "" {
		return c.APIKeySID, c.APIKeySecret
	}
	return c.AccountSID, c.AuthToken
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
// account), else the defaults. A source without its own messaging service
// borrows the organization's or the default one only when it is the same
// account; an organization that names only a messaging service uses it
// with the default account.
func (v *Vendor) credentials(org *herald.Organization, route *herald.Route) Credentials {
	orgC := credsFrom(v.orgConfig(org))
	base := v.def
	switch {
	case orgC.AccountSID != "":
		if orgC.MessagingServiceSID == "" && orgC.AccountSID == base.AccountSID {
			orgC.MessagingServiceSID = base.MessagingServiceSID
		}
		base = orgC
	case orgC.MessagingServiceSID != "":
		base.MessagingServiceSID = orgC.MessagingServiceSID
	}
	if route != nil && route.Credentials[ConfigAccountSID] != "" {
		rc := credsFrom(route.Credentials)
		if rc.MessagingServiceSID == "" && rc.AccountSID == base.AccountSID {
			rc.MessagingServiceSID = base.MessagingServiceSID
		}
		return rc
	}
	return base
}

// apiError is Twilio's error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// call is one REST request.
type call struct {
	method string
	url    string
	form   url.Values
	body   formBody // the form, already encoded (instead of form)
	creds  Credentials
	// out receives the decoded JSON body of a 2xx answer; nil ignores it.
	out any
}

// do makes c and decodes its answer. Every failure is a *herald.VendorError:
// ClassTemporary when nothing was written, ClassMaybeDelivered when the
// request was written and no answer came, else the class of the answer.
func (v *Vendor) do(ctx context.Context, c call) (int, error) {
	if err := vendorhttp.Ended(ctx, v.name); err != nil {
		return 0, err
	}
	if !c.creds.usable() {
		return 0, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth,
			Message: "no Twilio credentials configured", Err: herald.ErrConfig}
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, nil)
	if err != nil {
		return 0, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Message: "building the request", Err: err}
	}
	var body *vendorhttp.Body
	if c.form != nil {
		c.body = formBody(c.form.Encode())
	}
	if c.body != nil {
		body = vendorhttp.SetBody(req, c.body)
		req.Header["Content-Type"] = formContentType
	}
	// The header values are shared, read-only slices: transports only
	// read a request's headers.
	req.Header["Accept"] = acceptJSON
	req.Header["Authorization"] = v.authorization(c.creds)
	resp, err := v.client.Do(req)
	if err != nil {
		// A request whose body was read to the end was written to a
		// connection: Twilio may have it. Requests without a body are
		// reads and deletes, safe to repeat.
		class, msg := herald.ClassTemporary, "request not sent"
		if body != nil && body.Sent() {
			class, msg = herald.ClassMaybeDelivered, "request sent, no answer"
		}
		return 0, &herald.VendorError{Vendor: v.name, Class: class, Message: msg, Err: vendorhttp.RedactURL("twilio", err)}
	}
	defer resp.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	data := buf.Bytes()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, v.responseError(resp, data)
	}
	// A 2xx answer we cannot read means Twilio acted on a write.
	class := herald.ClassTemporary
	if body != nil {
		class = herald.ClassMaybeDelivered
	}
	if err != nil {
		return resp.StatusCode, &herald.VendorError{Vendor: v.name, Class: class, HTTPStatus: resp.StatusCode,
			Message: "reading the answer", Err: err}
	}
	if c.out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, c.out); err != nil {
			return resp.StatusCode, &herald.VendorError{Vendor: v.name, Class: class,
				HTTPStatus: resp.StatusCode, Message: "undecodable answer", Err: err}
		}
	}
	return resp.StatusCode, nil
}

// bufPool holds buffers for reading answers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// responseError turns a non-2xx answer into a classified VendorError.
func (v *Vendor) responseError(resp *http.Response, data []byte) *herald.VendorError {
	var ae apiError
	_ = json.Unmarshal(data, &ae)
	code := strconv.Itoa(resp.StatusCode)
	if ae.Code != 0 {
		code = strconv.Itoa(ae.Code)
	}
	msg := ae.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	ve := &herald.VendorError{
		Vendor: v.name, Class: Classify(code, resp.StatusCode), Code: code,
		Message: vendorhttp.RedactDigits(msg), HTTPStatus: resp.StatusCode,
	}
	if ve.Class == herald.ClassRateLimited {
		ve.RetryAfter = vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), v.clock.Now())
	}
	return ve
}

var (
	formContentType = []string{"application/x-www-form-urlencoded"}
	acceptJSON      = []string{"application/json"}
)

// authorization is the Authorization header of the credentials' REST
// calls, made once for the vendor's own credentials.
func (v *Vendor) authorization(c Credentials) []string {
	user, pass := c.basicAuth()
	if user == v.defUser && pass == v.defPass {
		return v.defAuth
	}
	return vendorhttp.BasicAuth(user, pass)
}

// messagesURL is the Messages API URL of the credentials' account, made
// once for the vendor's own account.
func (v *Vendor) messagesURL(c Credentials) string {
	if c.AccountSID == v.def.AccountSID && v.defMessages != "" {
		return v.defMessages
	}
	return v.accountURL(c, "/Messages.json")
}

// accountURL is the 2010-04-01 API URL of a path under the account.
func (v *Vendor) accountURL(c Credentials, path string) string {
	return v.apiBase + "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSID) + path
}
