package sendgrid_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/sendgrid"
)

// e2e is a dispatcher on memstore with the SendGrid vendor against a fake
// API, its Webhooks() served over HTTP, and the organization "acme".
type e2e struct {
	api   *fakeAPI
	store *memstore.Store
	d     *dispatch.Dispatcher
	url   string // acme's SendGrid event webhook
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	api := newFakeAPI(t)
	store := memstore.New()
	v, err := sendgrid.New(api.options())
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}})
	require.NoError(t, err)
	hooks := httptest.NewServer(d.Webhooks())
	t.Cleanup(hooks.Close)
	_, err = store.PutOrganization(bg, &herald.Organization{ID: "acme"})
	require.NoError(t, err)
	return &e2e{api: api, store: store, d: d, url: hooks.URL + "/acme/sendgrid/events"}
}

// TestEndToEnd sends an email through the dispatcher to the fake SendGrid,
// then has the fake post signed Event Webhook batches to the dispatcher's
// Webhooks() over HTTP, and checks the store: delivered, opens and clicks
// as engagement events, a redelivered batch ignored, forgeries refused with
// 403, and an unsubscribe recorded as an email opt-out that blocks the
// next send.
func TestEndToEnd(t *testing.T) {
	e := newE2E(t)
	api, store, d, url := e.api, e.store, e.d, e.url
	_, err := store.PutContact(bg, &herald.Contact{ID: "c1", OrgID: "acme", FirstName: "Ada", Email: "ada@example.com"})
	require.NoError(t, err)

	res, err := d.Send(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelEmail,
		To: "ada@example.com", Subject: "Welcome", Body: "Hello Ada", HTML: "<p>Hello Ada</p>"})
	require.NoError(t, err)
	msg := res.Message
	assert.Equal(t, herald.StatusSent, msg.Status)
	sent := api.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, sent[0].ID, msg.VendorMessageID)
	assert.Equal(t, msg.ID, sent[0].Body.CustomArgs[sendgrid.ArgMessageID])
	assert.Equal(t, "Ada", sent[0].Body.Personalizations[0].To[0].Name)

	id := msg.VendorMessageID
	batch := []event{
		ev("processed", id, "ada@example.com", sendgrid.ArgMessageID, msg.ID),
		ev("delivered", id, "ada@example.com", sendgrid.ArgMessageID, msg.ID),
		ev("open", id, "ada@example.com", sendgrid.ArgMessageID, msg.ID),
		ev("click", id, "ada@example.com", sendgrid.ArgMessageID, msg.ID, "url", "https://acme.example/start"),
	}
	require.Equal(t, http.StatusOK, api.post(t, url, batch...))
	stored, err := store.GetMessage(bg, "acme", msg.ID)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusDelivered, stored.Status)
	engagement := func() []herald.Engagement {
		events, err := store.MessageEvents(bg, "acme", msg.ID)
		require.NoError(t, err)
		var out []herald.Engagement
		for _, e := range events {
			if e.Engagement != "" {
				out = append(out, e.Engagement)
			}
		}
		return out
	}
	assert.Equal(t, []herald.Engagement{herald.EngagementOpened, herald.EngagementClicked}, engagement())

	// At-least-once: the same batch again changes nothing.
	require.Equal(t, http.StatusOK, api.post(t, url, batch...))
	assert.Len(t, engagement(), 2, "a redelivered batch is deduplicated by sg_event_id")

	// Forged and stale posts are refused and record nothing.
	forged := body(t, ev("spamreport", id, "ada@example.com"))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(forged))
	require.NoError(t, err)
	req.Header = api.sign(t, api.key, time.Now().Unix(), body(t, ev("open", id, "ada@example.com")))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	req, err = http.NewRequest(http.MethodPost, url, bytes.NewReader(forged))
	require.NoError(t, err)
	req.Header = api.sign(t, api.key, time.Now().Add(-time.Hour).Unix(), forged)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a replayed old post")
	_, err = store.FindOptOut(bg, "acme", herald.ChannelEmail, "ada@example.com")
	assert.ErrorIs(t, err, herald.ErrNotFound)

	// An unsubscribe opts the address out of email.
	require.Equal(t, http.StatusOK, api.post(t, url, ev("unsubscribe", id, "ada@example.com")))
	o, err := store.FindOptOut(bg, "acme", herald.ChannelEmail, "ada@example.com")
	require.NoError(t, err)
	assert.Equal(t, "unsubscribe", o.Reason)
	_, err = d.Send(bg, &herald.Message{OrgID: "acme", ContactID: "c1", Channel: herald.ChannelEmail,
		To: "ada@example.com", Subject: "More news", Body: "Hello again"})
	assert.ErrorIs(t, err, herald.ErrBlocked)
	assert.Len(t, api.sent(), 1, "nothing more reached SendGrid")
}

// TestEndToEndBounce: a hard bounce fails the message with the SMTP code.
func TestEndToEndBounce(t *testing.T) {
	e := newE2E(t)
	api, store, d, url := e.api, e.store, e.d, e.url
	res, err := d.Send(bg, &herald.Message{OrgID: "acme", Channel: herald.ChannelEmail,
		To: "nobody@example.com", Subject: "Hi", Body: "Hi"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, api.post(t, url,
		ev("bounce", res.Message.VendorMessageID, "nobody@example.com", "type", "bounce", "status", "5.1.1")))
	m, err := store.GetMessage(bg, "acme", res.Message.ID)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusFailed, m.Status)
	assert.Equal(t, "5.1.1", m.ErrorCode)
}

// TestEndToEndOptOutEvents: a spam report and a group unsubscribe through
// Webhooks() opt their address out of email, as does an unsubscribe for
// mail herald has no record of (sent from elsewhere with the same account).
func TestEndToEndOptOutEvents(t *testing.T) {
	e := newE2E(t)
	api, store, d, url := e.api, e.store, e.d, e.url

	send := func(to string) string {
		res, err := d.Send(bg, &herald.Message{OrgID: "acme", Channel: herald.ChannelEmail, To: to, Subject: "Hi", Body: "Hi"})
		require.NoError(t, err)
		return res.Message.VendorMessageID
	}
	spam, group := send("spam@example.com"), send("group@example.com")
	require.Equal(t, http.StatusOK, api.post(t, url,
		ev("spamreport", spam, "spam@example.com"),
		ev("group_unsubscribe", group, "group@example.com", "asm_group_id", "42"),
		ev("unsubscribe", "elsewhere", "elsewhere@example.com")))
	for addr, reason := range map[string]string{
		"spam@example.com": "spamreport", "group@example.com": "group_unsubscribe", "elsewhere@example.com": "unsubscribe",
	} {
		o, err := store.FindOptOut(bg, "acme", herald.ChannelEmail, addr)
		require.NoError(t, err, addr)
		assert.Equal(t, reason, o.Reason, addr)
		_, err = d.Send(bg, &herald.Message{OrgID: "acme", Channel: herald.ChannelEmail, To: addr, Subject: "Again", Body: "Hi"})
		assert.ErrorIs(t, err, herald.ErrBlocked, addr)
	}
	assert.Len(t, api.sent(), 2, "nothing more reached SendGrid")
}
