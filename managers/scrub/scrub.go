package scrub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the hooks the scrub manager implements.
var (
	_ herald.ServiceManager        = (*Manager)(nil)
	_ herald.CampaignDataProvider  = (*Manager)(nil)
	_ herald.CampaignUpdateHandler = (*Manager)(nil)
	_ herald.ContactLoadHook       = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists (Spoke's name).
const Name = "scrub-bad-mobilenums"

// Organization features the manager reads.
const (
	// FeatureOptional set to "true" makes scrubbing optional: CampaignData
	// never reports the campaign not fully configured.
	FeatureOptional = "SCRUB_MOBILE_OPTIONAL"
	// FeatureLookupsPerSecond is a positive decimal replacing
	// Options.LookupsPerSecond for the organization.
	FeatureLookupsPerSecond = "SCRUB_LOOKUPS_PER_SECOND"
)

// Keys of the OnCampaignUpdate map. Each takes the value true (or "true").
const (
	// UpdateScrub starts (or resumes) the campaign's lookup job.
	UpdateScrub = "scrub"
	// UpdateCancel stops the campaign's lookup job.
	UpdateCancel = "cancel"
)

// Defaults of Options.
const (
	DefaultLookupsPerSecond = 10
	DefaultBurst            = 1
	DefaultConcurrency      = 4
	DefaultLookupTimeout    = 30 * time.Second
	DefaultMaxAttempts      = 3
	DefaultMaxErrors        = 100
	DefaultProgressInterval = time.Second
	DefaultLeaseDuration    = 30 * time.Second
)

// Options configures a Manager. The zero value uses the defaults.
type Options struct {
	// LookupsPerSecond caps paid lookups per organization and Manager.
	// Default DefaultLookupsPerSecond; the organization feature
	// SCRUB_LOOKUPS_PER_SECOND overrides it.
	LookupsPerSecond float64
	// Burst is how many lookups may go at once above the rate. Default 1.
	Burst int
	// Concurrency bounds the lookups in flight per job. Default 4.
	Concurrency int
	// LookupTimeout bounds each vendor call. Default 30s.
	LookupTimeout time.Duration
	// MaxAttempts is how often one number is tried when its lookup fails
	// with a temporary or rate-limited error. Default 3.
	MaxAttempts int
	// MaxErrors is how many numbers may fail before the job stops as
	// failed. Default 100.
	MaxErrors int
	// ProgressInterval is how often a job writes its progress and renews
	// its lease. Default 1s.
	ProgressInterval time.Duration
	// LeaseDuration is how long a job's lease lasts without renewal; after
	// it, another Manager on the same store may resume the job. It must
	// exceed ProgressInterval. Default 30s.
	LeaseDuration time.Duration
}

func (o *Options) setDefaults() {
	if o.LookupsPerSecond <= 0 {
		o.LookupsPerSecond = DefaultLookupsPerSecond
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = DefaultLookupTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	if o.LeaseDuration <= o.ProgressInterval {
		o.LeaseDuration = max(DefaultLeaseDuration, 3*o.ProgressInterval)
	}
}

// ErrClosed is returned when a job would start on a closed Manager.
var ErrClosed = errors.New("scrub: manager closed")

// Manager is the scrub manager. It owns the goroutines of the lookup jobs
// it starts: call Close when done with it. It is safe for concurrent use.
type Manager struct {
	opts Options
	// id names this Manager as a job owner in State.
	id string

	ctx  context.Context
	stop context.CancelCauseFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	jobs     map[jobKey]*job
	limiters map[string]*rate.Limiter
	inflight map[numKey]chan struct{}
	idle     *sync.Cond // broadcast when a job ends
}

type jobKey struct{ org, campaign string }
type numKey struct{ org, number string }

// New returns a scrub manager with opts (zero fields take the defaults).
func New(opts Options) *Manager {
	opts.setDefaults()
	var b [8]byte
	_, _ = rand.Read(b[:])
	ctx, stop := context.WithCancelCause(context.Background())
	m := &Manager{
		opts:     opts,
		id:       hex.EncodeToString(b[:]),
		ctx:      ctx,
		stop:     stop,
		jobs:     map[jobKey]*job{},
		limiters: map[string]*rate.Limiter{},
		inflight: map[numKey]chan struct{}{},
	}
	m.idle = sync.NewCond(&m.mu)
	return m
}

// Metadata describes the manager: campaign settings, money spent on
// lookups.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:                    Name,
		DisplayName:             "Scrub bad mobile numbers",
		Description:             "Looks up a campaign's numbers (paid, rate-limited, cached per organization) and removes landlines and numbers that cannot take texts; blocks the start until done.",
		SupportsCampaignConfig:  true,
		CanSpendMoney:           true,
		MoneySpendingOperations: []string{"OnCampaignUpdate", "CampaignData"},
	}
}

// Close stops every running job, marking it interrupted in State so that
// another Manager can resume it, and waits for the job goroutines to end.
// Lookups already in flight finish first (bounded by LookupTimeout) and
// their results are saved. After Close no job starts. Close is
// idempotent and always returns nil.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.stop(ErrClosed)
	m.wg.Wait()
	return nil
}

