package sendgrid

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldmsg/herald"
)

// configKeys are the keys UpdateOrgConfig accepts; ConfigAPIKey is the
// secret OrgConfig obscures.
var configKeys = []string{ConfigAPIKey, ConfigWebhookPublicKey, ConfigFrom}

// maxConfigValue is the longest configuration value accepted.
const maxConfigValue = 1024

// OrgConfig returns a copy of the organization's SendGrid configuration
// (empty when there is none); with obscure set, a non-empty api_key is
// herald.ObscuredSecret.
func (c *Client) OrgConfig(ctx context.Context, org *herald.Organization, obscure bool) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sendgrid: org config: %w", err)
	}
	if org == nil {
		return nil, fmt.Errorf("%w: sendgrid: org config without an organization", herald.ErrInvalidInput)
	}
	return herald.CopyConfig(org.VendorConfig[Name], obscure, ConfigAPIKey), nil
}

// UpdateOrgConfig validates a configuration change and returns what to
// save. Only the Config* keys are accepted; a key absent from p.New, or an
// api_key sent as herald.ObscuredSecret, keeps its old value; an empty
// value clears it. from must parse as an address and webhook_public_key as
// a base64 DER P-256 public key. The API key is not checked against
// SendGrid: a wrong one shows as a send failing with class auth.
func (c *Client) UpdateOrgConfig(ctx context.Context, p herald.UpdateOrgConfigParams) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sendgrid: update org config: %w", err)
	}
	old := p.Old
	if old == nil && p.Organization != nil {
		old = p.Organization.VendorConfig[Name]
	}
	for k, v := range p.New {
		known := false
		for _, ck := range configKeys {
			known = known || ck == k
		}
		if !known {
			return nil, fmt.Errorf("%w: sendgrid: unknown configuration key %q", herald.ErrInvalidInput, k)
		}
		if len(v) > maxConfigValue {
			return nil, fmt.Errorf("%w: sendgrid: %s is too long", herald.ErrInvalidInput, k)
		}
	}
	out := map[string]string{}
	for _, k := range configKeys {
		v, ok := p.New[k]
		if !ok || (k == ConfigAPIKey && v == herald.ObscuredSecret) {
			v = old[k]
		}
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	if f := out[ConfigFrom]; f != "" {
		if _, err := parseAddress(f); err != nil {
			return nil, fmt.Errorf("%w: sendgrid: from: %v", herald.ErrInvalidInput, err)
		}
	}
	if k := out[ConfigWebhookPublicKey]; k != "" {
		if _, err := c.publicKey(k); err != nil {
			return nil, fmt.Errorf("%w: sendgrid: webhook_public_key: %v", herald.ErrInvalidInput, err)
		}
	}
	return out, nil
}

// FullyConfigured reports whether the organization can send: an API key
// and a sender, its own or the Options'.
func (c *Client) FullyConfigured(ctx context.Context, org *herald.Organization, _ map[string]string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("sendgrid: fully configured: %w", err)
	}
	key := c.o.APIKey != "" || orgConfig(org, ConfigAPIKey) != ""
	from := c.from != nil || orgConfig(org, ConfigFrom) != ""
	return key && from, nil
}
