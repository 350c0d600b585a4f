package carrierlookup_test

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
	"github.com/heraldmsg/herald/managers/carrierlookup"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// paidOnly is a vendor with a paid lookup and nothing free.
type paidOnly struct {
	calls atomic.Int64
}

func (v *paidOnly) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "paid", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (v *paidOnly) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "x"}, nil
}

func (v *paidOnly) LookupContact(_ context.Context, p herald.LookupParams) (*herald.LookupResult, error) {
	v.calls.Add(1)
	return &herald.LookupResult{Number: p.Number, Carrier: "PaidCarrier", LineType: "mobile", StatusCode: 1, Vendor: "paid"}, nil
}

// flaky is a free-lookup vendor whose first lookups fail.
type flaky struct {
	fails atomic.Int64
	calls atomic.Int64
	delay time.Duration
}

func (v *flaky) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "flaky", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (v *flaky) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "x"}, nil
}

func (v *flaky) FreeLookup(_ context.Context, p herald.FreeLookupParams) (*herald.LookupResult, error) {
	v.calls.Add(1)
	time.Sleep(v.delay)
	if v.fails.Add(-1) >= 0 {
		return nil, errors.New("lookup unavailable")
	}
	return &herald.LookupResult{Number: p.Number, Carrier: "FlakyCarrier", Vendor: "flaky"}, nil
}

type fixture struct {
	store *memstore.Store
	env   herald.Env
	org   *herald.Organization
	m     *carrierlookup.Manager
}

func newFixture(t *testing.T, v herald.Vendor) *fixture {
	t.Helper()
	st := memstore.New()
	f := &fixture{store: st, org: &herald.Organization{ID: "org1"}, m: carrierlookup.New(carrierlookup.Options{})}
	f.env = herald.Env{State: herald.NamespacedState(st, "org1", carrierlookup.Name), Vendor: v, Store: st, Clock: herald.SystemClock{}}
	return f
}

func (f *fixture) contact(t *testing.T, id, phone string) *herald.Contact {
	t.Helper()
	c, err := f.store.PutContact(context.Background(), &herald.Contact{ID: id, OrgID: "org1", Phone: phone})
	require.NoError(t, err)
	return c
}

func (f *fixture) report(t *testing.T, contactID string, carrier string) error {
	t.Helper()
	c, err := f.store.GetContact(context.Background(), "org1", contactID)
	require.NoError(t, err)
	vendor := "fake"
	if f.env.Vendor != nil {
		vendor = f.env.Vendor.Metadata().Name
	}
	return f.m.OnDeliveryReport(context.Background(), &herald.DeliveryReportEvent{Env: f.env, Organization: f.org, Contact: c, Applied: true,
		Message: &herald.Message{ID: "m1", OrgID: "org1", ContactID: c.ID, Channel: herald.ChannelSMS, To: c.Phone, Vendor: vendor},
		Report:  &herald.DeliveryReport{OrgID: "org1", Vendor: vendor, VendorMessageID: "V1", Status: herald.StatusDelivered, Carrier: carrier}})
}

func (f *fixture) lookupOf(t *testing.T, id string) *herald.LookupResult {
	t.Helper()
	c, err := f.store.GetContact(context.Background(), "org1", id)
	require.NoError(t, err)
	return c.Lookup
}

func TestFillsCarrierOncePerContact(t *testing.T) {
	v := fake.New(fake.Options{Quiet: true})
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	for range 5 {
		require.NoError(t, f.report(t, "c1", ""))
	}
	l := f.lookupOf(t, "c1")
	require.NotNil(t, l)
	assert.Equal(t, fake.Carrier, l.Carrier)
	assert.Equal(t, "mobile", l.LineType)
	assert.Equal(t, "+12125550111", l.Number)
	assert.Equal(t, 1, v.FreeLookups(), "one lookup for five reports")
	assert.Zero(t, v.Lookups(), "no paid lookup")
}

