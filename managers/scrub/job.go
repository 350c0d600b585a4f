package scrub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldmsg/herald"
)

// Causes a job stops for.
var (
	errUserCancel = errors.New("scrub: canceled")
	errReloaded   = errors.New("scrub: contacts reloaded")
	errLost       = errors.New("scrub: the job's record was taken over or canceled elsewhere")
)

// job is one campaign's lookup job, running in goroutines of its Manager.
type job struct {
	m        *Manager
	key      jobKey
	env      herald.Env
	org      *herald.Organization
	lookup   herald.ContactLookup
	limiter  *rate.Limiter
	ctx      context.Context
	cancel   context.CancelCauseFunc
	done     chan struct{}
	resuming bool

	mu      sync.Mutex
	base    Progress // counters carried over from before this run
	paid    int
	cached  int
	settled int
	failed  int
	removed int
	lastErr string
}

// job returns this Manager's running job for the campaign, or nil.
func (m *Manager) job(orgID, campaignID string) *job {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.jobs[jobKey{orgID, campaignID}]
}

// start claims the campaign's record and runs a job for it in the
// background. With resume set it only takes over an interrupted job or one
// whose lease expired. It reports whether a job started.
func (m *Manager) start(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign, resume bool) (bool, error) {
	cl, err := lookupVendor(env)
	if err != nil {
		return false, err
	}
	key := jobKey{org.ID, c.ID}
	jctx, cancel := context.WithCancelCause(m.ctx)
	j := &job{m: m, key: key, env: env, org: org.Clone(), lookup: cl, limiter: m.limiter(org),
		ctx: jctx, cancel: cancel, done: make(chan struct{})}

	// Reserve the campaign in this Manager first, so that two calls here
	// never both claim the record.
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		cancel(ErrClosed)
		return false, ErrClosed
	}
	if _, ok := m.jobs[key]; ok {
		m.mu.Unlock()
		cancel(nil)
		return false, nil
	}
	m.jobs[key] = j
	m.wg.Add(1)
	m.mu.Unlock()

	claimed := false
	t := now(env)
	p, err := updateProgress(ctx, env.State, c.ID, func(p *Progress) error {
		live := p.Status == StatusRunning && p.Owner != "" && p.LeaseUntil.After(t)
		interrupted := p.Status == StatusInterrupted || p.Status == StatusRunning && !live
		switch {
		case live && p.Owner != m.id:
			return errNoChange // another Manager runs it
		case resume && !interrupted:
			return errNoChange
		}
		j.resuming = interrupted || p.Status == StatusRunning
		if !j.resuming {
			*p = Progress{RemovedOnLoad: p.RemovedOnLoad, StartedAt: t}
		}
		p.Status, p.Owner, p.LeaseUntil = StatusRunning, m.id, t.Add(m.opts.LeaseDuration)
		p.Failed, p.LastError, p.Pending = 0, "", 0
		p.UpdatedAt, p.FinishedAt = t, time.Time{}
		claimed = true
		return nil
	})
	if err != nil || !claimed {
		cancel(nil)
		m.forget(j)
		m.wg.Done()
		return false, err
	}
	j.base = *p
	logger(env).InfoContext(ctx, "scrub: lookup job started", "campaign", c.ID, "resumed", j.resuming)
	go j.run()
	return true, nil
}

// forget removes a job from the Manager and wakes Wait.
func (m *Manager) forget(j *job) {
	m.mu.Lock()
	if m.jobs[j.key] == j {
		delete(m.jobs, j.key)
	}
	m.idle.Broadcast()
	m.mu.Unlock()
}

// maybeResume resumes the campaign's job when a restart interrupted it.
func (m *Manager) maybeResume(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign) (bool, error) {
	if c.State != herald.CampaignDraft || m.job(org.ID, c.ID) != nil {
		return false, nil
	}
	p, err := ReadProgress(ctx, env.State, c.ID)
	if err != nil {
		return false, err
	}
	t := now(env)
	stale := p.Status == StatusInterrupted ||
		p.Status == StatusRunning && (p.Owner == "" || !p.LeaseUntil.After(t))
	if !stale {
		return false, nil
	}
	started, err := m.start(ctx, env, org, c, true)
	if errors.Is(err, ErrClosed) {
		return false, nil
	}
	return started, err
}

