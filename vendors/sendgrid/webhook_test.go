package sendgrid_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/sendgrid"
)

func hookRequest(org *herald.Organization, hdr http.Header, b []byte) *herald.WebhookRequest {
	return &herald.WebhookRequest{Organization: org, Method: http.MethodPost, Path: "/events", Header: hdr, Body: b}
}

func TestWebhookEventBatch(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	const id = "abcDEF123_x"
	b := body(t,
		ev("processed", id, "ada@example.com"),
		ev("deferred", id, "ada@example.com", "response", "400 try again later", "attempt", "1"),
		ev("delivered", id, "ada@example.com", "response", "250 OK"),
		ev("open", id, "ada@example.com", "useragent", "Mozilla/5.0", "sg_machine_open", false),
		ev("click", id, "ada@example.com", "url", "https://acme.example/offer"),
		ev("bounce", id, "ada@example.com", "type", "bounce", "status", "5.1.1", "reason", "550 5.1.1 unknown user"),
		ev("dropped", id, "ada@example.com", "reason", "Unsubscribed Address"),
		ev("dropped", id, "ada@example.com", "reason", "Bounced Address", "x", 1),
		ev("unsubscribe", id, "ada@example.com"),
		ev("group_unsubscribe", id, "ada@example.com", "asm_group_id", 42),
		ev("spamreport", id, "ada@example.com"),
		ev("group_resubscribe", id, "ada@example.com"),
		ev("brand_new_kind", id, "ada@example.com"),
		event{"event": "delivered", "email": "x@example.com", "timestamp": 1}, // no sg_message_id
	)
	org := &herald.Organization{ID: "acme"}
	res, err := c.ParseWebhook(bg, hookRequest(org, f.sign(t, f.key, time.Now().Unix(), b), b))
	require.NoError(t, err)
	type row struct {
		Status     herald.Status
		Engagement herald.Engagement
		Code       string
		OptedOut   bool
	}
	var got []row
	for _, r := range res.Reports {
		assert.Equal(t, "acme", r.OrgID)
		assert.Equal(t, sendgrid.Name, r.Vendor)
		assert.Equal(t, id, r.VendorMessageID, "the X-Message-Id part of sg_message_id")
		assert.Equal(t, "ada@example.com", r.To)
		assert.NotEmpty(t, r.EventID)
		assert.False(t, r.At.IsZero())
		got = append(got, row{r.Status, r.Engagement, r.ErrorCode, r.OptedOut})
	}
	assert.Equal(t, []row{
		{herald.StatusSent, "", "", false},
		{herald.StatusSent, "", "deferred", false},
		{herald.StatusDelivered, "", "", false},
		{"", herald.EngagementOpened, "", false},
		{"", herald.EngagementClicked, "", false},
		{herald.StatusFailed, "", "5.1.1", false},
		{herald.StatusFailed, "", "dropped", true},
		{herald.StatusFailed, "", "dropped", false},
		{herald.StatusDelivered, "", "unsubscribe", true},
		{herald.StatusDelivered, "", "group_unsubscribe", true},
		{herald.StatusDelivered, "", "spamreport", true},
	}, got)
	assert.Equal(t, "https://acme.example/offer", res.Reports[4].Raw["url"])
	assert.Equal(t, "herald", res.Reports[0].Raw["category"])
	assert.Zero(t, res.StatusCode, "answered 200")

	ids := map[string]bool{}
	for _, r := range res.Reports {
		ids[r.EventID] = true
	}
	assert.Len(t, ids, len(res.Reports), "each event has its own sg_event_id")
	again, err := c.ParseWebhook(bg, hookRequest(org, f.sign(t, f.key, time.Now().Unix(), b), b))
	require.NoError(t, err)
	for i := range res.Reports {
		assert.Equal(t, res.Reports[i].EventID, again.Reports[i].EventID, "a redelivery has the same EventIDs")
	}
}

func TestWebhookRefusesForgeries(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	org := &herald.Organization{ID: "acme"}
	b := body(t, ev("delivered", "abc", "ada@example.com"))
	now := time.Now().Unix()
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	tampered := append([]byte(nil), b...)
	tampered[len(tampered)-5] = 'X'
	cases := map[string]*herald.WebhookRequest{
		"unsigned":         hookRequest(org, http.Header{"Content-Type": {"application/json"}}, b),
		"tampered body":    hookRequest(org, f.sign(t, f.key, now, b), tampered),
		"another key":      hookRequest(org, f.sign(t, other, now, b), b),
		"stale timestamp":  hookRequest(org, f.sign(t, f.key, now-600, b), b),
		"future timestamp": hookRequest(org, f.sign(t, f.key, now+600, b), b),
		"timestamp swapped": func() *herald.WebhookRequest {
			h := f.sign(t, f.key, now, b)
			h.Set(sendgrid.TimestampHeader, "1")
			return hookRequest(org, h, b)
		}(),
		"garbage signature": func() *herald.WebhookRequest {
			h := f.sign(t, f.key, now, b)
			h.Set(sendgrid.SignatureHeader, "!!")
			return hookRequest(org, h, b)
		}(),
		"empty signature": func() *herald.WebhookRequest {
			h := f.sign(t, f.key, now, b)
			h.Set(sendgrid.SignatureHeader, "MAA=")
			return hookRequest(org, h, b)
		}(),
	}
	for name, req := range cases {
		res, err := c.ParseWebhook(bg, req)
		assert.ErrorIs(t, err, herald.ErrUnauthorized, name)
		assert.Nil(t, res, name)
	}

	// No key anywhere: nothing can be verified.
	bare, err := sendgrid.New(sendgrid.Options{APIKey: testAPIKey})
	require.NoError(t, err)
	_, err = bare.ParseWebhook(bg, hookRequest(org, f.sign(t, f.key, now, b), b))
	assert.ErrorIs(t, err, herald.ErrUnauthorized)
}

