package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the fake implements the vendor interface and every
// optional capability.
var (
	_ herald.Vendor                 = (*Vendor)(nil)
	_ herald.WebhookHandler         = (*Vendor)(nil)
	_ herald.ContactLookup          = (*Vendor)(nil)
	_ herald.FreeContactLookup      = (*Vendor)(nil)
	_ herald.NumberInventory        = (*Vendor)(nil)
	_ herald.MessagingServices      = (*Vendor)(nil)
	_ herald.MessagingServiceFinder = (*Vendor)(nil)
	_ herald.CostReporter           = (*Vendor)(nil)
	_ herald.ErrorDescriber         = (*Vendor)(nil)
	_ herald.OrgConfigurer          = (*Vendor)(nil)
	_ herald.BatchSender            = (*Vendor)(nil)
)

// DefaultName is the vendor name when Options.Name is empty.
const DefaultName = "fake"

// Carrier is the carrier the fake reports for every number.
const Carrier = "FakeCarrier"

// PictureURL is the media URL of the PNG an "autorespondPicture" reply
// carries.
const PictureURL = "https://fake.example.com/media/autorespond.png"

// Options configures a fake vendor. The zero value is usable.
type Options struct {
	// Name is the vendor's registry name, a lower-case token; default
	// DefaultName ("fake"). Give two fakes different names to register both.
	Name string
	// Channels the vendor sends on; default all six herald channels.
	Channels []herald.Channel
	// Clock stamps reports, replies, lookups and numbers; default the
	// system clock. ReportDelay is always real time.
	Clock herald.Clock
	// ReportDelay is how long after an accepted send its delivery report
	// (and reply) is delivered; zero means at once, in the background.
	ReportDelay time.Duration
	// WebhookSecret signs and verifies webhook bodies for organizations
	// without their own VendorConfig[Name]["secret"].
	WebhookSecret string
	// HTTPClient posts webhooks when no sink is connected; default a client
	// with a 10 s timeout.
	HTTPClient *http.Client
	// RequireOrgConfig makes FullyConfigured false, and Send fail with
	// class auth, for an organization without both "account" and "secret"
	// in its VendorConfig[Name] (or in Route.Credentials for a send).
	RequireOrgConfig bool
	// RetryAfter is the RetryAfter of rate-limited errors (codes 429 and
	// 20429); default 1 s.
	RetryAfter time.Duration
	// Logger receives delivery failures and debug notes; default discards.
	Logger *slog.Logger
	// Quiet makes accepted sends produce no delivery report or reply and
	// keeps no copy of them (Sends stays empty; Calls and Accepted still
	// work): for benchmarks and long runs where memory must stay flat.
	Quiet bool
}

// Sent is one accepted (not deduplicated) send, as Send saw it.
type Sent struct {
	// Request is a deep copy of the request Send was given.
	Request *herald.SendRequest
	// Result is what Send returned.
	Result herald.SendResult
	// At is the Clock's time of the send.
	At time.Time
}

// keyState is what the fake remembers about one idempotency key.
type keyState struct {
	calls    int
	accepted bool
	result   herald.SendResult
}

type sendKey struct{ org, key string }

// orgSeen is what the fake remembers of an organization for the Report and
// Inbound helpers: its configuration (for the webhook secret) and the last
// status callback URL a send carried.
type orgSeen struct {
	org         *herald.Organization
	callbackURL string
}

// Vendor is the fake vendor. Create it with New; it is safe for concurrent
// use.
type Vendor struct {
	name       string
	channels   []herald.Channel
	clock      herald.Clock
	delay      time.Duration
	secret     string
	client     *http.Client
	requireCfg bool
	retryAfter time.Duration
	quiet      bool
	log        *slog.Logger
	tag        string // random per instance, keeps IDs unique across fakes

	mu        sync.Mutex
	idle      *sync.Cond // signalled when pending drops to zero
	seq       uint64
	sink      Sink
	keys      map[sendKey]*keyState
	calls     map[string]int
	batches   []int // sizes of SendBatch calls
	sends     []Sent
	reports   []herald.DeliveryReport
	inbound   []herald.InboundMessage
	pending   int
	delivErrs []error
	orgs      map[string]*orgSeen

	lookups     int
	lookupsBy   map[string]int
	freeLookups int

	numbers    map[string]map[string]*herald.OwnedNumber // org → vendorID → number
	areaSeq    map[string]int                            // country/area → next subscriber index
	services   map[string]map[string]*service            // org → service ID → service
	numService map[string]string                         // number vendorID → service ID
}

