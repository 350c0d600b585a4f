package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/twilio"
)

var bg = context.Background()

// smsRequest is a request as the dispatcher builds it.
func smsRequest(body string) *herald.SendRequest {
	return &herald.SendRequest{
		Message: &herald.Message{ID: "m1", IdempotencyKey: "m1", OrgID: "org1", Channel: herald.ChannelSMS,
			To: "+14155552671", Body: body},
		Organization: &herald.Organization{ID: "org1"},
		Route:        &herald.Route{},
	}
}

func TestSendSMS(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	req := smsRequest("Hello from herald")
	req.StatusCallbackURL = "https://hooks.example.com/h/org1/twilio/status"
	before := req.Message.Clone()
	res, err := v.Send(bg, req)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(res.VendorMessageID, "SM"))
	assert.Equal(t, herald.StatusSent, res.Status)
	assert.Equal(t, testService, res.MessagingServiceID)
	assert.Equal(t, 1, res.Segments)
	assert.Equal(t, before, req.Message, "Send must not modify the message")

	sent := api.sent()
	require.Len(t, sent, 1)
	f := sent[0].Form
	assert.Equal(t, "+14155552671", f.Get("To"))
	assert.Equal(t, "Hello from herald", f.Get("Body"))
	assert.Equal(t, testService, f.Get("MessagingServiceSid"), "the default messaging service when no From")
	assert.Empty(t, f["From"])
	assert.Equal(t, req.StatusCallbackURL, f.Get("StatusCallback"))
	assert.Empty(t, f["ValidityPeriod"])
	assert.Empty(t, f["SendAsMms"])
	assert.Equal(t, testAccount, api.recorded()[0].User, "account SID and auth token by default")
}

func TestSendRouteFromAndService(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)

	req := smsRequest("hi")
	req.Route.From = "+14155550100"
	_, err := v.Send(bg, req)
	require.NoError(t, err)
	f := api.sent()[0].Form
	assert.Equal(t, "+14155550100", f.Get("From"))
	assert.Empty(t, f["MessagingServiceSid"], "a From number alone does not drag in the default service")

	req = smsRequest("hi")
	req.Message.From = "+14155550101"
	req.Route.MessagingServiceID = "MG0000000000000000000000000000cccc"
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	f = api.sent()[1].Form
	assert.Equal(t, "+14155550101", f.Get("From"), "the message's From when the route has none")
	assert.Equal(t, "MG0000000000000000000000000000cccc", f.Get("MessagingServiceSid"))
}

func TestSendMMS(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	req := smsRequest("look")
	req.Message.Channel = herald.ChannelMMS
	req.Message.Media = []string{"https://example.com/a.png", "https://example.com/b.jpg"}
	res, err := v.Send(bg, req)
	require.NoError(t, err)
	require.NotEmpty(t, res.VendorMessageID)
	f := api.sent()[0].Form
	assert.Equal(t, req.Message.Media, f["MediaUrl"])
	assert.Empty(t, f["SendAsMms"], "media makes it MMS already")

	// Force MMS without media: by the route, or by the mms channel.
	req = smsRequest("long text as mms")
	req.Route.ForceMMS = true
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, "true", api.sent()[1].Form.Get("SendAsMms"))
	req = smsRequest("mms channel")
	req.Message.Channel = herald.ChannelMMS
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, "true", api.sent()[2].Form.Get("SendAsMms"))

	req = smsRequest("too many")
	for range 11 {
		req.Message.Media = append(req.Message.Media, "https://example.com/x.png")
	}
	_, err = v.Send(bg, req)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	assert.ErrorIs(t, err, herald.ClassPermanent)
}

