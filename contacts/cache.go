package contacts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/heraldmsg/herald"
)

// CacheOptions tunes a CachedSource. Zero values take the defaults named.
type CacheOptions struct {
	// TTL is how long an owner's list is served without asking the source
	// for changes; default 30s. After it, the next read first fetches the
	// records modified since the last fetch began.
	TTL time.Duration
	// ReconcileEvery is how often an owner's list is loaded in full again,
	// which is how deletions (and records moved to an owner whose list is
	// not cached) are seen; default 10m.
	ReconcileEvery time.Duration
	// Overlap is subtracted from the watermark, to absorb clock skew
	// between this process and the source; default 2s, negative means
	// none. Records seen twice are simply replaced.
	Overlap time.Duration
	// RateLimit caps requests to the source per second, across owners;
	// default 5 (Airtable's limit per base). Negative means no limit.
	RateLimit float64
	// MaxRetries is how many times a request refused for the rate limit
	// (a *RateLimitedError) is retried; default 3. Negative means none.
	MaxRetries int
	// Backoff is the wait after a refusal that names no RetryAfter,
	// doubled on each retry; default 1s.
	Backoff time.Duration
	// PageSize is passed to the source's List; zero leaves its default.
	PageSize int
	// Clock tells the time; default the system clock.
	Clock herald.Clock
}

// CachedSource is a Source with an in-memory cache of each owner's
// contact list, built to avoid the flaws of Frontline's Airtable cache:
//
//   - Partitions: each owner's list is cached on its own, from a query
//     filtered by that owner, and records whose Owner differs are dropped,
//     so one owner never sees another's contacts.
//   - Incremental refresh: after the first full load, a read older than TTL
//     fetches only records modified since the watermark, which is taken
//     before the query starts (less Overlap), so a record created or
//     changed while a query runs is fetched by the next one. Updates
//     replace cached records; a record that moved to another cached owner
//     leaves the old owner's list.
//   - Reconcile: every ReconcileEvery the list is loaded in full, which
//     drops deleted records.
//   - Concurrency: readers never block on a refresh (they read an
//     immutable snapshot, swapped atomically); concurrent refreshes of one
//     owner, and concurrent Get or FindByAddress calls for one key, are
//     collapsed into one upstream call (singleflight).
//   - Rate limit: every upstream call waits for a token (RateLimit per
//     second) and, after a *RateLimitedError, everyone waits RetryAfter (or
//     an exponential backoff) before the call is retried.
//
// Get and FindByAddress are answered by the source (they are single,
// cheap requests that must see the current record), collapsed per key.
// Writes through a SourceWriter update the cache at once.
type CachedSource struct {
	src   Source
	opts  CacheOptions
	lim   *rate.Limiter
	group singleflight.Group

	mu    sync.Mutex
	parts map[string]*partition

	// pausedUntil (unix nanoseconds) holds every upstream call after a 429.
	pausedUntil atomic.Int64
	calls       atomic.Int64
}

// partition is one owner's cached list.
type partition struct {
	owner string
	// mu serialises writers; readers use snap only.
	mu   sync.Mutex
	snap atomic.Pointer[snapshot]
}

// snapshot is an immutable view of one owner's list.
type snapshot struct {
	byID map[string]*herald.Contact
	// sorted is the contacts ordered by ID.
	sorted []*herald.Contact
	// watermark is when the last fetch began, less Overlap.
	watermark time.Time
	// checked is when the last fetch began; fullAt when the last full
	// load began.
	checked, fullAt time.Time
}

