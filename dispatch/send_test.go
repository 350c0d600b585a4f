package dispatch_test

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
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

var bg = context.Background()

func TestConfigValidate(t *testing.T) {
	v := fake.New(fake.Options{})
	m := &recMgr{name: "a", log: &callLog{}}
	first := &recMgr{name: "first", log: &callLog{}, before: []string{"a"}}
	cases := map[string]dispatch.Config{
		"no vendors":         {},
		"duplicate vendor":   {Vendors: []herald.Vendor{v, v}},
		"unknown default":    {Vendors: []herald.Vendor{v}, DefaultVendor: "nope"},
		"unregistered":       {Vendors: []herald.Vendor{v}, EnabledManagers: []string{"missing"}},
		"enabled twice":      {Vendors: []herald.Vendor{v}, Managers: []herald.ServiceManager{m}, EnabledManagers: []string{"a", "a"}},
		"wrong order":        {Vendors: []herald.Vendor{v}, Managers: []herald.ServiceManager{m, first}, EnabledManagers: []string{"a", "first"}},
		"lease below send":   {Vendors: []herald.Vendor{v}, SendTimeout: time.Minute, LeaseDuration: time.Second},
		"bad public url":     {Vendors: []herald.Vendor{v}, PublicBaseURL: "ftp://x"},
		"limit unknown":      {Vendors: []herald.Vendor{v}, RateLimits: dispatch.RateLimits{Vendors: map[string]dispatch.Rate{"nope": {PerSecond: 1}}}},
		"channel mismatch":   {Vendors: []herald.Vendor{fake.New(fake.Options{Channels: []herald.Channel{herald.ChannelSMS}})}, ChannelVendors: map[herald.Channel]string{herald.ChannelEmail: "fake"}},
		"duplicate managers": {Vendors: []herald.Vendor{v}, Managers: []herald.ServiceManager{m, m}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := dispatch.New(cfg)
			require.Error(t, err)
			assert.ErrorIs(t, err, herald.ErrConfig)
		})
	}
	_, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}, Managers: []herald.ServiceManager{m, first}, EnabledManagers: []string{"first", "a"}})
	require.NoError(t, err)
}

