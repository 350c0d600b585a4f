package sendgrid_test

import (
	"context"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/sendgrid"
)

var bg = context.Background()

func newClient(t testing.TB, f *fakeAPI, mutate ...func(*sendgrid.Options)) *sendgrid.Client {
	o := f.options()
	for _, m := range mutate {
		m(&o)
	}
	c, err := sendgrid.New(o)
	require.NoError(t, err)
	return c
}

func emailRequest(to string) *herald.SendRequest {
	return &herald.SendRequest{
		Message: &herald.Message{
			ID: "msg-1", OrgID: "acme", Channel: herald.ChannelEmail, To: to,
			Subject: "Your receipt", Body: "Thanks!", HTML: "<p>Thanks!</p>",
		},
		Organization: &herald.Organization{ID: "acme"},
		Route:        &herald.Route{},
	}
}

func TestSendBuildsTheMail(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f, func(o *sendgrid.Options) { o.Categories = []string{"herald", "receipts"} })
	req := emailRequest("ada@example.com")
	req.Message.CampaignID = "spring"
	req.Message.Meta = map[string]string{sendgrid.MetaReplyTo: "Support <help@acme.example>", sendgrid.MetaCategories: "receipts, billing"}
	req.Message.Media = []string{f.srv.URL + "/files/report.pdf"}
	req.Contact = &herald.Contact{ID: "c1", FirstName: "Ada", LastName: "Lovelace"}
	before := req.Message.Clone()

	res, err := c.Send(bg, req)
	require.NoError(t, err)
	assert.Equal(t, before, req.Message)
	sent := f.sent()
	require.Len(t, sent, 1)
	m := sent[0]
	assert.Equal(t, m.ID, res.VendorMessageID, "X-Message-Id is the vendor message ID")
	assert.Equal(t, herald.StatusSent, res.Status)
	assert.Equal(t, "news@acme.example", res.From)

	assert.Equal(t, "Bearer "+testAPIKey, m.Header.Get("Authorization"))
	assert.Equal(t, &address{Email: "news@acme.example", Name: "Acme"}, m.Body.From)
	assert.Equal(t, []address{{Email: "ada@example.com", Name: "Ada Lovelace"}}, m.Body.Personalizations[0].To)
	assert.Equal(t, "Your receipt", m.Body.Subject)
	require.Len(t, m.Body.Content, 2)
	assert.Equal(t, "text/plain", m.Body.Content[0].Type)
	assert.Equal(t, "Thanks!", m.Body.Content[0].Value)
	assert.Equal(t, "text/html", m.Body.Content[1].Type)
	assert.Equal(t, "<p>Thanks!</p>", m.Body.Content[1].Value)
	assert.Equal(t, []string{"herald", "receipts", "billing"}, m.Body.Categories)
	assert.Equal(t, map[string]string{sendgrid.ArgMessageID: "msg-1", sendgrid.ArgOrgID: "acme", sendgrid.ArgCampaignID: "spring"}, m.Body.CustomArgs)
	assert.Equal(t, &address{Email: "help@acme.example", Name: "Support"}, m.Body.ReplyTo)
	require.Len(t, m.Body.Attachments, 1)
	a := m.Body.Attachments[0]
	assert.Equal(t, "report.pdf", a.Filename)
	assert.Equal(t, "application/pdf", a.Type)
	assert.Equal(t, "attachment", a.Disposition)
	content, err := base64.StdEncoding.DecodeString(a.Content)
	require.NoError(t, err)
	assert.Equal(t, "%PDF-1.4 fake report", string(content))
	assert.Nil(t, m.Body.MailSettings)
}

func TestSendFromPrecedenceAndTextOnly(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f, func(o *sendgrid.Options) { o.SandboxMode = true })
	req := emailRequest("bob@example.com")
	req.Message.HTML = ""
	req.Organization.VendorConfig = map[string]map[string]string{"sendgrid": {sendgrid.ConfigFrom: "org@acme.example"}}
	_, err := c.Send(bg, req)
	require.NoError(t, err)
	req.Message.From = "msg@acme.example"
	_, err = c.Send(bg, req)
	require.NoError(t, err)
	req.Route.From = "route@acme.example"
	_, err = c.Send(bg, req)
	require.NoError(t, err)
	sent := f.sent()
	require.Len(t, sent, 3)
	assert.Equal(t, "org@acme.example", sent[0].Body.From.Email)
	assert.Equal(t, "msg@acme.example", sent[1].Body.From.Email)
	assert.Equal(t, "route@acme.example", sent[2].Body.From.Email)
	assert.Len(t, sent[0].Body.Content, 1)
	require.NotNil(t, sent[0].Body.MailSettings)
	assert.True(t, sent[0].Body.MailSettings.SandboxMode.Enable)
}

func TestSendCredentials(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f, func(o *sendgrid.Options) { o.APIKey = "" })
	_, err := c.Send(bg, emailRequest("ada@example.com"))
	assert.ErrorIs(t, err, herald.ClassAuth)
	assert.Equal(t, sendgrid.CodeNoAPIKey, herald.CodeOf(err))

	req := emailRequest("ada@example.com")
	req.Organization.VendorConfig = map[string]map[string]string{"sendgrid": {sendgrid.ConfigAPIKey: testAPIKey}}
	_, err = c.Send(bg, req)
	require.NoError(t, err, "the organization's key")

	req.Route.Credentials = map[string]string{sendgrid.ConfigAPIKey: "SG.wrong"}
	_, err = c.Send(bg, req)
	assert.ErrorIs(t, err, herald.ClassAuth, "the route's key wins, and SendGrid refuses it")
	assert.Equal(t, "401", herald.CodeOf(err))
}