func TestSendValidityPeriod(t *testing.T) {
	api := newFakeAPI(t)
	opts := api.options()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts.Clock = fixedClock{now}
	v, err := twilio.New(opts)
	require.NoError(t, err)

	req := smsRequest("soon")
	req.Message.SendBefore = now.Add(90*time.Minute + 500*time.Millisecond)
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, "5400", api.sent()[0].Form.Get("ValidityPeriod"))

	req = smsRequest("later")
	req.Message.SendBefore = now.Add(48 * time.Hour)
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	assert.Empty(t, api.sent()[1].Form["ValidityPeriod"], "beyond Twilio's maximum: its default applies")

	req = smsRequest("too late")
	req.Message.SendBefore = now.Add(-time.Minute)
	_, err = v.Send(bg, req)
	require.Error(t, err)
	assert.ErrorIs(t, err, herald.ClassPermanent)
	assert.Len(t, api.sent(), 2, "a closed window never reaches Twilio")
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestSendCredentials(t *testing.T) {
	api := newFakeAPI(t)

	t.Run("API key", func(t *testing.T) {
		opts := api.options()
		opts.APIKeySID, opts.APIKeySecret = testKeySID, testKeyToken
		v, err := twilio.New(opts)
		require.NoError(t, err)
		_, err = v.Send(bg, smsRequest("via key"))
		require.NoError(t, err)
		reqs := api.recorded()
		assert.Equal(t, testKeySID, reqs[len(reqs)-1].User)
	})
	t.Run("organization", func(t *testing.T) {
		v, err := twilio.New(twilio.Options{HTTPClient: api.srv.Client(), APIBaseURL: api.srv.URL})
		require.NoError(t, err)
		req := smsRequest("org creds")
		_, err = v.Send(bg, req)
		assert.ErrorIs(t, err, herald.ClassAuth, "no credentials anywhere")
		assert.ErrorIs(t, err, herald.ErrConfig)

		req.Organization.VendorConfig = map[string]map[string]string{"twilio": {
			twilio.ConfigAccountSID: otherAccount, twilio.ConfigAuthToken: otherToken,
			twilio.ConfigMessagingServiceSID: "MG0000000000000000000000000000bbbb"}}
		_, err = v.Send(bg, req)
		require.NoError(t, err)
		sent := api.sent()
		last := sent[len(sent)-1]
		assert.Equal(t, otherAccount, last.Account)
		assert.Equal(t, "MG0000000000000000000000000000bbbb", last.Form.Get("MessagingServiceSid"))
	})
	t.Run("route override", func(t *testing.T) {
		v := api.vendor(t)
		req := smsRequest("switched")
		req.Organization.VendorConfig = map[string]map[string]string{"twilio": {
			twilio.ConfigAccountSID: testAccount, twilio.ConfigAuthToken: testToken}}
		req.Route.Credentials = map[string]string{twilio.ConfigAccountSID: otherAccount, twilio.ConfigAuthToken: otherToken}
		req.Route.From = "+14155550100"
		_, err := v.Send(bg, req)
		require.NoError(t, err)
		sent := api.sent()
		last := sent[len(sent)-1]
		assert.Equal(t, otherAccount, last.Account)
		assert.Empty(t, last.Form["MessagingServiceSid"], "another account's service is never borrowed")
	})
	t.Run("wrong token", func(t *testing.T) {
		opts := api.options()
		opts.AuthToken = "wrong"
		v, err := twilio.New(opts)
		require.NoError(t, err)
		_, err = v.Send(bg, smsRequest("x"))
		assert.ErrorIs(t, err, herald.ClassAuth)
		assert.Equal(t, "20003", herald.CodeOf(err))
	})
	t.Run("no sender", func(t *testing.T) {
		opts := api.options()
		opts.MessagingServiceSID = ""
		v, err := twilio.New(opts)
		require.NoError(t, err)
		_, err = v.Send(bg, smsRequest("x"))
		assert.ErrorIs(t, err, herald.ClassAuth)
		assert.ErrorIs(t, err, herald.ErrConfig)
	})
}

func TestSendErrorClasses(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	cases := []struct {
		body       string
		class      herald.ErrorClass
		code       string
		status     int
		retryAfter time.Duration
	}{
		{"error21211", herald.ClassInvalidAddress, "21211", 400, 0},
		{"error21610", herald.ClassOptedOut, "21610", 400, 0},
		{"error21612", herald.ClassInvalidAddress, "21612", 400, 0},
		{"error21614", herald.ClassInvalidAddress, "21614", 400, 0},
		{"error21617", herald.ClassPermanent, "21617", 400, 0},
		{"error21606", herald.ClassAuth, "21606", 400, 0},
		{"error21611", herald.ClassRateLimited, "21611", 400, 0},
		{"error20003", herald.ClassAuth, "20003", 401, 0},
		{"error20429", herald.ClassRateLimited, "20429", 429, 7 * time.Second},
		{"error30003", herald.ClassTemporary, "30003", 400, 0},
		{"error30004", herald.ClassPermanent, "30004", 400, 0},
		{"error30005", herald.ClassInvalidAddress, "30005", 400, 0},
		{"error30006", herald.ClassInvalidAddress, "30006", 400, 0},
		{"error30007", herald.ClassPermanent, "30007", 400, 0},
		{"error30008", herald.ClassTemporary, "30008", 400, 0},
		{"error20500", herald.ClassTemporary, "20500", 500, 0},
		{"error29999", herald.ClassPermanent, "29999", 400, 0},
		{"http429", herald.ClassRateLimited, "429", 429, 3 * time.Second},
		{"http500", herald.ClassTemporary, "500", 500, 0},
		{"http502", herald.ClassTemporary, "502", 502, 0},
		{"http503", herald.ClassTemporary, "503", 503, 0},
		{"http403", herald.ClassAuth, "403", 403, 0},
		{"http408", herald.ClassMaybeDelivered, "408", 408, 0},
		{"http404", herald.ClassPermanent, "404", 404, 0},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			_, err := v.Send(bg, smsRequest(c.body))
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, c.class, ve.Class)
			assert.Equal(t, c.code, ve.Code)
			assert.Equal(t, c.status, ve.HTTPStatus)
			assert.Equal(t, c.retryAfter, ve.RetryAfter)
			assert.Equal(t, "twilio", ve.Vendor)
			assert.NotContains(t, err.Error(), "+14155552671", "no full phone numbers in errors")
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestSendDeadlineAfterWriteIsMaybeDelivered(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	ctx, cancel := context.WithTimeout(bg, 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Send(ctx, smsRequest("stall"))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered, "the request was written: Twilio may have it")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSendBeforeAnythingWrittenIsTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	v, err := twilio.New(twilio.Options{AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService,
		APIBaseURL: "http://" + addr})
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassTemporary, "connection refused: nothing was sent")

	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = v.Send(ctx, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassTemporary)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSendUndecodableSuccessIsMaybeDelivered(t *testing.T) {
	srv := newRawServer(t, http.StatusCreated, "not json")
	v, err := twilio.New(twilio.Options{AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService,
		APIBaseURL: srv})
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered, "201 means Twilio took it")
	srv = newRawServer(t, http.StatusCreated, `{"status":"queued"}`)
	v, err = twilio.New(twilio.Options{AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService,
		APIBaseURL: srv})
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered, "no SID")
}

