package stickysender_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/numpicker"
	"github.com/heraldmsg/herald/managers/stickysender"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// state is a manager State over a memstore, as the dispatcher builds it.
type state struct {
	store herald.StateStore
	org   string
	fail  error
}

func (s *state) key(k string) herald.StateKey {
	return herald.StateKey{OrgID: s.org, Namespace: stickysender.Name, Key: k}
}

func (s *state) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if s.fail != nil {
		return nil, false, s.fail
	}
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
	return s.store.DeleteState(ctx, s.key(k))
}

func (s *state) CompareAndSwap(ctx context.Context, k string, old, v []byte) (bool, error) {
	if s.fail != nil {
		return false, s.fail
	}
	return s.store.CompareAndSwapState(ctx, s.key(k), old, v)
}

type fixture struct {
	store *memstore.Store
	state *state
	env   herald.Env
	org   *herald.Organization
}

func newFixture() *fixture {
	st := memstore.New()
	f := &fixture{store: st, state: &state{store: st, org: "org1"}, org: &herald.Organization{ID: "org1"}}
	f.env = herald.Env{State: f.state, Vendor: fake.New(fake.Options{Quiet: true}), Store: st}
	return f
}

const contact = "+12125550111"

func (f *fixture) report(t *testing.T, m *stickysender.Manager, status herald.Status, code, from string, ch herald.Channel) {
	t.Helper()
	msg := &herald.Message{ID: "m1", OrgID: "org1", Channel: ch, To: contact, From: from, Vendor: "fake", Status: status}
	err := m.OnDeliveryReport(context.Background(), &herald.DeliveryReportEvent{Env: f.env, Organization: f.org, Message: msg, Applied: true,
		Report: &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", VendorMessageID: "V1", Status: status, ErrorCode: code, From: from}})
	require.NoError(t, err)
}

func (f *fixture) send(t *testing.T, m *stickysender.Manager, route *herald.Route, ch herald.Channel) (string, error) {
	t.Helper()
	ev := &herald.MessageSendEvent{Env: f.env, Organization: f.org, Route: route,
		Message: &herald.Message{ID: "m2", OrgID: "org1", Channel: ch, To: contact, Body: "hi"}}
	err := m.OnMessageSend(context.Background(), ev)
	return route.From, err
}

func (f *fixture) sticky(t *testing.T, vendor string) string {
	t.Helper()
	n, _, err := stickysender.StickyNumber(context.Background(), f.store, "org1", vendor, contact)
	require.NoError(t, err)
	return n
}

func TestLearnsOnlyFromDeliveredReports(t *testing.T) {
	f := newFixture()
	m := stickysender.New(stickysender.Options{})
	f.report(t, m, herald.StatusSent, "", "+14155550100", herald.ChannelSMS)
	f.report(t, m, herald.StatusFailed, "30003", "+14155550100", herald.ChannelSMS)
	f.report(t, m, herald.StatusDelivered, "30007", "+14155550100", herald.ChannelSMS)
	f.report(t, m, herald.StatusDelivered, "", "", herald.ChannelSMS)
	f.report(t, m, herald.StatusDelivered, "", "news@example.com", herald.ChannelEmail)
	assert.Empty(t, f.sticky(t, "fake"), "sent, failed, errored, sender-less and email reports teach nothing")

	f.report(t, m, herald.StatusDelivered, "", "+14155550100", herald.ChannelMMS)
	assert.Equal(t, "+14155550100", f.sticky(t, "fake"))
}

func TestNeverOverwrites(t *testing.T) {
	f := newFixture()
	m := stickysender.New(stickysender.Options{})
	f.report(t, m, herald.StatusDelivered, "", "+14155550100", herald.ChannelSMS)
	f.report(t, m, herald.StatusDelivered, "", "+14155550199", herald.ChannelSMS)
	assert.Equal(t, "+14155550100", f.sticky(t, "fake"))

	set, err := stickysender.SetStickyNumber(context.Background(), f.store, "org1", "fake", contact, "+14155550199")
	require.NoError(t, err)
	assert.False(t, set)
	require.NoError(t, stickysender.Forget(context.Background(), f.store, "org1", "fake", contact))
	require.NoError(t, stickysender.Forget(context.Background(), f.store, "org1", "fake", contact), "absent is fine")
	f.report(t, m, herald.StatusDelivered, "", "+14155550199", herald.ChannelSMS)
	assert.Equal(t, "+14155550199", f.sticky(t, "fake"), "after Forget a new number is learnt")
}

func TestConcurrentReportsAgreeOnOneNumber(t *testing.T) {
	f := newFixture()
	m := stickysender.New(stickysender.Options{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { f.report(t, m, herald.StatusDelivered, "", fmt.Sprintf("+1415555%04d", i), herald.ChannelSMS) })
	}
	wg.Wait()
	first := f.sticky(t, "fake")
	require.NotEmpty(t, first)
	for range 10 {
		from, err := f.send(t, m, &herald.Route{}, herald.ChannelSMS)
		require.NoError(t, err)
		assert.Equal(t, first, from)
	}
}

func TestSendUsesStickyNumber(t *testing.T) {
	f := newFixture()
	m := stickysender.New(stickysender.Options{})
	from, err := f.send(t, m, &herald.Route{}, herald.ChannelSMS)
	require.NoError(t, err)
	assert.Empty(t, from, "nothing learnt yet")

	f.report(t, m, herald.StatusDelivered, "", "+14155550100", herald.ChannelSMS)
	from, err = f.send(t, m, &herald.Route{}, herald.ChannelSMS)
	require.NoError(t, err)
	assert.Equal(t, "+14155550100", from)

	from, err = f.send(t, m, &herald.Route{From: "+13105550123"}, herald.ChannelSMS)
	require.NoError(t, err)
	assert.Equal(t, "+13105550123", from, "a chosen sender wins")

	from, err = f.send(t, m, &herald.Route{MessagingServiceID: "MG1"}, herald.ChannelSMS)
	require.NoError(t, err)
	assert.Empty(t, from, "a messaging service has its own sticky sender")

	from, err = f.send(t, m, &herald.Route{Vendor: "other"}, herald.ChannelSMS)
	require.NoError(t, err)
	assert.Empty(t, from, "sticky numbers are per vendor")

	from, err = f.send(t, m, &herald.Route{}, herald.ChannelEmail)
	require.NoError(t, err)
	assert.Empty(t, from)

	f.state.fail = errors.New("state down")
	_, err = f.send(t, m, &herald.Route{}, herald.ChannelSMS)
	assert.ErrorContains(t, err, "state down", "a State failure fails the send rather than break the thread")
}

func TestMetadataRunsBeforeTheNumberPicker(t *testing.T) {
	md := stickysender.New(stickysender.Options{RunsBefore: []string{"my-picker", numpicker.Name}}).Metadata()
	assert.Equal(t, stickysender.Name, md.Name)
	assert.Equal(t, []string{numpicker.Name, "my-picker"}, md.RunsBefore)
	assert.Equal(t, numpicker.Name, stickysender.NumberPickerName)
	assert.False(t, md.CanSpendMoney)
}

// newDispatcher wires sticky-sender and numpicker in the given order.
func newDispatcher(t *testing.T, order ...string) (*dispatch.Dispatcher, *memstore.Store, *fake.Vendor, error) {
	t.Helper()
	store := memstore.New()
	v := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{
		Store:   store,
		Vendors: []herald.Vendor{v},
		Managers: []herald.ServiceManager{
			stickysender.New(stickysender.Options{}), numpicker.New(numpicker.Options{}),
		},
		EnabledManagers: order,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	v.Connect(d)
	t.Cleanup(v.Wait)
	require.NoError(t, store.AddNumbers(context.Background(), []herald.OwnedNumber{
		{OrgID: "org1", Vendor: "fake", Number: "+14155550100"},
		{OrgID: "org1", Vendor: "fake", Number: "+14155550101"},
		{OrgID: "org1", Vendor: "fake", Number: "+14155550102"},
	}))
	return d, store, v, nil
}

// TestOrderStickyThenPicker: a repeat contact is sent from its sticky
// number, learnt from the first message's delivery report, while the
// picker keeps rotating for others.
func TestOrderStickyThenPicker(t *testing.T) {
	ctx := context.Background()
	d, store, v, err := newDispatcher(t, stickysender.Name, numpicker.Name)
	require.NoError(t, err)

	first, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: contact, Body: "hello"})
	require.NoError(t, err)
	v.Wait() // the delivery report has been handled
	sticky, ok, err := stickysender.StickyNumber(ctx, store, "org1", "fake", contact)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, first.Message.From, sticky, "learnt from the delivered report")

	others := map[string]bool{}
	for i := range 6 {
		res, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: contact, Body: "again " + strconv.Itoa(i)})
		require.NoError(t, err)
		assert.Equal(t, sticky, res.Message.From, "the repeat contact hears from its sticky number")
		res, err = d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+1212555020" + strconv.Itoa(i), Body: "new"})
		require.NoError(t, err)
		others[res.Message.From] = true
	}
	assert.Len(t, others, 3, "new contacts still rotate over the pool")
}

