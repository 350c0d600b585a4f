package fake_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fake"
)

func TestLookups(t *testing.T) {
	v := fake.New(fake.Options{Clock: fixedClock{t0}})
	ctx := context.Background()
	org := &herald.Organization{ID: "org1"}
	cases := []struct {
		number   string
		status   int
		lineType string
	}{
		{"+15555550101", herald.LookupTextable, "mobile"},
		{"+15555550102", herald.LookupLandline, "landline"},
		{"+15555550103", herald.LookupNonexistent, ""},
		{"+15555550104", herald.LookupNotFound, ""},
		{"+15555550109", herald.LookupTextable, "mobile"},
	}
	for _, c := range cases {
		r, err := v.LookupContact(ctx, herald.LookupParams{Organization: org, Number: c.number})
		require.NoError(t, err)
		assert.Equal(t, c.number, r.Number)
		assert.Equal(t, c.status, r.StatusCode, c.number)
		assert.Equal(t, c.lineType, r.LineType, c.number)
		assert.Equal(t, fake.Carrier, r.Carrier)
		assert.Equal(t, "fake", r.Vendor)
		assert.Equal(t, t0, r.LookedUpAt)
		assert.Empty(t, r.CallerName, "caller name only when asked")

		free, err := v.FreeLookup(ctx, herald.FreeLookupParams{Organization: org, Number: c.number})
		require.NoError(t, err)
		assert.Equal(t, r, free)
	}
	r, err := v.LookupContact(ctx, herald.LookupParams{Organization: org, Number: "+15555550101", WithCallerName: true})
	require.NoError(t, err)
	assert.Equal(t, "Foo 0101", r.CallerName)

	assert.Equal(t, 6, v.Lookups())
	assert.Equal(t, 2, v.LookupsFor("+15555550101"))
	assert.Equal(t, 1, v.LookupsFor("+15555550102"))
	assert.Equal(t, 0, v.LookupsFor("+15555550199"))
	assert.Equal(t, 5, v.FreeLookups())

	_, err = v.LookupContact(ctx, herald.LookupParams{Organization: org})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = v.FreeLookup(ctx, herald.FreeLookupParams{Organization: org})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.LookupContact(cctx, herald.LookupParams{Organization: org, Number: "+15555550101"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 6, v.Lookups(), "refused lookups are not paid for")
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func TestBuyNumbers(t *testing.T) {
	v := fake.New(fake.Options{Clock: fixedClock{t0}})
	ctx := context.Background()
	org := &herald.Organization{ID: "org1"}

	got, err := v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: org, AreaCode: "415", Limit: 5})
	require.NoError(t, err)
	require.Len(t, got, 5)
	seen := map[string]bool{}
	for _, n := range got {
		assert.Regexp(t, e164, n.Number)
		assert.True(t, strings.HasPrefix(n.Number, "+1415"), n.Number)
		assert.Len(t, n.Number, 12)
		assert.GreaterOrEqual(t, n.Number[5], byte('2'), "exchange starts 2-9")
		assert.Regexp(t, `^PN[0-9a-f]{32}$`, n.VendorID)
		assert.Equal(t, "org1", n.OrgID)
		assert.Equal(t, "fake", n.Vendor)
		assert.Equal(t, "415", n.AreaCode)
		assert.Equal(t, "US", n.Country)
		assert.Equal(t, t0, n.CreatedAt)
		assert.Empty(t, n.AllocatedTo)
		assert.False(t, seen[n.Number])
		assert.False(t, seen[n.VendorID])
		seen[n.Number], seen[n.VendorID] = true, true
	}
	more, err := v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: org, Country: "ca", AreaCode: "415", Limit: 3})
	require.NoError(t, err)
	for _, n := range more {
		assert.False(t, seen[n.Number], "US and CA share +1; numbers stay distinct")
		assert.Equal(t, "CA", n.Country)
	}

	gb, err := v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: org, Country: "GB", AreaCode: "020", Limit: 2})
	require.NoError(t, err)
	require.Len(t, gb, 2)
	assert.Equal(t, "+44200000000", gb[0].Number)
	assert.Equal(t, "+44200000001", gb[1].Number)
	assert.Equal(t, "020", gb[0].AreaCode)

	byFeature := &herald.Organization{ID: "org2", Features: map[string]string{herald.FeaturePhoneCountry: "DE"}}
	de, err := v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: byFeature, AreaCode: "30", Limit: 1})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(de[0].Number, "+4930"))

	for name, p := range map[string]herald.BuyNumbersParams{
		"empty area":     {Organization: org, Limit: 1},
		"short area":     {Organization: org, AreaCode: "41", Limit: 1},
		"area 1xx":       {Organization: org, AreaCode: "141", Limit: 1},
		"letters":        {Organization: org, AreaCode: "4a5", Limit: 1},
		"zero limit":     {Organization: org, AreaCode: "415"},
		"unknown region": {Organization: org, Country: "ZZ", AreaCode: "415", Limit: 1},
		"no org":         {AreaCode: "415", Limit: 1},
		"empty GB area":  {Organization: org, Country: "GB", AreaCode: "0", Limit: 1},
	} {
		_, err := v.BuyNumbers(ctx, p)
		assert.ErrorIs(t, err, herald.ErrInvalidInput, name)
	}

	list, err := v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org})
	require.NoError(t, err)
	assert.Len(t, list, 10)
	for i := 1; i < len(list); i++ {
		assert.Less(t, list[i-1].Number, list[i].Number, "ordered by number")
	}
	list, err = v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org, AreaCode: "415"})
	require.NoError(t, err)
	assert.Len(t, list, 8)
	list, err = v.ListNumbers(ctx, herald.ListNumbersParams{Organization: byFeature})
	require.NoError(t, err)
	assert.Len(t, list, 1, "inventories are per organization")

	// Release two by VendorID and one by Number.
	n, err := v.ReleaseNumbers(ctx, herald.ReleaseNumbersParams{Organization: org, Numbers: []herald.OwnedNumber{
		{VendorID: got[0].VendorID}, {VendorID: got[1].VendorID}, {Number: got[2].Number}, {VendorID: "PNunknown"},
	}})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = v.ReleaseNumbers(ctx, herald.ReleaseNumbersParams{Organization: byFeature, Numbers: []herald.OwnedNumber{{VendorID: got[3].VendorID}}})
	require.NoError(t, err)
	assert.Equal(t, 0, n, "another organization's number is not released")

	// Release by area: numbers in a messaging service stay.
	ms, err := v.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{Organization: org, FriendlyName: "campaign 1"})
	require.NoError(t, err)
	require.NoError(t, v.AddNumbersToMessagingService(ctx, org, ms.ID, []herald.OwnedNumber{got[3]}))
	n, err = v.ReleaseNumbers(ctx, herald.ReleaseNumbersParams{Organization: org, AreaCode: "415"})
	require.NoError(t, err)
	assert.Equal(t, 4, n, "got[4] and the three CA numbers")
	list, err = v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org, AreaCode: "415"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, got[3].VendorID, list[0].VendorID)
	assert.Equal(t, herald.AllocationMessagingService, list[0].AllocatedTo)
	assert.Equal(t, ms.ID, list[0].AllocatedToID)

	_, err = v.ReleaseNumbers(ctx, herald.ReleaseNumbersParams{Organization: org})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	// Released numbers are never sold again.
	again, err := v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: org, AreaCode: "415", Limit: 3})
	require.NoError(t, err)
	for _, n := range again {
		assert.False(t, seen[n.Number])
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	part, err := v.BuyNumbers(cctx, herald.BuyNumbersParams{Organization: org, AreaCode: "415", Limit: 3})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, part)
}