// NewCachedSource wraps src.
func NewCachedSource(src Source, opts CacheOptions) *CachedSource {
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.ReconcileEvery <= 0 {
		opts.ReconcileEvery = 10 * time.Minute
	}
	switch {
	case opts.Overlap == 0:
		opts.Overlap = 2 * time.Second
	case opts.Overlap < 0:
		opts.Overlap = 0
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 5
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Clock == nil {
		opts.Clock = herald.SystemClock{}
	}
	c := &CachedSource{src: src, opts: opts, parts: map[string]*partition{}}
	if opts.RateLimit > 0 {
		c.lim = rate.NewLimiter(rate.Limit(opts.RateLimit), 1)
	}
	return c
}

// UpstreamCalls reports how many requests the cache made to the source.
func (c *CachedSource) UpstreamCalls() int64 { return c.calls.Load() }

// PageRequest asks for one page of an owner's cached list.
type PageRequest struct {
	// After is the ID of the last contact of the previous page (Frontline's
	// anchor); "" starts at the beginning. The page starts after it even
	// when that contact has been deleted since.
	After string
	// Limit caps the page; zero means no cap.
	Limit int
}

// List returns one page of owner's contacts, ordered by ID, and the After
// value of the next page ("" after the last). owner "" is everyone's list,
// a partition of its own. The contacts are copies.
func (c *CachedSource) List(ctx context.Context, owner string, p PageRequest) ([]*herald.Contact, string, error) {
	s, err := c.fresh(ctx, owner)
	if err != nil {
		return nil, "", err
	}
	i := 0
	if p.After != "" {
		i = sort.Search(len(s.sorted), func(k int) bool { return s.sorted[k].ID > p.After })
	}
	end := len(s.sorted)
	if p.Limit > 0 && i+p.Limit < end {
		end = i + p.Limit
	}
	out := make([]*herald.Contact, 0, end-i)
	for _, ct := range s.sorted[i:end] {
		out = append(out, ct.Clone())
	}
	next := ""
	if end < len(s.sorted) && len(out) > 0 {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Refresh fetches owner's changes now (a full load when the owner's list
// is not cached or due for reconcile), whatever the TTL.
func (c *CachedSource) Refresh(ctx context.Context, owner string) error {
	_, err := c.refresh(ctx, c.partition(owner), false, true)
	return err
}

// Reconcile loads owner's list in full now.
func (c *CachedSource) Reconcile(ctx context.Context, owner string) error {
	_, err := c.refresh(ctx, c.partition(owner), true, true)
	return err
}

// Invalidate drops owner's cached list; the next read loads it in full.
func (c *CachedSource) Invalidate(owner string) {
	c.mu.Lock()
	delete(c.parts, owner)
	c.mu.Unlock()
}

// Get returns the source's contact id. A non-empty owner must own it:
// another owner's contact is herald.ErrNotFound.
func (c *CachedSource) Get(ctx context.Context, owner, id string) (*herald.Contact, error) {
	ct, err := c.once(ctx, "get\x00"+id, func(ctx context.Context) (*herald.Contact, error) { return c.src.Get(ctx, id) })
	if err != nil {
		return nil, err
	}
	if owner != "" && ct.Owner != owner {
		return nil, fmt.Errorf("contacts: contact %s of another owner: %w", id, herald.ErrNotFound)
	}
	return ct, nil
}

// FindByAddress returns the source's contact whose phone or email is
// exactly address, after normalising it (a phone number to E.164 with
// region, an email address). Substrings never match.
func (c *CachedSource) FindByAddress(ctx context.Context, address, region string) (*herald.Contact, error) {
	addr := strings.TrimSpace(address)
	if strings.Contains(addr, "@") {
		e, err := NormalizeEmail(addr)
		if err != nil {
			return nil, err
		}
		addr = e
	} else {
		p, err := NormalizePhone(strings.TrimPrefix(addr, "whatsapp:"), region)
		if err != nil {
			return nil, err
		}
		addr = p
	}
	return c.once(ctx, "find\x00"+addr, func(ctx context.Context) (*herald.Contact, error) {
		ct, err := c.src.FindByAddress(ctx, addr)
		if err != nil {
			return nil, err
		}
		if ct.Phone != addr && ct.Email != addr {
			return nil, fmt.Errorf("contacts: source returned a contact at another address: %w", herald.ErrNotFound)
		}
		return ct, nil
	})
}

// Create creates a contact through the source (a SourceWriter) and adds
// it to its owner's cached list.
func (c *CachedSource) Create(ctx context.Context, ct *herald.Contact) (*herald.Contact, error) {
	w, err := c.writer()
	if err != nil {
		return nil, err
	}
	out, err := c.call(ctx, func(ctx context.Context) (*herald.Contact, error) { return w.Create(ctx, ct) })
	if err != nil {
		return nil, err
	}
	c.applyWrite(out, "")
	return out.Clone(), nil
}

// Update updates a contact through the source and in the cache.
func (c *CachedSource) Update(ctx context.Context, ct *herald.Contact) (*herald.Contact, error) {
	w, err := c.writer()
	if err != nil {
		return nil, err
	}
	out, err := c.call(ctx, func(ctx context.Context) (*herald.Contact, error) { return w.Update(ctx, ct) })
	if err != nil {
		return nil, err
	}
	c.applyWrite(out, "")
	return out.Clone(), nil
}

// Delete deletes a contact through the source and from the cache.
func (c *CachedSource) Delete(ctx context.Context, id string) error {
	w, err := c.writer()
	if err != nil {
		return err
	}
	_, err = c.call(ctx, func(ctx context.Context) (*herald.Contact, error) { return nil, w.Delete(ctx, id) })
	if err != nil {
		return err
	}
	c.applyWrite(nil, id)
	return nil
}

func (c *CachedSource) writer() (SourceWriter, error) {
	w, ok := c.src.(SourceWriter)
	if !ok {
		return nil, fmt.Errorf("contacts: the source cannot change contacts: %w", herald.ErrUnsupported)
	}
	return w, nil
}

// applyWrite puts ct into its owner's list (and the everyone list) and
// removes it, or the deleted id, from every other list.
func (c *CachedSource) applyWrite(ct *herald.Contact, deleted string) {
	id := deleted
	if ct != nil {
		id = ct.ID
	}
	for _, p := range c.partitions() {
		var put *herald.Contact
		if ct != nil && (p.owner == "" || p.owner == ct.Owner) {
			put = ct
		}
		p.mu.Lock()
		if s := p.snap.Load(); s != nil {
			if put != nil {
				p.snap.Store(s.with([]*herald.Contact{put}, nil, s.watermark, s.checked))
			} else if _, ok := s.byID[id]; ok {
				p.snap.Store(s.with(nil, []string{id}, s.watermark, s.checked))
			}
		}
		p.mu.Unlock()
	}
}

func (c *CachedSource) partitions() []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*partition, 0, len(c.parts))
	for _, p := range c.parts {
		out = append(out, p)
	}
	return out
}

func (c *CachedSource) partition(owner string) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parts[owner]
	if p == nil {
		p = &partition{owner: owner}
		c.parts[owner] = p
	}
	return p
}

