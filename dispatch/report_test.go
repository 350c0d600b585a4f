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

// eagerVendor reports delivery before its Send returns, like a vendor whose
// webhook beats its API response.
type eagerVendor struct {
	d   *dispatch.Dispatcher
	seq atomic.Int64
}

func (v *eagerVendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "eager", DisplayName: "Eager", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (v *eagerVendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	id := fmt.Sprintf("EAGER%d", v.seq.Add(1))
	for _, st := range []herald.Status{herald.StatusDelivered, herald.StatusSent} {
		err := v.d.HandleReport(ctx, &herald.DeliveryReport{OrgID: req.Message.OrgID, Vendor: "eager",
			EventID: id + string(st), VendorMessageID: id, Status: st})
		if err != nil {
			return nil, err
		}
	}
	return &herald.SendResult{VendorMessageID: id}, nil
}

func TestReportBeforeSendResult(t *testing.T) {
	v := &eagerVendor{}
	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}})
	require.NoError(t, err)
	v.d = d
	res, err := d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	assert.Equal(t, herald.StatusDelivered, res.Message.Status, "the parked report is applied after the send result")
	events, err := store.MessageEvents(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	last := events[len(events)-1]
	assert.Equal(t, herald.StatusSent, last.Status, "the late 'sent' report is recorded")
	assert.False(t, last.Applied, "and changes nothing")
}

func TestReportsAreDedupedAndForwardOnly(t *testing.T) {
	log := &callLog{}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{&recMgr{name: "r", log: log}}
		cfg.EnabledManagers = []string{"r"}
	})
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	f.fake.Wait()
	id, vid := res.Message.ID, res.Message.VendorMessageID
	log.reset()

	report := func(event string, st herald.Status, code string) error {
		return f.d.HandleReport(bg, &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", EventID: event, VendorMessageID: vid, Status: st, ErrorCode: code})
	}
	require.NoError(t, report("e-sent", herald.StatusSent, ""))
	require.NoError(t, report("e-failed", herald.StatusFailed, "30003"))
	require.NoError(t, report("e-failed", herald.StatusFailed, "30003")) // replay
	assert.Equal(t, herald.StatusDelivered, statusOf(t, f.store, "org1", id))
	assert.Equal(t, []string{"r:report:org1", "r:report:org1"}, log.all(), "hooks see stale reports once each, not replays")

	// 50 concurrent replays of one event are applied once.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, f.d.HandleReport(bg, &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", EventID: "e-open",
				VendorMessageID: vid, Engagement: herald.EngagementOpened}))
		}()
	}
	wg.Wait()
	events, err := f.store.MessageEvents(bg, "org1", id)
	require.NoError(t, err)
	stale, opened := 0, 0
	for _, e := range events {
		if !e.Applied && e.Engagement == "" {
			stale++
		}
		if e.Engagement == herald.EngagementOpened {
			opened++
		}
	}
	assert.Equal(t, 2, stale)
	assert.Equal(t, 1, opened)
	assert.Equal(t, herald.StatusDelivered, statusOf(t, f.store, "org1", id), "engagement never changes the status")
}

func TestReportInputChecks(t *testing.T) {
	f := newFixture(t, nil)
	for name, r := range map[string]*herald.DeliveryReport{
		"nil":            nil,
		"no message id":  {OrgID: "o", Vendor: "fake", Status: herald.StatusDelivered},
		"bad status":     {OrgID: "o", Vendor: "fake", VendorMessageID: "x", Status: herald.StatusQueued},
		"unknown vendor": {OrgID: "o", Vendor: "nope", VendorMessageID: "x", Status: herald.StatusDelivered},
	} {
		assert.ErrorIs(t, f.d.HandleReport(bg, r), herald.ErrInvalidInput, name)
	}
}

