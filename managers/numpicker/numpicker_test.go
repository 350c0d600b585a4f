package numpicker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/managers/numpicker"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// countingStore counts ListNumbers calls and can fail them.
type countingStore struct {
	*memstore.Store
	lists atomic.Int64
	fail  atomic.Bool
}

func (s *countingStore) ListNumbers(ctx context.Context, f herald.NumberFilter) ([]herald.OwnedNumber, error) {
	s.lists.Add(1)
	if s.fail.Load() {
		return nil, errors.New("store down")
	}
	return s.Store.ListNumbers(ctx, f)
}

type env struct {
	store *countingStore
	clock *testkit.Clock
	env   herald.Env
	org   *herald.Organization
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{store: &countingStore{Store: memstore.New()}, clock: testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		org: &herald.Organization{ID: "org1"}}
	v := fake.New(fake.Options{Quiet: true})
	e.env = herald.Env{Vendor: v, Store: e.store, Clock: e.clock}
	return e
}

func (e *env) add(t *testing.T, org, vendor string, numbers ...string) {
	t.Helper()
	var ns []herald.OwnedNumber
	for _, n := range numbers {
		ns = append(ns, herald.OwnedNumber{OrgID: org, Vendor: vendor, Number: n})
	}
	require.NoError(t, e.store.AddNumbers(context.Background(), ns))
}

func (e *env) send(t *testing.T, m *numpicker.Manager, to string, route *herald.Route) (string, error) {
	t.Helper()
	if route == nil {
		route = &herald.Route{}
	}
	ev := &herald.MessageSendEvent{Env: e.env, Organization: e.org, Route: route,
		Message: &herald.Message{ID: "m", OrgID: e.org.ID, Channel: herald.ChannelSMS, To: to, Body: "hi"}}
	err := m.OnMessageSend(context.Background(), ev)
	return route.From, err
}

func TestFillsEmptySenderFromFreeNumbersOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.add(t, "org1", "fake", "+14155550100", "+14155550101", "+14155550102")
	e.add(t, "org1", "other", "+14155550200")
	e.add(t, "org2", "fake", "+14155550300")
	_, err := e.store.AllocateNumbers(ctx, herald.AllocateParams{OrgID: "org1", Vendor: "fake", Count: 1,
		AllocatedTo: herald.AllocationCampaign, AllocatedToID: "camp1"}) // takes ...100, the lowest
	require.NoError(t, err)

	m := numpicker.New(numpicker.Options{})
	seen := map[string]int{}
	for range 10 {
		from, err := e.send(t, m, "+12125550111", nil)
		require.NoError(t, err)
		seen[from]++
	}
	assert.Equal(t, map[string]int{"+14155550101": 5, "+14155550102": 5}, seen,
		"only org1's free numbers at the route's vendor, in rotation")
}

func TestLeavesRouteAlone(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100")
	m := numpicker.New(numpicker.Options{})

	from, err := e.send(t, m, "+12125550111", &herald.Route{From: "+13105550123"})
	require.NoError(t, err)
	assert.Equal(t, "+13105550123", from, "a chosen sender is kept")

	from, err = e.send(t, m, "+12125550111", &herald.Route{MessagingServiceID: "MG1"})
	require.NoError(t, err)
	assert.Empty(t, from, "a messaging service picks its own number")

	route := &herald.Route{}
	err = m.OnMessageSend(context.Background(), &herald.MessageSendEvent{Env: e.env, Organization: e.org, Route: route,
		Message: &herald.Message{OrgID: "org1", Channel: herald.ChannelEmail, To: "a@example.com"}})
	require.NoError(t, err)
	assert.Empty(t, route.From, "email is not the picker's business")

	from, err = e.send(t, m, "+12125550111", &herald.Route{Vendor: "nobody"})
	require.NoError(t, err)
	assert.Empty(t, from, "no numbers at the route's vendor: From stays empty")
}

func TestUniformRotationIsEven(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100", "+14155550101", "+14155550102")
	m := numpicker.New(numpicker.Options{})
	counts := map[string]int{}
	for range 300 {
		from, err := e.send(t, m, "+12125550111", nil)
		require.NoError(t, err)
		counts[from]++
	}
	assert.Equal(t, map[string]int{"+14155550100": 100, "+14155550101": 100, "+14155550102": 100}, counts)
}

func TestNoScanPerMessageAndTTL(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100", "+14155550101")
	m := numpicker.New(numpicker.Options{TTL: time.Minute, MissRetry: 5 * time.Second})
	for range 1000 {
		_, err := e.send(t, m, "+12125550111", nil)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, e.store.lists.Load(), "one load for a thousand messages")

	// A number added meanwhile is seen after the TTL, not before.
	e.add(t, "org1", "fake", "+14155550109")
	e.clock.Advance(59 * time.Second)
	seen := map[string]bool{}
	for range 10 {
		from, _ := e.send(t, m, "+12125550111", nil)
		seen[from] = true
	}
	assert.False(t, seen["+14155550109"])
	e.clock.Advance(time.Second)
	for range 10 {
		from, _ := e.send(t, m, "+12125550111", nil)
		seen[from] = true
	}
	assert.True(t, seen["+14155550109"], "reloaded after the TTL")
	assert.EqualValues(t, 2, e.store.lists.Load())
}

