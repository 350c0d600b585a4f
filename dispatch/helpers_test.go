package dispatch_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// callLog records hook calls as "manager:hook:org".
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	l.calls = append(l.calls, s)
	l.mu.Unlock()
}

func (l *callLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *callLog) reset() {
	l.mu.Lock()
	l.calls = nil
	l.mu.Unlock()
}

// recMgr is a test manager implementing the hooks the dispatcher tests
// need, recording each call.
type recMgr struct {
	name          string
	log           *callLog
	before, after []string

	onSend       func(ev *herald.MessageSendEvent) error
	data         *herald.ManagerData
	startErr     error
	unarchiveErr error
}

func (m *recMgr) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{Name: m.name, DisplayName: m.name, RunsBefore: m.before, RunsAfter: m.after}
}

func (m *recMgr) rec(hook, org string) { m.log.add(m.name + ":" + hook + ":" + org) }

func (m *recMgr) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	m.rec("send", ev.Organization.ID)
	if ev.Env.Logger == nil || ev.Env.State == nil || ev.Env.Store == nil || ev.Env.Clock == nil {
		return fmt.Errorf("incomplete env")
	}
	if m.onSend != nil {
		return m.onSend(ev)
	}
	return nil
}

func (m *recMgr) OnDeliveryReport(ctx context.Context, ev *herald.DeliveryReportEvent) error {
	m.rec("report", ev.Organization.ID)
	return nil
}

func (m *recMgr) OnOptOut(ctx context.Context, ev *herald.OptOutEvent) error {
	hook := "optout"
	if ev.Undo {
		hook = "optin"
	}
	m.rec(hook, ev.Organization.ID)
	return nil
}

func (m *recMgr) OnCampaignContactLoad(ctx context.Context, ev *herald.ContactLoadEvent) error {
	m.rec("load", ev.Organization.ID)
	return nil
}

func (m *recMgr) OnCampaignStart(ctx context.Context, ev *herald.CampaignEvent) error {
	m.rec("start", ev.Organization.ID)
	return m.startErr
}

func (m *recMgr) OnCampaignArchive(ctx context.Context, ev *herald.CampaignEvent) error {
	m.rec("archive", ev.Organization.ID)
	return nil
}

func (m *recMgr) OnCampaignUnarchive(ctx context.Context, ev *herald.CampaignEvent) error {
	m.rec("unarchive", ev.Organization.ID)
	return m.unarchiveErr
}

func (m *recMgr) CampaignData(ctx context.Context, ev *herald.CampaignDataEvent) (*herald.ManagerData, error) {
	m.rec("data", ev.Organization.ID)
	if m.data != nil {
		c := *m.data
		return &c, nil
	}
	return &herald.ManagerData{}, nil
}

// slowVendor wraps a vendor, delaying each Send and optionally hiding
// IdempotentSend; it exposes only the Vendor interface.
type slowVendor struct {
	herald.Vendor
	delay         time.Duration
	notIdempotent bool
}

func (v *slowVendor) Metadata() herald.VendorMetadata {
	md := v.Vendor.Metadata()
	if v.notIdempotent {
		md.IdempotentSend = false
	}
	return md
}

func (v *slowVendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	select {
	case <-time.After(v.delay):
	case <-ctx.Done():
		return nil, &herald.VendorError{Vendor: v.Metadata().Name, Class: herald.ClassMaybeDelivered, Err: ctx.Err()}
	}
	return v.Vendor.Send(ctx, req)
}

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// fixture is a dispatcher on a memstore with the fake vendor connected.
type fixture struct {
	d     *dispatch.Dispatcher
	store *memstore.Store
	fake  *fake.Vendor
	log   *callLog
}

func newFixture(t *testing.T, mutate func(*dispatch.Config)) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), fake: fake.New(fake.Options{}), log: &callLog{}}
	cfg := dispatch.Config{
		Store:   f.store,
		Vendors: []herald.Vendor{f.fake},
		Retry:   dispatch.RetryPolicy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Jitter: -1},
		// Fast polling keeps worker tests quick.
		PollInterval: 10 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	d, err := dispatch.New(cfg)
	require.NoError(t, err)
	f.d = d
	f.fake.Connect(d)
	t.Cleanup(f.fake.Wait)
	return f
}

// sms is a valid SMS for org.
func sms(org, to, body string) *herald.Message {
	return &herald.Message{OrgID: org, Channel: herald.ChannelSMS, To: to, Body: body}
}

// run starts Run in the background and returns a stop function that waits
// for it to return.
func run(t *testing.T, d *dispatch.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually waits for cond, failing after a few seconds.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, fmt.Sprintf(msg, args...))
}

func statusOf(t *testing.T, s herald.Store, org, id string) herald.Status {
	t.Helper()
	m, err := s.GetMessage(context.Background(), org, id)
	require.NoError(t, err)
	return m.Status
}

func hasEngagement(events []herald.StatusEvent, e herald.Engagement) bool {
	for _, ev := range events {
		if ev.Engagement == e {
			return true
		}
	}
	return false
}