func TestNumberSharedByContactsIsLookedUpOnce(t *testing.T) {
	v := fake.New(fake.Options{Quiet: true})
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	f.contact(t, "c2", "+12125550111")
	require.NoError(t, f.report(t, "c1", ""))
	require.NoError(t, f.report(t, "c2", ""))
	assert.Equal(t, fake.Carrier, f.lookupOf(t, "c1").Carrier)
	assert.Equal(t, fake.Carrier, f.lookupOf(t, "c2").Carrier)
	assert.Equal(t, 1, v.FreeLookups())
}

func TestVendorWithoutFreeLookup(t *testing.T) {
	v := &paidOnly{}
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	require.NoError(t, f.report(t, "c1", ""))
	assert.Nil(t, f.lookupOf(t, "c1"), "no free lookup, no carrier on the report, no paid permission: nothing")
	assert.Zero(t, v.calls.Load())

	require.NoError(t, f.report(t, "c1", "ReportCarrier"))
	assert.Equal(t, "ReportCarrier", f.lookupOf(t, "c1").Carrier, "the report's own carrier is used")
	assert.Zero(t, v.calls.Load())
}

func TestPaidLookupOnlyWhenAllowed(t *testing.T) {
	v := &paidOnly{}
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	f.org.Features = map[string]string{carrierlookup.FeaturePaid: "true"}
	for range 3 {
		require.NoError(t, f.report(t, "c1", ""))
	}
	assert.Equal(t, "PaidCarrier", f.lookupOf(t, "c1").Carrier)
	assert.EqualValues(t, 1, v.calls.Load(), "paid for once")
}

func TestFailedLookupIsRetriedByTheNextReport(t *testing.T) {
	v := &flaky{}
	v.fails.Store(1)
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	err := f.report(t, "c1", "")
	require.ErrorContains(t, err, "lookup unavailable")
	assert.Nil(t, f.lookupOf(t, "c1"))
	require.NoError(t, f.report(t, "c1", ""), "the claim was released")
	assert.Equal(t, "FlakyCarrier", f.lookupOf(t, "c1").Carrier)
	assert.EqualValues(t, 2, v.calls.Load())
}

func TestConcurrentReportsMakeOneLookup(t *testing.T) {
	v := &flaky{delay: 20 * time.Millisecond}
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { assert.NoError(t, f.report(t, "c1", "")) })
	}
	wg.Wait()
	assert.EqualValues(t, 1, v.calls.Load())
	assert.Equal(t, "FlakyCarrier", f.lookupOf(t, "c1").Carrier)
}

func TestExpiredClaimIsTakenOver(t *testing.T) {
	v := fake.New(fake.Options{Quiet: true})
	f := newFixture(t, v)
	f.contact(t, "c1", "+12125550111")
	// A claim left by a process that died mid-lookup, long expired.
	stale := fmt.Sprintf(`{"claimed_until":%q}`, time.Now().Add(-time.Hour).Format(time.RFC3339Nano))
	require.NoError(t, f.env.State.Put(context.Background(), carrierlookup.NumberKey("+12125550111"), []byte(stale)))
	require.NoError(t, f.report(t, "c1", ""))
	assert.Equal(t, fake.Carrier, f.lookupOf(t, "c1").Carrier)

	// A live claim makes the report stand back.
	f.contact(t, "c2", "+12125550122")
	live := fmt.Sprintf(`{"claimed_until":%q}`, time.Now().Add(time.Hour).Format(time.RFC3339Nano))
	require.NoError(t, f.env.State.Put(context.Background(), carrierlookup.NumberKey("+12125550122"), []byte(live)))
	require.NoError(t, f.report(t, "c2", ""))
	assert.Nil(t, f.lookupOf(t, "c2"))
}

