package example_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/managers/example"
)

// memState is a minimal herald.State: a map and a mutex.
type memState struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail error
}

func newState() *memState { return &memState{m: map[string][]byte{}} }

func (s *memState) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, false, s.fail
	}
	v, ok := s.m[key]
	return bytes.Clone(v), ok, nil
}

func (s *memState) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = bytes.Clone(value)
	return nil
}

func (s *memState) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memState) CompareAndSwap(_ context.Context, key string, old, value []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.m[key]
	if old == nil && ok || old != nil && (!ok || !bytes.Equal(cur, old)) {
		return false, nil
	}
	s.m[key] = bytes.Clone(value)
	return true, nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// stubVendor stands for the organization's vendor in Env.
type stubVendor struct{}

func (stubVendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "stub", DisplayName: "Stub", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (stubVendor) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "S1"}, nil
}

type fixture struct {
	env      herald.Env
	state    *memState
	logs     *bytes.Buffer
	org      *herald.Organization
	campaign *herald.Campaign
	contact  *herald.Contact
	message  *herald.Message
}

func newFixture() *fixture {
	f := &fixture{
		state:    newState(),
		logs:     &bytes.Buffer{},
		org:      &herald.Organization{ID: "org1"},
		campaign: &herald.Campaign{ID: "camp1", OrgID: "org1", State: herald.CampaignDraft},
		contact:  &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+15555550101"},
	}
	f.message = &herald.Message{ID: "m1", OrgID: "org1", CampaignID: "camp1", ContactID: "c1",
		Channel: herald.ChannelSMS, To: "+15555550101", Body: "hi"}
	f.env = herald.Env{
		State:  f.state,
		Vendor: stubVendor{},
		Clock:  fixedClock{t0},
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return f
}

// callAll calls every hook once and returns the errors of each.
func callAll(t *testing.T, m *example.Manager, f *fixture) map[string]error {
	t.Helper()
	ctx := context.Background()
	errs := map[string]error{}
	errs[example.HookMessageSend] = m.OnMessageSend(ctx, &herald.MessageSendEvent{Env: f.env, Message: f.message,
		Contact: f.contact, Organization: f.org, Campaign: f.campaign, Route: &herald.Route{}, Attempt: 2})
	errs[example.HookDeliveryReport] = m.OnDeliveryReport(ctx, &herald.DeliveryReportEvent{Env: f.env,
		Report:  &herald.DeliveryReport{OrgID: "org1", Vendor: "stub", VendorMessageID: "S1", Status: herald.StatusDelivered},
		Message: f.message, Contact: f.contact, Organization: f.org, Campaign: f.campaign, Applied: true})
	errs[example.HookOptOut] = m.OnOptOut(ctx, &herald.OptOutEvent{Env: f.env,
		OptOut:  &herald.OptOut{OrgID: "org1", Address: "+15555550101", Channel: herald.ChannelSMS, Reason: "stop"},
		Contact: f.contact, Organization: f.org, Campaign: f.campaign})
	errs[example.HookContactLoad] = m.OnCampaignContactLoad(ctx, &herald.ContactLoadEvent{Env: f.env,
		Organization: f.org, Campaign: f.campaign, Stats: herald.LoadStats{Loaded: 3, FinalCount: 3}})
	errs[example.HookVendorSetup] = m.OnVendorSetup(ctx, &herald.VendorSetupEvent{Env: f.env, Organization: f.org,
		VendorName: "stub", NewConfig: map[string]string{"secret": "s"}, Data: map[string]string{}})
	errs[example.HookVendorConfigured] = m.OnVendorFullyConfigured(ctx, &herald.VendorConfiguredEvent{Env: f.env,
		Organization: f.org, VendorName: "stub", Data: map[string]string{}})
	errs[example.HookBuyNumbers] = m.OnBuyNumbers(ctx, &herald.BuyNumbersEvent{Env: f.env, Organization: f.org,
		VendorName: "stub", Params: &herald.BuyNumbersParams{Organization: f.org, AreaCode: "415", Limit: 2}})
	cev := &herald.CampaignEvent{Env: f.env, Organization: f.org, Campaign: f.campaign, Actor: "u1"}
	errs[example.HookCampaignStart] = m.OnCampaignStart(ctx, cev)
	errs[example.HookCampaignArchive] = m.OnCampaignArchive(ctx, cev)
	errs[example.HookCampaignUnarchive] = m.OnCampaignUnarchive(ctx, cev)
	_, errs[example.HookCampaignData] = m.CampaignData(ctx, &herald.CampaignDataEvent{Env: f.env, Organization: f.org, Campaign: f.campaign})
	_, errs[example.HookCampaignUpdate] = m.OnCampaignUpdate(ctx, &herald.CampaignUpdateEvent{Env: f.env,
		Organization: f.org, Campaign: f.campaign, Update: map[string]any{"a": 1}})
	_, errs[example.HookOrganizationData] = m.OrganizationData(ctx, &herald.OrganizationDataEvent{Env: f.env, Organization: f.org})
	_, errs[example.HookOrganizationUpdate] = m.OnOrganizationUpdate(ctx, &herald.OrganizationUpdateEvent{Env: f.env,
		Organization: f.org, Update: map[string]any{"b": 2}})
	return errs
}

func TestMetadata(t *testing.T) {
	md := example.New().Metadata()
	assert.Equal(t, "example", md.Name)
	assert.Equal(t, example.Name, md.Name)
	assert.NotEmpty(t, md.DisplayName)
	assert.NotEmpty(t, md.Description)
	assert.True(t, md.SupportsOrgConfig)
	assert.True(t, md.SupportsCampaignConfig)
	assert.False(t, md.CanSpendMoney)

	before := []string{"numpicker"}
	named := example.NewWithOptions(example.Options{Name: "first", RunsBefore: before, RunsAfter: []string{"scrub"}})
	before[0] = "changed"
	md = named.Metadata()
	assert.Equal(t, "first", md.Name)
	assert.Equal(t, []string{"numpicker"}, md.RunsBefore)
	assert.Equal(t, []string{"scrub"}, md.RunsAfter)
}

func TestEveryHookIsRecordedAndCounted(t *testing.T) {
	m := example.New()
	f := newFixture()
	for hook, err := range callAll(t, m, f) {
		assert.NoError(t, err, "%s is a no-op by default", hook)
	}
	callAll(t, m, f)

	calls := m.Calls()
	require.Len(t, calls, 2*len(example.Hooks()))
	for i, hook := range example.Hooks() {
		assert.Equal(t, hook, calls[i].Hook, "calls are recorded in order")
		assert.Equal(t, "org1", calls[i].OrgID, hook)
		assert.Equal(t, t0, calls[i].At, "At comes from Env.Clock")
		assert.NoError(t, calls[i].Err)
		n, err := example.CallCount(context.Background(), f.state, hook)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "%s counted in State", hook)
		assert.Len(t, m.CallsOf(hook), 2)
	}

	send := m.CallsOf(example.HookMessageSend)[0]
	assert.Equal(t, example.Call{Hook: example.HookMessageSend, OrgID: "org1", CampaignID: "camp1",
		MessageID: "m1", ContactID: "c1", VendorName: "stub", Attempt: 2, At: t0}, send)
	report := m.CallsOf(example.HookDeliveryReport)[0]
	assert.Equal(t, "m1", report.MessageID)
	assert.Equal(t, "stub", report.VendorName)
	assert.Equal(t, "c1", m.CallsOf(example.HookOptOut)[0].ContactID)
	assert.Equal(t, "camp1", m.CallsOf(example.HookCampaignStart)[0].CampaignID)
	assert.Equal(t, "stub", m.CallsOf(example.HookBuyNumbers)[0].VendorName)

	n, err := example.CallCount(context.Background(), f.state, "nothing")
	require.NoError(t, err)
	assert.Zero(t, n)

	m.Reset()
	assert.Empty(t, m.Calls())
	n, _ = example.CallCount(context.Background(), f.state, example.HookMessageSend)
	assert.Equal(t, 2, n, "Reset leaves State alone")
}