func TestNewRefusesBadBaseURL(t *testing.T) {
	_, err := twilio.New(twilio.Options{APIBaseURL: "ftp://x"})
	assert.ErrorIs(t, err, herald.ErrConfig)
	_, err = twilio.New(twilio.Options{LookupBaseURL: "::"})
	assert.ErrorIs(t, err, herald.ErrConfig)
}

func TestDescribeError(t *testing.T) {
	v, err := twilio.New(twilio.Options{})
	require.NoError(t, err)
	// Spoke's table and the common REST errors are all known.
	for _, code := range []string{"12300", "12400", "20003", "20429", "21211", "21408", "21602", "21610", "21611",
		"21612", "21614", "21617", "21621", "30001", "30002", "30003", "30004", "30005", "30006", "30007", "30008"} {
		assert.Contains(t, twilio.Codes(), code)
	}
	for _, code := range twilio.Codes() {
		d := v.DescribeError(code)
		assert.Equal(t, code, d.Code)
		assert.NotEmpty(t, d.Description, code)
		assert.NotContains(t, d.Description, "Twilio error "+code, "known codes have real descriptions")
		assert.Equal(t, "https://www.twilio.com/docs/api/errors/"+code, d.Link)
	}
	d := v.DescribeError("63016")
	assert.Equal(t, "Twilio error 63016.", d.Description)
	assert.Equal(t, twilio.ErrorLinkBase+"63016", d.Link)
	d = v.DescribeError("503")
	assert.Contains(t, d.Description, "HTTP 503")
	assert.Empty(t, d.Link)
	assert.Equal(t, "x", v.DescribeError("x").Code)
}

func TestClassify(t *testing.T) {
	assert.Equal(t, herald.ClassOptedOut, twilio.Classify("21610", 400))
	assert.Equal(t, herald.ClassRateLimited, twilio.Classify("429", 0))
	assert.Equal(t, herald.ClassTemporary, twilio.Classify("599", 0))
	assert.Equal(t, herald.ClassAuth, twilio.Classify("401", 0))
	assert.Equal(t, herald.ClassPermanent, twilio.Classify("12345", 422))
	assert.Equal(t, herald.ClassTemporary, twilio.Classify("12345", 503))
}

func TestErrorsAreVendorErrors(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	_, err := v.Send(bg, &herald.SendRequest{})
	var ve *herald.VendorError
	require.True(t, errors.As(err, &ve))
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	req := smsRequest("x")
	req.Message.Channel = herald.ChannelEmail
	_, err = v.Send(bg, req)
	assert.ErrorIs(t, err, herald.ClassPermanent)
	req = smsRequest("x")
	req.Message.To = ""
	_, err = v.Send(bg, req)
	assert.ErrorIs(t, err, herald.ClassInvalidAddress)
}

func TestSendOrgServiceOnDefaultAccount(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	req := smsRequest("org service")
	req.Organization.VendorConfig = map[string]map[string]string{"twilio": {
		twilio.ConfigMessagingServiceSID: "MG0000000000000000000000000000eeee"}}
	_, err := v.Send(bg, req)
	require.NoError(t, err)
	sent := api.sent()
	assert.Equal(t, testAccount, sent[0].Account)
	assert.Equal(t, "MG0000000000000000000000000000eeee", sent[0].Form.Get("MessagingServiceSid"))
}