func TestMessagingServices(t *testing.T) {
	v := fake.New(fake.Options{})
	ctx := context.Background()
	org := &herald.Organization{ID: "org1"}
	other := &herald.Organization{ID: "org2"}
	nums, err := v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: org, AreaCode: "212", Limit: 4})
	require.NoError(t, err)

	a, err := v.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{Organization: org, FriendlyName: "A"})
	require.NoError(t, err)
	b, err := v.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{Organization: org, FriendlyName: "B"})
	require.NoError(t, err)
	assert.Regexp(t, `^MG[0-9a-f]{32}$`, a.ID)
	assert.NotEqual(t, a.ID, b.ID)
	assert.Equal(t, "A", a.FriendlyName)
	assert.Contains(t, a.ConsoleURL, a.ID)
	assert.Len(t, v.MessagingServiceList("org1"), 2)
	assert.Empty(t, v.MessagingServiceList("org2"))
	found, err := v.FindMessagingService(ctx, org, "B")
	require.NoError(t, err)
	assert.Equal(t, b.ID, found.ID)
	_, err = v.FindMessagingService(ctx, other, "B")
	assert.ErrorIs(t, err, herald.ErrNotFound, "another organization's")

	_, err = v.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{Organization: org})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	require.NoError(t, v.AddNumbersToMessagingService(ctx, org, a.ID, nums[:2]))
	require.NoError(t, v.AddNumbersToMessagingService(ctx, org, a.ID, nums[:1]), "adding a member again is a no-op")
	inA, err := v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org, MessagingServiceID: a.ID})
	require.NoError(t, err)
	assert.Len(t, inA, 2)

	// A number in A cannot join B; nothing of the batch is added.
	err = v.AddNumbersToMessagingService(ctx, org, b.ID, []herald.OwnedNumber{nums[2], nums[0]})
	assert.ErrorIs(t, err, herald.ErrConflict)
	assert.Equal(t, fake.CodeConflict, herald.CodeOf(err))
	inB, _ := v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org, MessagingServiceID: b.ID})
	assert.Empty(t, inB)

	err = v.AddNumbersToMessagingService(ctx, org, b.ID, []herald.OwnedNumber{{VendorID: "PNnope"}})
	assert.ErrorIs(t, err, herald.ErrNotFound)
	err = v.AddNumbersToMessagingService(ctx, other, a.ID, nums[2:3])
	assert.ErrorIs(t, err, herald.ErrNotFound, "another organization's service")

	require.NoError(t, v.ClearMessagingServiceNumbers(ctx, org, a.ID))
	inA, _ = v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org, MessagingServiceID: a.ID})
	assert.Empty(t, inA)
	require.NoError(t, v.AddNumbersToMessagingService(ctx, org, b.ID, nums[:1]), "a cleared number may join another service")

	require.NoError(t, v.DeleteMessagingService(ctx, org, b.ID))
	all, _ := v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org})
	assert.Len(t, all, 4, "numbers outlive their service")
	for _, n := range all {
		assert.Empty(t, n.AllocatedTo)
	}

	for name, err := range map[string]error{
		"delete unknown": v.DeleteMessagingService(ctx, org, "MGnope"),
		"delete again":   v.DeleteMessagingService(ctx, org, b.ID),
		"delete other":   v.DeleteMessagingService(ctx, other, a.ID),
		"clear unknown":  v.ClearMessagingServiceNumbers(ctx, org, "MGnope"),
		"add unknown":    v.AddNumbersToMessagingService(ctx, org, "MGnope", nil),
	} {
		assert.ErrorIs(t, err, herald.ErrNotFound, name)
		var ve *herald.VendorError
		require.ErrorAs(t, err, &ve, name)
		assert.Equal(t, herald.ClassPermanent, ve.Class, name)
		assert.Equal(t, fake.CodeNotFound, ve.Code, name)
		assert.Equal(t, "fake", ve.Vendor, name)
	}
}