func TestSendDeliversAndRecordsHistory(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.d.Send(bg, sms("org1", "+1 (415) 555-2671", "hello"))
	require.NoError(t, err)
	require.True(t, res.Created)
	require.True(t, res.Attempted)
	// The report may beat the send result; then it is applied at once.
	assert.Contains(t, []herald.Status{herald.StatusSent, herald.StatusDelivered}, res.Message.Status)
	assert.Equal(t, "+14155552671", res.Message.To)
	assert.Equal(t, "fake", res.Message.Vendor)
	assert.NotEmpty(t, res.Message.VendorMessageID)
	assert.Equal(t, 1, res.Message.Attempts)
	assert.Empty(t, res.Message.LeaseOwner, "lease released after the send")

	f.fake.Wait()
	assert.Equal(t, herald.StatusDelivered, statusOf(t, f.store, "org1", res.Message.ID))
	events, err := f.store.MessageEvents(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	var got []herald.Status
	for _, e := range events {
		require.True(t, e.Applied)
		got = append(got, e.Status)
	}
	// No send hook runs, so the message is created in sending: one write
	// instead of a create and a move.
	assert.Equal(t, []herald.Status{herald.StatusSending, herald.StatusSent, herald.StatusDelivered}, got)
}

// countingStore counts the message writes a send makes and can fail the
// opt-out read.
type countingStore struct {
	herald.Store
	creates, updates atomic.Int64
	failOptOuts      atomic.Int64 // reads of opt-outs left to fail
}

func (s *countingStore) CreateMessage(ctx context.Context, m *herald.Message) (*herald.Message, bool, error) {
	s.creates.Add(1)
	return s.Store.CreateMessage(ctx, m)
}

func (s *countingStore) UpdateMessage(ctx context.Context, u *herald.MessageUpdate) (*herald.Message, error) {
	s.updates.Add(1)
	return s.Store.UpdateMessage(ctx, u)
}

func (s *countingStore) FindOptOut(ctx context.Context, orgID string, ch herald.Channel, address string) (*herald.OptOut, error) {
	if s.failOptOuts.Add(-1) >= 0 {
		return nil, errors.New("opt-out table unreachable")
	}
	return s.Store.FindOptOut(ctx, orgID, ch, address)
}

func TestSendWritesOnceBeforeTheCallWithoutHooks(t *testing.T) {
	store := &countingStore{Store: memstore.New()}
	v := fake.New(fake.Options{Quiet: true})
	hooked := &recMgr{name: "hooked", log: &callLog{}}
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, Managers: []herald.ServiceManager{hooked}})
	require.NoError(t, err)
	ctx := context.Background()
	history := func(org, id string) (got []herald.Status) {
		events, err := store.MessageEvents(ctx, org, id)
		require.NoError(t, err)
		for _, e := range events {
			got = append(got, e.Status)
		}
		return got
	}

	// Without send hooks: created in sending, then sent.
	res, err := d.Send(ctx, sms("org1", "+14155552671", "direct"))
	require.NoError(t, err)
	assert.Equal(t, herald.StatusSent, res.Message.Status)
	assert.Equal(t, "fake", res.Message.Vendor)
	assert.Equal(t, int64(1), store.creates.Load())
	assert.Equal(t, int64(1), store.updates.Load())
	assert.Equal(t, []herald.Status{herald.StatusSending, herald.StatusSent}, history("org1", res.Message.ID))

	// A duplicate is found, not sent again.
	again, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: "direct", IdempotencyKey: res.Message.IdempotencyKey})
	require.NoError(t, err)
	assert.False(t, again.Created)
	assert.Equal(t, res.Message.ID, again.Message.ID)
	assert.Equal(t, 1, v.Calls(res.Message.IdempotencyKey))

	// Opted out: created blocked, with the reason on the first event.
	require.NoError(t, d.OptOut(ctx, &herald.OptOut{OrgID: "org1", Address: "+14155552672", Channel: herald.ChannelSMS, Reason: "STOP"}))
	store.creates.Store(0)
	store.updates.Store(0)
	res, err = d.Send(ctx, sms("org1", "+14155552672", "blocked"))
	require.ErrorIs(t, err, herald.ErrBlocked)
	assert.True(t, res.Created)
	assert.Equal(t, herald.StatusBlocked, res.Message.Status)
	assert.Equal(t, "recipient opted out (STOP)", res.Message.Reason)
	assert.Equal(t, int64(1), store.creates.Load())
	assert.Equal(t, int64(0), store.updates.Load())
	events, err := store.MessageEvents(ctx, "org1", res.Message.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, herald.StatusBlocked, events[0].Status)
	assert.Equal(t, "recipient opted out (STOP)", events[0].Reason)

	// Past its send window: created canceled, no error.
	m := sms("org1", "+14155552673", "late")
	m.SendBefore = time.Now().Add(-time.Minute)
	res, err = d.Send(ctx, m)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusCanceled, res.Message.Status)
	assert.Equal(t, []herald.Status{herald.StatusCanceled}, history("org1", res.Message.ID))

	// With a send hook enabled for the organization, the message is stored
	// queued first, so the hook sees a stored message.
	_, err = store.PutOrganization(ctx, &herald.Organization{ID: "org2",
		Features: map[string]string{herald.FeatureServiceManagers: "hooked"}})
	require.NoError(t, err)
	store.creates.Store(0)
	store.updates.Store(0)
	res, err = d.Send(ctx, sms("org2", "+14155552671", "hooked"))
	require.NoError(t, err)
	assert.Equal(t, int64(1), store.creates.Load())
	assert.Equal(t, int64(2), store.updates.Load())
	assert.Equal(t, []herald.Status{herald.StatusQueued, herald.StatusSending, herald.StatusSent}, history("org2", res.Message.ID))
	assert.Equal(t, []string{"hooked:send:org2"}, hooked.log.all())
}

func TestSendKeepsTheMessageWhenAReadFails(t *testing.T) {
	store := &countingStore{Store: memstore.New()}
	v := fake.New(fake.Options{Quiet: true})
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	store.failOptOuts.Store(2) // the check before the create, and the usual path's
	res, err := d.Send(bg, sms("org1", "+14155552671", "kept"))
	require.ErrorContains(t, err, "opt-out table unreachable")
	require.NotNil(t, res)
	assert.True(t, res.Created)
	assert.Zero(t, v.Calls(res.Message.IdempotencyKey))
	stored, err := store.GetMessage(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusQueued, stored.Status)
	assert.Empty(t, stored.LeaseOwner, "lease given back for a retry at once")

	run(t, d)
	eventually(t, func() bool { return statusOf(t, store, "org1", res.Message.ID) == herald.StatusSent }, "sent once the store answers")
	assert.Equal(t, 1, v.Calls(res.Message.IdempotencyKey))
}

