package bandwidth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestBuyNumbersInBatches(t *testing.T) {
	api := newFakeAPI(t)
	opts := api.options()
	opts.MaxNumbersPerBuy = 500
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	got, err := v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "919", Limit: 120})
	require.NoError(t, err)
	require.Equal(t, 120, len(got))
	seen := map[string]bool{}
	for _, n := range got {
		assert.Regexp(t, `^\+1919555\d{4}$`, n.Number)
		assert.Equal(t, n.Number[2:], n.VendorID, "Bandwidth's ten digits")
		assert.Equal(t, "919", n.AreaCode)
		assert.Equal(t, "US", n.Country)
		assert.Equal(t, "org1", n.OrgID)
		assert.Equal(t, "bandwidth", n.Vendor)
		assert.False(t, seen[n.Number], "bought twice: %s", n.Number)
		seen[n.Number] = true
	}
	assert.Len(t, api.accountNumbers(testAccount), 120, "in service at Bandwidth")
	reqs := api.recorded()
	assert.Equal(t, 3, count(reqs, "POST /api/accounts/"+testAccount+"/orders"), "orders of 50, 50 and 20")
	assert.Equal(t, 6, count(reqs, "GET /api/accounts/"+testAccount+"/orders/"), "each polled until complete")
	assert.Contains(t, reqs, "GET /api/accounts/"+testAccount+"/availableNumbers?areaCode=919&quantity=50")
	assert.Contains(t, reqs, "GET /api/accounts/"+testAccount+"/availableNumbers?areaCode=919&quantity=20")

	// The default cap is 100 numbers a call.
	got, err = api.vendor(t).BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "212", Limit: 150})
	require.NoError(t, err)
	assert.Equal(t, 100, len(got))
}

func TestBuyNumbersStockAndPartialOrders(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	api.setStock("415", 30)
	got, err := v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "415", Limit: 40})
	require.NoError(t, err, "running out is not an error")
	assert.Len(t, got, 30)

	// Another customer buys three numbers between the search and the
	// order: the order is partial, the next batch makes up for it.
	api.stealNext = 3
	got, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "212", Limit: 10})
	require.NoError(t, err)
	assert.Len(t, got, 10)

	// Every number of a batch gone: the order fails.
	api.setStock("646", 5)
	api.stealNext = 5
	got, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "646", Limit: 5})
	assert.Empty(t, got)
	assert.ErrorIs(t, err, herald.ClassPermanent)
	assert.Equal(t, "5005", herald.CodeOf(err))
	assert.NotContains(t, err.Error(), "6465550000", "numbers masked")
}

func TestBuyNumbersTollFreeAndOptions(t *testing.T) {
	api := newFakeAPI(t)
	opts := api.options()
	opts.SiteID, opts.PeerID = "", ""
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	_, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "833", Limit: 2})
	assert.ErrorIs(t, err, herald.ErrConfig, "no site to order into")
	got, err := v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org1, AreaCode: "833", Limit: 2,
		Options: map[string]string{bandwidth.OptionSiteID: testSite, bandwidth.OptionPeerID: testPeer}})
	require.NoError(t, err)
	assert.Len(t, got, 2)
	assert.Contains(t, api.recorded(), "GET /api/accounts/"+testAccount+"/availableNumbers?quantity=2&tollFreeWildCardPattern=833")
}

func TestBuyNumbersRefusals(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	for _, p := range []herald.BuyNumbersParams{
		{AreaCode: "919", Limit: 0},
		{AreaCode: "91", Limit: 1},
		{AreaCode: "119", Limit: 1},
		{AreaCode: "abc", Limit: 1},
	} {
		_, err := v.BuyNumbers(bg, p)
		assert.ErrorIs(t, err, herald.ErrInvalidInput, "%+v", p)
	}
	_, err := v.BuyNumbers(bg, herald.BuyNumbersParams{AreaCode: "207", Limit: 1, Country: "GB"})
	assert.ErrorIs(t, err, herald.ErrUnsupported)
	gb := &herald.Organization{ID: "uk", Features: map[string]string{herald.FeaturePhoneCountry: "GB"}}
	_, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: gb, AreaCode: "207", Limit: 1})
	assert.ErrorIs(t, err, herald.ErrUnsupported)
	assert.Empty(t, api.recorded(), "nothing reached Bandwidth")
}

