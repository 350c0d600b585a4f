package optoutsync_test

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
	"github.com/heraldmsg/herald/managers/optoutsync"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// state is a manager State over a memstore, as the dispatcher builds it.
type state struct {
	store herald.StateStore
	org   string
}

func (s *state) key(k string) herald.StateKey {
	return herald.StateKey{OrgID: s.org, Namespace: optoutsync.Name, Key: k}
}

func (s *state) Get(ctx context.Context, k string) ([]byte, bool, error) {
	v, err := s.store.GetState(ctx, s.key(k))
	if errors.Is(err, herald.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (s *state) Put(ctx context.Context, k string, v []byte) error {
	return s.store.PutState(ctx, s.key(k), v)
}

func (s *state) Delete(ctx context.Context, k string) error {
	err := s.store.DeleteState(ctx, s.key(k))
	if errors.Is(err, herald.ErrNotFound) {
		return nil
	}
	return err
}

func (s *state) CompareAndSwap(ctx context.Context, k string, old, v []byte) (bool, error) {
	return s.store.CompareAndSwapState(ctx, s.key(k), old, v)
}

// crm records what it receives; fail decides each call's error.
type crm struct {
	mu   sync.Mutex
	got  []optoutsync.Record
	fail func(r optoutsync.Record) error
}

func (c *crm) SyncOptOut(_ context.Context, r optoutsync.Record) error {
	if c.fail != nil {
		if err := c.fail(r); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
	return nil
}

func (c *crm) records() []optoutsync.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]optoutsync.Record(nil), c.got...)
}

func event(st herald.State, addr string, undo bool) *herald.OptOutEvent {
	return &herald.OptOutEvent{
		Env:          herald.Env{State: st, Clock: herald.SystemClock{}},
		OptOut:       &herald.OptOut{OrgID: "org1", Address: addr, Channel: herald.ChannelSMS, Reason: "stop", Source: "inbound", ContactID: "c1"},
		Undo:         undo,
		Contact:      &herald.Contact{ID: "c1", OrgID: "org1", ExternalID: "civi-42"},
		Organization: &herald.Organization{ID: "org1"},
	}
}

func run(t *testing.T, m *optoutsync.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
}

func pending(t *testing.T, st herald.State) string {
	t.Helper()
	v, _, err := st.Get(context.Background(), "index")
	require.NoError(t, err)
	return string(v)
}

