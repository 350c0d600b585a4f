package dispatch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/example"
)

// TestEveryHookIsReachable drives the example manager, which implements
// every hook, through each dispatcher entry point and checks each hook ran
// with the event the entry point promises.
func TestEveryHookIsReachable(t *testing.T) {
	var configuredData map[string]string
	m := example.NewWithOptions(example.Options{
		OnVendorSetup: func(ctx context.Context, ev *herald.VendorSetupEvent) error {
			ev.Data["skipOrgMessageService"] = "1"
			return nil
		},
		OnVendorConfigured: func(ctx context.Context, ev *herald.VendorConfiguredEvent) error {
			ev.Data["checked"] = "1"
			configuredData = ev.Data
			return nil
		},
		OnBuyNumbers: func(ctx context.Context, ev *herald.BuyNumbersEvent) error {
			ev.Params.Limit = 2 // managers may change the request
			return nil
		},
		CampaignUpdate: func(ctx context.Context, ev *herald.CampaignUpdateEvent) (*herald.ManagerData, error) {
			return &herald.ManagerData{Data: map[string]any{"echo": ev.Update["x"]}, StartPolling: true}, nil
		},
		OrganizationUpdate: func(ctx context.Context, ev *herald.OrganizationUpdateEvent) (*herald.ManagerData, error) {
			if ev.Update["bad"] != nil {
				return nil, errors.New("bad setting")
			}
			return &herald.ManagerData{Data: map[string]any{"saved": true}}, nil
		},
	})
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Managers = []herald.ServiceManager{m}
		cfg.EnabledManagers = []string{example.Name}
	})

	_, err := f.d.CreateCampaign(bg, &herald.Campaign{ID: "c1", OrgID: "org1"})
	require.NoError(t, err)
	contacts := func(yield func(*herald.Contact, error) bool) {
		yield(&herald.Contact{FirstName: "Ann", Phone: "+14155552671"}, nil)
	}
	_, err = f.d.LoadContacts(bg, "org1", "c1", contacts, dispatch.LoadOptions{})
	require.NoError(t, err)

	data, err := f.d.CampaignData(bg, "org1", "c1", false)
	require.NoError(t, err)
	require.Len(t, data, 1)
	assert.Equal(t, example.Name, data[0].Name)

	md, err := f.d.UpdateCampaign(bg, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "c1", Manager: example.Name, Update: map[string]any{"x": 7}})
	require.NoError(t, err)
	assert.Equal(t, 7, md.Data["echo"])
	assert.True(t, md.StartPolling)
	_, err = f.d.UpdateCampaign(bg, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "c1", Manager: "nobody"})
	require.ErrorIs(t, err, herald.ErrInvalidInput, "only enabled managers take updates")

	orgData, err := f.d.OrganizationData(bg, "org1")
	require.NoError(t, err)
	require.Len(t, orgData, 1)
	md, err = f.d.UpdateOrganization(bg, "org1", example.Name, map[string]any{"a": 1}, "owner")
	require.NoError(t, err)
	assert.Equal(t, true, md.Data["saved"])
	_, err = f.d.UpdateOrganization(bg, "org1", example.Name, map[string]any{"bad": 1}, "owner")
	var he *dispatch.HookError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "OnOrganizationUpdate", he.Hook)

	_, err = f.d.UpdateVendorConfig(bg, "org1", "fake", map[string]string{"account": "a", "secret": "s"})
	require.NoError(t, err)
	ok, err := f.d.VendorFullyConfigured(bg, "org1", "fake")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "1", configuredData["checked"])

	nums, err := f.d.BuyNumbers(bg, "org1", "fake", herald.BuyNumbersParams{AreaCode: "212", Limit: 5})
	require.NoError(t, err)
	assert.Len(t, nums, 2, "the hook lowered the limit")

	_, err = f.d.StartCampaign(bg, "org1", "c1", "admin")
	require.NoError(t, err)
	msg := sms("org1", "+14155552671", "hi")
	msg.CampaignID = "c1"
	_, err = f.d.Send(bg, msg)
	require.NoError(t, err)
	f.fake.Wait()
	require.NoError(t, f.d.OptOut(bg, &herald.OptOut{OrgID: "org1", Address: "+14155552671", Channel: herald.ChannelSMS}))
	_, err = f.d.ArchiveCampaign(bg, "org1", "c1", "admin")
	require.NoError(t, err)
	_, err = f.d.UnarchiveCampaign(bg, "org1", "c1", "admin")
	require.NoError(t, err)

	ran := map[string]bool{}
	for _, c := range m.Calls() {
		ran[c.Hook] = true
	}
	for _, hook := range example.Hooks() {
		assert.True(t, ran[hook], "hook %s never ran", hook)
	}
	n, err := example.CallCount(bg, stateOf(f, "org1"), example.HookMessageSend)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the manager's State is namespaced and persistent")
}

// stateOf is the example manager's State for an organization, as the
// dispatcher namespaces it.
func stateOf(f *fixture, org string) herald.State {
	return herald.NamespacedState(f.store, org, example.Name)
}
