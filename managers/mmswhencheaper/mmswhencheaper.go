// Package mmswhencheaper is the MMS-when-cheaper service manager (Spoke's
// mms-when-cheaper, registry name "mms-when-cheaper"): it sends a long SMS
// as one MMS when that costs less than its segments.
//
// # What it does
//
// OnMessageSend (its only hook) counts the segments of an sms message's
// Body with [sms.Count] (GSM-7 or UCS-2, 160/153 or 70/67, Twilio's rules)
// and sets Route.ForceMMS when the count is strictly greater than the
// MMS/SMS price ratio, the price of one MMS over the price of one SMS
// segment. Strictly: at a tie the SMS goes as SMS, because MMS has lower
// rate limits. With Twilio's list prices
// (0.02/0.0075 ≈ 2.67) a body of 3 segments or more goes as MMS; with a
// ratio of 3.75 (Bandwidth's list prices), 4 or more.
//
// It leaves the route alone when the message is not on the sms channel (an
// mms is MMS already; email and push have no segments), when an earlier
// manager already set ForceMMS, and when no ratio is known.
//
// # Where the ratio comes from
//
//  1. The organization feature COST_RATIO_MMS_SMS ([FeatureCostRatio]): a
//     positive decimal number such as "2.5". A value that is not a
//     positive number is ignored (logged at warn level) and the next
//     source is used.
//  2. The vendor's prices: when the message's vendor implements
//     herald.CostReporter (vendors/fake and Twilio do), its CostData for
//     the organization and the route's sending number (Route.From, as the
//     number pickers left it; Spoke read a misspelled key here and never
//     passed the number) gives MMSMessage/SMSSegment. The vendor is the
//     route's (Route.Vendor, through Env.Vendors) when a manager chose one,
//     else Env.Vendor. The answer is cached in the Manager (never in a
//     package global) per organization, vendor and sending number for
//     Options.CacheTTL (default ten minutes); a failed call is logged, the
//     message goes as it is, and the failure is cached for
//     Options.ErrorTTL (default one minute) so a failing vendor is not
//     asked once per message.
//  3. Otherwise it does nothing: without a ratio it cannot tell which is
//     cheaper, and it never guesses.
//
// # Cost
//
// The manager buys nothing, but it changes what each long message is
// billed as, so its metadata says CanSpendMoney with OnMessageSend as the
// operation, as Spoke's does. With a correct ratio it only ever lowers the
// bill; a wrong COST_RATIO_MMS_SMS can raise it. Only vendors that honour
// Route.ForceMMS change anything (vendors/twilio sends such a message as
// MMS, vendors/fake bills it as one); others ignore it, as Spoke's
// Bandwidth driver did. CostData is a vendor call on a cache miss.
//
// # Order
//
// Run it after the managers that choose the sending number, so that the
// prices asked for are those of the number the message goes out from. Its
// metadata declares RunsAfter "sticky-sender" and "numpicker-basic"
// ([DefaultRunsAfter]; Options.RunsAfter replaces the list), so the
// dispatcher refuses an enabled list that puts it before either of them
// with herald.ErrConfig. Managers that edit the Body (a smart-encoding or
// templating manager) should run before it too, so it counts what is
// sent.
package mmswhencheaper

import (
	"context"
	"io"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/sms"
)

// Compile-time checks: the hooks the manager implements.
var (
	_ herald.ServiceManager  = (*Manager)(nil)
	_ herald.MessageSendHook = (*Manager)(nil)
)

// Name is the manager's default name, the key in enabled lists.
const Name = "mms-when-cheaper"

// FeatureCostRatio is the organization feature that sets the MMS/SMS price
// ratio (the price of one MMS over the price of one SMS segment), a
// positive decimal number. It wins over the vendor's cost data.
const FeatureCostRatio = "COST_RATIO_MMS_SMS"

// Defaults of Options.
const (
	DefaultCacheTTL = 10 * time.Minute
	DefaultErrorTTL = time.Minute
)

// The managers this one runs after by default: the shipped sticky-sender
// and number picker, which choose the sending number.
const (
	StickySenderName = "sticky-sender"
	NumPickerName    = "numpicker-basic"
)

// DefaultRunsAfter returns the default of Options.RunsAfter:
// StickySenderName and NumPickerName.
func DefaultRunsAfter() []string { return []string{StickySenderName, NumPickerName} }

// maxCached bounds the cost cache; past it the cache starts over.
const maxCached = 1 << 14

// Options configures the manager. The zero value is the default manager.
type Options struct {
	// Name replaces the manager's name (default Name).
	Name string
	// CacheTTL is how long the ratio from a vendor's cost data is kept per
	// organization, vendor and sending number. Zero means DefaultCacheTTL;
	// a negative value asks the vendor for every message.
	CacheTTL time.Duration
	// ErrorTTL is how long a failed cost data call is remembered, during
	// which the vendor is not asked again for that key and messages go as
	// they are. Zero means DefaultErrorTTL; negative, not remembered.
	ErrorTTL time.Duration
	// RunsAfter names the managers this one must follow when both are
	// enabled; nil means DefaultRunsAfter().
	RunsAfter []string
}

// Manager is the MMS-when-cheaper manager. It is safe for concurrent use
// and may serve many organizations and dispatchers.
type Manager struct {
	opts Options

	mu    sync.RWMutex
	cache map[costKey]costEntry
}

type costKey struct {
	org    string
	vendor any
	from   string
}

// costEntry is a cached answer: the ratio, or ok false for a failed or
// unusable answer, until expires.
type costEntry struct {
	ratio   float64
	ok      bool
	expires time.Time
}

