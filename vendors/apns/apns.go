package apns

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sideshow/apns2"
	"golang.org/x/net/http2"

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
const Name = "apns"

// APNs hosts.
const (
	HostProduction = apns2.HostProduction
	HostSandbox    = apns2.HostDevelopment
)

// Environments of Credentials.Environment and ConfigEnvironment.
const (
	EnvironmentProduction = "production"
	EnvironmentSandbox    = "sandbox"
)

// Keys of Message.Meta and Route.Extra the vendor reads (Route.Extra wins).
const (
	// MetaPushType is the apns-push-type: alert, background, voip, ...
	MetaPushType = "apns.push_type"
	// MetaCollapseID is the apns-collapse-id (at most 64 bytes).
	MetaCollapseID = "apns.collapse_id"
	// MetaThreadID groups notifications (aps.thread-id).
	MetaThreadID = "apns.thread_id"
	// MetaBadge is the app badge, a non-negative integer (aps.badge).
	MetaBadge = "apns.badge"
	// MetaSound is the sound name (aps.sound).
	MetaSound = "apns.sound"
	// MetaCategory is the notification category (aps.category).
	MetaCategory = "apns.category"
	// MetaMutableContent, set to "true", lets a notification service
	// extension change the notification (aps.mutable-content).
	MetaMutableContent = "apns.mutable_content"
)

// Payload limits of APNs.
const (
	MaxPayload     = 4096
	MaxVoIPPayload = 5120
	// MaxCollapseID is the longest apns-collapse-id.
	MaxCollapseID = 64
	// MaxTokenLen is the longest device token accepted.
	MaxTokenLen = 200
)

// Options configures a Vendor.
type Options struct {
	// Name is the registry name; default "apns".
	Name string
	// Credentials are the process-wide default; organizations and routes
	// may bring their own (see the package documentation).
	Credentials Credentials
	// Host replaces the environment's host for every send (tests,
	// proxies), e.g. an httptest server's URL.
	Host string
	// TLSConfig is the base TLS configuration of every connection (root
	// CAs for tests); cloned, never modified. Default: the system's.
	TLSConfig *tls.Config
	// Timeout caps one push, connection included; default 30 s.
	Timeout time.Duration
	// Clock tells the time (expirations); default the system clock.
	Clock herald.Clock
	// Logger receives debug notes, never secrets or device tokens; default
	// discards.
	Logger *slog.Logger
}

// Vendor is the APNs vendor. Create it with New; it is safe for concurrent
// use.
type Vendor struct {
	name    string
	def     Credentials
	host    string
	tls     *tls.Config
	timeout time.Duration
	clock   herald.Clock
	log     *slog.Logger

	mu      sync.RWMutex
	clients map[[32]byte]*client
}

// New returns a vendor configured by opts. It fails on a malformed Host or
// an unknown Credentials.Environment; keys and certificates are checked
// when first used.
func New(opts Options) (*Vendor, error) {
	v := &Vendor{
		name: opts.Name, def: opts.Credentials, host: strings.TrimRight(opts.Host, "/"),
		timeout: opts.Timeout, clock: opts.Clock, log: opts.Logger,
		clients: map[[32]byte]*client{},
	}
	if opts.TLSConfig != nil {
		v.tls = opts.TLSConfig.Clone()
	}
	if v.name == "" {
		v.name = Name
	}
	if v.host != "" {
		u, err := url.Parse(v.host)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("apns: host %q must be an https URL without a path: %w", opts.Host, herald.ErrConfig)
		}
	}
	if !opts.Credentials.knownEnvironment() {
		return nil, fmt.Errorf("apns: environment %q must be %q or %q: %w", opts.Credentials.Environment,
			EnvironmentProduction, EnvironmentSandbox, herald.ErrConfig)
	}
	if v.timeout <= 0 {
		v.timeout = 30 * time.Second
	}
	if v.clock == nil {
		v.clock = herald.SystemClock{}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// Metadata describes the vendor: the apns channel, per-organization
// configuration, no idempotent sends (APNs does not deduplicate).
func (v *Vendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{
		Name:              v.name,
		DisplayName:       "Apple Push Notification service",
		Channels:          []herald.Channel{herald.ChannelAPNs},
		SupportsOrgConfig: true,
	}
}

// Close closes the idle connections of every cached client. The vendor
// stays usable: later sends reconnect.
func (v *Vendor) Close() error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, c := range v.clients {
		c.hc.CloseIdleConnections()
	}
	return nil
}

// hostFor returns the host pushes with c go to.
func (v *Vendor) hostFor(c Credentials) string {
	if v.host != "" {
		return v.host
	}
	if c.Environment == EnvironmentSandbox {
		return HostSandbox
	}
	return HostProduction
}

