package campaignservices_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/managers/campaignservices"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

type fixture struct {
	store    *memstore.Store
	fake     *fake.Vendor
	vendor   herald.Vendor
	clock    herald.Clock
	org      *herald.Organization
	campaign *herald.Campaign
	logs     *testkit.SyncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fv := fake.New(fake.Options{})
	f := &fixture{
		store:    memstore.New(),
		fake:     fv,
		vendor:   fv,
		clock:    herald.SystemClock{},
		org:      &herald.Organization{ID: "org1"},
		campaign: &herald.Campaign{ID: "camp1", OrgID: "org1", State: herald.CampaignDraft},
		logs:     &testkit.SyncBuffer{},
	}
	_, err := f.store.PutCampaign(context.Background(), f.campaign)
	require.NoError(t, err)
	return f
}

func (f *fixture) env() herald.Env {
	return herald.Env{
		State:  herald.NamespacedState(f.store, f.org.ID, campaignservices.Name),
		Vendor: f.vendor,
		Store:  f.store,
		Clock:  f.clock,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// buy buys n numbers at the fake in the area and records them in the store.
func (f *fixture) buy(t *testing.T, country, area string, n int) []herald.OwnedNumber {
	t.Helper()
	nums, err := f.fake.BuyNumbers(context.Background(), herald.BuyNumbersParams{Organization: f.org, Country: country, AreaCode: area, Limit: n})
	require.NoError(t, err)
	require.NoError(t, f.store.AddNumbers(context.Background(), nums))
	return nums
}

// loadContacts gives the campaign n contacts in each area, as E.164
// prefixes ("+1415555", "+1212555").
func (f *fixture) loadContacts(t *testing.T, c *herald.Campaign, perPrefix map[string]int) {
	t.Helper()
	var all []*herald.Contact
	for prefix, n := range perPrefix {
		for i := range n {
			all = append(all, &herald.Contact{ID: fmt.Sprintf("%s-%s-%d", c.ID, prefix, i), OrgID: c.OrgID, CampaignID: c.ID,
				Phone: fmt.Sprintf("%s%04d", prefix, 1000+i)})
		}
	}
	require.NoError(t, f.store.ReplaceCampaignContacts(context.Background(), c.OrgID, c.ID, all))
}

func (f *fixture) data(t *testing.T, m *campaignservices.Manager, c *herald.Campaign) *herald.ManagerData {
	t.Helper()
	md, err := m.CampaignData(context.Background(), &herald.CampaignDataEvent{Env: f.env(), Organization: f.org, Campaign: c})
	require.NoError(t, err)
	return md
}

func (f *fixture) update(m *campaignservices.Manager, c *herald.Campaign, u map[string]any) (*herald.ManagerData, error) {
	return m.OnCampaignUpdate(context.Background(), &herald.CampaignUpdateEvent{Env: f.env(), Organization: f.org, Campaign: c, Update: u})
}

func (f *fixture) start(m *campaignservices.Manager, c *herald.Campaign) error {
	return m.OnCampaignStart(context.Background(), &herald.CampaignEvent{Env: f.env(), Organization: f.org, Campaign: c})
}

func (f *fixture) record(t *testing.T, c *herald.Campaign) *campaignservices.Record {
	t.Helper()
	r, err := campaignservices.ReadRecord(context.Background(), f.env().State, c.ID)
	require.NoError(t, err)
	return r
}

func (f *fixture) allocated(t *testing.T, c *herald.Campaign) []herald.OwnedNumber {
	t.Helper()
	nums, err := f.store.ListNumbers(context.Background(), herald.NumberFilter{OrgID: c.OrgID, AllocatedTo: herald.AllocationCampaign, AllocatedToID: c.ID})
	require.NoError(t, err)
	return nums
}

// flakyVendor wraps the fake's messaging services with failures.
type flakyVendor struct {
	*fake.Vendor
	mu         sync.Mutex
	failAdd    int // fail the next failAdd AddNumbers calls
	failDelete int
	creates    int
}

var errVendorDown = &herald.VendorError{Vendor: "fake", Class: herald.ClassTemporary, Code: "503", Message: "service unavailable"}

func (v *flakyVendor) CreateMessagingService(ctx context.Context, p herald.CreateMessagingServiceParams) (*herald.MessagingService, error) {
	v.mu.Lock()
	v.creates++
	v.mu.Unlock()
	return v.Vendor.CreateMessagingService(ctx, p)
}

func (v *flakyVendor) AddNumbersToMessagingService(ctx context.Context, org *herald.Organization, id string, numbers []herald.OwnedNumber) error {
	v.mu.Lock()
	fail := v.failAdd > 0
	if fail {
		v.failAdd--
	}
	v.mu.Unlock()
	if fail {
		return errVendorDown
	}
	return v.Vendor.AddNumbersToMessagingService(ctx, org, id, numbers)
}

func (v *flakyVendor) DeleteMessagingService(ctx context.Context, org *herald.Organization, id string) error {
	v.mu.Lock()
	fail := v.failDelete > 0
	if fail {
		v.failDelete--
	}
	v.mu.Unlock()
	if fail {
		return errVendorDown
	}
	return v.Vendor.DeleteMessagingService(ctx, org, id)
}

// plainVendor has no messaging services.
type plainVendor struct{}

func (plainVendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "plain", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (plainVendor) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "x"}, nil
}