func TestDefaultData(t *testing.T) {
	m := example.New()
	f := newFixture()
	ctx := context.Background()

	d, err := m.CampaignData(ctx, &herald.CampaignDataEvent{Env: f.env, Organization: f.org, Campaign: f.campaign, ForStats: true})
	require.NoError(t, err)
	require.NotNil(t, d.FullyConfigured)
	require.NotNil(t, d.Unarchivable)
	assert.True(t, *d.FullyConfigured)
	assert.True(t, *d.Unarchivable)
	assert.Equal(t, true, d.Data["forStats"])

	update := map[string]any{"x": "y"}
	d, err = m.OnCampaignUpdate(ctx, &herald.CampaignUpdateEvent{Env: f.env, Organization: f.org, Campaign: f.campaign, Update: update})
	require.NoError(t, err)
	assert.Equal(t, update, d.Data["update"])
	assert.True(t, *d.FullyConfigured)

	d, err = m.OrganizationData(ctx, &herald.OrganizationDataEvent{Env: f.env, Organization: f.org})
	require.NoError(t, err)
	assert.True(t, *d.FullyConfigured)
	assert.Nil(t, d.Unarchivable)

	d, err = m.OnOrganizationUpdate(ctx, &herald.OrganizationUpdateEvent{Env: f.env, Organization: f.org, Update: update})
	require.NoError(t, err)
	assert.Equal(t, update, d.Data["update"])
}

