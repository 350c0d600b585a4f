package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memSource is a remote CRM in memory. Its records carry the modification
// time of the shared clock; List filters by owner and ModifiedSince (>=),
// pages by pageSize, and calls onList (outside the lock) after it took its
// result, which is how a test changes records while a query is in flight.
type memSource struct {
	clock *testkit.Clock
	mu    sync.Mutex
	recs  map[string]*herald.Contact
	seq   int
	// leaky ignores the owner filter, like a source whose formula was
	// broken.
	leaky    bool
	pageSize int
	delay    time.Duration
	onList   func(p ListParams)
	refuse   atomic.Int32 // refuse the next n calls with a 429
	calls    atomic.Int32
	getCalls atomic.Int32
}

func newMemSource(clock *testkit.Clock) *memSource {
	return &memSource{clock: clock, recs: map[string]*herald.Contact{}, pageSize: 2}
}

func (s *memSource) put(id, owner, first string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.recs[id] = &herald.Contact{ID: id, Owner: owner, FirstName: first, Phone: fmt.Sprintf("+1415555%04d", len(s.recs)), UpdatedAt: now}
}

func (s *memSource) del(id string) {
	s.mu.Lock()
	delete(s.recs, id)
	s.mu.Unlock()
}

func (s *memSource) gate() error {
	s.calls.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.refuse.Load() > 0 {
		s.refuse.Add(-1)
		return &RateLimitedError{RetryAfter: 30 * time.Millisecond}
	}
	return nil
}

func (s *memSource) List(ctx context.Context, p ListParams) ([]*herald.Contact, string, error) {
	if err := s.gate(); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	var all []*herald.Contact
	for _, c := range s.recs {
		if (p.Owner == "" || s.leaky || c.Owner == p.Owner) && (p.ModifiedSince.IsZero() || !c.UpdatedAt.Before(p.ModifiedSince)) {
			all = append(all, c.Clone())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *herald.Contact) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if p.Cursor != "" {
		fmt.Sscan(p.Cursor, &start)
	}
	end := min(start+s.pageSize, len(all))
	next := ""
	if end < len(all) {
		next = fmt.Sprint(end)
	}
	if s.onList != nil {
		s.onList(p)
	}
	return all[start:end], next, nil
}

func (s *memSource) Get(ctx context.Context, id string) (*herald.Contact, error) {
	s.getCalls.Add(1)
	if err := s.gate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.recs[id]; ok {
		return c.Clone(), nil
	}
	return nil, fmt.Errorf("no record: %w", herald.ErrNotFound)
}

func (s *memSource) FindByAddress(ctx context.Context, addr string) (*herald.Contact, error) {
	if err := s.gate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.recs {
		if c.Phone == addr || c.Email == addr {
			return c.Clone(), nil
		}
	}
	return nil, fmt.Errorf("no record: %w", herald.ErrNotFound)
}

func (s *memSource) Create(ctx context.Context, c *herald.Contact) (*herald.Contact, error) {
	s.mu.Lock()
	s.seq++
	n := c.Clone()
	n.ID = fmt.Sprintf("new%d", s.seq)
	n.UpdatedAt = s.clock.Now()
	s.recs[n.ID] = n
	s.mu.Unlock()
	return n.Clone(), nil
}

func (s *memSource) Update(ctx context.Context, c *herald.Contact) (*herald.Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[c.ID]; !ok {
		return nil, herald.ErrNotFound
	}
	n := c.Clone()
	n.UpdatedAt = s.clock.Now()
	s.recs[c.ID] = n
	return n.Clone(), nil
}

func (s *memSource) Delete(ctx context.Context, id string) error {
	s.del(id)
	return nil
}

func ids(list []*herald.Contact) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out
}

func listIDs(t *testing.T, c *CachedSource, owner string) []string {
	t.Helper()
	list, _, err := c.List(context.Background(), owner, PageRequest{})
	require.NoError(t, err)
	return ids(list)
}

func newTestCache(src *memSource, clock *testkit.Clock) *CachedSource {
	return NewCachedSource(src, CacheOptions{TTL: time.Minute, ReconcileEvery: time.Hour, Overlap: -1, RateLimit: -1, Clock: clock})
}

