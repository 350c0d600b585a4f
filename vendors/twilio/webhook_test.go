package twilio_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/twilio"
)

// fixtureFile is testdata/signatures.json, generated with the official
// twilio npm package's validator; regenerate it with
//
//	cd vendors/twilio/testdata/gen && npm install && npm run gen
type fixtureFile struct {
	Generator string `json:"generator"`
	Cases     []struct {
		Name      string                     `json:"name"`
		Kind      string                     `json:"kind"`
		AuthToken string                     `json:"authToken"`
		URL       string                     `json:"url"`
		Params    map[string]json.RawMessage `json:"params"`
		Body      string                     `json:"body"`
		Signature string                     `json:"signature"`
		Valid     bool                       `json:"valid"`
	} `json:"cases"`
}

func loadFixtures(t *testing.T) fixtureFile {
	data, err := os.ReadFile("testdata/signatures.json")
	require.NoError(t, err)
	var f fixtureFile
	require.NoError(t, json.Unmarshal(data, &f))
	require.NotEmpty(t, f.Cases)
	return f
}

// values reads fixture params: a string or an array of strings each.
func values(t *testing.T, raw map[string]json.RawMessage) url.Values {
	out := url.Values{}
	for k, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out.Add(k, s)
			continue
		}
		var list []string
		require.NoError(t, json.Unmarshal(r, &list), k)
		out[k] = list
	}
	return out
}

// TestSignatureFixtures checks the Go validator against verdicts of the
// official twilio npm package's validator, case by case.
func TestSignatureFixtures(t *testing.T) {
	f := loadFixtures(t)
	valid, invalid := 0, 0
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var got bool
			switch c.Kind {
			case "form":
				got = twilio.ValidSignature(c.AuthToken, c.Signature, c.URL, values(t, c.Params))
			case "json":
				got = twilio.ValidBodySignature(c.AuthToken, c.Signature, c.URL, []byte(c.Body))
			default:
				t.Fatalf("kind %q", c.Kind)
			}
			assert.Equal(t, c.Valid, got, "twilio's validator says %v", c.Valid)
		})
		if c.Valid {
			valid++
		} else {
			invalid++
		}
	}
	assert.Positive(t, valid)
	assert.Positive(t, invalid)
}

// TestSignatureMatchesFixtureSigning checks that Signature computes what
// Twilio sends: for every valid form fixture received at the URL it was
// signed for, Signature reproduces the header.
func TestSignatureMatchesFixtureSigning(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.Cases {
		if c.Kind != "form" || !c.Valid || c.Name != "status callback" && c.Name != "repeated params" &&
			c.Name != "inbound with media and unicode body" && c.Name != "twilio-go documented vector" {
			continue
		}
		assert.Equal(t, c.Signature, twilio.Signature(c.AuthToken, c.URL, values(t, c.Params)), c.Name)
	}
}

const hookURL = "https://hooks.example.com/h/org1/twilio"

func orgWithToken() *herald.Organization {
	return &herald.Organization{ID: "org1", VendorConfig: map[string]map[string]string{
		"twilio": {twilio.ConfigAccountSID: otherAccount, twilio.ConfigAuthToken: otherToken}}}
}

// signedForm builds a form webhook signed with token.
func signedForm(token, path string, params url.Values) *herald.WebhookRequest {
	u := hookURL + path
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set(twilio.SignatureHeader, twilio.Signature(token, u, params))
	return &herald.WebhookRequest{Organization: orgWithToken(), Method: http.MethodPost, URL: u, Path: path,
		Header: h, Body: []byte(params.Encode())}
}

func statusParams(sid, status, code string) url.Values {
	p := url.Values{"AccountSid": {otherAccount}, "MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status},
		"SmsStatus": {status}, "To": {"+14155552671"}, "From": {"+14155550100"}, "ApiVersion": {"2010-04-01"}}
	if code != "" {
		p.Set("ErrorCode", code)
	}
	return p
}

func TestWebhookStatusMapping(t *testing.T) {
	v, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	cases := []struct {
		status string
		want   herald.Status
	}{
		{"queued", ""}, {"accepted", ""}, {"scheduled", ""}, {"sending", ""}, {"brand_new_status", ""},
		{"sent", herald.StatusSent}, {"delivered", herald.StatusDelivered},
		{"partially_delivered", herald.StatusDelivered},
		{"undelivered", herald.StatusFailed}, {"failed", herald.StatusFailed}, {"canceled", herald.StatusFailed},
	}
	for _, c := range cases {
		t.Run(c.status, func(t *testing.T) {
			res, err := v.ParseWebhook(bg, signedForm(otherToken, "/status", statusParams("SM1", c.status, "")))
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Empty(t, res.Inbound)
			if c.want == "" {
				assert.Empty(t, res.Reports, "not recorded")
				return
			}
			require.Len(t, res.Reports, 1)
			r := res.Reports[0]
			assert.Equal(t, c.want, r.Status)
			assert.Equal(t, "SM1", r.VendorMessageID)
			assert.Equal(t, "SM1/"+c.status, r.EventID)
			assert.Equal(t, "org1", r.OrgID)
			assert.Equal(t, "twilio", r.Vendor)
			assert.Equal(t, "+14155552671", r.To)
			assert.Equal(t, c.status, r.Raw["MessageStatus"])
		})
	}
}