func TestMergeKeepsWhatTheLookupLeavesOut(t *testing.T) {
	v := &flaky{} // answers only a carrier
	f := newFixture(t, v)
	c := f.contact(t, "c1", "+12125550111")
	c.Lookup = &herald.LookupResult{Number: c.Phone, LineType: "landline", StatusCode: herald.LookupLandline, ErrorCode: "30006"}
	_, err := f.store.PutContact(context.Background(), c)
	require.NoError(t, err)
	require.NoError(t, f.report(t, "c1", ""))
	l := f.lookupOf(t, "c1")
	assert.Equal(t, "FlakyCarrier", l.Carrier)
	assert.Equal(t, "landline", l.LineType)
	assert.Equal(t, herald.LookupLandline, l.StatusCode)
	assert.Equal(t, "30006", l.ErrorCode)
}

func TestIgnoresWhatItCannotUse(t *testing.T) {
	v := fake.New(fake.Options{Quiet: true})
	f := newFixture(t, v)
	ctx := context.Background()
	require.NoError(t, f.m.OnDeliveryReport(ctx, &herald.DeliveryReportEvent{Env: f.env, Organization: f.org,
		Message: &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+12125550111"},
		Report:  &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", Status: herald.StatusDelivered}}), "no contact")
	c := f.contact(t, "c1", "+12125550111")
	require.NoError(t, f.m.OnDeliveryReport(ctx, &herald.DeliveryReportEvent{Env: f.env, Organization: f.org, Contact: c,
		Message: &herald.Message{OrgID: "org1", Channel: herald.ChannelEmail, To: "a@example.com"},
		Report:  &herald.DeliveryReport{OrgID: "org1", Vendor: "fake", Status: herald.StatusDelivered}}), "email")
	assert.Zero(t, v.FreeLookups())
}

func TestMetadata(t *testing.T) {
	md := carrierlookup.New(carrierlookup.Options{}).Metadata()
	assert.Equal(t, "carrier-lookup", md.Name)
	assert.True(t, md.CanSpendMoney)
	assert.Equal(t, []string{"OnDeliveryReport"}, md.MoneySpendingOperations)
}

// TestThroughDispatcher: delivery reports from the fake vendor fill the
// contact's carrier, with one free lookup for several messages.
func TestThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	v := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v},
		Managers: []herald.ServiceManager{carrierlookup.New(carrierlookup.Options{})}, EnabledManagers: []string{carrierlookup.Name}})
	require.NoError(t, err)
	v.Connect(d)
	t.Cleanup(v.Wait)
	_, err = store.PutContact(ctx, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+12125550111"})
	require.NoError(t, err)
	for i := range 3 {
		_, err := d.Send(ctx, &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelSMS,
			To: "+12125550111", Body: fmt.Sprint("hi ", i)})
		require.NoError(t, err)
		v.Wait()
	}
	c, err := store.GetContact(ctx, "org1", "c1")
	require.NoError(t, err)
	require.NotNil(t, c.Lookup)
	assert.Equal(t, fake.Carrier, c.Lookup.Carrier)
	assert.Equal(t, herald.LookupTextable, c.Lookup.StatusCode)
	assert.Equal(t, 1, v.FreeLookups(), "once per contact, not per message")
	assert.Zero(t, v.Lookups())
}

func ExampleNew() {
	ctx := context.Background()
	store := memstore.New()
	v := fake.New(fake.Options{})
	d, _ := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{v},
		Managers:        []herald.ServiceManager{carrierlookup.New(carrierlookup.Options{})},
		EnabledManagers: []string{carrierlookup.Name},
	})
	v.Connect(d)
	_, _ = store.PutContact(ctx, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+12125550111"})
	_, _ = d.Send(ctx, &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelSMS, To: "+12125550111", Body: "Hi"})
	v.Wait() // the delivery report was handled
	c, _ := store.GetContact(ctx, "org1", "c1")
	fmt.Println(c.Lookup.Carrier, c.Lookup.LineType)
	// Output: FakeCarrier mobile
}