func TestBadInputStoresNothing(t *testing.T) {
	f := newFixture(t, nil)
	cases := map[string]*herald.Message{
		"nil":             nil,
		"no org":          {Channel: herald.ChannelSMS, To: "+14155552671", Body: "x"},
		"unknown channel": {OrgID: "o", Channel: "pigeon", To: "+14155552671", Body: "x"},
		"bad channel":     {OrgID: "o", Channel: "SMS!", To: "+14155552671", Body: "x"},
		"invalid phone":   {OrgID: "o", Channel: herald.ChannelSMS, To: "12345", Body: "x"},
		"junk phone":      {OrgID: "o", Channel: herald.ChannelSMS, To: "call me", Body: "x"},
		"empty body":      {OrgID: "o", Channel: herald.ChannelSMS, To: "+14155552671", Body: "  "},
		"email subject":   {OrgID: "o", Channel: herald.ChannelEmail, To: "a@example.com", Body: "x"},
		"bad email":       {OrgID: "o", Channel: herald.ChannelEmail, To: "nobody", Subject: "s", Body: "x"},
		"empty push":      {OrgID: "o", Channel: herald.ChannelAPNs, To: "tok"},
		"unknown vendor":  {OrgID: "o", Channel: herald.ChannelSMS, To: "+14155552671", Body: "x", Vendor: "nope"},
		"bad urgency":     {OrgID: "o", Channel: herald.ChannelSMS, To: "+14155552671", Body: "x", Urgency: "now!"},
		"negative ttl":    {OrgID: "o", Channel: herald.ChannelSMS, To: "+14155552671", Body: "x", TTL: -time.Second},
		"window":          {OrgID: "o", Channel: herald.ChannelSMS, To: "+14155552671", Body: "x", SendAt: time.Now().Add(time.Hour), SendBefore: time.Now()},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := f.d.Send(bg, m)
			require.Error(t, err)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
			assert.Nil(t, res)
			_, err = f.d.Enqueue(bg, m)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
		})
	}
	msgs, err := f.store.ListMessages(bg, herald.MessageFilter{OrgID: "o"})
	require.NoError(t, err)
	assert.Empty(t, msgs)
	assert.Empty(t, f.fake.Sends())
}

func TestIdempotentUnderConcurrentSends(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	results := make([]*dispatch.Result, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := sms("org1", "+14155552671", "once")
			m.IdempotencyKey = "order-42"
			results[i], errs[i] = f.d.Send(bg, m)
		}()
	}
	wg.Wait()
	created := 0
	for i := range 50 {
		require.NoError(t, errs[i])
		if results[i].Created {
			created++
		}
		assert.Equal(t, results[0].Message.ID, results[i].Message.ID)
	}
	assert.Equal(t, 1, created)
	assert.Equal(t, 1, f.fake.Calls("order-42"))
	assert.Len(t, f.fake.Sends(), 1)
}

func TestHooksRunInTheOrganizationsOrder(t *testing.T) {
	log := &callLog{}
	a, b, c := &recMgr{name: "a", log: log}, &recMgr{name: "b", log: log}, &recMgr{name: "c", log: log}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{a, b, c}
		cfg.EnabledManagers = []string{"a", "b"}
	})
	_, err := f.store.PutOrganization(bg, &herald.Organization{ID: "org2", Features: map[string]string{herald.FeatureServiceManagers: "c,a"}})
	require.NoError(t, err)

	names, err := f.d.EnabledManagers(bg, "org2")
	require.NoError(t, err)
	assert.Equal(t, []string{"c", "a"}, names)

	_, err = f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	f.fake.Wait()
	assert.Equal(t, []string{"a:send:org1", "b:send:org1", "a:report:org1", "b:report:org1"}, log.all())

	log.reset()
	_, err = f.d.Send(bg, sms("org2", "+14155552672", "hi"))
	require.NoError(t, err)
	f.fake.Wait()
	require.NoError(t, f.d.OptOut(bg, &herald.OptOut{OrgID: "org2", Address: "+14155552673", Channel: herald.ChannelSMS}))
	_, err = f.d.CreateCampaign(bg, &herald.Campaign{ID: "camp", OrgID: "org2"})
	require.NoError(t, err)
	_, err = f.d.StartCampaign(bg, "org2", "camp", "")
	require.NoError(t, err)
	_, err = f.d.ArchiveCampaign(bg, "org2", "camp", "")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"c:send:org2", "a:send:org2",
		"c:report:org2", "a:report:org2",
		"c:optout:org2", "a:optout:org2",
		"c:data:org2", "a:data:org2",
		"c:start:org2", "a:start:org2",
		"c:archive:org2", "a:archive:org2",
	}, log.all())
	for _, call := range log.all() {
		assert.NotContains(t, call, "b:", "b is not enabled for org2")
	}
}

