// Package numpicker is the number picker service manager (Spoke's
// numpicker-basic, registry name "numpicker-basic"): it chooses the sending
// number of an SMS or MMS when no earlier manager or the host chose one.
//
// # What it does
//
// Hooks: OnMessageSend does the work; OnCampaignStart and OnCampaignArchive
// only drop cached pools (see below) and never refuse anything.
//
// OnMessageSend fills Route.From, and only when it is empty, with one of
// the organization's owned numbers at the route's vendor (Route.Vendor,
// else Env.Vendor) that is not allocated to a campaign or a messaging
// service (NumberStore.ListNumbers with Unallocated). It leaves the route
// alone when:
//
//   - Route.From is already set (by the host, stickysender or another
//     manager): the picker is a fallback;
//   - Route.MessagingServiceID is set: the vendor's sender pool chooses;
//   - the message is not sms or mms;
//   - the organization owns no free number at the vendor: From stays empty
//     and the vendor decides (a debug line is logged).
//
// # Rotation without a scan per message
//
// Spoke ran ORDER BY random() over the number table on every send. This
// manager keeps, per (organization, vendor), an in-memory Pool of the free
// numbers in the Manager instance (never a package global), loaded from the
// store on first use and again when it is older than Options.TTL (default
// one minute), or, when the pool is empty, at most once per
// Options.MissRetry (default five seconds). A reload is done by one caller
// while the others keep using the old pool. The default Picker, Uniform,
// rotates through the pool round robin, so every number takes the same
// share of the traffic. A number allocated or released after a load is seen
// at the next reload; the campaign start and archive hooks (OnCampaignStart,
// OnCampaignArchive) drop the organization's pools, since per-campaign
// messaging services take and give back numbers then, and a host that
// changes numbers at other times calls Manager.Invalidate to have the
// change seen at once.
//
// # Smarter pickers
//
// Options.Picker is the hook point: a [Picker] gets the send event and the
// Pool (all numbers, numbers per area code, round-robin helpers) and
// returns the number to use, or "" for none. [PreferAreaCode] is shipped:
// it picks a number in the contact's area code when the pool has one and
// falls back to another picker otherwise.
//
// # Configuration
//
// Organization features (campaign features with the same key win):
//
//   - NUMPICKER_STRATEGY ([FeatureStrategy]): "uniform" or "area-code"
//     selects a shipped picker for the organization, replacing
//     Options.Picker; unset uses Options.Picker.
//
// # Cost and order
//
// It spends no money: it reads the store, and only on a reload. Run it
// after every manager that sets Route.From on purpose: stickysender
// declares RunsBefore "numpicker-basic", so the dispatcher refuses the
// reverse order with herald.ErrConfig; put per-campaign messaging services
// before it too.
package numpicker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// Compile-time checks: the hooks the picker implements.
var (
	_ herald.ServiceManager      = (*Manager)(nil)
	_ herald.MessageSendHook     = (*Manager)(nil)
	_ herald.CampaignStartHook   = (*Manager)(nil)
	_ herald.CampaignArchiveHook = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists.
const Name = "numpicker-basic"

// FeatureStrategy is the organization (or campaign) feature that selects a
// shipped picker: StrategyUniform or StrategyAreaCode.
const FeatureStrategy = "NUMPICKER_STRATEGY"

// Values of FeatureStrategy.
const (
	StrategyUniform  = "uniform"
	StrategyAreaCode = "area-code"
)

// Defaults of Options.
const (
	DefaultTTL       = time.Minute
	DefaultMissRetry = 5 * time.Second
)

// maxPools bounds the pool cache; past it the cache starts over.
const maxPools = 1 << 14

// Picker chooses a sending number from a pool. It must be safe for
// concurrent use and cheap: it runs for every message the picker fills.
// Returning "" leaves Route.From empty; an error fails the message (wrap
// herald.ErrBlocked to block it instead).
type Picker interface {
	Pick(ctx context.Context, ev *herald.MessageSendEvent, pool *Pool) (string, error)
}

// PickerFunc adapts a function to Picker.
type PickerFunc func(ctx context.Context, ev *herald.MessageSendEvent, pool *Pool) (string, error)

// Pick calls f.
func (f PickerFunc) Pick(ctx context.Context, ev *herald.MessageSendEvent, pool *Pool) (string, error) {
	return f(ctx, ev, pool)
}

// Uniform returns the default picker: round robin over the whole pool.
func Uniform() Picker {
	return PickerFunc(func(_ context.Context, _ *herald.MessageSendEvent, pool *Pool) (string, error) {
		return pool.Next(), nil
	})
}

// PreferAreaCode returns a picker that sends from a number in the
// recipient's area code (round robin among them) when the pool has one,
// and asks fallback otherwise (Uniform when fallback is nil). The area code
// is the national destination code of Message.To, so it works outside the
// NANP too.
func PreferAreaCode(fallback Picker) Picker {
	if fallback == nil {
		fallback = Uniform()
	}
	return PickerFunc(func(ctx context.Context, ev *herald.MessageSendEvent, pool *Pool) (string, error) {
		if area := areaCodeOf(ev.Message.To); area != "" {
			if n, ok := pool.NextInArea(area); ok {
				return n, nil
			}
		}
		return fallback.Pick(ctx, ev, pool)
	})
}

// areaCodeOf returns the area code of an E.164 number, cheaply for NANP
// numbers, "" when it has none or is not a number.
func areaCodeOf(e164 string) string {
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		return e164[2:5]
	}
	area, err := contacts.AreaCode(e164)
	if err != nil {
		return ""
	}
	return area
}