func TestWebhookReadReceipt(t *testing.T) {
	v, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	res, err := v.ParseWebhook(bg, signedForm(otherToken, "/status", statusParams("SM9", "read", "")))
	require.NoError(t, err)
	require.Len(t, res.Reports, 2)
	assert.Equal(t, herald.StatusDelivered, res.Reports[0].Status)
	assert.Equal(t, "SM9/delivered", res.Reports[0].EventID, "dedupes with Twilio's own delivered callback")
	assert.Equal(t, herald.EngagementOpened, res.Reports[1].Engagement)
	assert.Empty(t, res.Reports[1].Status)
	assert.Equal(t, "SM9/read", res.Reports[1].EventID)
}

func TestWebhookFailureCodes(t *testing.T) {
	v, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	for code, want := range map[string][2]bool{"30006": {true, false}, "21610": {false, true}, "30003": {false, false}} {
		res, err := v.ParseWebhook(bg, signedForm(otherToken, "/status", statusParams("SM2", "undelivered", code)))
		require.NoError(t, err)
		require.Len(t, res.Reports, 1)
		r := res.Reports[0]
		assert.Equal(t, herald.StatusFailed, r.Status)
		assert.Equal(t, code, r.ErrorCode)
		assert.Equal(t, want[0], r.Landline, code)
		assert.Equal(t, want[1], r.OptedOut, code)
	}
}

func TestWebhookInbound(t *testing.T) {
	v, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	p := url.Values{"AccountSid": {otherAccount}, "MessageSid": {"SMin1"}, "SmsStatus": {"received"},
		"From": {"+14155552671"}, "To": {"+14155550100"}, "Body": {"Héllo 👋 STOP?"}, "NumMedia": {"2"},
		"MediaUrl0": {"https://api.twilio.com/m/ME1"}, "MediaContentType0": {"image/jpeg"},
		"MediaUrl1": {"https://api.twilio.com/m/ME2"}, "MediaContentType1": {"image/png"},
		"MessagingServiceSid": {testService}}
	res, err := v.ParseWebhook(bg, signedForm(otherToken, "/inbound", p))
	require.NoError(t, err)
	require.Len(t, res.Inbound, 1)
	assert.Empty(t, res.Reports)
	in := res.Inbound[0]
	assert.Equal(t, "SMin1", in.EventID)
	assert.Equal(t, herald.ChannelMMS, in.Channel)
	assert.Equal(t, "+14155552671", in.From)
	assert.Equal(t, "+14155550100", in.To)
	assert.Equal(t, "Héllo 👋 STOP?", in.Body)
	assert.Equal(t, []string{"https://api.twilio.com/m/ME1", "https://api.twilio.com/m/ME2"}, in.Media)
	assert.Equal(t, testService, in.MessagingServiceID)
	assert.Equal(t, "org1", in.OrgID)
	assert.Equal(t, "text/xml", res.ContentType)
	assert.Equal(t, twilio.EmptyTwiML, string(res.Body))

	// Without media it is an SMS; the root path is read by its fields.
	p = url.Values{"MessageSid": {"SMin2"}, "SmsStatus": {"received"}, "From": {"+14155552671"}, "Body": {"hi"}, "NumMedia": {"0"}}
	res, err = v.ParseWebhook(bg, signedForm(otherToken, "/", p))
	require.NoError(t, err)
	require.Len(t, res.Inbound, 1)
	assert.Equal(t, herald.ChannelSMS, res.Inbound[0].Channel)
	assert.Empty(t, res.Inbound[0].Media)
	// A replay parses to the same EventID: the dispatcher drops it.
	again, err := v.ParseWebhook(bg, signedForm(otherToken, "/", p))
	require.NoError(t, err)
	assert.Equal(t, res.Inbound[0].EventID, again.Inbound[0].EventID)
}