func TestOrgListNamingAnUnknownManagerFailsClearly(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.store.PutOrganization(bg, &herald.Organization{ID: "org3", Features: map[string]string{herald.FeatureServiceManagers: "ghost"}})
	require.NoError(t, err)
	res, err := f.d.Send(bg, sms("org3", "+14155552671", "hi"))
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.Contains(t, err.Error(), "ghost")
	assert.Equal(t, herald.StatusFailed, res.Message.Status)
	assert.Empty(t, f.fake.Sends())
}

func TestSendHooksEditTheRouteInOrder(t *testing.T) {
	log := &callLog{}
	sticky := &recMgr{name: "sticky", log: log, before: []string{"picker"}, onSend: func(ev *herald.MessageSendEvent) error {
		if ev.Route.From == "" {
			ev.Route.From = "+14155550100"
		}
		return nil
	}}
	picker := &recMgr{name: "picker", log: log, onSend: func(ev *herald.MessageSendEvent) error {
		if ev.Route.From == "" {
			ev.Route.From = "+14155550199"
		}
		ev.Route.MessagingServiceID = "MG1"
		return nil
	}}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{sticky, picker}
		cfg.EnabledManagers = []string{"sticky", "picker"}
	})
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	assert.Equal(t, "+14155550100", res.Message.From)
	assert.Equal(t, "MG1", res.Message.MessagingServiceID)
	sent := f.fake.Sends()
	require.Len(t, sent, 1)
	assert.Equal(t, "+14155550100", sent[0].Request.Route.From)

	// The wrong order is refused, not silently run.
	_, err = f.store.PutOrganization(bg, &herald.Organization{ID: "bad", Features: map[string]string{herald.FeatureServiceManagers: "picker,sticky"}})
	require.NoError(t, err)
	_, err = f.d.Send(bg, sms("bad", "+14155552671", "hi"))
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.Contains(t, err.Error(), `"sticky" must run before "picker"`)
}

func TestManagerBlocksOrFailsASend(t *testing.T) {
	log := &callLog{}
	gate := &recMgr{name: "gate", log: log, onSend: func(ev *herald.MessageSendEvent) error {
		switch ev.Message.Body {
		case "block":
			return fmt.Errorf("quiet hours: %w", herald.ErrBlocked)
		case "fail":
			return errors.New("cannot decide")
		}
		return nil
	}}
	after := &recMgr{name: "after", log: log}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{gate, after}
		cfg.EnabledManagers = []string{"gate", "after"}
	})
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "block"))
	require.ErrorIs(t, err, herald.ErrBlocked)
	assert.Equal(t, herald.StatusBlocked, res.Message.Status)
	assert.Contains(t, res.Message.Reason, "quiet hours")

	res, err = f.d.Send(bg, sms("org1", "+14155552671", "fail"))
	require.Error(t, err)
	var he *dispatch.HookError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "gate", he.Manager)
	assert.Equal(t, herald.StatusFailed, res.Message.Status)

	assert.Empty(t, f.fake.Sends())
	assert.Equal(t, []string{"gate:send:org1", "gate:send:org1"}, log.all(), "the chain stops at the first error")
}

