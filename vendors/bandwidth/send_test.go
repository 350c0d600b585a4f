package bandwidth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/bandwidth"
)

func TestSendSMS(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	res, err := v.Send(bg, smsRequest("Hello from herald"))
	require.NoError(t, err)
	assert.NotEmpty(t, res.VendorMessageID)
	assert.Equal(t, herald.StatusSent, res.Status)
	assert.Equal(t, testFrom, res.From)
	assert.Equal(t, testApp, res.MessagingServiceID)
	assert.Equal(t, 1, res.Segments)
	sent := api.sent()
	require.Len(t, sent, 1)
	m := sent[0]
	assert.Equal(t, testAccount, m.Account)
	assert.Equal(t, "bearer", m.Auth)
	assert.Equal(t, []any{"+14155552671"}, m.Body["to"])
	assert.Equal(t, testFrom, m.str("from"))
	assert.Equal(t, testApp, m.str("applicationId"))
	assert.Equal(t, "Hello from herald", m.str("text"))
	assert.Equal(t, "msg-1", m.str("tag"), "the tag is herald's message ID")
	assert.Equal(t, "default", m.str("priority"))
	assert.NotContains(t, m.Body, "expiration")
	assert.NotContains(t, m.Body, "media")
}

func TestSendRouteFromAndApplication(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	req := smsRequest("hi")
	req.Route = &herald.Route{From: "+19195550111", MessagingServiceID: testApp}
	req.Message.From = "+19195550999"
	_, err := v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, "+19195550111", api.sent()[0].str("from"), "the route wins")

	req = smsRequest("hi")
	req.Message.From = "+19195550999"
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, "+19195550999", api.sent()[1].str("from"), "then the message's From")

	req = smsRequest("hi")
	req.Route.MessagingServiceID = "not-an-app"
	_, err = v.Send(bg, req)
	assert.ErrorIs(t, err, herald.ClassPermanent, "Bandwidth refuses an unknown application")
	assert.Contains(t, err.Error(), "applicationId")
}

func TestSendMMSPriorityAndExpiration(t *testing.T) {
	api := newFakeAPI(t)
	opts := api.options()
	now := time.Now().Truncate(time.Second)
	opts.Clock = fixedClock{now}
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	req := smsRequest("")
	req.Message.Channel = herald.ChannelMMS
	req.Message.Media = []string{"https://example.com/a.png", "https://example.com/b.png"}
	req.Message.Urgency = herald.UrgencyHigh
	req.Message.SendBefore = now.Add(2 * time.Hour)
	req.Route.ForceMMS = true
	_, err = v.Send(bg, req)
	require.NoError(t, err)
	m := api.sent()[0]
	assert.Equal(t, []any{"https://example.com/a.png", "https://example.com/b.png"}, m.Body["media"])
	assert.NotContains(t, m.Body, "text", "no empty text")
	assert.Equal(t, "high", m.str("priority"))
	assert.Equal(t, now.Add(2*time.Hour).UTC().Format(time.RFC3339), m.str("expiration"))
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestSendLegacyBasicAuth(t *testing.T) {
	api := newFakeAPI(t)
	opts := api.options()
	opts.ClientID, opts.ClientSecret = "", ""
	opts.Username, opts.Password = testUser, testPassword
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	require.NoError(t, err)
	assert.Equal(t, "basic", api.sent()[0].Auth)
	assert.Zero(t, api.tokenFetches.Load(), "no token for an API user")

	// OAuth2 wins when both are configured.
	opts.ClientID, opts.ClientSecret = testClient, testSecret
	v, err = bandwidth.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	require.NoError(t, err)
	assert.Equal(t, "bearer", api.sent()[1].Auth)
}

func TestSendCredentials(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)

	// An organization with its own account and client.
	own := smsRequest("hi")
	own.Organization = &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient, bandwidth.ConfigClientSecret: otherSecret,
		bandwidth.ConfigApplicationID: otherApp, bandwidth.ConfigFromNumber: acmeFrom}}}
	_, err := v.Send(bg, own)
	require.NoError(t, err)
	// An organization on the default account with its own application
	// and number.
	app := smsRequest("hi")
	app.Organization = &herald.Organization{ID: "beta", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigFromNumber: "+19195550333"}}}
	_, err = v.Send(bg, app)
	require.NoError(t, err)
	// A route switching to another account for one message.
	route := smsRequest("hi")
	route.Route.Credentials = map[string]string{bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient,
		bandwidth.ConfigClientSecret: otherSecret, bandwidth.ConfigApplicationID: otherApp}
	route.Route.From = acmeFrom
	_, err = v.Send(bg, route)
	require.NoError(t, err)

	sent := api.sent()
	require.Len(t, sent, 3)
	assert.Equal(t, otherAccount, sent[0].Account)
	assert.Equal(t, otherApp, sent[0].str("applicationId"))
	assert.Equal(t, acmeFrom, sent[0].str("from"))
	assert.Equal(t, testAccount, sent[1].Account)
	assert.Equal(t, testApp, sent[1].str("applicationId"))
	assert.Equal(t, "+19195550333", sent[1].str("from"))
	assert.Equal(t, otherAccount, sent[2].Account)

	// The default account named by an organization with its own
	// application: the default client is borrowed.
	same := smsRequest("hi")
	same.Organization = &herald.Organization{ID: "delta", VendorConfig: map[string]map[string]string{"bandwidth": {
		bandwidth.ConfigAccountID: testAccount, bandwidth.ConfigFromNumber: "+19195550444"}}}
	_, err = v.Send(bg, same)
	require.NoError(t, err)
	assert.Equal(t, "+19195550444", api.sent()[3].str("from"))
	assert.Equal(t, testAccount, api.sent()[3].Account)

	// Another account never borrows the default application.
	noApp := smsRequest("hi")
	noApp.Route.Credentials = map[string]string{bandwidth.ConfigAccountID: otherAccount, bandwidth.ConfigClientID: otherClient,
		bandwidth.ConfigClientSecret: otherSecret}
	noApp.Route.From = acmeFrom
	_, err = v.Send(bg, noApp)
	assert.ErrorIs(t, err, herald.ClassAuth)
	assert.ErrorIs(t, err, herald.ErrConfig)

	// No credentials at all.
	bare, err := bandwidth.New(bandwidth.Options{MessagingBaseURL: api.srv.URL})
	require.NoError(t, err)
	_, err = bare.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassAuth)
	assert.ErrorIs(t, err, herald.ErrConfig)
	assert.Len(t, api.sent(), 4, "nothing more reached Bandwidth")
}

