package campaignservices_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/managers/campaignservices"
)

func TestMetadata(t *testing.T) {
	md := campaignservices.New(campaignservices.Options{}).Metadata()
	assert.Equal(t, "per-campaign-messageservices", md.Name)
	assert.True(t, md.SupportsCampaignConfig)
	assert.True(t, md.CanSpendMoney)
	assert.Equal(t, []string{"OnCampaignStart"}, md.MoneySpendingOperations)
}

func TestCampaignDataNeededVersusReserved(t *testing.T) {
	f := newFixture(t)
	m := campaignservices.New(campaignservices.Options{})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 450, "+1212555": 150})
	f.buy(t, "US", "415", 4)
	f.buy(t, "US", "212", 1)

	md := f.data(t, m, f.campaign)
	assert.False(t, *md.FullyConfigured, "nothing reserved")
	assert.True(t, *md.Unarchivable)
	assert.Equal(t, 600, md.Data["contacts"])
	assert.Equal(t, 3, md.Data["needed"], "⌈600/200⌉")
	assert.Equal(t, 0, md.Data["reserved"])
	assert.Equal(t, 200, md.Data["contactsPerNumber"])
	assert.Equal(t, []campaignservices.AreaCodeCount{
		{AreaCode: "212", Contacts: 150, Needed: 1, Reserved: 0, Available: 1},
		{AreaCode: "415", Contacts: 450, Needed: 3, Reserved: 0, Available: 4},
	}, md.Data["areaCodes"])

	md, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)
	assert.True(t, *md.FullyConfigured)
	assert.Equal(t, 4, md.Data["reserved"], "per area: 3 in 415, 1 in 212")
	assert.Equal(t, []campaignservices.AreaCodeCount{
		{AreaCode: "212", Contacts: 150, Needed: 1, Reserved: 1, Available: 0},
		{AreaCode: "415", Contacts: 450, Needed: 3, Reserved: 3, Available: 1},
	}, md.Data["areaCodes"])
	for _, n := range f.allocated(t, f.campaign) {
		assert.Equal(t, herald.AllocationCampaign, n.AllocatedTo)
		assert.Equal(t, "camp1", n.AllocatedToID)
	}

	f.org.Features = map[string]string{campaignservices.FeatureContactsPerNumber: "100"}
	md = f.data(t, m, f.campaign)
	assert.Equal(t, 6, md.Data["needed"])
	assert.False(t, *md.FullyConfigured, "4 reserved, 6 needed")
}

func TestReserveIsAllOrNothing(t *testing.T) {
	f := newFixture(t)
	m := campaignservices.New(campaignservices.Options{MaxNumbersPerService: 10})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 450})
	f.buy(t, "US", "415", 3)
	f.buy(t, "US", "212", 1)

	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateAreaCodeCounts: map[string]any{"415": 2.0}})
	require.NoError(t, err)
	require.Len(t, f.allocated(t, f.campaign), 2)

	// 212 is short: nothing changes.
	_, err = f.update(m, f.campaign, map[string]any{campaignservices.UpdateAreaCodeCounts: map[string]any{"415": 3.0, "212": 2.0}})
	require.ErrorIs(t, err, herald.ErrConflict)
	assert.Contains(t, err.Error(), "area 212: 2 asked, 1 free")
	assert.Len(t, f.allocated(t, f.campaign), 2, "the previous reservation stands")

	_, err = f.update(m, f.campaign, map[string]any{campaignservices.UpdateAreaCodeCounts: map[string]int{"415": 3, "212": 1}})
	require.NoError(t, err)
	assert.Len(t, f.allocated(t, f.campaign), 4)

	for _, bad := range []any{"x", map[string]any{"415": "3"}, map[string]any{"415": 1.5}, map[string]any{"415": -1.0}} {
		_, err = f.update(m, f.campaign, map[string]any{campaignservices.UpdateAreaCodeCounts: bad})
		assert.ErrorIs(t, err, herald.ErrInvalidInput, "%v", bad)
	}
	_, err = f.update(m, f.campaign, map[string]any{campaignservices.UpdateAreaCodeCounts: map[string]any{"415": 11.0}})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "over MaxNumbersPerService")
	_, err = f.update(m, f.campaign, map[string]any{"bogus": 1})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	started := &herald.Campaign{ID: "s", OrgID: "org1", State: herald.CampaignStarted}
	_, err = f.update(m, started, map[string]any{campaignservices.UpdateReserve: true})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	assert.Len(t, f.allocated(t, f.campaign), 4)
}