func TestOptedOutAddressIsBlocked(t *testing.T) {
	f := newFixture(t, nil)
	require.NoError(t, f.d.OptOut(bg, &herald.OptOut{OrgID: "org1", Address: "(415) 555-2671", Channel: herald.ChannelMMS}))
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.ErrorIs(t, err, herald.ErrBlocked)
	assert.Equal(t, herald.StatusBlocked, res.Message.Status)
	assert.Empty(t, f.fake.Sends())

	// Another organization is not affected; email is another scope.
	_, err = f.d.Send(bg, sms("org2", "+14155552671", "hi"))
	require.NoError(t, err)

	require.NoError(t, f.d.UndoOptOut(bg, "org1", herald.ChannelSMS, "+14155552671"))
	_, err = f.d.Send(bg, sms("org1", "+14155552671", "hi again"))
	require.NoError(t, err)
}

func TestVendorErrorClasses(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) { cfg.Retry.MaxAttempts = 1 })

	// opted out at the vendor: blocked, and the opt-out is recorded.
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "error21610"))
	require.ErrorIs(t, err, herald.ClassOptedOut)
	assert.Equal(t, herald.StatusBlocked, res.Message.Status)
	assert.Equal(t, "21610", res.Message.ErrorCode)
	_, err = f.store.FindOptOut(bg, "org1", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err)
	_, err = f.d.Send(bg, sms("org1", "+14155552671", "next"))
	require.ErrorIs(t, err, herald.ErrBlocked)

	// invalid address and auth fail without retry.
	res, err = f.d.Send(bg, sms("org1", "+14155552672", "error21211"))
	require.ErrorIs(t, err, herald.ClassInvalidAddress)
	assert.Equal(t, herald.StatusFailed, res.Message.Status)
	res, err = f.d.Send(bg, sms("org1", "+14155552672", "error20003"))
	require.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, herald.StatusFailed, res.Message.Status)

	// gone: the device is removed from its contact.
	_, err = f.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1", Devices: []herald.Device{
		{Channel: herald.ChannelAPNs, Token: "tok-old"}, {Channel: herald.ChannelAPNs, Token: "tok-keep"}}})
	require.NoError(t, err)
	res, err = f.d.Send(bg, &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelAPNs, To: "tok-old", Body: "error410"})
	require.ErrorIs(t, err, herald.ClassGone)
	assert.Equal(t, herald.StatusFailed, res.Message.Status)
	c, err := f.store.GetContact(bg, "org1", "c1")
	require.NoError(t, err)
	require.Len(t, c.Devices, 1)
	assert.Equal(t, "tok-keep", c.Devices[0].Token)

	// a temporary error on the last attempt fails.
	res, err = f.d.Send(bg, sms("org1", "+14155552672", "error503"))
	require.ErrorIs(t, err, herald.ClassTemporary)
	assert.Equal(t, herald.StatusFailed, res.Message.Status)
}

func TestMaybeDeliveredIsNeverBlindlyResent(t *testing.T) {
	fv := fake.New(fake.Options{})
	v := &slowVendor{Vendor: fv, notIdempotent: true}
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
	require.NoError(t, err)
	res, err := d.Send(bg, sms("org1", "+14155552671", "error408"))
	require.ErrorIs(t, err, herald.ClassMaybeDelivered)
	assert.Equal(t, herald.StatusUnknown, res.Message.Status)
	assert.True(t, res.NextAttempt.IsZero())

	// With an idempotent vendor the same failure is retried.
	f := newFixture(t, nil)
	res, err = f.d.Send(bg, sms("org1", "+14155552671", "flaky408"))
	require.ErrorIs(t, err, herald.ClassMaybeDelivered)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.False(t, res.NextAttempt.IsZero())
}

func TestRetriesWithBackoffUntilSent(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "flaky503"))
	require.ErrorIs(t, err, herald.ClassTemporary)
	require.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.Equal(t, "503", res.Message.ErrorCode)

	run(t, f.d)
	eventually(t, func() bool {
		return statusOf(t, f.store, "org1", res.Message.ID) == herald.StatusDelivered || f.fake.Accepted(res.Message.IdempotencyKey)
	}, "retried")
	f.fake.Wait()
	m, err := f.store.GetMessage(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, m.Attempts)
	assert.Equal(t, 2, f.fake.Calls(m.IdempotencyKey))
}