// fresh returns owner's snapshot, refreshing it first when it is missing
// or older than TTL.
func (c *CachedSource) fresh(ctx context.Context, owner string) (*snapshot, error) {
	p := c.partition(owner)
	if s := p.snap.Load(); s != nil && c.opts.Clock.Now().Sub(s.checked) < c.opts.TTL {
		return s, nil
	}
	return c.refresh(ctx, p, false, false)
}

// refresh brings p up to date, collapsing concurrent calls. force skips
// the TTL check done inside the flight.
func (c *CachedSource) refresh(ctx context.Context, p *partition, full, force bool) (*snapshot, error) {
	key := "list\x00" + p.owner
	if full {
		key = "full\x00" + p.owner
	}
	ch := c.group.DoChan(key, func() (any, error) {
		// The flight outlives a caller that gives up waiting.
		fctx := context.WithoutCancel(ctx)
		now := c.opts.Clock.Now()
		s := p.snap.Load()
		if !force && s != nil && now.Sub(s.checked) < c.opts.TTL {
			return s, nil // refreshed by a flight that just ended
		}
		mark := now.Add(-c.opts.Overlap)
		if full || s == nil || now.Sub(s.fullAt) >= c.opts.ReconcileEvery {
			return c.fullLoad(fctx, p, now, mark)
		}
		return c.incremental(fctx, p, now, mark, s.watermark)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*snapshot), nil
	}
}

func (c *CachedSource) fullLoad(ctx context.Context, p *partition, now, mark time.Time) (*snapshot, error) {
	list, err := c.listAll(ctx, ListParams{Owner: p.owner, PageSize: c.opts.PageSize})
	if err != nil {
		return nil, err
	}
	s := (&snapshot{}).with(c.owned(p.owner, list), nil, mark, now)
	s.fullAt = now
	p.mu.Lock()
	p.snap.Store(s)
	p.mu.Unlock()
	return s, nil
}