// cancel stops the campaign's job, here or in another Manager.
func (m *Manager) cancel(ctx context.Context, env herald.Env, orgID, campaignID string) error {
	if m.cancelLocal(orgID, campaignID, errUserCancel) {
		return nil
	}
	t := now(env)
	_, err := updateProgress(ctx, env.State, campaignID, func(p *Progress) error {
		if p.Status != StatusRunning && p.Status != StatusInterrupted {
			return errNoChange
		}
		// The owner's next progress write finds the record no longer its
		// own and stops.
		p.Status, p.Owner, p.LeaseUntil = StatusCanceled, "", time.Time{}
		p.UpdatedAt, p.FinishedAt = t, t
		return nil
	})
	return err
}

// cancelLocal stops this Manager's job for the campaign, if any, waits for
// it to end, and reports whether there was one.
func (m *Manager) cancelLocal(orgID, campaignID string, cause error) bool {
	j := m.job(orgID, campaignID)
	if j == nil {
		return false
	}
	j.cancel(cause)
	<-j.done
	return true
}

// fail stops the job with err as its cause.
func (j *job) fail(err error) { j.cancel(err) }

// detached returns a context for work that must finish even when the job
// is stopped (a lookup in flight, saving its result).
func (j *job) detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(j.ctx), j.m.opts.LookupTimeout)
}

// snapshot copies the live counters into p.
func (j *job) snapshot(p *Progress) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p.Status = StatusRunning
	p.Total = j.base.Total
	p.Done = j.base.Done + j.settled
	p.Paid = j.base.Paid + j.paid
	p.Cached = j.base.Cached + j.cached
	p.Removed = j.base.Removed + j.removed
	p.Failed = j.failed
	p.LastError = j.lastErr
	p.Pending = max(p.Total-p.Done, 0)
}

func (j *job) run() {
	defer func() {
		j.cancel(nil)
		j.m.forget(j)
		close(j.done)
		j.m.wg.Done()
	}()

	var hb sync.WaitGroup
	stopHB := make(chan struct{})
	hb.Add(1)
	go func() {
		defer hb.Done()
		j.heartbeat(stopHB)
	}()
	err := j.work()
	close(stopHB)
	hb.Wait()
	j.finish(err)
}

// heartbeat writes progress and renews the lease until stop closes.
func (j *job) heartbeat(stop <-chan struct{}) {
	t := time.NewTicker(j.m.opts.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := j.detached()
		_, err := updateProgress(ctx, j.env.State, j.key.campaign, func(p *Progress) error {
			if p.Owner != j.m.id || p.Status != StatusRunning {
				return errLost
			}
			j.snapshot(p)
			p.LeaseUntil = now(j.env).Add(j.m.opts.LeaseDuration)
			p.UpdatedAt = now(j.env)
			return nil
		})
		cancel()
		switch {
		case errors.Is(err, errLost):
			j.cancel(errLost)
			return
		case err != nil:
			logger(j.env).Warn("scrub: writing progress failed", "campaign", j.key.campaign, "error", err)
		}
	}
}

// work looks up every pending number, then sweeps the contacts. It
// returns nil when done, else why it stopped.
func (j *job) work() error {
	pending, err := j.collect()
	if err != nil {
		return j.stopped(err)
	}
	j.mu.Lock()
	if j.resuming {
		j.base.Total = max(j.base.Total, len(pending))
		j.base.Done = j.base.Total - len(pending)
	} else {
		j.base.Total, j.base.Done = len(pending), 0
	}
	j.mu.Unlock()

	feed := make(chan string)
	var wg sync.WaitGroup
	for range j.m.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range feed {
				j.one(n)
			}
		}()
	}