func TestRateLimitedHonoursRetryAfter(t *testing.T) {
	f := newFixture(t, nil)
	before := time.Now()
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "flaky429"))
	require.ErrorIs(t, err, herald.ClassRateLimited)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	// The fake asks for 1s; the backoff is 5ms, so Retry-After wins.
	assert.GreaterOrEqual(t, res.NextAttempt.Sub(before), time.Second)
	assert.True(t, res.Message.SendAt.Equal(res.NextAttempt))
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) { cfg.Retry.MaxAttempts = 3 })
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "error503"))
	require.Error(t, err)
	run(t, f.d)
	eventually(t, func() bool { return statusOf(t, f.store, "org1", res.Message.ID) == herald.StatusFailed }, "failed after 3 attempts")
	assert.Equal(t, 3, f.fake.Calls(res.Message.IdempotencyKey))
}

func TestSendBatchResultPerMessage(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) { cfg.Concurrency = 3 })
	msgs := []*herald.Message{
		sms("org1", "+14155552671", "one"),
		sms("org1", "12345", "bad"),
		sms("org1", "+14155552672", "error21211"),
		sms("org1", "+14155552673", "three"),
	}
	out := f.d.SendBatch(bg, msgs)
	require.Len(t, out, 4)
	require.NoError(t, out[0].Err)
	assert.Contains(t, []herald.Status{herald.StatusSent, herald.StatusDelivered}, out[0].Message.Status)
	assert.ErrorIs(t, out[1].Err, herald.ErrInvalidInput)
	assert.Nil(t, out[1].Result)
	assert.ErrorIs(t, out[2].Err, herald.ClassInvalidAddress)
	assert.Equal(t, herald.StatusFailed, out[2].Message.Status)
	require.NoError(t, out[3].Err)
	assert.Equal(t, "+14155552673", out[3].Message.To)
}

func TestScheduledSendWaitsForItsTime(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, func(cfg *dispatch.Config) { cfg.Clock = clock })
	m := sms("org1", "+14155552671", "later")
	m.SendAt = clock.Now().Add(time.Hour)
	res, err := f.d.Send(bg, m)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.False(t, res.Attempted)

	run(t, f.d)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, herald.StatusScheduled, statusOf(t, f.store, "org1", res.Message.ID), "not due yet")
	clock.Advance(time.Hour)
	eventually(t, func() bool { return f.fake.Accepted(res.Message.IdempotencyKey) }, "sent when due")
}

func TestExpiredSendWindowCancels(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, func(cfg *dispatch.Config) { cfg.Clock = clock })
	m := sms("org1", "+14155552671", "soon")
	m.SendAt = clock.Now().Add(time.Minute)
	m.SendBefore = clock.Now().Add(2 * time.Minute)
	res, err := f.d.Send(bg, m)
	require.NoError(t, err)
	clock.Advance(3 * time.Minute)
	run(t, f.d)
	eventually(t, func() bool { return statusOf(t, f.store, "org1", res.Message.ID) == herald.StatusCanceled }, "canceled")
	assert.Empty(t, f.fake.Sends())
}

func TestRateLimitsWaitRatherThanFail(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.RateLimits = dispatch.RateLimits{Vendors: map[string]dispatch.Rate{"fake": {PerSecond: 50, Burst: 1}}}
		cfg.Concurrency = 4
	})
	msgs := make([]*herald.Message, 11)
	for i := range msgs {
		msgs[i] = sms("org1", fmt.Sprintf("+1415555%04d", 2600+i), "hi")
	}
	start := time.Now()
	for _, r := range f.d.SendBatch(bg, msgs) {
		require.NoError(t, r.Err)
	}
	// 11 sends at 50/s with a burst of 1 need at least 10 intervals of 20ms.
	assert.GreaterOrEqual(t, time.Since(start), 190*time.Millisecond)
}

func TestPerSenderRateLimit(t *testing.T) {
	pin := &recMgr{name: "pin", log: &callLog{}, onSend: func(ev *herald.MessageSendEvent) error {
		ev.Route.From = "+14155550100"
		return nil
	}}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{pin}
		cfg.EnabledManagers = []string{"pin"}
		cfg.RateLimits = dispatch.RateLimits{PerSender: dispatch.Rate{PerSecond: 50, Burst: 1}}
	})
	start := time.Now()
	for i := range 6 {
		_, err := f.d.Send(bg, sms("org1", fmt.Sprintf("+1415555%04d", 2600+i), "hi"))
		require.NoError(t, err)
	}
	assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)
}