func TestSwitches(t *testing.T) {
	m := example.NewWithOptions(example.Options{NotFullyConfigured: true, NotUnarchivable: true})
	f := newFixture()
	ctx := context.Background()
	d, err := m.CampaignData(ctx, &herald.CampaignDataEvent{Env: f.env, Organization: f.org, Campaign: f.campaign})
	require.NoError(t, err)
	assert.False(t, *d.FullyConfigured)
	assert.False(t, *d.Unarchivable)
	d, err = m.OrganizationData(ctx, &herald.OrganizationDataEvent{Env: f.env, Organization: f.org})
	require.NoError(t, err)
	assert.False(t, *d.FullyConfigured)
}

func TestOptionFuncsAreHonoured(t *testing.T) {
	boom := errors.New("boom")
	blocked := fmt.Errorf("example says no: %w", herald.ErrBlocked)
	m := example.NewWithOptions(example.Options{
		OnSend: func(_ context.Context, ev *herald.MessageSendEvent) error {
			if ev.Message.Body == "block me" {
				return blocked
			}
			ev.Route.From = "+15555550199" // what sticky-sender would do
			return nil
		},
		OnDeliveryReport:    func(context.Context, *herald.DeliveryReportEvent) error { return boom },
		OnOptOut:            func(context.Context, *herald.OptOutEvent) error { return boom },
		OnContactLoad:       func(context.Context, *herald.ContactLoadEvent) error { return boom },
		OnVendorSetup:       func(_ context.Context, ev *herald.VendorSetupEvent) error { ev.Data["k"] = "v"; return boom },
		OnVendorConfigured:  func(context.Context, *herald.VendorConfiguredEvent) error { return boom },
		OnBuyNumbers:        func(_ context.Context, ev *herald.BuyNumbersEvent) error { ev.Params.Limit = 1; return boom },
		OnCampaignStart:     func(context.Context, *herald.CampaignEvent) error { return blocked },
		OnCampaignArchive:   func(context.Context, *herald.CampaignEvent) error { return boom },
		OnCampaignUnarchive: func(context.Context, *herald.CampaignEvent) error { return blocked },
		CampaignData: func(context.Context, *herald.CampaignDataEvent) (*herald.ManagerData, error) {
			return &herald.ManagerData{FullyConfigured: herald.Bool(false)}, nil
		},
		CampaignUpdate: func(context.Context, *herald.CampaignUpdateEvent) (*herald.ManagerData, error) {
			return nil, boom
		},
		OrganizationData: func(context.Context, *herald.OrganizationDataEvent) (*herald.ManagerData, error) {
			return nil, boom
		},
		OrganizationUpdate: func(context.Context, *herald.OrganizationUpdateEvent) (*herald.ManagerData, error) {
			return &herald.ManagerData{StartPolling: true}, nil
		},
	})
	f := newFixture()
	errs := callAll(t, m, f)
	assert.NoError(t, errs[example.HookMessageSend])
	assert.ErrorIs(t, errs[example.HookCampaignStart], herald.ErrBlocked)
	assert.ErrorIs(t, errs[example.HookCampaignUnarchive], herald.ErrBlocked)
	for _, h := range []string{example.HookDeliveryReport, example.HookOptOut, example.HookContactLoad,
		example.HookVendorSetup, example.HookVendorConfigured, example.HookBuyNumbers, example.HookCampaignArchive,
		example.HookCampaignUpdate, example.HookOrganizationData} {
		assert.ErrorIs(t, errs[h], boom, h)
		assert.ErrorIs(t, m.CallsOf(h)[0].Err, boom, "%s records its error", h)
	}
	assert.NoError(t, errs[example.HookCampaignData])
	assert.NoError(t, errs[example.HookOrganizationUpdate])

	ctx := context.Background()
	route := &herald.Route{}
	msg := f.message.Clone()
	require.NoError(t, m.OnMessageSend(ctx, &herald.MessageSendEvent{Env: f.env, Message: msg, Organization: f.org, Route: route}))
	assert.Equal(t, "+15555550199", route.From, "the hook func may change the route")
	msg.Body = "block me"
	err := m.OnMessageSend(ctx, &herald.MessageSendEvent{Env: f.env, Message: msg, Organization: f.org, Route: &herald.Route{}})
	assert.ErrorIs(t, err, herald.ErrBlocked)
	sends := m.CallsOf(example.HookMessageSend)
	assert.ErrorIs(t, sends[len(sends)-1].Err, herald.ErrBlocked)

	d, err := m.CampaignData(ctx, &herald.CampaignDataEvent{Env: f.env, Organization: f.org, Campaign: f.campaign})
	require.NoError(t, err)
	assert.False(t, *d.FullyConfigured)
	assert.Nil(t, d.Unarchivable, "a data func replaces the default answer")

	assert.Contains(t, f.logs.String(), "boom", "errors are logged")
}