// client returns the cached client of c, creating it on first use.
func (v *Vendor) client(c Credentials) (*client, error) {
	host := v.hostFor(c)
	key := c.digest(host)
	v.mu.RLock()
	cl := v.clients[key]
	v.mu.RUnlock()
	if cl != nil {
		return cl, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if cl := v.clients[key]; cl != nil {
		return cl, nil
	}
	tok, cert, err := c.parse()
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if v.tls != nil {
		tlsCfg = v.tls.Clone()
	}
	if cert != nil {
		tlsCfg.Certificates = []tls.Certificate{*cert}
	}
	// apns2's own transport dials without the request's context; this one
	// dials with it, with apns2's health checks.
	cl = &client{
		hc: &http.Client{
			Transport: &http2.Transport{TLSClientConfig: tlsCfg, ReadIdleTimeout: apns2.ReadIdleTimeout, PingTimeout: 15 * time.Second},
			Timeout:   v.timeout,
		},
		token:  tok,
		device: host + "/3/device/",
	}
	v.clients[key] = cl
	v.log.Debug("apns: new client", "host", host, "auth", c.kind())
	return cl, nil
}

// Send pushes one notification; see the package documentation.
func (v *Vendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if err := vendorhttp.CheckSend(ctx, v.name, req); err != nil {
		return nil, err
	}
	creds := v.credentials(req.Organization, req.Route)
	if !creds.usable() {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth, Code: CodeNotConfigured,
			Message: "no APNs credentials (auth_key with key_id and team_id, or certificate)", Err: herald.ErrConfig}
	}
	if !creds.knownEnvironment() {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth, Code: CodeNotConfigured,
			Message: fmt.Sprintf("environment must be %q or %q", EnvironmentProduction, EnvironmentSandbox), Err: herald.ErrConfig}
	}
	cl, err := v.client(creds)
	if err != nil {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth, Code: CodeNotConfigured,
			Message: "unusable APNs credentials", Err: err}
	}
	n, verr := v.notification(req, creds)
	if verr != nil {
		return nil, verr
	}

	res, sent, err := cl.push(ctx, n)
	if err != nil {
		class, msg := herald.ClassTemporary, "push not sent"
		if sent {
			class, msg = herald.ClassMaybeDelivered, "push sent, no answer"
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return nil, &herald.VendorError{Vendor: v.name, Class: class, Message: msg, Err: vendorhttp.RedactURL("apns", err)}
	}
	if res.StatusCode == http.StatusOK {
		id := res.ApnsID
		if id == "" {
			id = n.ApnsID
		}
		return &herald.SendResult{VendorMessageID: id, Status: herald.StatusSent}, nil
	}
	if res.Reason == apns2.ReasonExpiredProviderToken {
		cl.renewToken() // the next push signs a fresh token
	}
	return nil, v.responseError(res)
}

// responseError turns a rejection into a classified VendorError.
func (v *Vendor) responseError(res *apns2.Response) *herald.VendorError {
	code := res.Reason
	if code == "" {
		code = strconv.Itoa(res.StatusCode)
	}
	msg := res.Reason
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	if d, ok := descriptions[res.Reason]; ok {
		msg = res.Reason + ": " + d
	}
	if !res.Timestamp.IsZero() {
		msg += "; token invalid since " + res.Timestamp.UTC().Format(time.RFC3339)
	}
	return &herald.VendorError{Vendor: v.name, Class: Classify(res.StatusCode, res.Reason), Code: code,
		Message: msg, HTTPStatus: res.StatusCode}
}

// localError is a refusal decided before any request.
func (v *Vendor) localError(class herald.ErrorClass, code, msg string) *herald.VendorError {
	return &herald.VendorError{Vendor: v.name, Class: class, Code: code, Message: msg + " (not sent)",
		Err: herald.ErrInvalidInput}
}

// option returns the route's Extra value for key, else the message's Meta.
func option(req *herald.SendRequest, key string) string {
	if req.Route != nil {
		if s, ok := req.Route.Extra[key]; ok {
			return s
		}
	}
	return req.Message.Meta[key]
}

// pushTypes are the apns-push-type values accepted.
var pushTypes = map[string]apns2.EPushType{
	"alert": apns2.PushTypeAlert, "background": apns2.PushTypeBackground, "voip": apns2.PushTypeVOIP,
	"location": apns2.PushTypeLocation, "complication": apns2.PushTypeComplication,
	"fileprovider": apns2.PushTypeFileProvider, "mdm": apns2.PushTypeMDM,
	"liveactivity": apns2.PushTypeLiveActivity, "pushtotalk": apns2.PushTypePushToTalk,
}