feeding:
	for _, n := range pending {
		select {
		case feed <- n:
		case <-j.ctx.Done():
			break feeding
		}
	}
	close(feed)
	wg.Wait()
	if j.ctx.Err() != nil {
		return context.Cause(j.ctx)
	}
	return j.stopped(j.sweep())
}

// stopped prefers the job's cancel cause over the error it caused.
func (j *job) stopped(err error) error {
	if err != nil && j.ctx.Err() != nil {
		return context.Cause(j.ctx)
	}
	return err
}

// collect lists the campaign's distinct numbers without a known lookup.
// A lookup found on a contact but not in the cache is cached on the way.
func (j *job) collect() ([]string, error) {
	seen := map[string]bool{}
	var pending []string
	for c, err := range j.env.Store.ListContacts(j.ctx, j.key.org, j.key.campaign) {
		if err != nil {
			return nil, err
		}
		if c.Phone == "" || seen[c.Phone] {
			continue
		}
		seen[c.Phone] = true
		_, ok, err := CachedLookup(j.ctx, j.env.State, c.Phone)
		if err != nil {
			return nil, err
		}
		switch {
		case ok:
		case c.Lookup != nil && c.Lookup.StatusCode != herald.LookupUnknown:
			r := *c.Lookup
			r.Number = c.Phone
			if err := cacheLookup(j.ctx, j.env.State, &r); err != nil {
				return nil, err
			}
		default:
			pending = append(pending, c.Phone)
		}
	}
	return pending, nil
}

// acquire makes the caller the only one of this Manager looking number up
// in the organization; it returns nil when ctx ends first.
func (m *Manager) acquire(ctx context.Context, orgID, number string) (release func()) {
	k := numKey{orgID, number}
	for {
		m.mu.Lock()
		ch, busy := m.inflight[k]
		if !busy {
			ch = make(chan struct{})
			m.inflight[k] = ch
			m.mu.Unlock()
			return func() {
				m.mu.Lock()
				delete(m.inflight, k)
				m.mu.Unlock()
				close(ch)
			}
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
	}
}

// one settles one number: from the cache, or by a paid lookup.
func (j *job) one(number string) {
	if err := j.limiter.Wait(j.ctx); err != nil {
		return // stopped
	}
	release := j.m.acquire(j.ctx, j.key.org, number)
	if release == nil {
		return
	}
	defer release()
	ctx, cancel := j.detached()
	_, ok, err := CachedLookup(ctx, j.env.State, number)
	cancel()
	if err != nil {
		j.fail(err)
		return
	}
	if ok {
		j.mu.Lock()
		j.cached++
		j.settled++
		j.mu.Unlock()
		return
	}
	for attempt := 1; ; attempt++ {
		ctx, cancel := j.detached()
		res, err := j.lookup.LookupContact(ctx, herald.LookupParams{Organization: j.org, Number: number})
		cancel()
		j.mu.Lock()
		j.paid++
		j.mu.Unlock()
		if err == nil && res == nil {
			err = fmt.Errorf("%w: the vendor returned no lookup result", herald.ErrInvalidInput)
		}
		if err == nil {
			r := *res
			r.Number = number
			if r.LookedUpAt.IsZero() {
				r.LookedUpAt = now(j.env)
			}
			if r.Vendor == "" && j.env.Vendor != nil {
				r.Vendor = j.env.Vendor.Metadata().Name
			}
			ctx, cancel := j.detached()
			err := cacheLookup(ctx, j.env.State, &r)
			cancel()
			if err != nil {
				j.fail(err)
				return
			}
			j.mu.Lock()
			j.settled++
			j.mu.Unlock()
			return
		}
		msg := fmt.Sprintf("lookup of %s: %s", last4(number), redact(err.Error(), number))
		retryable := errors.Is(err, herald.ClassTemporary) || errors.Is(err, herald.ClassRateLimited)
		if retryable && attempt < j.m.opts.MaxAttempts {
			wait := time.Duration(attempt) * 500 * time.Millisecond
			var ve *herald.VendorError
			if errors.As(err, &ve) && ve.RetryAfter > wait {
				wait = ve.RetryAfter
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-j.ctx.Done():
				t.Stop()
				return // the number stays pending
			}
		}
		logger(j.env).Warn("scrub: lookup failed", "campaign", j.key.campaign, "number", last4(number), "attempts", attempt, "error", redact(err.Error(), number))
		if errors.Is(err, herald.ClassAuth) || errors.Is(err, herald.ErrConfig) || errors.Is(err, herald.ErrUnsupported) {
			j.fail(errors.New(msg))
			return
		}
		j.mu.Lock()
		j.failed++
		j.lastErr = msg
		tooMany := j.failed > j.m.opts.MaxErrors
		j.mu.Unlock()
		if tooMany {
			j.fail(fmt.Errorf("scrub: more than %d lookups failed; last: %s", j.m.opts.MaxErrors, msg))
		}
		return
	}
}

// sweep records each looked-up contact's lookup on it and deletes the
// contacts whose status is below zero.
func (j *job) sweep() error {
	st := j.env.Store
	for c, err := range st.ListContacts(j.ctx, j.key.org, j.key.campaign) {
		if err != nil {
			return err
		}
		if c.Phone == "" {
			continue
		}
		res, ok, err := CachedLookup(j.ctx, j.env.State, c.Phone)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if res.StatusCode < 0 {
			if err := st.DeleteContact(j.ctx, j.key.org, c.ID); err != nil && !errors.Is(err, herald.ErrNotFound) {
				return fmt.Errorf("scrub: removing contact %s: %w", c.ID, err)
			}
			j.mu.Lock()
			j.removed++
			j.mu.Unlock()
			continue
		}
		if !sameLookup(c.Lookup, res) {
			c.Lookup = res
			if _, err := st.PutContact(j.ctx, c); err != nil {
				return fmt.Errorf("scrub: recording the lookup on contact %s: %w", c.ID, err)
			}
		}
	}
	return nil
}

func sameLookup(a, b *herald.LookupResult) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.StatusCode == b.StatusCode && a.Carrier == b.Carrier && a.LineType == b.LineType &&
		a.Vendor == b.Vendor && a.LookedUpAt.Equal(b.LookedUpAt)
}