func TestListNumbers(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	api.addNumbers(testAccount, "9195550001", "9195550002", "9195550003", "9195550004", "9195550005", "4155550001", "4155550002")
	api.addNumbers(otherAccount, "9195550009")
	all, err := v.ListNumbers(bg, herald.ListNumbersParams{Organization: org1})
	require.NoError(t, err, "pages followed on our own host, not the one the link names")
	require.Len(t, all, 7)
	assert.Equal(t, "+14155550001", all[0].Number)
	assert.Equal(t, "4155550001", all[0].VendorID)
	assert.Equal(t, "415", all[0].AreaCode)
	in919, err := v.ListNumbers(bg, herald.ListNumbersParams{Organization: org1, AreaCode: "919"})
	require.NoError(t, err)
	assert.Len(t, in919, 5)
	assert.Equal(t, 4+3, count(api.recorded(), "GET /api/accounts/"+testAccount+"/inserviceNumbers"), "pages of two")
	_, err = v.ListNumbers(bg, herald.ListNumbersParams{Organization: org1, MessagingServiceID: testApp})
	assert.ErrorIs(t, err, herald.ErrUnsupported)
}

func TestReleaseNumbers(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	api.addNumbers(testAccount, "9195550001", "9195550002", "9195550003", "4155550001", "4155550002")
	n, err := v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org1, Numbers: []herald.OwnedNumber{
		{VendorID: "9195550001"}, {Number: "+19195550002"}}})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"4155550001", "4155550002", "9195550003"}, api.accountNumbers(testAccount))

	n, err = v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org1, AreaCode: "415"})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"9195550003"}, api.accountNumbers(testAccount))

	// A number the account does not have: the disconnect is partial.
	n, err = v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org1, Numbers: []herald.OwnedNumber{
		{VendorID: "9195550003"}, {VendorID: "9195550999"}}})
	assert.Equal(t, 1, n)
	assert.ErrorIs(t, err, herald.ClassPermanent)
	assert.Empty(t, api.accountNumbers(testAccount))

	_, err = v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org1})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org1, Numbers: []herald.OwnedNumber{{Number: "+442071234567"}}})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
}

func TestNumbersAPIErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		class  herald.ErrorClass
		code   string
	}{
		{"401", 401, ``, herald.ClassAuth, "401"},
		{"403 xml", 403, `<?xml version="1.0"?><ResponseStatus><ErrorCode>12345</ErrorCode><Description>Access denied to 9195551234</Description></ResponseStatus>`, herald.ClassAuth, "12345"},
		{"search error", 400, `<SearchResult><Error><Code>4000</Code><Description>Please verify that your Area Code search input parameters are correct.</Description></Error></SearchResult>`, herald.ClassPermanent, "4000"},
		{"429", 429, ``, herald.ClassRateLimited, "429"},
		{"503", 503, `<html/>`, herald.ClassTemporary, "503"},
		{"undecodable 200", 200, `<SearchResult><ResultCount>1</ResultCount>`, herald.ClassTemporary, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := newRawServer(t, c.status, c.body)
			v, err := bandwidth.New(bandwidth.Options{AccountID: testAccount, Username: testUser, Password: testPassword,
				SiteID: testSite, DashboardBaseURL: base})
			require.NoError(t, err)
			_, err = v.BuyNumbers(bg, herald.BuyNumbersParams{AreaCode: "919", Limit: 1})
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, c.class, ve.Class)
			assert.Equal(t, c.code, ve.Code)
			assert.NotContains(t, ve.Message, "9195551234")
		})
	}
}

func TestCostData(t *testing.T) {
	v, err := bandwidth.New(bandwidth.Options{})
	require.NoError(t, err)
	c, err := v.CostData(bg, org1, testFrom)
	require.NoError(t, err)
	assert.Equal(t, 0.004, c.SMSSegment)
	assert.Equal(t, 0.015, c.MMSMessage)
	assert.Equal(t, "USD", c.Currency)
	assert.Equal(t, "list price", c.Source)
	v, err = bandwidth.New(bandwidth.Options{SMSSegmentPrice: 0.0035, MMSPrice: 0.01, PriceCurrency: "CAD"})
	require.NoError(t, err)
	c, err = v.CostData(bg, org1, testFrom)
	require.NoError(t, err)
	assert.Equal(t, 0.0035, c.SMSSegment)
	assert.Equal(t, "CAD", c.Currency)
}