// notification builds the apns2 notification of req.
func (v *Vendor) notification(req *herald.SendRequest, c Credentials) (*apns2.Notification, *herald.VendorError) {
	m := req.Message
	tok := m.To
	if req.Device != nil && req.Device.Token != "" {
		tok = req.Device.Token
	}
	if !validToken(tok) {
		return nil, v.localError(herald.ClassGone, apns2.ReasonBadDeviceToken, "malformed device token: APNs tokens are hex")
	}
	pt := apns2.PushTypeAlert
	if s := option(req, MetaPushType); s != "" {
		t, ok := pushTypes[s]
		if !ok {
			return nil, v.localError(herald.ClassPermanent, apns2.ReasonInvalidPushType, fmt.Sprintf("unknown push type %q", s))
		}
		pt = t
	} else if m.Subject == "" && m.Body == "" {
		pt = apns2.PushTypeBackground
	}

	a := apsFields{badge: -1, threadID: option(req, MetaThreadID)}
	if pt == apns2.PushTypeBackground {
		a.contentAvailable = true
	} else {
		a.title, a.body = m.Subject, m.Body
		if s := option(req, MetaBadge); s != "" {
			b, err := strconv.Atoi(s)
			if err != nil || b < 0 {
				return nil, v.localError(herald.ClassPermanent, CodeBadOption, "badge must be a non-negative integer")
			}
			a.badge = b
		}
		a.sound = option(req, MetaSound)
		a.category = option(req, MetaCategory)
		a.mutableContent = option(req, MetaMutableContent) == "true"
	}
	if _, ok := m.Data["aps"]; ok {
		return nil, v.localError(herald.ClassPermanent, CodeBadOption, `custom data may not use the key "aps"`)
	}
	body := appendPayload(make([]byte, 0, 128+len(m.Subject)+len(m.Body)), &a, m.Data)
	limit := MaxPayload
	if pt == apns2.PushTypeVOIP {
		limit = MaxVoIPPayload
	}
	if len(body) > limit {
		return nil, v.localError(herald.ClassPermanent, apns2.ReasonPayloadTooLarge,
			fmt.Sprintf("payload is %d bytes, at most %d", len(body), limit))
	}

	n := &apns2.Notification{
		ApnsID: apnsID(m.ID), DeviceToken: tok, Topic: c.Topic, PushType: pt, Payload: body,
		CollapseID: option(req, MetaCollapseID), Priority: apns2.PriorityHigh,
	}
	if len(n.CollapseID) > MaxCollapseID {
		return nil, v.localError(herald.ClassPermanent, apns2.ReasonBadCollapseID,
			fmt.Sprintf("collapse ID is %d bytes, at most %d", len(n.CollapseID), MaxCollapseID))
	}
	if pt == apns2.PushTypeVOIP && n.Topic != "" && !strings.HasSuffix(n.Topic, ".voip") {
		n.Topic += ".voip"
	}
	if pt == apns2.PushTypeBackground {
		n.Priority = apns2.PriorityLow
	} else {
		switch m.Urgency {
		case herald.UrgencyLow, herald.UrgencyVeryLow:
			n.Priority = apns2.PriorityLow
		}
	}
	now := v.clock.Now()
	var exp time.Time
	if m.TTL > 0 {
		exp = now.Add(m.TTL)
	}
	if !m.SendBefore.IsZero() && (exp.IsZero() || m.SendBefore.Before(exp)) {
		exp = m.SendBefore
	}
	if !exp.IsZero() {
		if !exp.After(now) {
			return nil, v.localError(herald.ClassPermanent, apns2.ReasonBadExpirationDate, "the message expired before it was sent")
		}
		// Whole seconds, rounded up: a TTL under a second still stores.
		n.Expiration = time.Unix((exp.UnixNano()+int64(time.Second)-1)/int64(time.Second), 0)
	}
	return n, nil
}

// validToken reports whether tok is a plausible APNs device token: hex, of
// even length, at most MaxTokenLen characters. It keeps anything that could
// change the request path out of the URL.
func validToken(tok string) bool {
	if tok == "" || len(tok) > MaxTokenLen || len(tok)%2 != 0 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		b := tok[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F') {
			return false
		}
	}
	return true
}

// apnsID derives a canonical UUID (version 4 layout) from a message ID, so
// every attempt of a message carries the same apns-id.
func apnsID(msgID string) string {
	var b [16]byte
	if msgID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("herald-apns-id:" + msgID))
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