func TestLandlineReportMarksTheContact(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+14155552671"})
	require.NoError(t, err)
	m := sms("org1", "+14155552671", "error30006")
	m.ContactID = "c1"
	res, err := f.d.Send(bg, m)
	require.NoError(t, err)
	f.fake.Wait()
	assert.Equal(t, herald.StatusFailed, statusOf(t, f.store, "org1", res.Message.ID))
	c, err := f.store.GetContact(bg, "org1", "c1")
	require.NoError(t, err)
	require.NotNil(t, c.Lookup)
	assert.Equal(t, herald.LookupLandline, c.Lookup.StatusCode)
}

func TestInboundAutorespondStopStart(t *testing.T) {
	var mu sync.Mutex
	var got []*dispatch.Inbound
	log := &callLog{}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{&recMgr{name: "r", log: log}}
		cfg.EnabledManagers = []string{"r"}
		cfg.OnInbound = func(ctx context.Context, in *dispatch.Inbound) error {
			mu.Lock()
			got = append(got, in)
			mu.Unlock()
			return nil
		}
	})
	_, err := f.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+14155552671", Owner: "texter-7"})
	require.NoError(t, err)
	m := sms("org1", "+14155552671", "please autorespond")
	m.ContactID = "c1"
	res, err := f.d.Send(bg, m)
	require.NoError(t, err)
	f.fake.Wait()

	mu.Lock()
	require.Len(t, got, 1)
	in := got[0]
	mu.Unlock()
	assert.Equal(t, "texter-7", in.Owner, "routed to the contact's owner")
	assert.Equal(t, res.Message.ID, in.InReplyTo.ID)
	assert.Contains(t, in.Message.Body, "responding to")
	events, err := f.store.MessageEvents(bg, "org1", res.Message.ID)
	require.NoError(t, err)
	assert.True(t, hasEngagement(events, herald.EngagementReplied))

	stop := &herald.InboundMessage{OrgID: "org1", Vendor: "fake", EventID: "in-1", From: "(415) 555-2671", To: "+14155550100", Body: " Stop. "}
	require.NoError(t, f.d.HandleInbound(bg, stop))
	require.NoError(t, f.d.HandleInbound(bg, stop)) // replay: ignored
	mu.Lock()
	require.Len(t, got, 2)
	assert.True(t, got[1].OptedOut)
	mu.Unlock()
	_, err = f.d.Send(bg, sms("org1", "+14155552671", "after stop"))
	require.ErrorIs(t, err, herald.ErrBlocked)

	// "Stop the bill" is a conversation, not an opt-out.
	require.NoError(t, f.d.HandleInbound(bg, &herald.InboundMessage{OrgID: "org1", Vendor: "fake", EventID: "in-2", From: "+14155552671", Body: "stop the bill"}))
	require.NoError(t, f.d.HandleInbound(bg, &herald.InboundMessage{OrgID: "org1", Vendor: "fake", EventID: "in-3", From: "+14155552671", Body: "start"}))
	_, err = f.d.Send(bg, sms("org1", "+14155552671", "welcome back"))
	require.NoError(t, err)
	assert.Contains(t, log.all(), "r:optout:org1")
	assert.Contains(t, log.all(), "r:optin:org1")

	assert.ErrorIs(t, f.d.HandleInbound(bg, &herald.InboundMessage{OrgID: "org1", From: "not a number"}), herald.ErrInvalidInput)
}