// Wait blocks until no job of this Manager runs, or ctx ends (then it
// returns ctx's error).
func (m *Manager) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		m.mu.Lock()
		for len(m.jobs) > 0 && ctx.Err() == nil {
			m.idle.Wait()
		}
		m.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// Wake the waiter so its goroutine ends.
		m.mu.Lock()
		m.idle.Broadcast()
		m.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// Running reports whether this Manager runs a job for the campaign.
func (m *Manager) Running(orgID, campaignID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.jobs[jobKey{orgID, campaignID}]
	return ok
}

// optional reports the organization's SCRUB_MOBILE_OPTIONAL.
func optional(org *herald.Organization) bool {
	v, ok := org.Feature(FeatureOptional)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b
}

// lookupsPerSecond is the organization's rate.
func (m *Manager) lookupsPerSecond(org *herald.Organization) float64 {
	if v, ok := org.Feature(FeatureLookupsPerSecond); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f > 0 {
			return f
		}
	}
	return m.opts.LookupsPerSecond
}

// limiter returns the organization's token bucket, with its current rate.
func (m *Manager) limiter(org *herald.Organization) *rate.Limiter {
	r := rate.Limit(m.lookupsPerSecond(org))
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.limiters[org.ID]
	if l == nil {
		l = rate.NewLimiter(r, m.opts.Burst)
		m.limiters[org.ID] = l
	} else if l.Limit() != r {
		l.SetLimit(r)
	}
	return l
}

// lookupVendor returns the vendor's lookup capability, or an error that
// says the vendor has none.
func lookupVendor(env herald.Env) (herald.ContactLookup, error) {
	if env.Vendor == nil {
		return nil, fmt.Errorf("%w: scrub: the organization has no vendor to look numbers up with", herald.ErrUnsupported)
	}
	cl, ok := env.Vendor.(herald.ContactLookup)
	if !ok {
		return nil, fmt.Errorf("%w: scrub: vendor %q cannot look numbers up (no herald.ContactLookup)", herald.ErrUnsupported, env.Vendor.Metadata().Name)
	}
	return cl, nil
}

func checkEnv(env herald.Env) error {
	if env.State == nil || env.Store == nil {
		return fmt.Errorf("%w: scrub needs Env.State and Env.Store", herald.ErrConfig)
	}
	return nil
}