func TestCostData(t *testing.T) {
	v := fake.New(fake.Options{Clock: fixedClock{t0}})
	c, err := v.CostData(context.Background(), &herald.Organization{ID: "o"}, "+15555550100")
	require.NoError(t, err)
	assert.Equal(t, &herald.CostData{SMSSegment: 0.0075, MMSMessage: 0.02, Currency: "USD", Source: "fake list price", CheckedAt: t0}, c)
}

func TestDescribeError(t *testing.T) {
	v := fake.New(fake.Options{})
	codes := []string{"400", "401", "403", "404", "408", "409", "410", "429", "500", "503", "599",
		"20003", "20429", "21211", "21610", "21614", "30003", "30004", "30005", "30006", "30007", "30008"}
	for _, c := range codes {
		d := v.DescribeError(c)
		assert.Equal(t, c, d.Code)
		assert.NotEmpty(t, d.Description, c)
		assert.NotContains(t, d.Description, "Fake vendor error", "%s is in the table", c)
		assert.Equal(t, fake.ErrorLinkBase+c, d.Link)
		assert.True(t, strings.HasPrefix(d.Link, "https://"))
	}
	d := v.DescribeError("77")
	assert.Equal(t, "77", d.Code)
	assert.Contains(t, d.Description, "77")
}

