package scrub_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/managers/scrub"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

type fixture struct {
	store    *memstore.Store
	vendor   herald.Vendor
	fake     *fake.Vendor
	org      *herald.Organization
	campaign *herald.Campaign
	logs     *testkit.SyncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fv := fake.New(fake.Options{})
	return &fixture{
		store:    memstore.New(),
		vendor:   fv,
		fake:     fv,
		org:      &herald.Organization{ID: "org1"},
		campaign: &herald.Campaign{ID: "camp1", OrgID: "org1", State: herald.CampaignDraft},
		logs:     &testkit.SyncBuffer{},
	}
}

func (f *fixture) env() herald.Env {
	return herald.Env{
		State:  herald.NamespacedState(f.store, f.org.ID, scrub.Name),
		Vendor: f.vendor,
		Store:  f.store,
		Clock:  herald.SystemClock{},
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// number returns the i-th test number: valid US numbers whose last digit
// is i%10, so the fake classifies them 2 landline, 3 nonexistent, 4 not
// found, anything else mobile.
func number(i int) string {
	return fmt.Sprintf("+1415%03d%04d", 201+i/10000, i%10000)
}

// bad reports whether the fake classifies number as not textable.
func bad(number string) bool {
	switch number[len(number)-1] {
	case '2', '3', '4':
		return true
	}
	return false
}

// contactsOf builds n contacts of the campaign with numbers from..from+n.
func contactsOf(c *herald.Campaign, from, n int) []*herald.Contact {
	out := make([]*herald.Contact, n)
	for i := range n {
		out[i] = &herald.Contact{ID: fmt.Sprintf("%s-%05d", c.ID, from+i), OrgID: c.OrgID, CampaignID: c.ID, Phone: number(from + i)}
	}
	return out
}

func (f *fixture) load(t *testing.T, c *herald.Campaign, from, n int) {
	t.Helper()
	require.NoError(t, f.store.ReplaceCampaignContacts(context.Background(), c.OrgID, c.ID, contactsOf(c, from, n)))
}

func (f *fixture) data(t *testing.T, m *scrub.Manager, c *herald.Campaign) *herald.ManagerData {
	t.Helper()
	md, err := m.CampaignData(context.Background(), &herald.CampaignDataEvent{Env: f.env(), Organization: f.org, Campaign: c})
	require.NoError(t, err)
	return md
}

func (f *fixture) update(m *scrub.Manager, c *herald.Campaign, u map[string]any) (*herald.ManagerData, error) {
	return m.OnCampaignUpdate(context.Background(), &herald.CampaignUpdateEvent{Env: f.env(), Organization: f.org, Campaign: c, Update: u})
}

func (f *fixture) remaining(t *testing.T, c *herald.Campaign) []*herald.Contact {
	t.Helper()
	var out []*herald.Contact
	for ct, err := range f.store.ListContacts(context.Background(), c.OrgID, c.ID) {
		require.NoError(t, err)
		out = append(out, ct)
	}
	return out
}

func wait(t *testing.T, m *scrub.Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, m.Wait(ctx))
}

// lookupVendor wraps the fake's lookup: it counts concurrent calls, can
// slow them and can fail chosen numbers.
type lookupVendor struct {
	*fake.Vendor
	delay time.Duration
	fail  func(number string) error

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	times       []time.Time
}

func (v *lookupVendor) LookupContact(ctx context.Context, p herald.LookupParams) (*herald.LookupResult, error) {
	v.mu.Lock()
	v.inFlight++
	v.maxInFlight = max(v.maxInFlight, v.inFlight)
	v.times = append(v.times, time.Now())
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		v.inFlight--
		v.mu.Unlock()
	}()
	if v.delay > 0 {
		time.Sleep(v.delay)
	}
	if v.fail != nil {
		if err := v.fail(p.Number); err != nil {
			return nil, err
		}
	}
	return v.Vendor.LookupContact(ctx, p)
}

// plainVendor has no lookup capability.
type plainVendor struct{}

func (plainVendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "plain", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (plainVendor) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "x"}, nil
}
