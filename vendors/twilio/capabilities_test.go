package twilio_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/twilio"
)

func TestLookupContact(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	us := &herald.Organization{ID: "org1", Features: map[string]string{herald.FeaturePhoneCountry: "US"}}
	cases := []struct {
		number   string
		status   int
		lineType string
		code     string
	}{
		{"+14155552671", herald.LookupTextable, "mobile", ""},
		{"+14155552672", herald.LookupLandline, "landline", ""},
		{"+14155552673", herald.LookupNonexistent, "", "60600"},
		{"+14155552674", herald.LookupNotFound, "", "20404"},
		{"+14155552675", herald.LookupNonexistent, "", "too_short"},
		{"+14155552676", herald.LookupWrongRegion, "mobile", ""},
		{"+14155552677", herald.LookupTextable, "nonFixedVoip", ""},
		{"+14155552678", herald.LookupUnknown, "tollFree", ""},
	}
	for _, c := range cases {
		r, err := v.LookupContact(bg, herald.LookupParams{Organization: us, Number: c.number})
		require.NoError(t, err, c.number)
		assert.Equal(t, c.status, r.StatusCode, c.number)
		assert.Equal(t, c.lineType, r.LineType, c.number)
		assert.Equal(t, c.code, r.ErrorCode, c.number)
		assert.Equal(t, "twilio", r.Vendor)
		assert.Empty(t, r.CallerName)
	}
	// Without PHONE_NUMBER_COUNTRY a foreign number is not "wrong region".
	r, err := v.LookupContact(bg, herald.LookupParams{Organization: &herald.Organization{ID: "o"}, Number: "+14155552676"})
	require.NoError(t, err)
	assert.Equal(t, herald.LookupTextable, r.StatusCode)

	r, err = v.LookupContact(bg, herald.LookupParams{Organization: us, Number: "+14155552671", WithCallerName: true})
	require.NoError(t, err)
	assert.Equal(t, "JANE DOE", r.CallerName)
	assert.Equal(t, "Fake Wireless", r.Carrier)
	last := api.recorded()[len(api.recorded())-1]
	assert.Equal(t, "Fields=line_type_intelligence%2Ccaller_name", last.Query)

	_, err = v.LookupContact(bg, herald.LookupParams{Organization: us})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	opts := api.options()
	opts.AuthToken = "wrong"
	bad, err := twilio.New(opts)
	require.NoError(t, err)
	_, err = bad.LookupContact(bg, herald.LookupParams{Organization: us, Number: "+14155552671"})
	assert.ErrorIs(t, err, herald.ClassAuth)
}

func TestBuyNumbersInBatches(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	org := &herald.Organization{ID: "org1"}
	api.stock("US/415", 70)
	got, err := v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org, AreaCode: "415", Limit: 65})
	require.NoError(t, err)
	require.Len(t, got, 65)
	seen := map[string]bool{}
	for _, n := range got {
		assert.True(t, strings.HasPrefix(n.Number, "+1415"), n.Number)
		assert.True(t, strings.HasPrefix(n.VendorID, "PN"))
		assert.Equal(t, "US", n.Country)
		assert.Equal(t, "415", n.AreaCode)
		assert.Equal(t, "org1", n.OrgID)
		assert.Empty(t, n.AllocatedTo)
		assert.False(t, seen[n.Number])
		seen[n.Number] = true
	}
	searches := 0
	for _, r := range api.recorded() {
		if strings.Contains(r.Path, "AvailablePhoneNumbers/US/Local.json") {
			searches++
			assert.Contains(t, r.Query, "AreaCode=415")
			assert.Contains(t, r.Query, "MmsEnabled=true")
		}
		if r.Method == "POST" && strings.HasSuffix(r.Path, "IncomingPhoneNumbers.json") {
			assert.Equal(t, "Managed by herald", r.Form.Get("FriendlyName"))
		}
	}
	assert.Equal(t, 3, searches, "30 + 30 + 5")

	// A toll-free code searches toll-free numbers.
	got, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org, AreaCode: "888", Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	reqs := api.recorded()
	var tollFree int
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/AvailablePhoneNumbers/US/TollFree.json") {
			tollFree++
		}
	}
	assert.Equal(t, 1, tollFree)

	// Only 5 left: buying stops when a search comes back empty.
	got, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: org, AreaCode: "415", Limit: 20})
	require.NoError(t, err)
	assert.Len(t, got, 5)
}