func TestCampaignLifecycle(t *testing.T) {
	log := &callLog{}
	gate := &recMgr{name: "gate", log: log, data: &herald.ManagerData{FullyConfigured: herald.Bool(false)}}
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{gate}
		cfg.EnabledManagers = []string{"gate"}
	})
	_, err := f.d.CreateCampaign(bg, &herald.Campaign{ID: "c1", OrgID: "org1", Title: "Spring"})
	require.NoError(t, err)
	_, err = f.d.CreateCampaign(bg, &herald.Campaign{ID: "c1", OrgID: "org1"})
	require.ErrorIs(t, err, herald.ErrConflict)

	require.NoError(t, f.d.OptOut(bg, &herald.OptOut{OrgID: "org1", Address: "+14155552679", Channel: herald.ChannelSMS}))
	rows := []*herald.Contact{
		{FirstName: "Ann", Phone: "(415) 555-2671"},
		{FirstName: "Bob", Phone: "415.555.2671"}, // duplicate
		{FirstName: "Cy", Phone: "12345"},         // invalid
		{FirstName: "Di"},                         // missing
		{FirstName: "Ed", Phone: "+14155552679"},  // opted out
		{FirstName: "Flo", Phone: "+44 7400 123456"},
	}
	src := func(yield func(*herald.Contact, error) bool) {
		for _, c := range rows {
			if !yield(c, nil) {
				return
			}
		}
	}
	stats, err := f.d.LoadContacts(bg, "org1", "c1", src, dispatch.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 6, stats.Loaded)
	assert.Equal(t, 1, stats.Duplicates)
	assert.Equal(t, 1, stats.InvalidCell)
	assert.Equal(t, 1, stats.MissingCell)
	assert.Equal(t, 1, stats.OptedOut)
	assert.Equal(t, 2, stats.FinalCount)
	require.Len(t, stats.Rejected, 3)
	for _, r := range stats.Rejected {
		assert.NotContains(t, r.Value, "555267", "no full numbers in reports")
	}
	var loaded []string
	for c, err := range f.store.ListContacts(bg, "org1", "c1") {
		require.NoError(t, err)
		loaded = append(loaded, c.Phone)
	}
	assert.ElementsMatch(t, []string{"+14155552671", "+447400123456"}, loaded)

	// A failing source leaves the old set intact.
	bad := func(yield func(*herald.Contact, error) bool) {
		yield(&herald.Contact{Phone: "+14155552600"}, nil)
		yield(nil, fmt.Errorf("connection reset"))
	}
	_, err = f.d.LoadContacts(bg, "org1", "c1", bad, dispatch.LoadOptions{})
	require.Error(t, err)
	n := 0
	for range f.store.ListContacts(bg, "org1", "c1") {
		n++
	}
	assert.Equal(t, 2, n)

	_, err = f.d.StartCampaign(bg, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked)
	assert.Contains(t, err.Error(), "gate")
	assert.NotContains(t, log.all(), "gate:start:org1", "start hooks do not run while not fully configured")

	gate.data = &herald.ManagerData{FullyConfigured: herald.Bool(true)}
	gate.startErr = fmt.Errorf("no numbers: %w", herald.ErrBlocked)
	_, err = f.d.StartCampaign(bg, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked)
	c, err := f.store.GetCampaign(bg, "org1", "c1")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignDraft, c.State)

	gate.startErr = nil
	c, err = f.d.StartCampaign(bg, "org1", "c1", "admin")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignStarted, c.State)
	_, err = f.d.StartCampaign(bg, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrConflict)
	_, err = f.d.LoadContacts(bg, "org1", "c1", src, dispatch.LoadOptions{})
	require.ErrorIs(t, err, herald.ErrInvalidInput, "no loads into a started campaign")

	c, err = f.d.ArchiveCampaign(bg, "org1", "c1", "admin")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignArchived, c.State)
	m := sms("org1", "+14155552671", "late")
	m.CampaignID = "c1"
	_, err = f.d.Send(bg, m)
	require.ErrorIs(t, err, herald.ErrBlocked, "archived campaigns send nothing")

	gate.data = &herald.ManagerData{Unarchivable: herald.Bool(false)}
	_, err = f.d.UnarchiveCampaign(bg, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked)
	gate.data = nil
	gate.unarchiveErr = fmt.Errorf("numbers released")
	_, err = f.d.UnarchiveCampaign(bg, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked)
	gate.unarchiveErr = nil
	c, err = f.d.UnarchiveCampaign(bg, "org1", "c1", "admin")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignStarted, c.State)
	assert.Contains(t, log.all(), "gate:load:org1")
}