// AllChannels returns the six channels herald ships drivers for, the
// default of Options.Channels.
func AllChannels() []herald.Channel {
	return []herald.Channel{
		herald.ChannelSMS, herald.ChannelMMS, herald.ChannelEmail,
		herald.ChannelWebPush, herald.ChannelAPNs, herald.ChannelFCM,
	}
}

// New returns a fake vendor configured by opts.
func New(opts Options) *Vendor {
	v := &Vendor{
		name:       opts.Name,
		channels:   slices.Clone(opts.Channels),
		clock:      opts.Clock,
		delay:      opts.ReportDelay,
		secret:     opts.WebhookSecret,
		client:     opts.HTTPClient,
		requireCfg: opts.RequireOrgConfig,
		retryAfter: opts.RetryAfter,
		quiet:      opts.Quiet,
		log:        opts.Logger,
		keys:       map[sendKey]*keyState{},
		calls:      map[string]int{},
		orgs:       map[string]*orgSeen{},
		lookupsBy:  map[string]int{},
		numbers:    map[string]map[string]*herald.OwnedNumber{},
		areaSeq:    map[string]int{},
		services:   map[string]map[string]*service{},
		numService: map[string]string{},
	}
	if v.name == "" {
		v.name = DefaultName
	}
	if len(v.channels) == 0 {
		v.channels = AllChannels()
	}
	if v.clock == nil {
		v.clock = herald.SystemClock{}
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	if v.retryAfter <= 0 {
		v.retryAfter = defaultRetryAfter
	}
	if v.log == nil {
		v.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	v.tag = hex.EncodeToString(b[:])
	v.idle = sync.NewCond(&v.mu)
	return v
}

// Metadata describes the fake: the configured name and channels,
// SupportsOrgConfig and IdempotentSend true.
func (v *Vendor) Metadata() herald.VendorMetadata {
	dn := "Fake vendor"
	if v.name != DefaultName {
		dn += " (" + v.name + ")"
	}
	return herald.VendorMetadata{
		Name:              v.name,
		DisplayName:       dn,
		Channels:          slices.Clone(v.channels),
		SupportsOrgConfig: true,
		IdempotentSend:    true,
	}
}

var (
	errorWord = regexp.MustCompile(`error(\d+)`)
	flakyWord = regexp.MustCompile(`flaky(\d+)`)
)

// Send accepts or refuses the message as its body says (see the package
// documentation). It checks ctx first: a context that has ended yields a
// maybe-delivered VendorError wrapping ctx.Err().
func (v *Vendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary,
			Message: "context ended before the request was made", Err: err}
	}
	if req == nil || req.Message == nil {
		return nil, v.vendorError("400", herald.ClassPermanent,
			fmt.Errorf("fake: send request without a message: %w", herald.ErrInvalidInput))
	}
	msg := req.Message
	route := req.Route
	if route == nil {
		route = &herald.Route{}
	}
	if !slices.Contains(v.channels, msg.Channel) {
		return nil, v.vendorError("400", herald.ClassPermanent,
			fmt.Errorf("fake: channel %q: %w", msg.Channel, herald.ErrUnsupported))
	}
	if msg.To == "" {
		return nil, v.vendorError("21211", herald.ClassInvalidAddress,
			fmt.Errorf("fake: empty To: %w", herald.ErrInvalidInput))
	}
	if err := v.checkCredentials(req.Organization, route); err != nil {
		return nil, err
	}

	orgID := msg.OrgID
	if orgID == "" && req.Organization != nil {
		orgID = req.Organization.ID
	}
	from := route.From
	if from == "" {
		from = msg.From
	}
	now := v.clock.Now()

	v.mu.Lock()
	v.calls[msg.IdempotencyKey]++
	var ks *keyState
	if msg.IdempotencyKey != "" {
		k := sendKey{orgID, msg.IdempotencyKey}
		ks = v.keys[k]
		if ks == nil {
			ks = &keyState{}
			v.keys[k] = ks
		}
	} else {
		ks = &keyState{}
	}
	ks.calls++
	if ks.accepted {
		res := ks.result
		v.mu.Unlock()
		return &res, nil
	}
	if m := flakyWord.FindStringSubmatch(msg.Body); m != nil && ks.calls == 1 {
		v.mu.Unlock()
		return nil, v.failure(m[1])
	}
	failCode := ""
	if m := errorWord.FindStringSubmatch(msg.Body); m != nil {
		if class, ok := Classify(m[1]); ok {
			v.mu.Unlock()
			return nil, v.vendorError(m[1], class, nil)
		}
		failCode = m[1]
	}

	v.seq++
	res := herald.SendResult{
		VendorMessageID:    v.idLocked("FAKE"),
		Status:             herald.StatusSent,
		From:               from,
		MessagingServiceID: route.MessagingServiceID,
		Segments:           segments(msg, route),
	}
	ks.accepted = true
	ks.result = res
	if v.quiet {
		v.mu.Unlock()
		return &res, nil
	}
	v.sends = append(v.sends, Sent{Request: cloneRequest(req), Result: res, At: now})
	seen := v.orgs[orgID]
	if seen == nil {
		seen = &orgSeen{}
		v.orgs[orgID] = seen
	}
	if req.Organization != nil {
		seen.org = req.Organization.Clone()
	}
	if req.StatusCallbackURL != "" {
		seen.callbackURL = req.StatusCallbackURL
	}

	report := herald.DeliveryReport{
		OrgID:              orgID,
		Vendor:             v.name,
		EventID:            v.nextIDLocked("EV"),
		VendorMessageID:    res.VendorMessageID,
		Status:             herald.StatusDelivered,
		From:               from,
		To:                 msg.To,
		MessagingServiceID: route.MessagingServiceID,
		Carrier:            Carrier,
		Raw:                map[string]string{"fake_status": "delivered"},
	}
	if failCode != "" {
		report.Status = herald.StatusFailed
		report.ErrorCode = failCode
		report.Landline = failCode == CodeLandline
		report.Raw["fake_status"] = "failed"
	}
	var reply *herald.InboundMessage
	if strings.Contains(msg.Body, "autorespond") {
		ch := msg.Channel
		if ch == "" {
			ch = herald.ChannelSMS
		}
		reply = &herald.InboundMessage{
			OrgID:              orgID,
			Vendor:             v.name,
			EventID:            v.nextIDLocked("IN"),
			Channel:            ch,
			From:               msg.To,
			To:                 from,
			MessagingServiceID: route.MessagingServiceID,
			Body:               "responding to " + msg.Body,
		}
		if strings.Contains(msg.Body, "autorespondPicture") {
			reply.Media = []string{PictureURL}
		}
	}
	d := &delivery{org: req.Organization.Clone(), callbackURL: req.StatusCallbackURL, report: &report, reply: reply}
	v.startLocked(ctx, d)
	v.mu.Unlock()
	return &res, nil
}