// finish writes the job's outcome to its record.
func (j *job) finish(cause error) {
	status := StatusFinished
	switch {
	case cause == nil:
	case errors.Is(cause, ErrClosed):
		status = StatusInterrupted
	case errors.Is(cause, errUserCancel):
		status = StatusCanceled
	case errors.Is(cause, errReloaded), errors.Is(cause, errLost):
		logger(j.env).Info("scrub: lookup job stopped", "campaign", j.key.campaign, "reason", cause)
		return // the record is no longer this job's
	default:
		status = StatusFailed
	}
	ctx, cancel := j.detached()
	defer cancel()
	t := now(j.env)
	p, err := updateProgress(ctx, j.env.State, j.key.campaign, func(p *Progress) error {
		if p.Owner != j.m.id || p.Status != StatusRunning {
			return errLost
		}
		j.snapshot(p)
		p.Status, p.Owner, p.LeaseUntil, p.UpdatedAt = status, "", time.Time{}, t
		switch status {
		case StatusFinished:
			p.Pending = p.Failed
			p.FinishedAt = t
		case StatusFailed:
			p.LastError = cause.Error()
			p.FinishedAt = t
		case StatusCanceled:
			p.FinishedAt = t
		}
		return nil
	})
	log := logger(j.env)
	switch {
	case errors.Is(err, errLost):
		log.Info("scrub: lookup job stopped; its record was taken over", "campaign", j.key.campaign)
	case err != nil:
		log.Error("scrub: writing the job's outcome failed", "campaign", j.key.campaign, "status", status, "error", err)
	case status == StatusFailed:
		log.Error("scrub: lookup job failed", "campaign", j.key.campaign, "error", cause, "paid", p.Paid)
	default:
		log.Info("scrub: lookup job ended", "campaign", j.key.campaign, "status", status,
			"paid", p.Paid, "cached", p.Cached, "failed", p.Failed, "removed", p.Removed, "pending", p.Pending)
	}
}