func TestVendorConfigAndNumbers(t *testing.T) {
	f := newFixture(t, nil)
	ok, err := f.d.VendorFullyConfigured(bg, "org1", "fake")
	require.NoError(t, err)
	assert.True(t, ok)
	shown, err := f.d.UpdateVendorConfig(bg, "org1", "fake", map[string]string{"account": "acct", "secret": "s3cret"})
	require.NoError(t, err)
	assert.Equal(t, "acct", shown["account"])
	assert.Equal(t, herald.ObscuredSecret, shown["secret"], "secrets come back obscured")
	org, err := f.store.GetOrganization(bg, "org1")
	require.NoError(t, err)
	assert.Equal(t, "s3cret", org.VendorConfig["fake"]["secret"])

	nums, err := f.d.BuyNumbers(bg, "org1", "fake", herald.BuyNumbersParams{AreaCode: "415", Limit: 3})
	require.NoError(t, err)
	require.Len(t, nums, 3)
	stored, err := f.store.ListNumbers(bg, herald.NumberFilter{OrgID: "org1", Vendor: "fake"})
	require.NoError(t, err)
	assert.Len(t, stored, 3)
	_, err = f.d.BuyNumbers(bg, "org1", "fake", herald.BuyNumbersParams{AreaCode: "415"})
	require.ErrorIs(t, err, herald.ErrInvalidInput)

	desc := f.d.DescribeError("fake", "21610")
	assert.NotEqual(t, "vendor error 21610", desc.Description)
	_ = time.Second
}

// flakyStore fails some writes, like a database that drops a connection
// now and then.
type flakyStore struct {
	herald.Store
	failUpdates, failOptOuts atomic.Int64 // writes left to fail
}

var errFlaky = errors.New("connection reset")

func (s *flakyStore) UpdateMessage(ctx context.Context, u *herald.MessageUpdate) (*herald.Message, error) {
	if s.failUpdates.Add(-1) >= 0 {
		return nil, errFlaky
	}
	return s.Store.UpdateMessage(ctx, u)
}

func (s *flakyStore) PutOptOut(ctx context.Context, o *herald.OptOut) (bool, error) {
	if s.failOptOuts.Add(-1) >= 0 {
		return false, errFlaky
	}
	return s.Store.PutOptOut(ctx, o)
}