// keyLimiter records the limiter keys and rates it is asked for.
type keyLimiter struct {
	mu   sync.Mutex
	seen map[string]dispatch.Rate
}

func (l *keyLimiter) Wait(_ context.Context, key string, r dispatch.Rate) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[key] = r
	return nil
}

func TestConfiguredLimiterGetsEveryLimit(t *testing.T) {
	pin := &recMgr{name: "pin", log: &callLog{}, onSend: func(ev *herald.MessageSendEvent) error {
		ev.Route.From = "+14155550100"
		return nil
	}}
	l := &keyLimiter{seen: map[string]dispatch.Rate{}}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{pin}
		cfg.EnabledManagers = []string{"pin"}
		cfg.Limiter = l
		cfg.RateLimits = dispatch.RateLimits{
			Vendors:   map[string]dispatch.Rate{"fake": {PerSecond: 10, Burst: 2}},
			PerSender: dispatch.Rate{PerSecond: 1},
		}
	})
	_, err := f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	assert.Equal(t, map[string]dispatch.Rate{
		"vendor:fake":         {PerSecond: 10, Burst: 2},
		"sender:+14155550100": {PerSecond: 1},
	}, l.seen)
}

func TestSendBatchUsesTheVendorsBatchCall(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) { cfg.Concurrency = 4 })
	msgs := make([]*herald.Message, 230)
	for i := range msgs {
		msgs[i] = sms("org1", fmt.Sprintf("+1415555%04d", 3000+i), "batch")
	}
	msgs[7].Body = "error21211"
	msgs[8] = sms("org1", "bogus", "invalid input never reaches the vendor")
	out := f.d.SendBatch(bg, msgs)
	for i, r := range out {
		switch i {
		case 7:
			assert.ErrorIs(t, r.Err, herald.ClassInvalidAddress)
			assert.Equal(t, herald.StatusFailed, r.Message.Status)
		case 8:
			assert.ErrorIs(t, r.Err, herald.ErrInvalidInput)
		default:
			require.NoError(t, r.Err, "message %d", i)
			assert.True(t, r.Created && r.Attempted)
			assert.NotEmpty(t, r.Message.VendorMessageID)
		}
	}
	total := 0
	for _, n := range f.fake.Batches() {
		assert.LessOrEqual(t, n, fake.MaxBatchSize)
		total += n
	}
	assert.Equal(t, 229, total, "every valid message went through a batch call")
	assert.Len(t, f.fake.Batches(), 3)

	// A vendor without the capability gets one Send per message.
	fv := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{&slowVendor{Vendor: fv}}})
	require.NoError(t, err)
	for i, r := range d.SendBatch(bg, msgs[:20]) {
		if i != 7 && i != 8 {
			require.NoError(t, r.Err)
		}
	}
	assert.Empty(t, fv.Batches())
	assert.Len(t, fv.Sends(), 18, "20 messages, one refused before storing, one by the vendor")
}

func TestOutcomeIsRecordedWhenTheCallerGivesUp(t *testing.T) {
	fv := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{&slowVendor{Vendor: fv, delay: time.Second, notIdempotent: true}}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	res, err := d.Send(ctx, sms("org1", "+14155552671", "hi"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, herald.StatusUnknown, res.Message.Status, "not left in sending")
	assert.Empty(t, res.Message.LeaseOwner)
}

func TestManagerDefersASend(t *testing.T) {
	clock := newFakeClock()
	opensAt := clock.Now().Add(time.Hour)
	log := &callLog{}
	gate := &recMgr{name: "gate", log: log, onSend: func(ev *herald.MessageSendEvent) error {
		if now := ev.Env.Clock.Now(); now.Before(opensAt) {
			return herald.Defer(opensAt, "outside sending hours")
		}
		return nil
	}}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Clock = clock
		cfg.Managers = []herald.ServiceManager{gate}
		cfg.EnabledManagers = []string{"gate"}
	})
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "later please"))
	require.NoError(t, err, "a deferral is not a failure")
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.True(t, res.NextAttempt.Equal(opensAt))
	assert.Equal(t, 0, res.Message.Attempts, "no vendor attempt counted")
	assert.Contains(t, res.Message.Reason, "outside sending hours")
	assert.Empty(t, f.fake.Sends())

	// Past its SendBefore, a deferred message is canceled instead.
	m := sms("org1", "+14155552672", "now or never")
	m.SendBefore = clock.Now().Add(30 * time.Minute)
	res2, err := f.d.Send(bg, m)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusCanceled, res2.Message.Status)

	run(t, f.d)
	clock.Advance(time.Hour)
	eventually(t, func() bool { return f.fake.Accepted(res.Message.IdempotencyKey) }, "sent when the window opens")
	assert.Equal(t, []string{"gate:send:org1", "gate:send:org1", "gate:send:org1"}, log.all()[:3],
		"hooks ran for each message, and again when the deferred one fell due")
}