// TestReverseOrderIsRefused: numpicker before sticky-sender would make the
// sticky number dead code; the dispatcher refuses it, naming both.
func TestReverseOrderIsRefused(t *testing.T) {
	_, _, _, err := newDispatcher(t, numpicker.Name, stickysender.Name)
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.ErrorContains(t, err, stickysender.Name)
	assert.ErrorContains(t, err, numpicker.Name)

	// The same order set per organization is refused at send time.
	ctx := context.Background()
	d, store, _, err := newDispatcher(t, stickysender.Name, numpicker.Name)
	require.NoError(t, err)
	_, err = store.PutOrganization(ctx, &herald.Organization{ID: "org1", Features: map[string]string{
		herald.FeatureServiceManagers: numpicker.Name + "," + stickysender.Name}})
	require.NoError(t, err)
	_, err = d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: contact, Body: "hi"})
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.ErrorContains(t, err, stickysender.Name)
	assert.ErrorContains(t, err, numpicker.Name)
}

func ExampleSetStickyNumber() {
	ctx := context.Background()
	store := memstore.New()
	// Seed a sticky number, say from Spoke's organization_contact.user_number.
	_, _ = stickysender.SetStickyNumber(ctx, store, "org1", "fake", "+12125550111", "+14155550100")
	d, _ := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers:        []herald.ServiceManager{stickysender.New(stickysender.Options{}), numpicker.New(numpicker.Options{})},
		EnabledManagers: []string{stickysender.Name, numpicker.Name},
	})
	res, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+12125550111", Body: "Hi again"})
	fmt.Println(res.Message.From, err)
	// Output: +14155550100 <nil>
}