func TestReserveOutsideNorthAmerica(t *testing.T) {
	f := newFixture(t)
	f.org.Features = map[string]string{herald.FeaturePhoneCountry: "GB"}
	m := campaignservices.New(campaignservices.Options{ContactsPerNumber: 100})
	// London (020) and Manchester (0161) landline-style numbers.
	f.loadContacts(t, f.campaign, map[string]int{"+44207946": 150, "+44161496": 50})
	f.buy(t, "GB", "20", 2)
	f.buy(t, "GB", "161", 1)
	md, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)
	assert.True(t, *md.FullyConfigured)
	assert.Equal(t, []campaignservices.AreaCodeCount{
		{AreaCode: "161", Contacts: 50, Needed: 1, Reserved: 1},
		{AreaCode: "20", Contacts: 150, Needed: 2, Reserved: 2},
	}, md.Data["areaCodes"])
}

func TestStartTwiceCreatesOneService(t *testing.T) {
	f := newFixture(t)
	m := campaignservices.New(campaignservices.Options{})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 300})
	f.buy(t, "US", "415", 2)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)

	c := f.campaign.Clone()
	require.NoError(t, f.start(m, c))
	require.NotEmpty(t, c.MessagingServiceID)
	services := f.fake.MessagingServiceList("org1")
	require.Len(t, services, 1)
	assert.Equal(t, c.MessagingServiceID, services[0].ID)
	assert.Equal(t, "Campaign camp1: org1", services[0].FriendlyName)
	inService, err := f.fake.ListNumbers(context.Background(), herald.ListNumbersParams{Organization: f.org, MessagingServiceID: c.MessagingServiceID})
	require.NoError(t, err)
	assert.Len(t, inService, 2)

	// The start is repeated (a later manager refused it, or the save failed).
	again := f.campaign.Clone()
	require.NoError(t, f.start(m, again))
	assert.Equal(t, c.MessagingServiceID, again.MessagingServiceID)
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1, "no second service")
	assert.Equal(t, campaignservices.PhaseReady, f.record(t, f.campaign).Phase)
}

func TestConcurrentStartsCreateOneService(t *testing.T) {
	f := newFixture(t)
	m := campaignservices.New(campaignservices.Options{})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 10})
	f.buy(t, "US", "415", 1)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.start(m, f.campaign.Clone())
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, herald.ErrConflict)
		}
	}
	assert.GreaterOrEqual(t, ok, 1)
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1)
}

func TestFailedStartRollsBack(t *testing.T) {
	f := newFixture(t)
	fv := &flakyVendor{Vendor: f.fake, failAdd: 1}
	f.vendor = fv
	m := campaignservices.New(campaignservices.Options{})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 10})
	f.buy(t, "US", "415", 1)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)

	c := f.campaign.Clone()
	err = f.start(m, c)
	require.Error(t, err)
	assert.ErrorIs(t, err, herald.ClassTemporary)
	assert.Empty(t, c.MessagingServiceID)
	assert.Empty(t, f.fake.MessagingServiceList("org1"), "the created service was deleted")
	assert.Equal(t, campaignservices.Record{}, *f.record(t, f.campaign))
	assert.Len(t, f.allocated(t, f.campaign), 1, "the reservation stands")

	require.NoError(t, f.start(m, c))
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1)
	assert.Equal(t, 2, fv.creates)
}

func TestFailedRollbackKeepsTheServiceForTheNextStart(t *testing.T) {
	f := newFixture(t)
	fv := &flakyVendor{Vendor: f.fake, failAdd: 1, failDelete: 1}
	f.vendor = fv
	m := campaignservices.New(campaignservices.Options{})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 10})
	f.buy(t, "US", "415", 1)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)

	err = f.start(m, f.campaign.Clone())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rolling back")
	rec := f.record(t, f.campaign)
	assert.Equal(t, campaignservices.PhaseCreated, rec.Phase)
	assert.NotEmpty(t, rec.ServiceID)
	assert.Empty(t, rec.Token, "no claim left behind")

	c := f.campaign.Clone()
	require.NoError(t, f.start(m, c))
	assert.Equal(t, rec.ServiceID, c.MessagingServiceID, "the surviving service is reused")
	assert.Equal(t, 1, fv.creates)
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1)
}