func TestOptedOutReportRecordsAnOptOut(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.d.Send(bg, &herald.Message{OrgID: "org1", Channel: herald.ChannelEmail, To: "ada@example.com", Subject: "Hi", Body: "Hello"})
	require.NoError(t, err)
	f.fake.Wait()
	require.NoError(t, f.d.HandleReport(bg, &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", EventID: "unsub-1",
		VendorMessageID: res.Message.VendorMessageID, Engagement: herald.EngagementClicked, OptedOut: true}))
	o, err := f.store.FindOptOut(bg, "org1", herald.ChannelEmail, "ada@example.com")
	require.NoError(t, err)
	assert.Equal(t, "vendor", o.Source)
	_, err = f.d.Send(bg, &herald.Message{OrgID: "org1", Channel: herald.ChannelEmail, To: "ada@example.com", Subject: "Hi", Body: "Again"})
	require.ErrorIs(t, err, herald.ErrBlocked)
	// Texts to another address are unaffected.
	_, err = f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
}

func TestLaterHooksSeeTheReroutedVendor(t *testing.T) {
	second := fake.New(fake.Options{Name: "second"})
	var seen []string
	reroute := &recMgr{name: "reroute", log: &callLog{}, onSend: func(ev *herald.MessageSendEvent) error {
		seen = append(seen, ev.Env.Vendor.Metadata().Name)
		ev.Route.Vendor = "second"
		return nil
	}}
	observe := &recMgr{name: "observe", log: &callLog{}, onSend: func(ev *herald.MessageSendEvent) error {
		seen = append(seen, ev.Env.Vendor.Metadata().Name)
		return nil
	}}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Vendors = append(cfg.Vendors, second)
		cfg.DefaultVendor = "fake"
		cfg.Managers = []herald.ServiceManager{reroute, observe}
		cfg.EnabledManagers = []string{"reroute", "observe"}
	})
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	assert.Equal(t, []string{"fake", "second"}, seen)
	assert.Equal(t, "second", res.Message.Vendor)
	assert.Len(t, second.Sends(), 1)
	assert.Empty(t, f.fake.Sends())
}

func TestReportFindsTheContactByAddress(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.store.PutContact(bg, &herald.Contact{ID: "c9", OrgID: "org1", Phone: "+14155552671"})
	require.NoError(t, err)
	_, err = f.d.Send(bg, sms("org1", "+14155552671", "error30006")) // no ContactID
	require.NoError(t, err)
	f.fake.Wait()
	c, err := f.store.GetContact(bg, "org1", "c9")
	require.NoError(t, err)
	require.NotNil(t, c.Lookup, "the landline report reached the contact found by address")
	assert.Equal(t, herald.LookupLandline, c.Lookup.StatusCode)
}

// downLimiter is a shared limiter that cannot be reached.
type downLimiter struct{}

func (downLimiter) Wait(context.Context, string, dispatch.Rate) error {
	return errors.New("limiter unreachable")
}

func TestLimiterOutageDelaysAndNeverFails(t *testing.T) {
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Limiter = downLimiter{}
		cfg.RateLimits = dispatch.RateLimits{Vendors: map[string]dispatch.Rate{"fake": {PerSecond: 10}}}
		cfg.Retry.MaxAttempts = 1
	})
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.Error(t, err)
	assert.ErrorIs(t, err, herald.ClassTemporary)
	require.NotNil(t, res)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status, "retried later, not failed, though MaxAttempts is 1")
	assert.Zero(t, res.Message.Attempts, "the vendor was never called: no attempt counted")
	assert.Empty(t, f.fake.Sends())
}