func (c *CachedSource) incremental(ctx context.Context, p *partition, now, mark, since time.Time) (*snapshot, error) {
	list, err := c.listAll(ctx, ListParams{Owner: p.owner, ModifiedSince: since, PageSize: c.opts.PageSize})
	if err != nil {
		return nil, err
	}
	changed := c.owned(p.owner, list)
	p.mu.Lock()
	cur := p.snap.Load()
	s := cur.with(changed, nil, mark, now)
	s.fullAt = cur.fullAt
	p.snap.Store(s)
	p.mu.Unlock()
	// A record now owned by this owner leaves other owners' lists.
	if p.owner != "" && len(changed) > 0 {
		for _, q := range c.partitions() {
			if q == p || q.owner == "" {
				continue
			}
			var gone []string
			q.mu.Lock()
			if qs := q.snap.Load(); qs != nil {
				for _, ct := range changed {
					if _, ok := qs.byID[ct.ID]; ok {
						gone = append(gone, ct.ID)
					}
				}
				if len(gone) > 0 {
					q.snap.Store(qs.with(nil, gone, qs.watermark, qs.checked))
				}
			}
			q.mu.Unlock()
		}
	}
	return s, nil
}

// owned keeps the records that belong in owner's list.
func (c *CachedSource) owned(owner string, list []*herald.Contact) []*herald.Contact {
	if owner == "" {
		return list
	}
	return slices.DeleteFunc(list, func(ct *herald.Contact) bool { return ct == nil || ct.Owner != owner })
}

// with returns a copy of s with put added or replaced and drop removed.
func (s *snapshot) with(put []*herald.Contact, drop []string, mark, checked time.Time) *snapshot {
	n := &snapshot{byID: make(map[string]*herald.Contact, len(s.byID)+len(put)), watermark: mark, checked: checked, fullAt: s.fullAt}
	for id, ct := range s.byID {
		n.byID[id] = ct
	}
	for _, ct := range put {
		if ct != nil && ct.ID != "" {
			n.byID[ct.ID] = ct.Clone()
		}
	}
	for _, id := range drop {
		delete(n.byID, id)
	}
	n.sorted = make([]*herald.Contact, 0, len(n.byID))
	for _, ct := range n.byID {
		n.sorted = append(n.sorted, ct)
	}
	slices.SortFunc(n.sorted, func(a, b *herald.Contact) int { return strings.Compare(a.ID, b.ID) })
	return n
}

func (c *CachedSource) listAll(ctx context.Context, p ListParams) ([]*herald.Contact, error) {
	var out []*herald.Contact
	for {
		var next string
		_, err := c.call(ctx, func(ctx context.Context) (*herald.Contact, error) {
			page, n, err := c.src.List(ctx, p)
			if err == nil {
				out = append(out, page...)
				next = n
			}
			return nil, err
		})
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		if next == p.Cursor {
			return nil, fmt.Errorf("contacts: source returned the same cursor twice: %w", herald.ErrInvalidInput)
		}
		p.Cursor = next
	}
}

// once runs fn through singleflight under key, rate limited.
func (c *CachedSource) once(ctx context.Context, key string, fn func(context.Context) (*herald.Contact, error)) (*herald.Contact, error) {
	ch := c.group.DoChan(key, func() (any, error) {
		return c.call(context.WithoutCancel(ctx), fn)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*herald.Contact).Clone(), nil
	}
}

// call makes one upstream request: it waits for the pause after a 429 and
// for a rate-limit token, and retries refusals with backoff.
func (c *CachedSource) call(ctx context.Context, fn func(context.Context) (*herald.Contact, error)) (*herald.Contact, error) {
	backoff := c.opts.Backoff
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}
		c.calls.Add(1)
		ct, err := fn(ctx)
		rl, limited := IsRateLimited(err)
		if !limited || c.opts.MaxRetries < 0 || attempt >= c.opts.MaxRetries {
			return ct, err
		}
		pause := rl.RetryAfter
		if pause <= 0 {
			pause = backoff
			backoff *= 2
		}
		until := time.Now().Add(pause).UnixNano()
		for {
			old := c.pausedUntil.Load()
			if old >= until || c.pausedUntil.CompareAndSwap(old, until) {
				break
			}
		}
	}
}

// wait blocks until the 429 pause is over and a token is free.
func (c *CachedSource) wait(ctx context.Context) error {
	for {
		d := time.Until(time.Unix(0, c.pausedUntil.Load()))
		if d <= 0 {
			break
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if c.lim != nil {
		if err := c.lim.Wait(ctx); err != nil {
			return fmt.Errorf("contacts: waiting for the source's rate limit: %w", err)
		}
	}
	return nil
}
