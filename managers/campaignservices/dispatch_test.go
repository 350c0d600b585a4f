package campaignservices_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/campaignservices"
	"github.com/heraldmsg/herald/managers/example"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// source yields n contacts per area code, national format.
func source(perArea map[string]int) iter.Seq2[*herald.Contact, error] {
	return func(yield func(*herald.Contact, error) bool) {
		for area, n := range perArea {
			for i := range n {
				if !yield(&herald.Contact{Phone: fmt.Sprintf("(%s) 555-%04d", area, 1000+i)}, nil) {
					return
				}
			}
		}
	}
}

type e2e struct {
	d     *dispatch.Dispatcher
	store *memstore.Store
	fake  *fake.Vendor
}

func newE2E(t *testing.T, v herald.Vendor, fv *fake.Vendor, managers []herald.ServiceManager, enabled []string) *e2e {
	t.Helper()
	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, Managers: managers, EnabledManagers: enabled})
	require.NoError(t, err)
	t.Cleanup(fv.Wait)
	return &e2e{d: d, store: store, fake: fv}
}

func (e *e2e) prepare(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.d.BuyNumbers(ctx, "org1", "fake", herald.BuyNumbersParams{AreaCode: "415", Limit: 2})
	require.NoError(t, err)
	_, err = e.d.BuyNumbers(ctx, "org1", "fake", herald.BuyNumbersParams{AreaCode: "212", Limit: 1})
	require.NoError(t, err)
	_, err = e.d.CreateCampaign(ctx, &herald.Campaign{ID: id, OrgID: "org1"})
	require.NoError(t, err)
	_, err = e.d.LoadContacts(ctx, "org1", id, source(map[string]int{"415": 250, "212": 50}), dispatch.LoadOptions{})
	require.NoError(t, err)
}

func (e *e2e) reserve(t *testing.T, id string) *herald.ManagerData {
	t.Helper()
	md, err := e.d.UpdateCampaign(context.Background(), dispatch.CampaignUpdate{OrgID: "org1", CampaignID: id,
		Manager: campaignservices.Name, Update: map[string]any{campaignservices.UpdateReserve: true}})
	require.NoError(t, err)
	return md
}

func TestThroughTheDispatcher(t *testing.T) {
	ctx := context.Background()
	fv := fake.New(fake.Options{})
	e := newE2E(t, fv, fv, []herald.ServiceManager{campaignservices.New(campaignservices.Options{})}, []string{campaignservices.Name})
	e.prepare(t, "c1")

	_, err := e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked, "no numbers reserved yet")
	md := e.reserve(t, "c1")
	assert.Equal(t, 3, md.Data["reserved"])
	assert.Equal(t, 2, md.Data["needed"])
	assert.True(t, *md.FullyConfigured)

	c, err := e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.NoError(t, err)
	require.NotEmpty(t, c.MessagingServiceID, "saved with the started state")
	_, err = e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrConflict, "already started")
	require.Len(t, fv.MessagingServiceList("org1"), 1, "start twice creates one service")
	in, err := fv.ListNumbers(ctx, herald.ListNumbersParams{Organization: &herald.Organization{ID: "org1"}, MessagingServiceID: c.MessagingServiceID})
	require.NoError(t, err)
	assert.Len(t, in, 3)

	res, err := e.d.Send(ctx, &herald.Message{OrgID: "org1", CampaignID: "c1", Channel: herald.ChannelSMS, To: "+14155551000", Body: "hello"})
	require.NoError(t, err)
	assert.Equal(t, c.MessagingServiceID, res.Message.MessagingServiceID)
	sends := fv.Sends()
	require.Len(t, sends, 1)
	assert.Equal(t, c.MessagingServiceID, sends[0].Request.Route.MessagingServiceID, "the send went through the campaign's service")

	// Archive, unarchive: allowed while the numbers are held.
	_, err = e.d.ArchiveCampaign(ctx, "org1", "c1", "admin")
	require.NoError(t, err)
	_, err = e.d.UnarchiveCampaign(ctx, "org1", "c1", "admin")
	require.NoError(t, err)
	_, err = e.d.ArchiveCampaign(ctx, "org1", "c1", "admin")
	require.NoError(t, err)

	md, err = e.d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "c1", Manager: campaignservices.Name,
		Update: map[string]any{campaignservices.UpdateReleaseNumbers: true}, ForStats: true})
	require.NoError(t, err)
	assert.False(t, *md.Unarchivable)
	assert.Empty(t, fv.MessagingServiceList("org1"))
	free, err := e.store.ListNumbers(ctx, herald.NumberFilter{OrgID: "org1", Unallocated: true})
	require.NoError(t, err)
	assert.Len(t, free, 3, "numbers back in the pool")

	_, err = e.d.UnarchiveCampaign(ctx, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked, "unarchive blocked after release")
	assert.Contains(t, err.Error(), campaignservices.Name)
	stored, err := e.store.GetCampaign(ctx, "org1", "c1")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignArchived, stored.State)
	assert.Empty(t, stored.MessagingServiceID)
}

func TestAStartRefusedLaterReusesTheService(t *testing.T) {
	ctx := context.Background()
	fv := fake.New(fake.Options{})
	refusals := 1
	after := example.NewWithOptions(example.Options{Name: "refuser", OnCampaignStart: func(context.Context, *herald.CampaignEvent) error {
		if refusals > 0 {
			refusals--
			return errors.New("not today")
		}
		return nil
	}})
	e := newE2E(t, fv, fv, []herald.ServiceManager{campaignservices.New(campaignservices.Options{}), after},
		[]string{campaignservices.Name, "refuser"})
	e.prepare(t, "c1")
	e.reserve(t, "c1")

	_, err := e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked)
	require.Len(t, fv.MessagingServiceList("org1"), 1)
	c, err := e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.NoError(t, err)
	services := fv.MessagingServiceList("org1")
	require.Len(t, services, 1, "the second start reused the first one's service")
	assert.Equal(t, services[0].ID, c.MessagingServiceID)
}

func TestFailedStartThroughTheDispatcherRollsBack(t *testing.T) {
	ctx := context.Background()
	fv := fake.New(fake.Options{})
	flaky := &flakyVendor{Vendor: fv, failAdd: 1}
	e := newE2E(t, flaky, fv, []herald.ServiceManager{campaignservices.New(campaignservices.Options{})}, []string{campaignservices.Name})
	e.prepare(t, "c1")
	e.reserve(t, "c1")

	_, err := e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.ErrorIs(t, err, herald.ErrBlocked)
	assert.Empty(t, fv.MessagingServiceList("org1"), "the created service was deleted")
	stored, err := e.store.GetCampaign(ctx, "org1", "c1")
	require.NoError(t, err)
	assert.Equal(t, herald.CampaignDraft, stored.State)
	assert.Empty(t, stored.MessagingServiceID)

	c, err := e.d.StartCampaign(ctx, "org1", "c1", "admin")
	require.NoError(t, err)
	assert.NotEmpty(t, c.MessagingServiceID)
	assert.Len(t, fv.MessagingServiceList("org1"), 1)
}