func TestBuyNumbersAnyCountryAndService(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	gb := &herald.Organization{ID: "org1", Features: map[string]string{herald.FeaturePhoneCountry: "GB"}}
	svc, err := v.CreateMessagingService(bg, herald.CreateMessagingServiceParams{Organization: gb, FriendlyName: "uk"})
	require.NoError(t, err)
	got, err := v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: gb, AreaCode: "020", Limit: 3,
		Options: map[string]string{twilio.OptionNumberType: "mobile", twilio.OptionMessagingService: svc.ID}})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, n := range got {
		assert.True(t, strings.HasPrefix(n.Number, "+4420"), n.Number)
		assert.Equal(t, "GB", n.Country)
		assert.Equal(t, herald.AllocationMessagingService, n.AllocatedTo)
		assert.Equal(t, svc.ID, n.AllocatedToID)
	}
	assert.Len(t, api.service(svc.ID).numbers, 3)
	var search recordedRequest
	for _, r := range api.recorded() {
		if strings.Contains(r.Path, "AvailablePhoneNumbers") {
			search = r
		}
	}
	assert.Equal(t, "/2010-04-01/Accounts/"+testAccount+"/AvailablePhoneNumbers/GB/Mobile.json", search.Path)
	assert.Contains(t, search.Query, "Contains=20%2A")

	_, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: gb, AreaCode: "x1", Limit: 1})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: gb, AreaCode: "20", Limit: 0})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = v.BuyNumbers(bg, herald.BuyNumbersParams{Organization: gb, AreaCode: "20", Limit: 1,
		Options: map[string]string{twilio.OptionNumberType: "satellite"}})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
}

func TestListAndReleaseNumbers(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	org := &herald.Organization{ID: "org1"}
	sids := api.addNumbers(testAccount, "+14155550001", "+14155550002", "+14155550003", "+12125550004", "+12125550005")
	api.addNumbers(otherAccount, "+14155550009")

	all, err := v.ListNumbers(bg, herald.ListNumbersParams{Organization: org})
	require.NoError(t, err)
	assert.Len(t, all, 5, "every page (the fake's pages hold 2)")
	sf, err := v.ListNumbers(bg, herald.ListNumbersParams{Organization: org, AreaCode: "415"})
	require.NoError(t, err)
	assert.Len(t, sf, 3)

	svc, err := v.CreateMessagingService(bg, herald.CreateMessagingServiceParams{Organization: org, FriendlyName: "pool"})
	require.NoError(t, err)
	require.NoError(t, v.AddNumbersToMessagingService(bg, org, svc.ID, []herald.OwnedNumber{{VendorID: sids[0]}}))

	// Release by area code: only numbers in no messaging service.
	n, err := v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org, AreaCode: "415"})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	left := api.accountNumbers(testAccount)
	require.Len(t, left, 3)
	assert.Equal(t, sids[0], left[0].SID, "the number in a service stays")

	// Release by VendorID and by Number; one already gone counts.
	n, err = v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org, Numbers: []herald.OwnedNumber{
		{VendorID: sids[3]}, {Number: "+12125550005"}, {VendorID: sids[1]}}})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Len(t, api.accountNumbers(testAccount), 1)
	assert.Len(t, api.accountNumbers(otherAccount), 1, "other accounts untouched")

	_, err = v.ReleaseNumbers(bg, herald.ReleaseNumbersParams{Organization: org})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
}