func TestEventNotRecordedIsHandledWhenRetried(t *testing.T) {
	store := &flakyStore{Store: memstore.New()}
	var inbound atomic.Int64
	failInbound := atomic.Bool{}
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		OnInbound: func(ctx context.Context, in *dispatch.Inbound) error {
			inbound.Add(1)
			if failInbound.Swap(false) {
				return errors.New("host busy")
			}
			return nil
		}})
	require.NoError(t, err)
	res, err := d.Send(bg, sms("org1", "+14155552671", "hi"))
	require.NoError(t, err)
	id, vid := res.Message.ID, res.Message.VendorMessageID
	require.Equal(t, herald.StatusSent, res.Message.Status)

	// The status write fails: the vendor is told to retry, and its retry
	// is applied, not dropped as a duplicate.
	delivered := &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", EventID: "e-delivered", VendorMessageID: vid, Status: herald.StatusDelivered}
	store.failUpdates.Store(1)
	require.ErrorIs(t, d.HandleReport(bg, delivered), errFlaky)
	assert.Equal(t, herald.StatusSent, statusOf(t, store, "org1", id))
	require.NoError(t, d.HandleReport(bg, delivered), "the vendor's retry")
	assert.Equal(t, herald.StatusDelivered, statusOf(t, store, "org1", id))
	require.NoError(t, d.HandleReport(bg, delivered), "now a duplicate")
	events, err := store.MessageEvents(bg, "org1", id)
	require.NoError(t, err)
	n := 0
	for _, e := range events {
		if e.Status == herald.StatusDelivered {
			n++
		}
	}
	assert.Equal(t, 1, n, "one delivered event")

	// An unsubscribe whose opt-out write fails is not lost either.
	unsub := &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", EventID: "e-unsub", VendorMessageID: vid,
		Status: herald.StatusDelivered, OptedOut: true, ErrorCode: "unsubscribe"}
	store.failOptOuts.Store(1)
	require.ErrorIs(t, d.HandleReport(bg, unsub), errFlaky)
	_, err = store.FindOptOut(bg, "org1", herald.ChannelSMS, "+14155552671")
	require.ErrorIs(t, err, herald.ErrNotFound)
	require.NoError(t, d.HandleReport(bg, unsub), "the vendor's retry")
	_, err = store.FindOptOut(bg, "org1", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err, "opted out on the retry")

	// An inbound message the host's OnInbound failed on is handed over
	// again when the vendor retries it.
	in := &herald.InboundMessage{OrgID: "org1", Vendor: "fake", EventID: "in-1", From: "+14155552671", To: "+14155550100", Body: "thanks"}
	failInbound.Store(true)
	require.Error(t, d.HandleInbound(bg, in))
	require.NoError(t, d.HandleInbound(bg, in), "the vendor's retry")
	require.NoError(t, d.HandleInbound(bg, in), "now a duplicate")
	assert.Equal(t, int64(2), inbound.Load(), "OnInbound ran for the first delivery and its retry only")
}

func TestOptOutReportForAnUnknownMessage(t *testing.T) {
	store := memstore.New()
	vendor := func(name string, chans ...herald.Channel) herald.Vendor {
		return fake.New(fake.Options{Name: name, Channels: chans, Quiet: true})
	}
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{
		vendor("mail", herald.ChannelEmail),
		vendor("text", herald.ChannelSMS, herald.ChannelMMS),
		vendor("multi"), // every channel
	}})
	require.NoError(t, err)
	_, err = store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1", CampaignID: "camp", Email: "ada@example.com"})
	require.NoError(t, err)
	report := func(vendor, event, to string) {
		t.Helper()
		require.NoError(t, d.HandleReport(bg, &herald.DeliveryReport{OrgID: "org1", Vendor: vendor, EventID: event,
			VendorMessageID: "never-sent-" + event, Status: herald.StatusDelivered, OptedOut: true, ErrorCode: "unsubscribe", To: to}))
	}

	// An unsubscribe for mail herald has no record of: the address the
	// vendor names is opted out at once, on the vendor's channel.
	report("mail", "u1", " ada@Example.COM") // normalized as herald does
	o, err := store.FindOptOut(bg, "org1", herald.ChannelEmail, "ada@example.com")
	require.NoError(t, err)
	assert.Equal(t, "unsubscribe", o.Reason)
	assert.Equal(t, "vendor", o.Source)
	assert.Equal(t, "c1", o.ContactID, "the contact with the address")
	assert.Equal(t, "camp", o.CampaignID)

	// A text vendor's channels share one scope (mms is sms's).
	report("text", "s1", "+1 415 555 2671")
	_, err = store.FindOptOut(bg, "org1", herald.ChannelSMS, "+14155552671")
	require.NoError(t, err)

	// A vendor of several channels does not say which the address is on:
	// nothing is guessed, the report waits parked for its message.
	report("multi", "m1", "bob@example.com")
	_, err = store.FindOptOut(bg, "org1", herald.ChannelEmail, "bob@example.com")
	assert.ErrorIs(t, err, herald.ErrNotFound)
	// Nor is a report without an address.
	report("mail", "u2", "")
	all, err := store.ListOptOuts(bg, "org1")
	require.NoError(t, err)
	assert.Len(t, all, 2)
}