func TestSendValidation(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	long := strings.Repeat("x", bandwidth.MaxTextLength+1)
	cases := map[string]func(r *herald.SendRequest){
		"email channel": func(r *herald.SendRequest) { r.Message.Channel = herald.ChannelEmail },
		"no to":         func(r *herald.SendRequest) { r.Message.To = "" },
		"no content":    func(r *herald.SendRequest) { r.Message.Body = "" },
		"11 media": func(r *herald.SendRequest) {
			for range 11 {
				r.Message.Media = append(r.Message.Media, "https://example.com/a.png")
			}
		},
		"text too long": func(r *herald.SendRequest) { r.Message.Body = long },
		"window closed": func(r *herald.SendRequest) { r.Message.SendBefore = time.Now().Add(-time.Second) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := smsRequest("hi")
			mutate(r)
			_, err := v.Send(bg, r)
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Contains(t, []herald.ErrorClass{herald.ClassPermanent, herald.ClassInvalidAddress}, ve.Class)
		})
	}
	_, err := v.Send(bg, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	assert.Empty(t, api.sent(), "nothing reached Bandwidth")
}

func TestSendDeadlineAfterWriteIsMaybeDelivered(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	_, err := v.Send(bg, smsRequest("warm the token"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	_, err = v.Send(ctx, smsRequest("stall"))
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSendBeforeAnythingWrittenIsTemporary(t *testing.T) {
	api := newFakeAPI(t)
	opts := api.options()
	opts.ClientID, opts.ClientSecret = "", ""
	opts.Username, opts.Password = testUser, testPassword
	api.srv.Close() // nothing listens
	v, err := bandwidth.New(opts)
	require.NoError(t, err)
	_, err = v.Send(bg, smsRequest("hi"))
	assert.ErrorIs(t, err, herald.ClassTemporary)
	assert.NotContains(t, err.Error(), testAccount, "the URL naming the account is not in the error")
}

func TestSendUnexpectedAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		class  herald.ErrorClass
		code   string
	}{
		{"undecodable 202", 202, "not json", herald.ClassMaybeDelivered, ""},
		{"202 without id", 202, `{"owner":"+19195550100"}`, herald.ClassMaybeDelivered, ""},
		{"spring 404", 404, `{"timestamp":"2019-09-09T19:02:19.253+0000","status":404,"error":"Not Found","message":"Not Found","path":"/api/v2/users/x/messages"}`, herald.ClassAuth, "404"},
		{"415", 415, `{"type":"unsupported-content-type","description":"Content type not supported"}`, herald.ClassPermanent, "unsupported-content-type"},
		{"401", 401, `{"type":"unauthorized","description":"Authentication Failed"}`, herald.ClassAuth, "unauthorized"},
		{"502 html", 502, `<html>bad gateway</html>`, herald.ClassTemporary, "502"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := newRawServer(t, c.status, c.body)
			v, err := bandwidth.New(bandwidth.Options{AccountID: testAccount, Username: testUser, Password: testPassword,
				ApplicationID: testApp, FromNumber: testFrom, MessagingBaseURL: base})
			require.NoError(t, err)
			_, err = v.Send(bg, smsRequest("hi"))
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, c.class, ve.Class)
			assert.Equal(t, c.code, ve.Code)
			assert.Equal(t, "bandwidth", ve.Vendor)
		})
	}
}

