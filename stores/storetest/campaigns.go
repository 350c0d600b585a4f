package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

func (f *fixture) newCampaign() *herald.Campaign {
	return &herald.Campaign{
		ID: uid("camp"), OrgID: f.org, Title: "Spring drive", State: herald.CampaignDraft,
		MessagingServiceID: "MG-1", Features: map[string]string{"flag": "on"},
		CreatedAt: f.base, UpdatedAt: f.base,
	}
}

func (f *fixture) putCampaign(c *herald.Campaign) *herald.Campaign {
	f.t.Helper()
	got, err := f.s.PutCampaign(f.ctx, c)
	require.NoError(f.t, err, "PutCampaign")
	return got
}

func testCampaigns(t *testing.T, newStore newStoreFunc) {
	t.Run("PutGet", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.newCampaign()
		got := f.putCampaign(c)
		assert.Equal(t, normCampaign(c), normCampaign(got))
		stored, err := f.s.GetCampaign(f.ctx, f.org, c.ID)
		require.NoError(t, err)
		assert.Equal(t, normCampaign(c), normCampaign(stored))
	})

	t.Run("PutReplaces", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putCampaign(f.newCampaign())
		c.Title, c.State, c.Features = "Renamed", herald.CampaignStarted, map[string]string{"other": "1"}
		c.UpdatedAt = f.at(time.Minute)
		got := f.putCampaign(c)
		assert.Equal(t, normCampaign(c), normCampaign(got))
		stored, err := f.s.GetCampaign(f.ctx, f.org, c.ID)
		require.NoError(t, err)
		assert.Equal(t, normCampaign(c), normCampaign(stored))
	})

	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putCampaign(f.newCampaign())
		_, err := f.s.GetCampaign(f.ctx, f.org, uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound)
		_, err = f.s.GetCampaign(f.ctx, f.org2, c.ID)
		assert.ErrorIs(t, err, herald.ErrNotFound, "another organization's campaign")
	})

	t.Run("UpdateCampaignCAS", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putCampaign(f.newCampaign())

		started := c.Clone()
		started.State, started.Title, started.UpdatedAt = herald.CampaignStarted, "Started", f.at(time.Minute)
		got, err := f.s.UpdateCampaign(f.ctx, started, herald.CampaignDraft)
		require.NoError(t, err)
		assert.Equal(t, normCampaign(started), normCampaign(got))

		// A second start expects draft, finds started.
		again := started.Clone()
		again.Title = "Started twice"
		_, err = f.s.UpdateCampaign(f.ctx, again, herald.CampaignDraft)
		require.ErrorIs(t, err, herald.ErrConflict)
		stored, err := f.s.GetCampaign(f.ctx, f.org, c.ID)
		require.NoError(t, err)
		assert.Equal(t, normCampaign(started), normCampaign(stored), "nothing changes on conflict")

		archived := started.Clone()
		archived.State = herald.CampaignArchived
		_, err = f.s.UpdateCampaign(f.ctx, archived, herald.CampaignStarted)
		require.NoError(t, err)
		unarchived := archived.Clone()
		unarchived.State = herald.CampaignStarted
		got, err = f.s.UpdateCampaign(f.ctx, unarchived, herald.CampaignArchived)
		require.NoError(t, err)
		assert.Equal(t, herald.CampaignStarted, got.State)
	})

	t.Run("UpdateCampaignNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putCampaign(f.newCampaign())
		missing := f.newCampaign()
		_, err := f.s.UpdateCampaign(f.ctx, missing, herald.CampaignDraft)
		assert.ErrorIs(t, err, herald.ErrNotFound)
		other := c.Clone()
		other.OrgID = f.org2
		_, err = f.s.UpdateCampaign(f.ctx, other, herald.CampaignDraft)
		assert.ErrorIs(t, err, herald.ErrNotFound, "another organization's campaign")
	})

	t.Run("UpdateCampaignConcurrent", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putCampaign(f.newCampaign())
		const n = 20
		errs := make([]error, n)
		parallel(n, func(i int) {
			next := c.Clone()
			next.State = herald.CampaignStarted
			next.Title = uid("title")
			_, errs[i] = f.s.UpdateCampaign(f.ctx, next, herald.CampaignDraft)
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				assert.ErrorIs(t, err, herald.ErrConflict)
			}
		}
		assert.Equal(t, 1, wins, "exactly one start wins")
	})
}

func testOrganizations(t *testing.T, newStore newStoreFunc) {
	t.Run("PutGetReplace", func(t *testing.T) {
		f := setup(t, newStore)
		o := &herald.Organization{
			ID: f.org, Name: "Acme",
			Features:     map[string]string{herald.FeatureDefaultVendor: "fake"},
			VendorConfig: map[string]map[string]string{"fake": {"key": "secret"}},
			CreatedAt:    f.base,
		}
		got, err := f.s.PutOrganization(f.ctx, o)
		require.NoError(t, err)
		assert.Equal(t, normOrg(o), normOrg(got))
		stored, err := f.s.GetOrganization(f.ctx, f.org)
		require.NoError(t, err)
		assert.Equal(t, normOrg(o), normOrg(stored))

		o2 := o.Clone()
		o2.Name = "Acme 2"
		o2.Features = map[string]string{herald.FeatureServiceManagers: "a,b"}
		_, err = f.s.PutOrganization(f.ctx, o2)
		require.NoError(t, err)
		stored, err = f.s.GetOrganization(f.ctx, f.org)
		require.NoError(t, err)
		assert.Equal(t, normOrg(o2), normOrg(stored))
	})

	t.Run("NotFound", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.s.GetOrganization(f.ctx, uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound)
	})
}