// Pool is a snapshot of an organization's free numbers at one vendor. It
// is read-only once loaded and safe for concurrent use.
type Pool struct {
	// OrgID and Vendor say whose numbers these are.
	OrgID  string
	Vendor string
	// LoadedAt is the Env clock's time of the load.
	LoadedAt time.Time

	numbers []string
	areas   map[string]*area
	next    atomic.Uint64
}

type area struct {
	numbers []string
	next    atomic.Uint64
}

// newPool builds a pool from the store's numbers; the round-robin counters
// start at a random place so that processes sharing a store do not all
// start on the same number.
func newPool(orgID, vendor string, owned []herald.OwnedNumber, at time.Time) *Pool {
	p := &Pool{OrgID: orgID, Vendor: vendor, LoadedAt: at, areas: map[string]*area{}}
	for _, n := range owned {
		if n.Number == "" || n.AllocatedTo != "" {
			continue
		}
		p.numbers = append(p.numbers, n.Number)
		code := n.AreaCode
		if code == "" {
			code = areaCodeOf(n.Number)
		}
		if code == "" {
			continue
		}
		a := p.areas[code]
		if a == nil {
			a = &area{}
			p.areas[code] = a
		}
		a.numbers = append(a.numbers, n.Number)
	}
	if len(p.numbers) > 0 {
		p.next.Store(rand.Uint64N(uint64(len(p.numbers))))
	}
	for _, a := range p.areas {
		a.next.Store(rand.Uint64N(uint64(len(a.numbers))))
	}
	return p
}

// Len is the number of free numbers in the pool.
func (p *Pool) Len() int { return len(p.numbers) }

// Numbers returns a copy of the pool's numbers, ordered by number.
func (p *Pool) Numbers() []string { return append([]string(nil), p.numbers...) }

// AreaCodes returns how many numbers the pool has per area code.
func (p *Pool) AreaCodes() map[string]int {
	out := make(map[string]int, len(p.areas))
	for code, a := range p.areas {
		out[code] = len(a.numbers)
	}
	return out
}

// Next returns the pool's next number, round robin; "" when it is empty.
func (p *Pool) Next() string {
	if len(p.numbers) == 0 {
		return ""
	}
	return p.numbers[(p.next.Add(1)-1)%uint64(len(p.numbers))]
}

// NextInArea returns the next number in the area code, round robin, and
// whether the pool has one there.
func (p *Pool) NextInArea(code string) (string, bool) {
	a := p.areas[code]
	if a == nil || len(a.numbers) == 0 {
		return "", false
	}
	return a.numbers[(a.next.Add(1)-1)%uint64(len(a.numbers))], true
}

// Options configures the picker. The zero value is the uniform picker with
// the default TTLs.
type Options struct {
	// Picker chooses among the pool; default Uniform(). The organization's
	// NUMPICKER_STRATEGY feature, when set to a known value, wins.
	Picker Picker
	// TTL is how long a loaded pool is used before it is reloaded;
	// default DefaultTTL.
	TTL time.Duration
	// MissRetry is how soon an empty pool may be reloaded; default
	// DefaultMissRetry.
	MissRetry time.Duration
}

// Manager is the number picker. Create it with New; it is safe for
// concurrent use and keeps its pools per instance.
type Manager struct {
	opts     Options
	uniform  Picker
	areaCode Picker

	names vendorNames

	mu    sync.RWMutex // guards pools' map shape
	pools map[poolKey]*poolEntry
}

type poolKey struct{ org, vendor string }

// poolEntry holds the current pool and serialises its reloads.
type poolEntry struct {
	cur     atomic.Pointer[Pool]
	loading sync.Mutex
}

// New returns a number picker configured by opts.
func New(opts Options) *Manager {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.MissRetry <= 0 {
		opts.MissRetry = DefaultMissRetry
	}
	m := &Manager{opts: opts, uniform: Uniform(), pools: map[poolKey]*poolEntry{}}
	m.areaCode = PreferAreaCode(m.uniform)
	if m.opts.Picker == nil {
		m.opts.Picker = m.uniform
	}
	return m
}

// Metadata describes the picker: no settings screens, no money spent.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:        Name,
		DisplayName: "Number picker",
		Description: "Fills an SMS/MMS sender that is still empty with one of the organization's free numbers, in rotation.",
	}
}

// Invalidate drops the cached pools of an organization, so the next send
// reloads them (call it after allocating, releasing, buying or deleting
// numbers when the change must be seen before the TTL).
func (m *Manager) Invalidate(orgID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.pools {
		if k.org == orgID {
			delete(m.pools, k)
		}
	}
}