func TestWebhookRefusals(t *testing.T) {
	v, err := twilio.New(twilio.Options{AuthToken: testToken})
	require.NoError(t, err)
	p := statusParams("SM3", "delivered", "")

	req := signedForm(otherToken, "/status", p)
	req.Header.Del(twilio.SignatureHeader)
	_, err = v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "unsigned")

	req = signedForm("not-the-token", "/status", p)
	res, err := v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "forged")
	assert.Nil(t, res)

	req = signedForm(otherToken, "/status", p)
	req.Body = []byte(strings.Replace(string(req.Body), "delivered", "failed", 1))
	_, err = v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "tampered")

	req = signedForm(otherToken, "/status", p)
	req.URL = strings.Replace(req.URL, "org1", "org2", 1)
	_, err = v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "another organization's URL")

	// An organization with its own token is not signed for by the default one.
	_, err = v.ParseWebhook(bg, signedForm(testToken, "/status", p))
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "the default account signing for an organization with its own")

	// The default token verifies when the organization has none of its own.
	req = signedForm(testToken, "/status", p)
	req.Organization = &herald.Organization{ID: "org1"}
	_, err = v.ParseWebhook(bg, req)
	require.NoError(t, err)

	// An organization on another account without its token: the default
	// token does not sign for it.
	req = signedForm(testToken, "/status", p)
	req.Organization = &herald.Organization{ID: "org1", VendorConfig: map[string]map[string]string{
		"twilio": {twilio.ConfigAccountSID: otherAccount, twilio.ConfigAPIKeySID: testKeySID}}}
	_, err = v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized)

	// No token anywhere: nothing can be verified.
	bare, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	req = signedForm(testToken, "/status", p)
	req.Organization = &herald.Organization{ID: "org1"}
	_, err = bare.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized)

	// Signed but not a Twilio message webhook.
	_, err = v.ParseWebhook(bg, signedForm(otherToken, "/status", url.Values{"MessageStatus": {"sent"}}))
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "no MessageSid")
	_, err = v.ParseWebhook(bg, signedForm(otherToken, "/inbound", url.Values{"MessageSid": {"SM1"}}))
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "inbound without From")
	_, err = v.ParseWebhook(bg, signedForm(otherToken, "/status", url.Values{"MessageSid": {"SM1"}}))
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "status without MessageStatus")
	_, err = v.ParseWebhook(bg, signedForm(otherToken, "/elsewhere", p))
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "unknown path")
	_, err = v.ParseWebhook(bg, signedForm(otherToken, "/inbound", url.Values{"MessageSid": {"SM1"}, "From": {"+1"}, "NumMedia": {"lots"}}))
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "bad NumMedia")

	// A body that does not parse, signed over what does parse.
	req = signedForm(otherToken, "/status", p)
	req.Body = append(req.Body, []byte("&bad=%zz")...)
	_, err = v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "malformed")
}

func TestWebhookAccountSwitching(t *testing.T) {
	asked := ""
	v, err := twilio.New(twilio.Options{AuthToken: testToken,
		AuthTokenFor: func(_ context.Context, org *herald.Organization, account string) (string, error) {
			asked = account
			if account == "AC0000000000000000000000000000cccc" {
				return "switched-token", nil
			}
			return "", errors.New("unknown account")
		}})
	require.NoError(t, err)
	p := statusParams("SM4", "delivered", "")
	p.Set("AccountSid", "AC0000000000000000000000000000cccc")
	req := signedForm("switched-token", "/status", p)
	req.Organization = &herald.Organization{ID: "org1"}
	res, err := v.ParseWebhook(bg, req)
	require.NoError(t, err)
	assert.Len(t, res.Reports, 1)
	assert.Equal(t, "AC0000000000000000000000000000cccc", asked)
}

func TestWebhookGET(t *testing.T) {
	v, err := twilio.New(twilio.Options{AuthToken: testToken})
	require.NoError(t, err)
	p := statusParams("SM5", "delivered", "")
	u := hookURL + "/status?" + p.Encode()
	h := http.Header{}
	h.Set(twilio.SignatureHeader, twilio.Signature(testToken, u, nil))
	res, err := v.ParseWebhook(bg, &herald.WebhookRequest{Organization: &herald.Organization{ID: "org1"},
		Method: http.MethodGet, URL: u, Path: "/status", Header: h})
	require.NoError(t, err)
	require.Len(t, res.Reports, 1)
	assert.Equal(t, "SM5", res.Reports[0].VendorMessageID)
}

func TestWebhookJSONBody(t *testing.T) {
	v, err := twilio.New(twilio.Options{AuthToken: testToken})
	require.NoError(t, err)
	body := []byte(`{"MessageSid":"SM6","MessageStatus":"undelivered","ErrorCode":30006,"To":"+14155552671"}`)
	sum := sha256.Sum256(body)
	u := hookURL + "/status?bodySHA256=" + hex.EncodeToString(sum[:])
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(twilio.SignatureHeader, twilio.Signature(testToken, u, nil))
	req := &herald.WebhookRequest{Organization: &herald.Organization{ID: "org1"}, Method: http.MethodPost,
		URL: u, Path: "/status", Header: h, Body: body}
	res, err := v.ParseWebhook(bg, req)
	require.NoError(t, err)
	require.Len(t, res.Reports, 1)
	assert.Equal(t, "30006", res.Reports[0].ErrorCode)
	assert.True(t, res.Reports[0].Landline)

	req.Body = []byte(strings.Replace(string(body), "30006", "30003", 1))
	_, err = v.ParseWebhook(bg, req)
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "body no longer matches bodySHA256")
}