func TestEmptyPoolIsRetriedAfterMissRetry(t *testing.T) {
	e := newEnv(t)
	m := numpicker.New(numpicker.Options{MissRetry: 5 * time.Second})
	for range 50 {
		from, err := e.send(t, m, "+12125550111", nil)
		require.NoError(t, err)
		assert.Empty(t, from)
	}
	assert.EqualValues(t, 1, e.store.lists.Load(), "an empty pool is not reloaded per message")
	e.add(t, "org1", "fake", "+14155550100")
	e.clock.Advance(5 * time.Second)
	from, err := e.send(t, m, "+12125550111", nil)
	require.NoError(t, err)
	assert.Equal(t, "+14155550100", from)
}

func TestInvalidate(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100", "+14155550101")
	m := numpicker.New(numpicker.Options{})
	_, _ = e.send(t, m, "+12125550111", nil)
	_, err := e.store.AllocateNumbers(context.Background(), herald.AllocateParams{OrgID: "org1", Vendor: "fake",
		Count: 1, AllocatedTo: herald.AllocationCampaign, AllocatedToID: "c"})
	require.NoError(t, err)
	m.Invalidate("org2")
	m.Invalidate("org1")
	for range 5 {
		from, err := e.send(t, m, "+12125550111", nil)
		require.NoError(t, err)
		assert.Equal(t, "+14155550101", from, "the allocated number is gone after Invalidate")
	}
}

func TestStoreFailure(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100")
	m := numpicker.New(numpicker.Options{})
	e.store.fail.Store(true)
	_, err := e.send(t, m, "+12125550111", nil)
	require.Error(t, err, "no pool at all: the message fails")
	assert.Contains(t, err.Error(), "store down")

	e.store.fail.Store(false)
	from, err := e.send(t, m, "+12125550111", nil)
	require.NoError(t, err)
	require.Equal(t, "+14155550100", from)

	e.store.fail.Store(true)
	e.clock.Advance(2 * numpicker.DefaultTTL)
	from, err = e.send(t, m, "+12125550111", nil)
	require.NoError(t, err, "a failed reload keeps the old pool")
	assert.Equal(t, "+14155550100", from)
}

func TestPreferAreaCode(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+12125550100", "+14155550100", "+14155550101", "+442079460100")
	m := numpicker.New(numpicker.Options{Picker: numpicker.PreferAreaCode(nil)})
	for range 4 {
		from, err := e.send(t, m, "+14155552671", nil)
		require.NoError(t, err)
		assert.Contains(t, []string{"+14155550100", "+14155550101"}, from)
	}
	from, err := e.send(t, m, "+12125552671", nil)
	require.NoError(t, err)
	assert.Equal(t, "+12125550100", from)
	from, err = e.send(t, m, "+442079460958", nil)
	require.NoError(t, err)
	assert.Equal(t, "+442079460100", from, "area codes outside the NANP too (London 20)")

	// No number in 617: the fallback picker answers.
	fallback := numpicker.PickerFunc(func(context.Context, *herald.MessageSendEvent, *numpicker.Pool) (string, error) {
		return "+19995550000", nil
	})
	m = numpicker.New(numpicker.Options{Picker: numpicker.PreferAreaCode(fallback)})
	from, err = e.send(t, m, "+16175552671", nil)
	require.NoError(t, err)
	assert.Equal(t, "+19995550000", from)
}

func TestStrategyFeature(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+12125550100", "+14155550100")
	m := numpicker.New(numpicker.Options{}) // uniform by default
	e.org.Features = map[string]string{numpicker.FeatureStrategy: numpicker.StrategyAreaCode}
	for range 6 {
		from, err := e.send(t, m, "+14155552671", nil)
		require.NoError(t, err)
		assert.Equal(t, "+14155550100", from)
	}
	e.org.Features[numpicker.FeatureStrategy] = numpicker.StrategyUniform
	seen := map[string]bool{}
	for range 6 {
		from, _ := e.send(t, m, "+14155552671", nil)
		seen[from] = true
	}
	assert.Len(t, seen, 2)
}

func TestPickerErrorFails(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100")
	boom := errors.New("boom")
	m := numpicker.New(numpicker.Options{Picker: numpicker.PickerFunc(
		func(context.Context, *herald.MessageSendEvent, *numpicker.Pool) (string, error) { return "", boom })})
	_, err := e.send(t, m, "+12125550111", nil)
	assert.ErrorIs(t, err, boom)
}