func TestOrgConfig(t *testing.T) {
	ctx := context.Background()
	v := fake.New(fake.Options{RequireOrgConfig: true})
	empty := &herald.Organization{ID: "o"}
	org := &herald.Organization{ID: "o", VendorConfig: map[string]map[string]string{
		"fake": {"account": "AC1", "secret": "s1"},
	}}

	cfg, err := v.OrgConfig(ctx, org, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"account": "AC1", "secret": herald.ObscuredSecret}, cfg)
	cfg, err = v.OrgConfig(ctx, org, false)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"account": "AC1", "secret": "s1"}, cfg)
	cfg["account"] = "changed"
	assert.Equal(t, "AC1", org.VendorConfig["fake"]["account"], "OrgConfig returns a copy")
	cfg, err = v.OrgConfig(ctx, empty, true)
	require.NoError(t, err)
	assert.Empty(t, cfg)
	_, err = v.OrgConfig(ctx, nil, true)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	ok, err := v.FullyConfigured(ctx, org, nil)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = v.FullyConfigured(ctx, empty, nil)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = fake.New(fake.Options{}).FullyConfigured(ctx, empty, nil)
	require.NoError(t, err)
	assert.True(t, ok, "without RequireOrgConfig every organization is configured")

	upd := func(old, new map[string]string) (map[string]string, error) {
		return v.UpdateOrgConfig(ctx, herald.UpdateOrgConfigParams{Organization: org, Old: old, New: new})
	}
	old := map[string]string{"account": "AC1", "secret": "s1"}
	got, err := upd(old, map[string]string{"account": "AC2", "secret": herald.ObscuredSecret})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"account": "AC2", "secret": "s1"}, got, "ObscuredSecret keeps the old secret")
	got, err = upd(old, map[string]string{"account": "AC2"})
	require.NoError(t, err)
	assert.Equal(t, "s1", got["secret"], "an absent secret keeps the old one")
	got, err = upd(old, map[string]string{"secret": "s2"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"account": "AC1", "secret": "s2"}, got)
	got, err = v.UpdateOrgConfig(ctx, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{"secret": herald.ObscuredSecret}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"account": "AC1", "secret": "s1"}, got, "Old defaults to the organization's")

	_, err = upd(old, map[string]string{"account": "AC2", "secret": ""})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "empty secret")
	_, err = upd(nil, map[string]string{"account": "AC2", "secret": herald.ObscuredSecret})
	assert.NoError(t, err, "nil Old reads the organization's")
	_, err = v.UpdateOrgConfig(ctx, herald.UpdateOrgConfigParams{Organization: empty, New: map[string]string{"account": "AC2", "secret": herald.ObscuredSecret}})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "no secret to keep")
	_, err = upd(old, map[string]string{"account": "", "secret": "s"})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "empty account")
	_, err = upd(old, map[string]string{"acount": "typo"})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "unknown key")
	_, err = upd(old, map[string]string{"account": "my-invalid-account", "secret": "s"})
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, herald.ClassAuth, ve.Class)
	assert.Equal(t, "fake", ve.Vendor)
}