func TestCrashRecovery(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f.clock = clock
	m := campaignservices.New(campaignservices.Options{CreatingTimeout: time.Minute})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 10})
	f.buy(t, "US", "415", 1)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)
	put := func(r campaignservices.Record) {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, f.env().State.Put(ctx, "campaign/camp1", b))
	}

	// A process died after the vendor created the service and the ID was
	// saved, before the numbers were added: the next start reuses it.
	svc, err := f.fake.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{Organization: f.org, FriendlyName: "Campaign camp1: org1"})
	require.NoError(t, err)
	put(campaignservices.Record{Phase: campaignservices.PhaseCreated, ServiceID: svc.ID, Token: "dead", At: clock.Now().Add(-time.Hour)})
	c := f.campaign.Clone()
	require.NoError(t, f.start(m, c))
	assert.Equal(t, svc.ID, c.MessagingServiceID)
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1)

	// A start in progress elsewhere: refused, not duplicated. (The
	// service above is gone for this part.)
	require.NoError(t, f.fake.DeleteMessagingService(ctx, f.org, svc.ID))
	put(campaignservices.Record{Phase: campaignservices.PhaseCreating, FriendlyName: "Campaign camp1: org1", Token: "other", At: clock.Now()})
	err = f.start(m, f.campaign.Clone())
	require.ErrorIs(t, err, herald.ErrConflict)

	// The same claim after CreatingTimeout: taken over. The vendor has no
	// service of that name, so one is created.
	clock.Advance(2 * time.Minute)
	c = f.campaign.Clone()
	require.NoError(t, f.start(m, c))
	require.Len(t, f.fake.MessagingServiceList("org1"), 1)
	assert.Equal(t, f.fake.MessagingServiceList("org1")[0].ID, c.MessagingServiceID)
}

func TestDeadCreateIsAdopted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f.clock = clock
	m := campaignservices.New(campaignservices.Options{CreatingTimeout: time.Minute})
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 10})
	f.buy(t, "US", "415", 1)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)
	// A start created the service at the vendor, then died before it could
	// record the ID.
	orphan, err := f.fake.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{Organization: f.org, FriendlyName: "Campaign camp1: org1"})
	require.NoError(t, err)
	b, err := json.Marshal(campaignservices.Record{Phase: campaignservices.PhaseCreating, FriendlyName: "Campaign camp1: org1",
		Token: "dead", At: clock.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.NoError(t, f.env().State.Put(ctx, "campaign/camp1", b))

	c := f.campaign.Clone()
	require.NoError(t, f.start(m, c))
	assert.Equal(t, orphan.ID, c.MessagingServiceID, "the vendor's service is adopted")
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1, "no second service")
	assert.Contains(t, f.logs.String(), "adopted")
	inSvc, err := f.fake.ListNumbers(ctx, herald.ListNumbersParams{Organization: f.org, MessagingServiceID: orphan.ID})
	require.NoError(t, err)
	assert.Len(t, inSvc, 1, "the reserved number joined it")
}

// servicesWithoutFinder is a vendor that creates services but cannot find
// them by name.
type servicesWithoutFinder struct {
	herald.Vendor
	herald.MessagingServices
}