func TestWebhookBadKeyNeverPanics(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	require.NoError(t, err)
	rsaKey := base64.StdEncoding.EncodeToString(der)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	der384, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	require.NoError(t, err)

	_, err = sendgrid.New(sendgrid.Options{WebhookPublicKey: rsaKey})
	assert.ErrorIs(t, err, herald.ErrConfig, "an RSA key is refused at construction")

	f := newFakeAPI(t)
	c := newClient(t, f)
	b := body(t, ev("delivered", "abc", "ada@example.com"))
	for name, key := range map[string]string{
		"rsa": rsaKey, "p384": base64.StdEncoding.EncodeToString(der384), "garbage": "AAAA", "not base64": "%%%",
	} {
		org := &herald.Organization{ID: "acme", VendorConfig: map[string]map[string]string{"sendgrid": {sendgrid.ConfigWebhookPublicKey: key}}}
		require.NotPanics(t, func() {
			_, err = c.ParseWebhook(bg, hookRequest(org, f.sign(t, f.key, time.Now().Unix(), b), b))
		}, name)
		assert.ErrorIs(t, err, herald.ErrUnauthorized, name)
	}
}

func TestWebhookPerOrganizationKey(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	orgKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&orgKey.PublicKey)
	require.NoError(t, err)
	org := &herald.Organization{ID: "beta", VendorConfig: map[string]map[string]string{
		"sendgrid": {sendgrid.ConfigWebhookPublicKey: base64.StdEncoding.EncodeToString(der)}}}
	b := body(t, ev("open", "abc", "ada@example.com"))
	now := time.Now().Unix()
	_, err = c.ParseWebhook(bg, hookRequest(org, f.sign(t, orgKey, now, b), b))
	require.NoError(t, err, "signed with the organization's key")
	_, err = c.ParseWebhook(bg, hookRequest(org, f.sign(t, f.key, now, b), b))
	assert.ErrorIs(t, err, herald.ErrUnauthorized, "the process-wide key does not verify another organization's events")
}

func TestWebhookMalformed(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f)
	org := &herald.Organization{ID: "acme"}
	for _, b := range []string{"", "{}", `{"event":"open"}`, "[", `[1,2]`, "not json"} {
		res, err := c.ParseWebhook(bg, hookRequest(org, f.sign(t, f.key, time.Now().Unix(), []byte(b)), []byte(b)))
		assert.ErrorIs(t, err, herald.ErrInvalidInput, b)
		assert.NotErrorIs(t, err, herald.ErrUnauthorized, b)
		assert.Nil(t, res)
	}
}

// TestWebhookOfficialVector verifies SendGrid's published test vector
// (testdata/sendgrid-vector.*): a body signed by SendGrid's tooling, not ours.
func TestWebhookOfficialVector(t *testing.T) {
	var v struct {
		PublicKey, Signature, Timestamp, Body string
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "sendgrid-vector.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &v))
	b, err := os.ReadFile(filepath.Join("testdata", v.Body))
	require.NoError(t, err)
	c, err := sendgrid.New(sendgrid.Options{WebhookPublicKey: v.PublicKey, Now: func() time.Time { return time.Unix(1600112502, 0) }})
	require.NoError(t, err)
	hdr := http.Header{}
	hdr.Set(sendgrid.SignatureHeader, v.Signature)
	hdr.Set(sendgrid.TimestampHeader, v.Timestamp)
	res, err := c.ParseWebhook(bg, hookRequest(&herald.Organization{ID: "acme"}, hdr, b))
	require.NoError(t, err)
	require.Len(t, res.Reports, 1)
	r := res.Reports[0]
	assert.Equal(t, "LRzXl_NHStOGhQ4kofSm_A", r.VendorMessageID)
	assert.Equal(t, "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA", r.EventID)
	assert.Equal(t, herald.StatusFailed, r.Status)
	assert.Equal(t, "dropped", r.ErrorCode)
	assert.False(t, r.OptedOut, "a bounced address is not an opt-out")
	assert.Equal(t, time.Unix(1600112492, 0).UTC(), r.At)

	// The same vector an hour later is stale.
	late, err := sendgrid.New(sendgrid.Options{WebhookPublicKey: v.PublicKey, Now: func() time.Time { return time.Unix(1600112502+3600, 0) }})
	require.NoError(t, err)
	_, err = late.ParseWebhook(bg, hookRequest(&herald.Organization{ID: "acme"}, hdr, b))
	assert.ErrorIs(t, err, herald.ErrUnauthorized)
	// Re-encoded JSON (without the trailing \r\n) does not verify: the raw bytes are signed.
	_, err = c.ParseWebhook(bg, hookRequest(&herald.Organization{ID: "acme"}, hdr, b[:len(b)-2]))
	assert.ErrorIs(t, err, herald.ErrUnauthorized)
}