func TestLogs(t *testing.T) {
	m := example.New()
	f := newFixture()
	callAll(t, m, f)
	logs := f.logs.String()
	for _, h := range example.Hooks() {
		assert.Contains(t, logs, "hook="+h)
	}
	assert.Contains(t, logs, "message=m1")
	assert.Contains(t, logs, "calls=1")
	assert.NotContains(t, logs, "5555550101", "no phone numbers in logs")
	assert.NotContains(t, logs, "secret")
}

func TestWorksWithoutStateClockOrLogger(t *testing.T) {
	m := example.New()
	ctx := context.Background()
	before := time.Now()
	require.NoError(t, m.OnCampaignStart(ctx, &herald.CampaignEvent{}))
	require.NoError(t, m.OnMessageSend(ctx, &herald.MessageSendEvent{Message: &herald.Message{ID: "m", OrgID: "o"}}))
	_, err := m.CampaignData(ctx, &herald.CampaignDataEvent{})
	require.NoError(t, err)
	calls := m.Calls()
	require.Len(t, calls, 3)
	assert.False(t, calls[0].At.Before(before))
	assert.Equal(t, "o", calls[1].OrgID, "the message's org when the event has no organization")
}

func TestStateFailureIsLoggedNotReturned(t *testing.T) {
	m := example.New()
	f := newFixture()
	f.state.fail = errors.New("state down")
	err := m.OnMessageSend(context.Background(), &herald.MessageSendEvent{Env: f.env, Message: f.message,
		Organization: f.org, Route: &herald.Route{}})
	require.NoError(t, err)
	assert.Contains(t, f.logs.String(), "state down")
	assert.Len(t, m.Calls(), 1)
}

func TestConcurrentHooks(t *testing.T) {
	m := example.New()
	f := newFixture()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			msg := f.message.Clone()
			msg.ID = fmt.Sprintf("m%d", i)
			assert.NoError(t, m.OnMessageSend(context.Background(), &herald.MessageSendEvent{
				Env: f.env, Message: msg, Organization: f.org, Route: &herald.Route{}, Attempt: 1}))
			_, _ = m.CampaignData(context.Background(), &herald.CampaignDataEvent{Env: f.env, Organization: f.org})
			_ = m.Calls()
		})
	}
	wg.Wait()
	assert.Len(t, m.CallsOf(example.HookMessageSend), n)
	count, err := example.CallCount(context.Background(), f.state, example.HookMessageSend)
	require.NoError(t, err)
	assert.Equal(t, n, count, "compare-and-swap loses no count")
}

func ExampleNew() {
	m := example.New()
	err := m.OnMessageSend(context.Background(), &herald.MessageSendEvent{
		Message:      &herald.Message{ID: "m1", OrgID: "org1"},
		Organization: &herald.Organization{ID: "org1"},
		Route:        &herald.Route{},
		Attempt:      1,
	})
	fmt.Println(err)
	for _, c := range m.Calls() {
		fmt.Println(c.Hook, c.OrgID, c.MessageID, c.Attempt)
	}
	// Output:
	// <nil>
	// OnMessageSend org1 m1 1
}

func ExampleNewWithOptions() {
	// A manager that blocks every message to a test number, as a test of
	// the dispatcher's blocking path would configure it.
	m := example.NewWithOptions(example.Options{
		Name: "blocker",
		OnSend: func(_ context.Context, ev *herald.MessageSendEvent) error {
			if ev.Message.To == "+15555550100" {
				return fmt.Errorf("test number: %w", herald.ErrBlocked)
			}
			return nil
		},
	})
	err := m.OnMessageSend(context.Background(), &herald.MessageSendEvent{
		Message: &herald.Message{ID: "m1", OrgID: "org1", To: "+15555550100"},
		Route:   &herald.Route{},
	})
	fmt.Println(m.Metadata().Name, errors.Is(err, herald.ErrBlocked))
	// Output: blocker true
}