func TestDeadCreateWithoutFinderWarns(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.vendor = servicesWithoutFinder{Vendor: f.fake, MessagingServices: f.fake}
	m := campaignservices.New(campaignservices.Options{CreatingTimeout: time.Minute})
	b, err := json.Marshal(campaignservices.Record{Phase: campaignservices.PhaseCreating, FriendlyName: "Campaign camp1: org1",
		Token: "dead", At: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.NoError(t, f.env().State.Put(ctx, "campaign/camp1", b))
	require.NoError(t, f.start(m, f.campaign.Clone()))
	assert.Contains(t, f.logs.String(), "may be left at the vendor")
}

func TestVendorWithoutServices(t *testing.T) {
	f := newFixture(t)
	f.vendor = plainVendor{}
	m := campaignservices.New(campaignservices.Options{})
	md := f.data(t, m, f.campaign)
	assert.False(t, *md.FullyConfigured)
	assert.Equal(t, false, md.Data["servicesSupported"])
	assert.Contains(t, md.Data["error"], "cannot create messaging services")
	err := f.start(m, f.campaign.Clone())
	assert.ErrorIs(t, err, herald.ErrUnsupported)
}

func TestOnMessageSendRoutesThroughTheService(t *testing.T) {
	m := campaignservices.New(campaignservices.Options{})
	route := &herald.Route{}
	err := m.OnMessageSend(context.Background(), &herald.MessageSendEvent{Campaign: &herald.Campaign{MessagingServiceID: "MG1"}, Route: route})
	require.NoError(t, err)
	assert.Equal(t, "MG1", route.MessagingServiceID)

	route = &herald.Route{MessagingServiceID: "MG0"}
	require.NoError(t, m.OnMessageSend(context.Background(), &herald.MessageSendEvent{Campaign: &herald.Campaign{MessagingServiceID: "MG1"}, Route: route}))
	assert.Equal(t, "MG0", route.MessagingServiceID, "an earlier choice stands")

	route = &herald.Route{}
	require.NoError(t, m.OnMessageSend(context.Background(), &herald.MessageSendEvent{Route: route}))
	assert.Empty(t, route.MessagingServiceID, "no campaign, no service")
}

// started runs the campaign up to archived with its service.
func started(t *testing.T, f *fixture, m *campaignservices.Manager) *herald.Campaign {
	t.Helper()
	ctx := context.Background()
	f.loadContacts(t, f.campaign, map[string]int{"+1415555": 10})
	f.buy(t, "US", "415", 1)
	_, err := f.update(m, f.campaign, map[string]any{campaignservices.UpdateReserve: true})
	require.NoError(t, err)
	c := f.campaign.Clone()
	require.NoError(t, f.start(m, c))
	c.State = herald.CampaignStarted
	c, err = f.store.UpdateCampaign(ctx, c, herald.CampaignDraft)
	require.NoError(t, err)
	c.State = herald.CampaignArchived
	c, err = f.store.UpdateCampaign(ctx, c, herald.CampaignStarted)
	require.NoError(t, err)
	return c
}

func TestReleaseBlocksUnarchive(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := campaignservices.New(campaignservices.Options{})
	c := started(t, f, m)
	require.NotEmpty(t, c.MessagingServiceID)

	md, err := m.CampaignData(ctx, &herald.CampaignDataEvent{Env: f.env(), Organization: f.org, Campaign: c, ForStats: true})
	require.NoError(t, err)
	assert.True(t, *md.Unarchivable, "archived with its numbers: may be unarchived")
	require.NoError(t, m.OnCampaignArchive(ctx, &herald.CampaignEvent{Env: f.env(), Organization: f.org, Campaign: c}))
	assert.Len(t, f.fake.MessagingServiceList("org1"), 1, "archiving alone releases nothing by default")

	_, err = f.update(m, f.campaign, map[string]any{campaignservices.UpdateReleaseNumbers: true})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "a draft releases nothing")

	md, err = f.update(m, c, map[string]any{campaignservices.UpdateReleaseNumbers: true})
	require.NoError(t, err)
	assert.False(t, *md.Unarchivable, "released: not unarchivable")
	assert.Equal(t, true, md.Data["released"])
	assert.Empty(t, f.fake.MessagingServiceList("org1"), "the service was deleted")
	assert.Empty(t, f.allocated(t, c))
	free, err := f.store.ListNumbers(ctx, herald.NumberFilter{OrgID: "org1", Unallocated: true})
	require.NoError(t, err)
	assert.Len(t, free, 1, "the number is back in the pool")
	stored, err := f.store.GetCampaign(ctx, "org1", c.ID)
	require.NoError(t, err)
	assert.Empty(t, stored.MessagingServiceID)

	err = m.OnCampaignUnarchive(ctx, &herald.CampaignEvent{Env: f.env(), Organization: f.org, Campaign: stored})
	assert.ErrorIs(t, err, herald.ErrBlocked)
	// Releasing again is a no-op.
	_, err = f.update(m, stored, map[string]any{campaignservices.UpdateReleaseNumbers: true})
	require.NoError(t, err)
	// And a release refuses a later start of the same campaign ID.
	assert.ErrorIs(t, f.start(m, f.campaign.Clone()), herald.ErrBlocked)
}

func TestReleaseOnArchiveRetainingTheService(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.org.Features = map[string]string{
		campaignservices.FeatureReleaseOnArchive: "true",
		campaignservices.FeatureRetainServices:   "true",
	}
	m := campaignservices.New(campaignservices.Options{})
	c := started(t, f, m)
	require.NoError(t, m.OnCampaignArchive(ctx, &herald.CampaignEvent{Env: f.env(), Organization: f.org, Campaign: c}))
	services := f.fake.MessagingServiceList("org1")
	require.Len(t, services, 1, "retained")
	in, err := f.fake.ListNumbers(ctx, herald.ListNumbersParams{Organization: f.org, MessagingServiceID: services[0].ID})
	require.NoError(t, err)
	assert.Empty(t, in, "but emptied")
	assert.Empty(t, f.allocated(t, c))
	assert.False(t, *f.data(t, m, c).Unarchivable)
}

func TestVendorHints(t *testing.T) {
	m := campaignservices.New(campaignservices.Options{})
	ev := &herald.VendorConfiguredEvent{Data: map[string]string{}}
	require.NoError(t, m.OnVendorFullyConfigured(context.Background(), ev))
	assert.Equal(t, "true", ev.Data[campaignservices.DataSkipOrgMessageService])
	bev := &herald.BuyNumbersEvent{Params: &herald.BuyNumbersParams{AreaCode: "415", Limit: 1}}
	require.NoError(t, m.OnBuyNumbers(context.Background(), bev))
	assert.Equal(t, "true", bev.Params.Options[campaignservices.DataSkipOrgMessageService])
}
