package sendgrid_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/sendgrid"
)

func TestOrgConfig(t *testing.T) {
	f := newFakeAPI(t)
	c := newClient(t, f, func(o *sendgrid.Options) { o.APIKey, o.From = "", "" })
	org := &herald.Organization{ID: "acme"}

	ok, err := c.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.False(t, ok, "no key and no sender anywhere")

	saved, err := c.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: map[string]string{
		sendgrid.ConfigAPIKey: testAPIKey, sendgrid.ConfigFrom: "Acme <news@acme.example>", sendgrid.ConfigWebhookPublicKey: f.pubB64,
	}})
	require.NoError(t, err)
	org.VendorConfig = map[string]map[string]string{"sendgrid": saved}
	ok, err = c.FullyConfigured(bg, org, nil)
	require.NoError(t, err)
	assert.True(t, ok)

	shown, err := c.OrgConfig(bg, org, true)
	require.NoError(t, err)
	assert.Equal(t, herald.ObscuredSecret, shown[sendgrid.ConfigAPIKey])
	assert.Equal(t, "Acme <news@acme.example>", shown[sendgrid.ConfigFrom])
	plain, err := c.OrgConfig(bg, org, false)
	require.NoError(t, err)
	assert.Equal(t, testAPIKey, plain[sendgrid.ConfigAPIKey])

	// The obscured secret sent back means unchanged; an empty from clears it.
	again, err := c.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, Old: saved, New: shown})
	require.NoError(t, err)
	assert.Equal(t, saved, again)
	cleared, err := c.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, Old: saved, New: map[string]string{sendgrid.ConfigFrom: ""}})
	require.NoError(t, err)
	assert.NotContains(t, cleared, sendgrid.ConfigFrom)
	assert.Equal(t, testAPIKey, cleared[sendgrid.ConfigAPIKey])

	// The organization's configuration sends.
	_, err = c.Send(bg, &herald.SendRequest{Organization: org, Message: &herald.Message{
		ID: "m1", Channel: herald.ChannelEmail, To: "ada@example.com", Subject: "Hi", Body: "Hi"}})
	require.NoError(t, err)
	assert.Equal(t, "news@acme.example", f.sent()[0].Body.From.Email)

	for name, bad := range map[string]map[string]string{
		"unknown key": {"region": "eu"},
		"bad from":    {sendgrid.ConfigFrom: "nope"},
		"bad key":     {sendgrid.ConfigWebhookPublicKey: "AAAA"},
	} {
		_, err := c.UpdateOrgConfig(bg, herald.UpdateOrgConfigParams{Organization: org, New: bad})
		assert.ErrorIs(t, err, herald.ErrInvalidInput, name)
	}
}
