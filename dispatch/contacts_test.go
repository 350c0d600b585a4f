package dispatch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/dispatch"
)

func TestLoadFromCSVWithProgressAndTimezones(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.d.CreateCampaign(bg, &herald.Campaign{ID: "c1", OrgID: "org1"})
	require.NoError(t, err)
	csv := "\ufefffirst_name,last_name,Mobile,zipcode,team\r\n" +
		"Ann,Lee,(415) 555-2671,94110,red\r\n" +
		"Bob,Ray,212-555-0104,,blue\r\n" +
		"Cy,Fox,not a number,10001,red\r\n"
	var reports []contacts.Progress
	stats, err := f.d.LoadFrom(bg, "org1", "c1", contacts.NewCSVLoader(strings.NewReader(csv), contacts.CSVOptions{}), dispatch.LoadOptions{
		Progress: func(p contacts.Progress) { reports = append(reports, p) }, ProgressEvery: 1,
	})
	require.NoError(t, err)
	assert.Equal(t, 2, stats.FinalCount)
	assert.Equal(t, 1, stats.InvalidCell)
	assert.NotEmpty(t, stats.LoaderName, "the loader's name is in the stats")
	require.NotEmpty(t, reports)
	assert.True(t, reports[len(reports)-1].Done)

	zones := map[string]string{}
	for c, err := range f.store.ListContacts(bg, "org1", "c1") {
		require.NoError(t, err)
		zones[c.FirstName] = c.Timezone
		if c.FirstName == "Ann" {
			assert.Equal(t, "red", c.CustomFields["team"])
		}
	}
	assert.Equal(t, "America/Los_Angeles", zones["Ann"], "from the zip")
	assert.Equal(t, "America/New_York", zones["Bob"], "from the area code")
}

func TestUnknownSendersAreRouted(t *testing.T) {
	var got []*dispatch.Inbound
	f := newFixture(t, func(cfg *dispatch.Config) {
		cfg.Router = contacts.NewRoundRobin(func(ctx context.Context, orgID string) ([]string, error) {
			return []string{"ana", "bo"}, nil
		})
		cfg.OnInbound = func(ctx context.Context, in *dispatch.Inbound) error {
			got = append(got, in)
			return nil
		}
	})
	_, err := f.store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+14155552671", Owner: "kim"})
	require.NoError(t, err)
	for i, from := range []string{"+14155552671", "+14155550123", "+14155550124"} {
		require.NoError(t, f.d.HandleInbound(bg, &herald.InboundMessage{OrgID: "org1", Vendor: "fake", EventID: "e" + string(rune('a'+i)), From: from, Body: "hello"}))
	}
	require.Len(t, got, 3)
	assert.Equal(t, "kim", got[0].Owner, "a known contact goes to its owner")
	assert.False(t, got[0].Routed)
	assert.True(t, got[1].Routed && got[2].Routed)
	assert.ElementsMatch(t, []string{"ana", "bo"}, []string{got[1].Owner, got[2].Owner}, "strangers in turn")
}

func TestOrganizationCapsContactLoads(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.store.PutOrganization(bg, &herald.Organization{ID: "org1", Features: map[string]string{herald.FeatureMaxContacts: "2"}})
	require.NoError(t, err)
	_, err = f.d.CreateCampaign(bg, &herald.Campaign{ID: "c1", OrgID: "org1"})
	require.NoError(t, err)
	csv := "first_name,last_name,cell\nA,A,+14155550101\nB,B,+14155550102\nC,C,+14155550103\n"
	stats, err := f.d.LoadFrom(bg, "org1", "c1", contacts.NewCSVLoader(strings.NewReader(csv), contacts.CSVOptions{}), dispatch.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, stats.FinalCount)
	assert.Equal(t, 1, stats.OverLimit)

	_, err = f.store.PutOrganization(bg, &herald.Organization{ID: "org2", Features: map[string]string{herald.FeatureMaxContacts: "lots"}})
	require.NoError(t, err)
	_, err = f.d.CreateCampaign(bg, &herald.Campaign{ID: "c2", OrgID: "org2"})
	require.NoError(t, err)
	_, err = f.d.LoadFrom(bg, "org2", "c2", contacts.NewCSVLoader(strings.NewReader(csv), contacts.CSVOptions{}), dispatch.LoadOptions{})
	assert.ErrorIs(t, err, herald.ErrConfig)
}

func TestLoadCopiesContactsUnlessFresh(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.d.CreateCampaign(bg, &herald.Campaign{ID: "c1", OrgID: "org1"})
	require.NoError(t, err)
	mine := &herald.Contact{FirstName: "Ada", LastName: "L", Phone: "(415) 555-2671", CustomFields: map[string]string{"k": "v"}}
	src := func(yield func(*herald.Contact, error) bool) { yield(mine, nil) }
	_, err = f.d.LoadContacts(bg, "org1", "c1", src, dispatch.LoadOptions{})
	require.NoError(t, err)
	assert.Equal(t, "(415) 555-2671", mine.Phone, "the caller's contact is left as it was")
	assert.Empty(t, mine.CampaignID)

	_, err = f.d.LoadContacts(bg, "org1", "c1", src, dispatch.LoadOptions{Fresh: true})
	require.NoError(t, err)
	assert.Equal(t, "+14155552671", mine.Phone, "a fresh contact is kept as it is, normalised in place")
	var stored []*herald.Contact
	for c, err := range f.store.ListContacts(bg, "org1", "c1") {
		require.NoError(t, err)
		stored = append(stored, c)
	}
	require.Len(t, stored, 1)
	assert.Equal(t, "+14155552671", stored[0].Phone)
}