func TestOrgConfig(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	saved := map[string]string{
		bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient, bandwidth.ConfigClientSecret: otherSecret,
		bandwidth.ConfigApplicationID: otherApp, bandwidth.ConfigCallbackUsername: otherHook, bandwidth.ConfigCallbackPassword: otherPass,
	}
	org := &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{"bandwidth": saved}}

	cfg, err := v.OrgConfig(bg, org, true)
	require.NoError(t, err)
	assert.Equal(t, herald.ObscuredSecret, cfg[bandwidth.ConfigClientSecret])
	assert.Equal(t, herald.ObscuredSecret, cfg[bandwidth.ConfigCallbackPassword])
	assert.Equal(t, otherClient, cfg[bandwidth.ConfigClientID])
	cfg, err = v.OrgConfig(bg, org, false)
	require.NoError(t, err)
	assert.Equal(t, otherSecret, cfg[bandwidth.ConfigClientSecret])
	cfg[bandwidth.ConfigClientSecret] = "changed"
	assert.Equal(t, otherSecret, saved[bandwidth.ConfigClientSecret], "a copy")
	_, err = v.OrgConfig(bg, nil, true)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	// Obscured secrets are kept; the credentials are checked at Bandwidth.
	fetches := api.tokenFetches.Load()
	out, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		bandwidth.ConfigClientSecret: herald.ObscuredSecret, bandwidth.ConfigCallbackPassword: herald.ObscuredSecret,
		bandwidth.ConfigFromNumber: acmeFrom, bandwidth.ConfigSiteID: " 461 "}})
	require.NoError(t, err)
	assert.Equal(t, otherSecret, out[bandwidth.ConfigClientSecret])
	assert.Equal(t, otherPass, out[bandwidth.ConfigCallbackPassword])
	assert.Equal(t, acmeFrom, out[bandwidth.ConfigFromNumber])
	assert.Equal(t, "461", out[bandwidth.ConfigSiteID], "trimmed")
	assert.Greater(t, api.tokenFetches.Load(), fetches, "checked with a token")
	assert.Contains(t, api.recorded(), "GET /api/accounts/"+otherAccount)

	// A legacy API user works too; an empty value clears a key.
	out, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		bandwidth.ConfigAccountID: testAccount, bandwidth.ConfigClientID: "", bandwidth.ConfigClientSecret: "",
		bandwidth.ConfigUsername: testUser, bandwidth.ConfigPassword: testPassword, bandwidth.ConfigApplicationID: testApp}})
	require.NoError(t, err)
	assert.NotContains(t, out, bandwidth.ConfigClientID)

	bad := []map[string]string{
		{"auth_token": "x"},
		{bandwidth.ConfigAccountID: "acct-1"},
		{bandwidth.ConfigClientSecret: ""},
		{bandwidth.ConfigClientID: "", bandwidth.ConfigClientSecret: ""},
		{bandwidth.ConfigUsername: testUser},
		{bandwidth.ConfigApplicationID: ""},
		{bandwidth.ConfigFromNumber: "919-555-0100"},
		{bandwidth.ConfigCallbackPassword: ""},
		{bandwidth.ConfigApplicationID: strings.Repeat("x", 300)},
	}
	for _, n := range bad {
		_, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: n})
		assert.ErrorIs(t, err, herald.ErrInvalidInput, "%v", n)
	}
	// Refused credentials.
	_, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		bandwidth.ConfigClientSecret: "wrong"}})
	assert.ErrorIs(t, err, herald.ClassAuth)
	_, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		bandwidth.ConfigAccountID: testAccount}})
	assert.ErrorIs(t, err, herald.ClassAuth, "a client of another account")

	ok, err := v.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = v.FullyConfigured(bg, &herald.Organization{ID: "x", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient, bandwidth.ConfigClientSecret: otherSecret}}}, nil)
	require.NoError(t, err)
	assert.False(t, ok, "no application")
	bare, err := bandwidth.New(bandwidth.Options{})
	require.NoError(t, err)
	ok, err = bare.FullyConfigured(bg, org1, nil)
	require.NoError(t, err)
	assert.False(t, ok, "no credentials")
}