func TestMessagingServices(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	org := &herald.Organization{ID: "org1"}
	svc, err := v.CreateMessagingService(bg, herald.CreateMessagingServiceParams{Organization: org, FriendlyName: "Campaign 7",
		StatusCallbackURL: "https://h.example.com/org1/twilio/status", InboundURL: "https://h.example.com/org1/twilio/inbound"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(svc.ID, "MG"))
	assert.Equal(t, "Campaign 7", svc.FriendlyName)
	assert.Equal(t, twilio.ConsoleServiceURL+svc.ID, svc.ConsoleURL)
	s := api.service(svc.ID)
	assert.Equal(t, "https://h.example.com/org1/twilio/status", s.StatusCallback)
	assert.Equal(t, "https://h.example.com/org1/twilio/inbound", s.Inbound)

	sids := api.addNumbers(testAccount, "+14155550001", "+14155550002", "+14155550003", "+14155550004", "+14155550005")
	var owned []herald.OwnedNumber
	for _, sid := range sids {
		owned = append(owned, herald.OwnedNumber{VendorID: sid})
	}
	require.NoError(t, v.AddNumbersToMessagingService(bg, org, svc.ID, owned))
	require.NoError(t, v.AddNumbersToMessagingService(bg, org, svc.ID, owned[:1]), "already in it is fine")
	assert.Len(t, api.service(svc.ID).numbers, 5)
	err = v.AddNumbersToMessagingService(bg, org, svc.ID, []herald.OwnedNumber{{Number: "+14155550009"}})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	listed, err := v.ListNumbers(bg, herald.ListNumbersParams{Organization: org, MessagingServiceID: svc.ID})
	require.NoError(t, err)
	assert.Len(t, listed, 5, "paginated over three pages")
	assert.Equal(t, svc.ID, listed[0].AllocatedToID)

	require.NoError(t, v.ClearMessagingServiceNumbers(bg, org, svc.ID))
	assert.Empty(t, api.service(svc.ID).numbers)
	assert.Len(t, api.accountNumbers(testAccount), 5, "clearing keeps the numbers")

	// Found by name across pages of the service list.
	for i := range 3 {
		_, err := v.CreateMessagingService(bg, herald.CreateMessagingServiceParams{Organization: org, FriendlyName: fmt.Sprint("Other ", i)})
		require.NoError(t, err)
	}
	found, err := v.FindMessagingService(bg, org, "Campaign 7")
	require.NoError(t, err)
	assert.Equal(t, svc.ID, found.ID)
	found, err = v.FindMessagingService(bg, org, "Other 2")
	require.NoError(t, err)
	assert.Equal(t, "Other 2", found.FriendlyName)
	_, err = v.FindMessagingService(bg, org, "Campaign 8")
	assert.ErrorIs(t, err, herald.ErrNotFound)
	_, err = v.FindMessagingService(bg, org, "")
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	require.NoError(t, v.DeleteMessagingService(bg, org, svc.ID))
	assert.Nil(t, api.service(svc.ID))
	require.NoError(t, v.DeleteMessagingService(bg, org, svc.ID), "deleting twice is fine")
	err = v.ClearMessagingServiceNumbers(bg, org, "")
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
}

func TestCostData(t *testing.T) {
	v, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	c, err := v.CostData(bg, nil, "+14155550100")
	require.NoError(t, err)
	assert.Equal(t, 0.0075, c.SMSSegment)
	assert.Equal(t, 0.02, c.MMSMessage)
	assert.Equal(t, "USD", c.Currency)
	v, err = twilio.New(twilio.Options{SMSSegmentPrice: 0.0083, MMSPrice: 0.022, PriceCurrency: "EUR"})
	require.NoError(t, err)
	c, err = v.CostData(bg, nil, "")
	require.NoError(t, err)
	assert.Equal(t, 0.0083, c.SMSSegment)
	assert.Equal(t, "EUR", c.Currency)
}

func TestOrgConfig(t *testing.T) {
	api := newFakeAPI(t)
	v, err := twilio.New(twilio.Options{HTTPClient: api.srv.Client(), APIBaseURL: api.srv.URL})
	require.NoError(t, err)
	org := &herald.Organization{ID: "org1"}

	ok, err := v.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.False(t, ok, "no credentials")

	saved, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken, twilio.ConfigMessagingServiceSID: testService}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken,
		twilio.ConfigMessagingServiceSID: testService}, saved)
	org.VendorConfig = map[string]map[string]string{"twilio": saved}

	ok, err = v.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.True(t, ok)

	shown, err := v.OrgConfig(bg, org, true)
	require.NoError(t, err)
	assert.Equal(t, herald.ObscuredSecret, shown[twilio.ConfigAuthToken])
	assert.Equal(t, testAccount, shown[twilio.ConfigAccountSID])
	plain, err := v.OrgConfig(bg, org, false)
	require.NoError(t, err)
	assert.Equal(t, testToken, plain[twilio.ConfigAuthToken])
	plain[twilio.ConfigAuthToken] = "changed"
	assert.Equal(t, testToken, org.VendorConfig["twilio"][twilio.ConfigAuthToken], "a copy")

	// The obscured secret sent back means unchanged; the change is checked live.
	shown[twilio.ConfigMessagingServiceSID] = "MG0000000000000000000000000000dddd"
	saved, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: shown})
	require.NoError(t, err)
	assert.Equal(t, testToken, saved[twilio.ConfigAuthToken])
	assert.Equal(t, "MG0000000000000000000000000000dddd", saved[twilio.ConfigMessagingServiceSID])

	// Wrong credentials are refused by Twilio.
	_, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		twilio.ConfigAuthToken: "wrong"}})
	assert.ErrorIs(t, err, herald.ClassAuth)

	// API key credentials; the messaging service may be skipped by a manager.
	saved, err = v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: &herald.Organization{ID: "o2"},
		New:         map[string]string{twilio.ConfigAccountSID: testAccount, twilio.ConfigAPIKeySID: testKeySID, twilio.ConfigAPIKeySecret: testKeyToken},
		ManagerData: map[string]string{twilio.ManagerDataSkipMessagingService: "true"}})
	require.NoError(t, err)
	assert.Equal(t, testKeySID, saved[twilio.ConfigAPIKeySID])
	o2 := &herald.Organization{ID: "o2", VendorConfig: map[string]map[string]string{"twilio": saved}}
	ok, err = v.FullyConfigured(bg, o2, nil)
	require.NoError(t, err)
	assert.False(t, ok, "no messaging service")
	ok, err = v.FullyConfigured(bg, o2, map[string]string{twilio.ManagerDataSkipMessagingService: "true"})
	require.NoError(t, err)
	assert.True(t, ok)

	for name, cfg := range map[string]map[string]string{
		"unknown key":     {twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken, "region": "ie1"},
		"bad account":     {twilio.ConfigAccountSID: "XX1", twilio.ConfigAuthToken: testToken, twilio.ConfigMessagingServiceSID: testService},
		"no secret":       {twilio.ConfigAccountSID: testAccount, twilio.ConfigMessagingServiceSID: testService},
		"half an API key": {twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken, twilio.ConfigAPIKeySID: testKeySID, twilio.ConfigMessagingServiceSID: testService},
		"no service":      {twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken},
		"bad service":     {twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken, twilio.ConfigMessagingServiceSID: "PN1"},
		"too long":        {twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: strings.Repeat("x", 300), twilio.ConfigMessagingServiceSID: testService},
	} {
		_, err := v.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: &herald.Organization{ID: "o3"}, New: cfg})
		assert.ErrorIs(t, err, herald.ErrInvalidInput, name)
	}
}

func TestUndecodableReadIsTemporary(t *testing.T) {
	srv := newRawServer(t, 200, "<html>maintenance</html>")
	v, err := twilio.New(twilio.Options{AccountSID: testAccount, AuthToken: testToken, LookupBaseURL: srv})
	require.NoError(t, err)
	_, err = v.LookupContact(bg, herald.LookupParams{Number: "+14155552671"})
	assert.ErrorIs(t, err, herald.ClassTemporary, "a read can be repeated")
}