func TestCacheFullThenIncremental(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := newMemSource(clock)
	for i := range 5 {
		src.put(fmt.Sprintf("a%d", i), "ann", "A")
	}
	clock.Advance(time.Second)
	c := newTestCache(src, clock)
	assert.Equal(t, []string{"a0", "a1", "a2", "a3", "a4"}, listIDs(t, c, "ann"))
	assert.Equal(t, int32(3), src.calls.Load(), "three pages of two")

	// Within the TTL the cache answers alone.
	clock.Advance(time.Second)
	src.put("a5", "ann", "A")
	assert.Len(t, listIDs(t, c, "ann"), 5)
	assert.Equal(t, int32(3), src.calls.Load())

	// After it, only changes are fetched: a creation and an update.
	clock.Advance(time.Minute)
	src.put("a1", "ann", "Renamed")
	list, _, err := c.List(context.Background(), "ann", PageRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{"a0", "a1", "a2", "a3", "a4", "a5"}, ids(list))
	assert.Equal(t, "Renamed", list[1].FirstName)
	assert.Equal(t, int32(4), src.calls.Load(), "one page of changes")

	// Pages by anchor, even when the anchor was deleted since.
	page, next, err := c.List(context.Background(), "ann", PageRequest{Limit: 4})
	require.NoError(t, err)
	assert.Equal(t, []string{"a0", "a1", "a2", "a3"}, ids(page))
	assert.Equal(t, "a3", next)
	page, next, err = c.List(context.Background(), "ann", PageRequest{After: "a3x", Limit: 4})
	require.NoError(t, err)
	assert.Equal(t, []string{"a4", "a5"}, ids(page))
	assert.Equal(t, "", next)

	// Copies: a caller cannot change the cache.
	page[0].FirstName = "changed"
	list, _, _ = c.List(context.Background(), "ann", PageRequest{After: "a3"})
	assert.Equal(t, "A", list[0].FirstName)
}

func TestCacheRecordCreatedDuringFetchIsNotMissed(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := newMemSource(clock)
	src.put("a0", "ann", "A")
	c := newTestCache(src, clock)
	// While the first (full) query runs, time passes and a record is
	// created that the query does not return.
	var once sync.Once
	src.onList = func(ListParams) {
		once.Do(func() {
			clock.Advance(3 * time.Second)
			src.put("late", "ann", "L")
		})
	}
	assert.Equal(t, []string{"a0"}, listIDs(t, c, "ann"))
	// The next refresh asks for changes since the query began, which
	// includes the late record. (Frontline took the watermark after the
	// query and never saw it.)
	clock.Advance(2 * time.Minute)
	assert.Equal(t, []string{"a0", "late"}, listIDs(t, c, "ann"))
}

func TestCacheDeletesDisappearAfterReconcile(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := newMemSource(clock)
	src.put("a0", "ann", "A")
	src.put("a1", "ann", "A")
	c := newTestCache(src, clock)
	assert.Equal(t, []string{"a0", "a1"}, listIDs(t, c, "ann"))
	src.del("a1")
	clock.Advance(2 * time.Minute)
	assert.Equal(t, []string{"a0", "a1"}, listIDs(t, c, "ann"), "an incremental refresh cannot see a deletion")
	clock.Advance(time.Hour)
	assert.Equal(t, []string{"a0"}, listIDs(t, c, "ann"), "the periodic reconcile drops it")

	src.del("a0")
	require.NoError(t, c.Reconcile(context.Background(), "ann"))
	assert.Empty(t, listIDs(t, c, "ann"))
}

func TestCacheOwnersIsolated(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := newMemSource(clock)
	src.leaky = true // even a source that ignores the owner filter
	src.put("a0", "ann", "A")
	src.put("b0", "bob", "B")
	src.put("b1", "bob", "B")
	c := newTestCache(src, clock)
	ctx := context.Background()
	assert.Equal(t, []string{"a0"}, listIDs(t, c, "ann"))
	assert.Equal(t, []string{"b0", "b1"}, listIDs(t, c, "bob"))
	assert.Equal(t, []string{"a0", "b0", "b1"}, listIDs(t, c, ""), "everyone's list is its own partition")

	// Warming ann's list never shows bob's later records to ann, and bob's
	// list is complete even though ann's was loaded first (Frontline's
	// cross-worker poisoning).
	clock.Advance(2 * time.Minute)
	src.put("b2", "bob", "B")
	assert.Equal(t, []string{"a0"}, listIDs(t, c, "ann"))
	assert.Equal(t, []string{"b0", "b1", "b2"}, listIDs(t, c, "bob"))

	_, err := c.Get(ctx, "ann", "b0")
	assert.ErrorIs(t, err, herald.ErrNotFound)
	got, err := c.Get(ctx, "bob", "b0")
	require.NoError(t, err)
	assert.Equal(t, "bob", got.Owner)

	// A record moved from bob to ann leaves bob's list when ann's list
	// sees the change.
	clock.Advance(2 * time.Minute)
	src.put("b1", "ann", "Moved")
	assert.Equal(t, []string{"a0", "b1"}, listIDs(t, c, "ann"))
	assert.Equal(t, []string{"b0", "b2"}, listIDs(t, c, "bob"))
}