// failure is the synchronous error of a code, or nil when the code is not
// in the class table (a flaky code outside the table fails as permanent).
func (v *Vendor) failure(code string) error {
	class, ok := Classify(code)
	if !ok {
		class = herald.ClassPermanent
	}
	return v.vendorError(code, class, nil)
}

// checkCredentials applies RequireOrgConfig and the "invalid" account rule
// to a send. Route.Credentials, when set, replace the organization's.
func (v *Vendor) checkCredentials(org *herald.Organization, route *herald.Route) error {
	cfg := route.Credentials
	if len(cfg) == 0 {
		cfg = v.orgConfig(org)
	}
	if strings.Contains(cfg["account"], "invalid") {
		return v.vendorError(CodeAuth, herald.ClassAuth, fmt.Errorf("fake: account refused: %w", herald.ErrConfig))
	}
	if v.requireCfg && (cfg["account"] == "" || cfg["secret"] == "") {
		return v.vendorError(CodeAuth, herald.ClassAuth, fmt.Errorf("fake: organization not configured: %w", herald.ErrConfig))
	}
	return nil
}

// orgConfig returns the organization's configuration for this vendor, or
// nil.
func (v *Vendor) orgConfig(org *herald.Organization) map[string]string {
	if org == nil {
		return nil
	}
	return org.VendorConfig[v.name]
}

// nextIDLocked returns a fresh ID with the prefix; v.mu must be held.
func (v *Vendor) nextIDLocked(prefix string) string {
	v.seq++
	return v.idLocked(prefix)
}

// idLocked formats prefix, the vendor's tag and the current sequence number
// zero-padded to 8 digits; v.mu must be held.
func (v *Vendor) idLocked(prefix string) string {
	buf := make([]byte, 0, len(prefix)+len(v.tag)+20)
	buf = append(buf, prefix...)
	buf = append(buf, v.tag...)
	var nb [20]byte
	n := strconv.AppendUint(nb[:0], v.seq, 10)
	for i := len(n); i < 8; i++ {
		buf = append(buf, '0')
	}
	return string(append(buf, n...))
}