// OnCampaignStart drops the organization's cached pools, since a starting
// campaign may have taken numbers (per-campaign messaging services). It
// never refuses a start.
func (m *Manager) OnCampaignStart(ctx context.Context, ev *herald.CampaignEvent) error {
	if ev.Organization != nil {
		m.Invalidate(ev.Organization.ID)
	}
	return nil
}

// OnCampaignArchive drops the organization's cached pools, since an
// archived campaign may have given its numbers back.
func (m *Manager) OnCampaignArchive(ctx context.Context, ev *herald.CampaignEvent) error {
	if ev.Organization != nil {
		m.Invalidate(ev.Organization.ID)
	}
	return nil
}

// OnMessageSend fills Route.From when it is empty; see the package doc.
// Errors: a store failure on a reload with no usable cached pool fails the
// message (it is retried by the host's retry of the send); a Picker's
// error is returned as it is.
func (m *Manager) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	r := ev.Route
	if r == nil || r.From != "" || r.MessagingServiceID != "" || ev.Message == nil || !ev.Message.Channel.IsPhone() {
		return nil
	}
	vendor := r.Vendor
	if vendor == "" {
		vendor = m.names.of(ev.Env.Vendor)
	}
	if vendor == "" || ev.Env.Store == nil {
		return nil
	}
	pool, err := m.pool(ctx, ev.Env, ev.Message.OrgID, vendor)
	if err != nil {
		return err
	}
	if pool.Len() == 0 {
		logDebug(ctx, ev.Env, "numpicker: no free number", "org", ev.Message.OrgID, "vendor", vendor, "message", ev.Message.ID)
		return nil
	}
	from, err := m.picker(ev).Pick(ctx, ev, pool)
	if err != nil {
		return fmt.Errorf("numpicker: %w", err)
	}
	r.From = from
	return nil
}

// picker is the organization's picker: its strategy feature, else
// Options.Picker.
func (m *Manager) picker(ev *herald.MessageSendEvent) Picker {
	s, ok := "", false
	if ev.Campaign != nil {
		s, ok = ev.Campaign.Features[FeatureStrategy]
	}
	if !ok {
		s, ok = ev.Organization.Feature(FeatureStrategy)
	}
	if ok {
		switch s {
		case StrategyUniform:
			return m.uniform
		case StrategyAreaCode:
			return m.areaCode
		}
	}
	return m.opts.Picker
}

// pool returns the current pool of (org, vendor), reloading it when stale.
func (m *Manager) pool(ctx context.Context, env herald.Env, orgID, vendor string) (*Pool, error) {
	k := poolKey{orgID, vendor}
	m.mu.RLock()
	e := m.pools[k]
	m.mu.RUnlock()
	if e == nil {
		m.mu.Lock()
		if e = m.pools[k]; e == nil {
			if len(m.pools) >= maxPools {
				clear(m.pools)
			}
			e = &poolEntry{}
			m.pools[k] = e
		}
		m.mu.Unlock()
	}

	now := clockNow(env)
	p := e.cur.Load()
	if p != nil && fresh(p, now, m.opts) {
		return p, nil
	}
	if p != nil && !e.loading.TryLock() {
		return p, nil // another caller reloads; use the old pool meanwhile
	} else if p == nil {
		e.loading.Lock()
	}
	defer e.loading.Unlock()
	if q := e.cur.Load(); q != nil && fresh(q, now, m.opts) {
		return q, nil
	}
	owned, err := env.Store.ListNumbers(ctx, herald.NumberFilter{OrgID: orgID, Vendor: vendor, Unallocated: true})
	if err != nil {
		if p != nil {
			logDebug(ctx, env, "numpicker: reload failed, using the old pool", "org", orgID, "vendor", vendor, "err", err)
			return p, nil
		}
		return nil, fmt.Errorf("numpicker: listing numbers: %w", err)
	}
	np := newPool(orgID, vendor, owned, now)
	e.cur.Store(np)
	return np, nil
}

// fresh reports whether p may still be used at now.
func fresh(p *Pool, now time.Time, o Options) bool {
	age := now.Sub(p.LoadedAt)
	if age < 0 {
		return true
	}
	if p.Len() == 0 {
		return age < o.MissRetry
	}
	return age < o.TTL
}

func clockNow(env herald.Env) time.Time {
	if env.Clock != nil {
		return env.Clock.Now()
	}
	return time.Now()
}

func logDebug(ctx context.Context, env herald.Env, msg string, args ...any) {
	if env.Logger != nil {
		env.Logger.DebugContext(ctx, msg, args...)
	}
}

// vendorNames caches vendors' names: Metadata may allocate (the contract
// only asks it to be cheap) and the send hook runs for every message.
type vendorNames struct{ m sync.Map } // herald.Vendor → string

// of returns v's name ("" for nil), from the cache when v's dynamic type
// can be a map key.
func (c *vendorNames) of(v herald.Vendor) string {
	if v == nil {
		return ""
	}
	if !reflect.TypeOf(v).Comparable() {
		return v.Metadata().Name
	}
	if n, ok := c.m.Load(v); ok {
		return n.(string)
	}
	n := v.Metadata().Name
	c.m.Store(v, n)
	return n
}