func TestSendAnswers(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	cases := []struct {
		to, from string
		class    herald.ErrorClass
		code     string
		retry    time.Duration
	}{
		{to: "invalid@example.com", class: herald.ClassInvalidAddress, code: "400"},
		{to: "ada@example.com", from: "unverified@acme.example", class: herald.ClassAuth, code: "403"},
		{to: "429@example.com", class: herald.ClassRateLimited, code: "429", retry: 40 * time.Second},
		{to: "retry@example.com", class: herald.ClassRateLimited, code: "429", retry: 7 * time.Second},
		{to: "500@example.com", class: herald.ClassTemporary, code: "500"},
		{to: "503@example.com", class: herald.ClassTemporary, code: "503"},
	}
	for _, tc := range cases {
		t.Run(tc.to+tc.from, func(t *testing.T) {
			req := emailRequest(tc.to)
			req.Message.From = tc.from
			_, err := c.Send(bg, req)
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, sendgrid.Name, ve.Vendor)
			assert.Equal(t, tc.class, ve.Class)
			assert.Equal(t, tc.code, ve.Code)
			if tc.retry > 0 {
				assert.InDelta(t, tc.retry.Seconds(), ve.RetryAfter.Seconds(), 2)
			}
		})
	}
	t.Run("message names the field", func(t *testing.T) {
		_, err := c.Send(bg, emailRequest("invalid@example.com"))
		assert.ErrorContains(t, err, "personalizations.0.to.0.email: Does not contain a valid address.")
	})
}

func TestSendRefusesBeforeCalling(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f, func(o *sendgrid.Options) { o.MaxAttachmentBytes = 1 << 20 })
	cases := map[string]struct {
		mutate func(*herald.SendRequest)
		class  herald.ErrorClass
		code   string
	}{
		"bad recipient":       {func(r *herald.SendRequest) { r.Message.To = "not an address" }, herald.ClassInvalidAddress, sendgrid.CodeInvalidRequest},
		"bad reply-to":        {func(r *herald.SendRequest) { r.Message.Meta = map[string]string{sendgrid.MetaReplyTo: "nope"} }, herald.ClassPermanent, sendgrid.CodeInvalidRequest},
		"no body":             {func(r *herald.SendRequest) { r.Message.Body, r.Message.HTML = "", "" }, herald.ClassPermanent, sendgrid.CodeInvalidRequest},
		"missing attachment":  {func(r *herald.SendRequest) { r.Message.Media = []string{f.srv.URL + "/files/missing"} }, herald.ClassPermanent, sendgrid.CodeAttachment},
		"too big attachment":  {func(r *herald.SendRequest) { r.Message.Media = []string{f.srv.URL + "/files/huge.bin"} }, herald.ClassPermanent, sendgrid.CodeAttachment},
		"non-http attachment": {func(r *herald.SendRequest) { r.Message.Media = []string{"file:///etc/passwd"} }, herald.ClassPermanent, sendgrid.CodeAttachment},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := emailRequest("ada@example.com")
			tc.mutate(req)
			_, err := c.Send(bg, req)
			assert.ErrorIs(t, err, tc.class)
			assert.Equal(t, tc.code, herald.CodeOf(err))
		})
	}
	t.Run("no sender", func(t *testing.T) {
		c := newClient(t, f, func(o *sendgrid.Options) { o.From = "" })
		_, err := c.Send(bg, emailRequest("ada@example.com"))
		assert.Equal(t, sendgrid.CodeNoSender, herald.CodeOf(err))
	})
	assert.Empty(t, f.sent())
}

func TestSendTimeouts(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Send(ctx, emailRequest("stall@example.com"))
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, herald.ClassMaybeDelivered, "the mail may have been accepted: never resent blindly")

	f.srv.Close()
	_, err = c.Send(bg, emailRequest("ada@example.com"))
	assert.ErrorIs(t, err, herald.ClassTemporary, "nothing left: safe to retry")
}

// TestConcurrentSends is the race the shared sendgrid-go client has:
// many sends on one Client, each with its own request.
func TestConcurrentSends(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			req := emailRequest("ada@example.com")
			req.Message.ID = "m" + string(rune('A'+i))
			_, err := c.Send(bg, req)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	sent := f.sent()
	require.Len(t, sent, 32)
	ids := map[string]bool{}
	for _, m := range sent {
		ids[m.Body.CustomArgs[sendgrid.ArgMessageID]] = true
	}
	assert.Len(t, ids, 32, "each mail carries its own message ID")
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]sendgrid.Options{
		"bad base URL": {BaseURL: "ftp://x"},
		"bad from":     {From: "nope"},
		"bad key":      {WebhookPublicKey: "not base64!"},
	} {
		_, err := sendgrid.New(o)
		assert.ErrorIs(t, err, herald.ErrConfig, name)
	}
}

func TestDescribeError(t *testing.T) {
	c, err := sendgrid.New(sendgrid.Options{})
	require.NoError(t, err)
	assert.Contains(t, c.DescribeError("429").Description, "rate limit")
	assert.Contains(t, c.DescribeError("5.1.1").Description, "Permanent SMTP failure 5.1.1")
	assert.Equal(t, "SendGrid error x", c.DescribeError("x").Description)
}