// segments approximates the billable parts: SMS 160 characters in one
// segment, else 153 per segment; MMS (channel mms, ForceMMS or media) one.
func segments(m *herald.Message, r *herald.Route) int {
	switch {
	case m.Channel == herald.ChannelMMS || (m.Channel == herald.ChannelSMS && (r.ForceMMS || len(m.Media) > 0)):
		return 1
	case m.Channel == herald.ChannelSMS:
		n := utf8.RuneCountInString(m.Body)
		if n <= 160 {
			return 1
		}
		return (n + 152) / 153
	}
	return 0
}

// cloneRequest deep-copies a send request.
func cloneRequest(r *herald.SendRequest) *herald.SendRequest {
	c := *r
	c.Message = r.Message.Clone()
	c.Contact = r.Contact.Clone()
	c.Organization = r.Organization.Clone()
	c.Campaign = r.Campaign.Clone()
	if r.Route != nil {
		rt := *r.Route
		rt.Credentials = maps.Clone(r.Route.Credentials)
		rt.Extra = maps.Clone(r.Route.Extra)
		c.Route = &rt
	}
	if r.Device != nil {
		d := *r.Device
		c.Device = &d
	}
	return &c
}

func cloneSent(s Sent) Sent {
	s.Request = cloneRequest(s.Request)
	return s
}

// Sends returns the accepted sends in order, one per distinct send:
// deduplicated repeats and failed calls are not in it. The requests are
// copies.
func (v *Vendor) Sends() []Sent {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]Sent, len(v.sends))
	for i, s := range v.sends {
		out[i] = cloneSent(s)
	}
	return out
}

// Calls returns how many times Send was called with the idempotency key,
// in every organization, including failed and deduplicated calls (but not
// calls refused before the key was looked at: an ended context, a bad
// request or refused credentials).
func (v *Vendor) Calls(key string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls[key]
}

// Accepted reports whether a send with the idempotency key was accepted, in
// any organization.
func (v *Vendor) Accepted(key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, s := range v.keys {
		if k.key == key && s.accepted {
			return true
		}
	}
	return false
}

// Reports returns every delivery report the fake produced or was handed
// through Report, in order, whether or not it could be delivered.
func (v *Vendor) Reports() []herald.DeliveryReport {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]herald.DeliveryReport, len(v.reports))
	for i, r := range v.reports {
		r.Raw = maps.Clone(r.Raw)
		out[i] = r
	}
	return out
}

// InboundMessages returns every inbound message the fake produced or was
// handed through Inbound, in order, whether or not it could be delivered.
func (v *Vendor) InboundMessages() []herald.InboundMessage {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]herald.InboundMessage, len(v.inbound))
	for i, m := range v.inbound {
		m.Media = slices.Clone(m.Media)
		m.Raw = maps.Clone(m.Raw)
		out[i] = m
	}
	return out
}

// DeliveryErrors returns the errors of asynchronous deliveries (the sink's
// errors, failed webhook posts), in order.
func (v *Vendor) DeliveryErrors() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.delivErrs)
}

// errNoSecret is returned when a webhook must be signed or verified and no
// secret is configured.
var errNoSecret = errors.New("fake: no webhook secret configured")

// MaxBatchSize is the most requests one SendBatch call takes.
const MaxBatchSize = 100

// MaxBatch returns MaxBatchSize.
func (v *Vendor) MaxBatch() int { return MaxBatchSize }

// SendBatch sends each request as Send would, in one call: the outcomes
// are in request order, and the magic words work per request. A batch
// larger than MaxBatchSize, or an ended context, fails as a whole.
func (v *Vendor) SendBatch(ctx context.Context, reqs []*herald.SendRequest) ([]herald.BatchOutcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary,
			Message: "context ended before the request was made", Err: err}
	}
	if len(reqs) > MaxBatchSize {
		return nil, v.vendorError("400", herald.ClassPermanent,
			fmt.Errorf("fake: batch of %d requests, at most %d: %w", len(reqs), MaxBatchSize, herald.ErrInvalidInput))
	}
	v.mu.Lock()
	v.batches = append(v.batches, len(reqs))
	v.mu.Unlock()
	out := make([]herald.BatchOutcome, len(reqs))
	for i, r := range reqs {
		out[i].Result, out[i].Err = v.Send(ctx, r)
	}
	return out, nil
}

// Batches returns the size of each SendBatch call so far, in order.
func (v *Vendor) Batches() []int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.batches)
}