func logger(env herald.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func now(env herald.Env) time.Time {
	if env.Clock != nil {
		return env.Clock.Now()
	}
	return time.Now()
}

// last4 names a number by its last four digits, for logs and errors.
func last4(number string) string {
	if len(number) <= 4 {
		return number
	}
	return "…" + number[len(number)-4:]
}

// redact replaces the number in s by its last four digits.
func redact(s, number string) string {
	if number == "" {
		return s
	}
	s = strings.ReplaceAll(s, number, last4(number))
	if d := strings.TrimPrefix(number, "+"); len(d) > 4 {
		s = strings.ReplaceAll(s, d, last4(number))
	}
	return s
}

// CampaignData reports the campaign's scrub state; see the package doc
// for the Data keys. It resumes a job that a restart interrupted.
func (m *Manager) CampaignData(ctx context.Context, ev *herald.CampaignDataEvent) (*herald.ManagerData, error) {
	if err := checkEnv(ev.Env); err != nil {
		return nil, err
	}
	if ev.ForStats {
		// The statistics view (after start) has nothing to vet.
		p, err := ReadProgress(ctx, ev.Env.State, ev.Campaign.ID)
		if err != nil {
			return nil, err
		}
		return &herald.ManagerData{Data: m.data(ev.Organization, p, nil)}, nil
	}
	if _, err := m.maybeResume(ctx, ev.Env, ev.Organization, ev.Campaign); err != nil {
		logger(ev.Env).WarnContext(ctx, "scrub: resuming the lookup job failed", "campaign", ev.Campaign.ID, "error", err)
		return m.answer(ctx, ev.Env, ev.Organization, ev.Campaign, err)
	}
	return m.answer(ctx, ev.Env, ev.Organization, ev.Campaign, nil)
}

// answer builds the data hooks' reply.
func (m *Manager) answer(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign, extra error) (*herald.ManagerData, error) {
	p, err := ReadProgress(ctx, env.State, c.ID)
	if err != nil {
		return nil, err
	}
	if j := m.job(org.ID, c.ID); j != nil {
		j.snapshot(p)
	}
	running := p.Status == StatusRunning
	if !running {
		pending, err := countPending(ctx, env, org.ID, c.ID)
		if err != nil {
			return nil, fmt.Errorf("scrub: counting numbers to look up: %w", err)
		}
		p.Pending = pending
	}
	md := &herald.ManagerData{Data: m.data(org, p, extra), StartPolling: running}
	if _, err := lookupVendor(env); err != nil {
		md.Data["lookupSupported"] = false
		if extra == nil {
			md.Data["error"] = err.Error()
		}
	}
	ok := optional(org) || (!running && p.Pending == 0)
	md.FullyConfigured = herald.Bool(ok)
	return md, nil
}

// data is the Data map of an answer.
func (m *Manager) data(org *herald.Organization, p *Progress, extra error) map[string]any {
	d := map[string]any{
		"status":           string(p.Status),
		"pending":          p.Pending,
		"total":            p.Total,
		"done":             p.Done,
		"paid":             p.Paid,
		"cached":           p.Cached,
		"failed":           p.Failed,
		"removed":          p.Removed,
		"removedOnLoad":    p.RemovedOnLoad,
		"optional":         optional(org),
		"lookupSupported":  true,
		"lookupsPerSecond": m.lookupsPerSecond(org),
	}
	if p.LastError != "" {
		d["lastError"] = p.LastError
	}
	if extra != nil {
		d["error"] = extra.Error()
	}
	return d
}

// OnCampaignUpdate takes {"scrub": true} (start or resume the job) or
// {"cancel": true} (stop it) and returns the new data. Starting needs a
// draft campaign and a vendor with herald.ContactLookup (an error wrapping
// herald.ErrUnsupported otherwise); starting while a job runs changes
// nothing.
func (m *Manager) OnCampaignUpdate(ctx context.Context, ev *herald.CampaignUpdateEvent) (*herald.ManagerData, error) {
	if err := checkEnv(ev.Env); err != nil {
		return nil, err
	}
	var scrub, cancel bool
	for k, v := range ev.Update {
		on := v == true || v == "true"
		switch k {
		case UpdateScrub:
			scrub = on
		case UpdateCancel:
			cancel = on
		default:
			return nil, fmt.Errorf("%w: scrub: unknown update key %q", herald.ErrInvalidInput, k)
		}
	}
	switch {
	case cancel:
		if err := m.cancel(ctx, ev.Env, ev.Organization.ID, ev.Campaign.ID); err != nil {
			return nil, err
		}
	case scrub:
		if ev.Campaign.State != herald.CampaignDraft {
			return nil, fmt.Errorf("%w: scrub: campaign %s is %s; only a draft is scrubbed", herald.ErrInvalidInput, ev.Campaign.ID, ev.Campaign.State)
		}
		if _, err := lookupVendor(ev.Env); err != nil {
			return nil, err
		}
		if _, err := m.start(ctx, ev.Env, ev.Organization, ev.Campaign, false); err != nil {
			return nil, err
		}
	}
	return m.answer(ctx, ev.Env, ev.Organization, ev.Campaign, nil)
}

// OnCampaignContactLoad stops the campaign's job if one runs, removes the
// contacts whose numbers are known to be bad, and resets the campaign's
// progress. Errors are returned (the load stands).
func (m *Manager) OnCampaignContactLoad(ctx context.Context, ev *herald.ContactLoadEvent) error {
	if err := checkEnv(ev.Env); err != nil {
		return err
	}
	org, cid := ev.Organization.ID, ev.Campaign.ID
	m.cancelLocal(org, cid, errReloaded)
	removed := 0
	var errs []error
	for c, err := range ev.Env.Store.ListContacts(ctx, org, cid) {
		if err != nil {
			errs = append(errs, err)
			break
		}
		if c.Phone == "" {
			continue
		}
		res, err := known(ctx, ev.Env.State, c)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if res != nil && res.StatusCode < 0 {
			if err := ev.Env.Store.DeleteContact(ctx, org, c.ID); err != nil && !errors.Is(err, herald.ErrNotFound) {
				errs = append(errs, err)
				break
			}
			removed++
		}
	}
	// A fresh record: a job elsewhere sees it lost its lease and stops.
	_, err := updateProgress(ctx, ev.Env.State, cid, func(p *Progress) error {
		*p = Progress{Status: StatusIdle, RemovedOnLoad: removed, UpdatedAt: now(ev.Env)}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	logger(ev.Env).InfoContext(ctx, "scrub: removed known bad numbers on contact load", "campaign", cid, "removed", removed)
	if len(errs) > 0 {
		return fmt.Errorf("scrub: contact load: %w", errors.Join(errs...))
	}
	return nil
}

// known returns what is known about the contact's number: the
// organization's cached lookup, else the contact's own Lookup (when it has
// a status), else nil.
func known(ctx context.Context, s herald.State, c *herald.Contact) (*herald.LookupResult, error) {
	res, ok, err := CachedLookup(ctx, s, c.Phone)
	if err != nil {
		return nil, err
	}
	if ok {
		return res, nil
	}
	if c.Lookup != nil && c.Lookup.StatusCode != herald.LookupUnknown {
		return c.Lookup, nil
	}
	return nil, nil
}

// countPending counts the campaign's distinct numbers that have no known
// lookup.
func countPending(ctx context.Context, env herald.Env, orgID, campaignID string) (int, error) {
	seen := map[string]bool{}
	n := 0
	for c, err := range env.Store.ListContacts(ctx, orgID, campaignID) {
		if err != nil {
			return 0, err
		}
		if c.Phone == "" || seen[c.Phone] {
			continue
		}
		seen[c.Phone] = true
		res, err := known(ctx, env.State, c)
		if err != nil {
			return 0, err
		}
		if res == nil {
			n++
		}
	}
	return n, nil
}