func TestPool(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550101", "+14155550100", "+12125550100")
	var got *numpicker.Pool
	m := numpicker.New(numpicker.Options{Picker: numpicker.PickerFunc(
		func(_ context.Context, _ *herald.MessageSendEvent, p *numpicker.Pool) (string, error) {
			got = p
			return p.Next(), nil
		})})
	_, err := e.send(t, m, "+12125550111", nil)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, 3, got.Len())
	assert.Equal(t, []string{"+12125550100", "+14155550100", "+14155550101"}, got.Numbers())
	assert.Equal(t, map[string]int{"212": 1, "415": 2}, got.AreaCodes())
	assert.Equal(t, "org1", got.OrgID)
	assert.Equal(t, "fake", got.Vendor)
	_, ok := got.NextInArea("617")
	assert.False(t, ok)
}

func TestConcurrentSends(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100", "+14155550101", "+14155550102", "+14155550103")
	m := numpicker.New(numpicker.Options{TTL: time.Millisecond})
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				from, err := e.send(t, m, "+12125550111", nil)
				assert.NoError(t, err)
				mu.Lock()
				counts[from]++
				mu.Unlock()
			}
			e.clock.Advance(time.Millisecond)
		})
	}
	wg.Wait()
	total := 0
	for n, c := range counts {
		assert.Contains(t, []string{"+14155550100", "+14155550101", "+14155550102", "+14155550103"}, n)
		total += c
	}
	assert.Equal(t, 1600, total)
}

func TestMetadata(t *testing.T) {
	md := numpicker.New(numpicker.Options{}).Metadata()
	assert.Equal(t, numpicker.Name, md.Name)
	assert.Equal(t, "numpicker-basic", md.Name)
	assert.False(t, md.CanSpendMoney)
	assert.NotEmpty(t, md.Description)
}

// TestThroughDispatcher sends through a dispatcher with the fake vendor:
// the vendor sees a number of the pool, and the message records it.
func TestThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	v := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v},
		Managers: []herald.ServiceManager{numpicker.New(numpicker.Options{})}, EnabledManagers: []string{numpicker.Name}})
	require.NoError(t, err)
	v.Connect(d)
	t.Cleanup(v.Wait)
	pool := []string{"+14155550100", "+14155550101"}
	require.NoError(t, store.AddNumbers(ctx, []herald.OwnedNumber{
		{OrgID: "org1", Vendor: "fake", Number: pool[0]}, {OrgID: "org1", Vendor: "fake", Number: pool[1]}}))

	var froms []string
	for i := range 4 {
		res, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+12125550111", Body: fmt.Sprint("hi ", i)})
		require.NoError(t, err)
		assert.Contains(t, pool, res.Message.From)
		froms = append(froms, res.Message.From)
	}
	assert.ElementsMatch(t, []string{pool[0], pool[0], pool[1], pool[1]}, froms)
	for _, s := range v.Sends() {
		assert.Contains(t, pool, s.Request.Route.From, "the vendor was asked to send from the pool")
	}
	res, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+12125550111",
		From: "+13105550123", Body: "chosen"})
	require.NoError(t, err)
	assert.Equal(t, "+13105550123", res.Message.From, "a host-chosen sender is kept")
}

func ExampleNew() {
	ctx := context.Background()
	store := memstore.New()
	_ = store.AddNumbers(ctx, []herald.OwnedNumber{
		{OrgID: "org1", Vendor: "fake", Number: "+12125550100"},
		{OrgID: "org1", Vendor: "fake", Number: "+14155550100"},
	})
	// Prefer a number in the recipient's area code.
	picker := numpicker.New(numpicker.Options{Picker: numpicker.PreferAreaCode(numpicker.Uniform())})
	d, _ := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers:        []herald.ServiceManager{picker},
		EnabledManagers: []string{numpicker.Name},
	})
	res, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: "Hello"})
	fmt.Println(res.Message.From, err)
	// Output: +14155550100 <nil>
}

func TestCampaignHooksDropThePools(t *testing.T) {
	e := newEnv(t)
	e.add(t, "org1", "fake", "+14155550100")
	m := numpicker.New(numpicker.Options{})
	_, _ = e.send(t, m, "+12125550111", nil)
	require.NoError(t, m.OnCampaignStart(context.Background(), &herald.CampaignEvent{Env: e.env, Organization: e.org}))
	_, _ = e.send(t, m, "+12125550111", nil)
	require.NoError(t, m.OnCampaignArchive(context.Background(), &herald.CampaignEvent{Env: e.env, Organization: e.org}))
	_, _ = e.send(t, m, "+12125550111", nil)
	assert.EqualValues(t, 3, e.store.lists.Load(), "reloaded after start and after archive")
}