// New returns the manager with the default options.
func New() *Manager { return NewWithOptions(Options{}) }

// NewWithOptions returns a manager configured by opts.
func NewWithOptions(opts Options) *Manager {
	if opts.Name == "" {
		opts.Name = Name
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.ErrorTTL == 0 {
		opts.ErrorTTL = DefaultErrorTTL
	}
	if opts.RunsAfter == nil {
		opts.RunsAfter = DefaultRunsAfter()
	} else {
		opts.RunsAfter = slices.Clone(opts.RunsAfter)
	}
	return &Manager{opts: opts, cache: map[costKey]costEntry{}}
}

// Metadata describes the manager: no settings screens, money (it changes
// how messages are billed), and its order after the number pickers.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:        m.opts.Name,
		DisplayName: "MMS when cheaper",
		Description: "Sends an SMS as one MMS when its segments cost more than an MMS " +
			"(organization feature " + FeatureCostRatio + ", else the vendor's prices).",
		CanSpendMoney:           true,
		MoneySpendingOperations: []string{"OnMessageSend"},
		RunsAfter:               slices.Clone(m.opts.RunsAfter),
	}
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// OnMessageSend sets ev.Route.ForceMMS when the sms message's segment count
// is strictly greater than the MMS/SMS price ratio. It never fails a send:
// a vendor that cannot give prices is logged and the message goes as it
// is. See the package doc for where the ratio comes from.
func (m *Manager) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	if ev.Message == nil || ev.Route == nil || ev.Route.ForceMMS || ev.Message.Channel != herald.ChannelSMS {
		return nil
	}
	_, segments := sms.Count(ev.Message.Body)
	ratio, ok := m.ratio(ctx, ev)
	if !ok || float64(segments) <= ratio {
		return nil
	}
	ev.Route.ForceMMS = true
	if log := logger(ev.Env); log.Enabled(ctx, slog.LevelDebug) { // spare the hot path the boxing
		log.DebugContext(ctx, "mms-when-cheaper: sending as MMS",
			"message", ev.Message.ID, "segments", segments, "ratio", ratio)
	}
	return nil
}

func (m *Manager) ratio(ctx context.Context, ev *herald.MessageSendEvent) (float64, bool) {
	org := ev.Organization
	if v, set := org.Feature(FeatureCostRatio); set {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err == nil && r > 0 && !math.IsInf(r, 0) {
			return r, true
		}
		logger(ev.Env).WarnContext(ctx, "mms-when-cheaper: ignoring "+FeatureCostRatio+": not a positive number",
			"org", orgID(ev), "value", v)
	}

	vendor := ev.Env.Vendor
	if ev.Route.Vendor != "" && ev.Env.Vendors != nil {
		// A manager chose the vendor after Env.Vendor was resolved.
		if v, found := ev.Env.Vendors(ev.Route.Vendor); found {
			vendor = v
		}
	}
	if vendor == nil {
		return 0, false
	}
	reporter, ok := vendor.(herald.CostReporter)
	if !ok {
		return 0, false
	}
	key := costKey{org: orgID(ev), vendor: vendorKey(vendor), from: ev.Route.From}
	at := now(ev.Env)
	if m.opts.CacheTTL > 0 || m.opts.ErrorTTL > 0 {
		m.mu.RLock()
		e, hit := m.cache[key]
		m.mu.RUnlock()
		if hit && at.Before(e.expires) {
			return e.ratio, e.ok
		}
	}

	e := costEntry{}
	ttl := m.opts.ErrorTTL
	cost, err := reporter.CostData(ctx, org, ev.Route.From)
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return 0, false // the send is being abandoned; remember nothing
		}
		logger(ev.Env).WarnContext(ctx, "mms-when-cheaper: vendor cost data failed; sending as is",
			"org", key.org, "vendor", vendor.Metadata().Name, "error", err)
	case cost == nil || !(cost.SMSSegment > 0) || !(cost.MMSMessage > 0) ||
		math.IsInf(cost.SMSSegment, 0) || math.IsInf(cost.MMSMessage, 0):
		logger(ev.Env).WarnContext(ctx, "mms-when-cheaper: vendor cost data has no usable prices; sending as is",
			"org", key.org, "vendor", vendor.Metadata().Name)
	default:
		e.ratio, e.ok = cost.MMSMessage/cost.SMSSegment, true
		ttl = m.opts.CacheTTL
	}
	if ttl > 0 {
		e.expires = at.Add(ttl)
		m.mu.Lock()
		if len(m.cache) >= maxCached {
			clear(m.cache)
		}
		m.cache[key] = e
		m.mu.Unlock()
	}
	return e.ratio, e.ok
}

// Forget drops every cached ratio, so that the next message of each
// sending number asks its vendor again (call it after changing prices).
func (m *Manager) Forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.cache)
}

// vendorKey identifies a vendor in the cache: the vendor itself when it is
// a pointer (as vendors are), else its name. The pointer avoids calling
// Metadata, which may allocate, once per message.
func vendorKey(v herald.Vendor) any {
	if reflect.TypeOf(v).Kind() == reflect.Pointer {
		return v
	}
	return v.Metadata().Name
}

func orgID(ev *herald.MessageSendEvent) string {
	if ev.Organization != nil {
		return ev.Organization.ID
	}
	return ev.Message.OrgID
}

func now(env herald.Env) time.Time {
	if env.Clock != nil {
		return env.Clock.Now()
	}
	return time.Now()
}

func logger(env herald.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return discard
}