func fast() optoutsync.Options {
	return optoutsync.Options{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestHookNeverWaitsForTheCRM(t *testing.T) {
	release := make(chan struct{})
	c := &crm{fail: func(optoutsync.Record) error { <-release; return nil }}
	m, err := optoutsync.New(c, fast())
	require.NoError(t, err)
	run(t, m)
	defer close(release)
	st := &state{store: memstore.New(), org: "org1"}
	start := time.Now()
	for i := range 5 {
		require.NoError(t, m.OnOptOut(context.Background(), event(st, fmt.Sprintf("+1212555011%d", i), false)))
	}
	assert.Less(t, time.Since(start), 500*time.Millisecond, "the hook returns while the CRM hangs")
	assert.Contains(t, pending(t, st), "-", "records are kept until delivered")
}

func TestDeliversAndForgets(t *testing.T) {
	c := &crm{}
	m, err := optoutsync.New(c, fast())
	require.NoError(t, err)
	run(t, m)
	st := &state{store: memstore.New(), org: "org1"}
	require.NoError(t, m.OnOptOut(context.Background(), event(st, "+12125550111", false)))
	require.NoError(t, m.OnOptOut(context.Background(), event(st, "+12125550111", true)))
	require.Eventually(t, func() bool { return m.Stats().Delivered == 2 }, 5*time.Second, time.Millisecond)
	got := c.records()
	require.Len(t, got, 2)
	byUndo := map[bool]optoutsync.Record{got[0].Undo: got[0], got[1].Undo: got[1]}
	r := byUndo[false]
	assert.Equal(t, "+12125550111", r.Address)
	assert.Equal(t, "civi-42", r.ExternalID)
	assert.Equal(t, "c1", r.ContactID)
	assert.Equal(t, "stop", r.Reason)
	assert.Equal(t, herald.ChannelSMS, r.Channel)
	assert.Equal(t, 1, r.Attempt)
	assert.NotEmpty(t, r.ID)
	assert.True(t, byUndo[true].Undo)
	assert.NotEqual(t, r.ID, byUndo[true].ID)
	require.Eventually(t, func() bool { return pending(t, st) == "[]" }, 5*time.Second, time.Millisecond, "delivered records leave the State")
}

func TestRetriesWithBackoff(t *testing.T) {
	var calls atomic.Int64
	c := &crm{fail: func(optoutsync.Record) error {
		if calls.Add(1) <= 2 {
			return errors.New("CRM down")
		}
		return nil
	}}
	m, err := optoutsync.New(c, fast())
	require.NoError(t, err)
	run(t, m)
	st := &state{store: memstore.New(), org: "org1"}
	require.NoError(t, m.OnOptOut(context.Background(), event(st, "+12125550111", false)))
	require.Eventually(t, func() bool { return m.Stats().Delivered == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 3, c.records()[0].Attempt)
	assert.EqualValues(t, 2, m.Stats().Retried)
}

func TestGivesUp(t *testing.T) {
	var gaveUp []string
	var mu sync.Mutex
	opts := fast()
	opts.MaxAttempts = 3
	opts.OnGiveUp = func(r optoutsync.Record, err error) {
		mu.Lock()
		gaveUp = append(gaveUp, fmt.Sprintf("%s:%d", r.Address, r.Attempt))
		mu.Unlock()
	}
	c := &crm{fail: func(r optoutsync.Record) error {
		if r.Address == "+12125550111" {
			return optoutsync.Permanent(errors.New("no such contact"))
		}
		return errors.New("CRM down")
	}}
	m, err := optoutsync.New(c, opts)
	require.NoError(t, err)
	run(t, m)
	st := &state{store: memstore.New(), org: "org1"}
	require.NoError(t, m.OnOptOut(context.Background(), event(st, "+12125550111", false)))
	require.NoError(t, m.OnOptOut(context.Background(), event(st, "+12125550122", false)))
	require.Eventually(t, func() bool { return m.Stats().GivenUp == 2 }, 5*time.Second, time.Millisecond)
	mu.Lock()
	assert.ElementsMatch(t, []string{"+12125550111:1", "+12125550122:3"}, gaveUp, "permanent: no retry; else MaxAttempts")
	mu.Unlock()
	require.Eventually(t, func() bool { return pending(t, st) == "[]" }, 5*time.Second, time.Millisecond)
	assert.Nil(t, optoutsync.Permanent(nil))
}

func TestPendingRecordsSurviveARestart(t *testing.T) {
	store := memstore.New()
	st := &state{store: store, org: "org1"}
	first, err := optoutsync.New(&crm{}, fast())
	require.NoError(t, err)
	// The first process records two opt-outs and stops before Run delivers.
	require.NoError(t, first.OnOptOut(context.Background(), event(st, "+12125550111", false)))
	require.NoError(t, first.OnOptOut(context.Background(), event(st, "+12125550122", false)))

	c := &crm{}
	second, err := optoutsync.New(c, fast())
	require.NoError(t, err)
	run(t, second)
	require.NoError(t, second.Resume(context.Background(), store, "org1", "org2"))
	require.Eventually(t, func() bool { return second.Stats().Delivered == 2 }, 5*time.Second, time.Millisecond)

	// Without Resume, the next opt-out of the organization sweeps them up.
	third, err := optoutsync.New(&crm{}, fast())
	require.NoError(t, err)
	require.NoError(t, third.OnOptOut(context.Background(), event(st, "+12125550133", false)))
	c4 := &crm{}
	fourth, err := optoutsync.New(c4, fast())
	require.NoError(t, err)
	run(t, fourth)
	require.NoError(t, fourth.OnOptOut(context.Background(), event(st, "+12125550144", false)))
	require.Eventually(t, func() bool { return fourth.Stats().Delivered == 2 }, 5*time.Second, time.Millisecond)
	var addrs []string
	for _, r := range c4.records() {
		addrs = append(addrs, r.Address)
	}
	assert.ElementsMatch(t, []string{"+12125550133", "+12125550144"}, addrs)
}

func TestNewNeedsACRM(t *testing.T) {
	_, err := optoutsync.New(nil, optoutsync.Options{})
	assert.ErrorIs(t, err, herald.ErrConfig)
	m, err := optoutsync.New(optoutsync.CRMFunc(func(context.Context, optoutsync.Record) error { return nil }), optoutsync.Options{})
	require.NoError(t, err)
	assert.Equal(t, "optout-sync", m.Metadata().Name)
	assert.False(t, m.Metadata().CanSpendMoney)
}

// TestThroughDispatcher: opt-outs the dispatcher records (an inbound STOP,
// a vendor's 21610) and their undo reach the CRM, and a failing CRM never
// holds up or undoes the opt-out.
func TestThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	c := &crm{fail: func(optoutsync.Record) error {
		if calls.Add(1) == 1 {
			return errors.New("CRM down")
		}
		return nil
	}}
	mgr, err := optoutsync.New(c, fast())
	require.NoError(t, err)
	run(t, mgr)
	store := memstore.New()
	v := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v},
		Managers: []herald.ServiceManager{mgr}, EnabledManagers: []string{optoutsync.Name}})
	require.NoError(t, err)
	v.Connect(d)
	t.Cleanup(v.Wait)
	_, err = store.PutContact(ctx, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+12125550111", ExternalID: "civi-1"})
	require.NoError(t, err)

	require.NoError(t, d.HandleInbound(ctx, &herald.InboundMessage{OrgID: "org1", Vendor: "fake", From: "+12125550111", Body: "STOP"}))
	_, err = store.FindOptOut(ctx, "org1", herald.ChannelSMS, "+12125550111")
	require.NoError(t, err, "the opt-out is recorded whatever the CRM does")
	require.Eventually(t, func() bool { return mgr.Stats().Delivered == 1 }, 5*time.Second, time.Millisecond)
	got := c.records()[0]
	assert.Equal(t, "+12125550111", got.Address)
	assert.Equal(t, "civi-1", got.ExternalID)
	assert.Equal(t, "stop", got.Reason)
	assert.Equal(t, "inbound", got.Source)
	assert.False(t, got.Undo)
	assert.Equal(t, 2, got.Attempt, "retried after the CRM failed")

	require.NoError(t, d.HandleInbound(ctx, &herald.InboundMessage{OrgID: "org1", Vendor: "fake", From: "+12125550111", Body: "START"}))
	require.Eventually(t, func() bool { return mgr.Stats().Delivered == 2 }, 5*time.Second, time.Millisecond)
	assert.True(t, c.records()[1].Undo)

	_, err = d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+12125550199", Body: "error21610"})
	require.ErrorIs(t, err, herald.ClassOptedOut)
	require.Eventually(t, func() bool { return mgr.Stats().Delivered == 3 }, 5*time.Second, time.Millisecond)
	vendorRec := c.records()[2]
	assert.Equal(t, "+12125550199", vendorRec.Address)
	assert.Equal(t, "vendor", vendorRec.Source)
	assert.Equal(t, "21610", vendorRec.Reason)
}

func ExampleNew() {
	// Forward opt-outs to a CRM "do not SMS" group, by the contact's
	// external ID (Spoke's civicrm-donotsms).
	done := make(chan struct{})
	crm := optoutsync.CRMFunc(func(ctx context.Context, r optoutsync.Record) error {
		fmt.Println("do-not-sms", r.ExternalID, "undo:", r.Undo)
		close(done)
		return nil
	})
	m, _ := optoutsync.New(crm, optoutsync.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = m.Run(ctx) }()
	defer cancel()

	store := memstore.New()
	d, _ := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers:        []herald.ServiceManager{m},
		EnabledManagers: []string{optoutsync.Name},
	})
	_, _ = store.PutContact(ctx, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+12125550111", ExternalID: "civi-7"})
	_ = d.OptOut(ctx, &herald.OptOut{OrgID: "org1", Address: "+12125550111", Channel: herald.ChannelSMS, Reason: "asked by phone"})
	<-done
	// Output: do-not-sms civi-7 undo: false
}