func TestSendErrorRedactsNumbers(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	r := smsRequest("hi")
	r.Message.To = "14155552671" // not E.164: Bandwidth names it in its answer
	_, err := v.Send(bg, r)
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, herald.ClassInvalidAddress, ve.Class)
	assert.NotContains(t, ve.Message, "14155552671")
	assert.Contains(t, ve.Message, "2671")
}

func TestNewRefusesBadBaseURL(t *testing.T) {
	for _, o := range []bandwidth.Options{{MessagingBaseURL: "ftp://x"}, {DashboardBaseURL: "::"}, {TokenURL: "/relative"}} {
		_, err := bandwidth.New(o)
		assert.ErrorIs(t, err, herald.ErrConfig)
	}
	v, err := bandwidth.New(bandwidth.Options{})
	require.NoError(t, err)
	md := v.Metadata()
	assert.Equal(t, "bandwidth", md.Name)
	assert.False(t, md.IdempotentSend)
	assert.True(t, md.SupportsOrgConfig)
	v, err = bandwidth.New(bandwidth.Options{Name: "bw-east"})
	require.NoError(t, err)
	assert.Equal(t, "bw-east", v.Metadata().Name)
}

func TestDescribeError(t *testing.T) {
	v, err := bandwidth.New(bandwidth.Options{})
	require.NoError(t, err)
	d := v.DescribeError("4775")
	assert.Equal(t, "4775", d.Code)
	assert.Contains(t, d.Description, "opted out")
	assert.Equal(t, bandwidth.ErrorLink, d.Link)
	for _, c := range bandwidth.Codes() {
		d := v.DescribeError(c)
		assert.NotEmpty(t, d.Description, c)
		assert.Equal(t, bandwidth.ErrorLink, d.Link, c)
	}
	assert.Contains(t, v.DescribeError("429").Description, "Retry-After")
	assert.Contains(t, v.DescribeError("4999").Description, "client error 4999")
	assert.Contains(t, v.DescribeError("5998").Description, "service failure 5998")
	assert.Equal(t, "Bandwidth error weird.", v.DescribeError("weird").Description)
	assert.Empty(t, v.DescribeError("weird").Link)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		code   string
		status int
		want   herald.ErrorClass
	}{
		{"4775", 0, herald.ClassOptedOut},
		{"4720", 0, herald.ClassInvalidAddress},
		{"4470", 0, herald.ClassPermanent},
		{"4999", 0, herald.ClassPermanent},
		{"5600", 0, herald.ClassTemporary},
		{"5998", 0, herald.ClassTemporary},
		{"9902", 0, herald.ClassMaybeDelivered},
		{"max-message-queue-size-exceeded", 429, herald.ClassRateLimited},
		{"request-validation", 429, herald.ClassRateLimited},
		{"request-validation", 400, herald.ClassPermanent},
		{"unauthorized", 401, herald.ClassAuth},
		{"forbidden", 403, herald.ClassAuth},
		{"503", 503, herald.ClassTemporary},
		{"404", 404, herald.ClassAuth},
		{"408", 0, herald.ClassMaybeDelivered},
		{"something", 418, herald.ClassPermanent},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, bandwidth.Classify(c.code, c.status), "%s/%d", c.code, c.status)
	}
}

func TestErrorsAreVendorErrors(t *testing.T) {
	api := newFakeAPI(t)
	v := api.vendor(t)
	_, err := v.Send(bg, smsRequest("http429"))
	var ve *herald.VendorError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, http.StatusTooManyRequests, ve.HTTPStatus)
	assert.Equal(t, 3*time.Second, herald.RetryAfterOf(err))
	assert.Equal(t, bandwidth.CodeQueueFull, herald.CodeOf(err))
}