func TestCacheConcurrentReadersDuringRefresh(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := newMemSource(clock)
	src.pageSize = 100
	for i := range 50 {
		src.put(fmt.Sprintf("a%02d", i), "ann", "A")
	}
	c := newTestCache(src, clock)
	ctx := context.Background()
	require.Len(t, listIDs(t, c, "ann"), 50)
	base := src.calls.Load()

	src.delay = 50 * time.Millisecond
	for i := 50; i < 60; i++ {
		src.put(fmt.Sprintf("a%02d", i), "ann", "A")
	}
	clock.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 40 {
		wg.Go(func() {
			for range 20 {
				list, _, err := c.List(ctx, "ann", PageRequest{})
				if err != nil || (len(list) != 50 && len(list) != 60) || !slices.IsSortedFunc(list, func(a, b *herald.Contact) int { return strings.Compare(a.ID, b.ID) }) {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, bad.Load(), "every reader saw a whole snapshot")
	assert.Equal(t, base+1, src.calls.Load(), "the stale readers shared one upstream refresh")
	assert.Len(t, listIDs(t, c, "ann"), 60)
}

func TestCacheGetCollapsesConcurrentCalls(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	src := newMemSource(clock)
	src.put("a0", "ann", "A")
	src.delay = 50 * time.Millisecond
	c := newTestCache(src, clock)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			got, err := c.Get(context.Background(), "", "a0")
			assert.NoError(t, err)
			assert.Equal(t, "a0", got.ID)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), src.getCalls.Load())
}

func TestCacheBacksOffOn429(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	src := newMemSource(clock)
	src.put("a0", "ann", "A")
	c := NewCachedSource(src, CacheOptions{RateLimit: -1, Clock: clock})
	src.refuse.Store(2)
	start := time.Now()
	got, err := c.Get(context.Background(), "", "a0")
	require.NoError(t, err)
	assert.Equal(t, "a0", got.ID)
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "waited RetryAfter twice")
	assert.Equal(t, int32(3), src.calls.Load())

	// Retries run out.
	c = NewCachedSource(src, CacheOptions{RateLimit: -1, MaxRetries: 1, Clock: clock})
	src.refuse.Store(5)
	_, err = c.Get(context.Background(), "", "a0")
	rl, ok := IsRateLimited(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, 30*time.Millisecond, rl.RetryAfter)

	// A caller that gives up stops waiting.
	src.refuse.Store(0)
	c = NewCachedSource(src, CacheOptions{RateLimit: -1, Clock: clock})
	c.pausedUntil.Store(time.Now().Add(time.Hour).UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Get(ctx, "", "a0")
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}

func TestCacheRateLimit(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	src := newMemSource(clock)
	for i := range 10 {
		src.put(fmt.Sprintf("a%d", i), "ann", "A")
	}
	c := NewCachedSource(src, CacheOptions{RateLimit: 20, Clock: clock})
	start := time.Now()
	require.NoError(t, c.Reconcile(context.Background(), "ann")) // 5 pages
	for i := range 5 {
		_, err := c.Get(context.Background(), "", fmt.Sprintf("a%d", i))
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "10 calls at 20/s")
	assert.Equal(t, int64(10), c.UpstreamCalls())
}

func TestCacheWritesAndFind(t *testing.T) {
	clock := testkit.NewClock(time.Now())
	src := newMemSource(clock)
	src.put("a0", "ann", "A")
	c := newTestCache(src, clock)
	ctx := context.Background()
	require.Len(t, listIDs(t, c, "ann"), 1)
	created, err := c.Create(ctx, &herald.Contact{FirstName: "N", Owner: "ann", Phone: "+14155559999"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a0", created.ID}, listIDs(t, c, "ann"), "seen at once, without a refresh")
	created.Owner = "bob"
	_, err = c.Update(ctx, created)
	require.NoError(t, err)
	assert.Equal(t, []string{"a0"}, listIDs(t, c, "ann"))
	require.NoError(t, c.Delete(ctx, "a0"))
	assert.Empty(t, listIDs(t, c, "ann"))

	got, err := c.FindByAddress(ctx, "(415) 555-9999", "US")
	require.NoError(t, err)
	assert.Equal(t, created.ID, got.ID)
	got, err = c.FindByAddress(ctx, "whatsapp:+14155559999", "US")
	require.NoError(t, err)
	assert.Equal(t, created.ID, got.ID)
	_, err = c.FindByAddress(ctx, "+1415555999", "US")
	assert.Error(t, err, "no substring or invalid matches")

	ro := NewCachedSource(struct{ Source }{src}, CacheOptions{})
	_, err = ro.Create(ctx, &herald.Contact{})
	assert.ErrorIs(t, err, herald.ErrUnsupported)
	c.Invalidate("ann")
}
