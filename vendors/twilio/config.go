package twilio

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/heraldmsg/herald"
)

// configKeys are the keys UpdateOrgConfig accepts; secretKeys are obscured.
var (
	configKeys = []string{ConfigAccountSID, ConfigAuthToken, ConfigAPIKeySID, ConfigAPIKeySecret, ConfigMessagingServiceSID}
	secretKeys = []string{ConfigAuthToken, ConfigAPIKeySecret}
)

// maxConfigValue is the longest configuration value accepted.
const maxConfigValue = 256

// OrgConfig returns a copy of the organization's configuration (empty when
// there is none); with obscure set, non-empty auth_token and
// api_key_secret are herald.ObscuredSecret.
func (v *Vendor) OrgConfig(ctx context.Context, org *herald.Organization, obscure bool) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("twilio: org config: %w", err)
	}
	if org == nil {
		return nil, fmt.Errorf("twilio: org config without an organization: %w", herald.ErrInvalidInput)
	}
	return herald.CopyConfig(v.orgConfig(org), obscure, secretKeys...), nil
}

// UpdateOrgConfig validates a configuration change and returns what to
// save:
//
//   - only the Config* keys are accepted, each at most 256 characters;
//   - a key absent from p.New, or a secret sent as herald.ObscuredSecret,
//     keeps its old value (p.Old, else the organization's); an empty value
//     clears it;
//   - account_sid ("AC…") is required, with auth_token or both
//     api_key_sid ("SK…") and api_key_secret;
//   - messaging_service_sid ("MG…") is required unless p.ManagerData sets
//     ManagerDataSkipMessagingService to "true";
//   - the credentials are checked against Twilio (fetching the account):
//     refused ones are a *herald.VendorError of class auth.
func (v *Vendor) UpdateOrgConfig(ctx context.Context, p herald.UpdateOrgConfigParams) (map[string]string, error) {
	old := p.Old
	if old == nil {
		old = v.orgConfig(p.Organization)
	}
	out := map[string]string{}
	for k, val := range p.New {
		known := false
		for _, c := range configKeys {
			known = known || c == k
		}
		if !known {
			return nil, fmt.Errorf("twilio: unknown configuration key %q: %w", k, herald.ErrInvalidInput)
		}
		if len(val) > maxConfigValue {
			return nil, fmt.Errorf("twilio: %s is too long: %w", k, herald.ErrInvalidInput)
		}
	}
	for _, k := range configKeys {
		val, ok := p.New[k]
		if !ok || val == herald.ObscuredSecret {
			val = old[k]
		}
		val = strings.TrimSpace(val)
		if val != "" {
			out[k] = val
		}
	}
	c := credsFrom(out)
	switch {
	case !strings.HasPrefix(c.AccountSID, "AC"):
		return nil, fmt.Errorf("twilio: account_sid must be an AC… SID: %w", herald.ErrInvalidInput)
	case c.AuthToken == "" && (c.APIKeySID == "" || c.APIKeySecret == ""):
		return nil, fmt.Errorf("twilio: auth_token, or api_key_sid and api_key_secret, required: %w", herald.ErrInvalidInput)
	case (c.APIKeySID == "") != (c.APIKeySecret == ""):
		return nil, fmt.Errorf("twilio: api_key_sid and api_key_secret go together: %w", herald.ErrInvalidInput)
	case c.APIKeySID != "" && !strings.HasPrefix(c.APIKeySID, "SK"):
		return nil, fmt.Errorf("twilio: api_key_sid must be an SK… SID: %w", herald.ErrInvalidInput)
	case c.MessagingServiceSID != "" && !strings.HasPrefix(c.MessagingServiceSID, "MG"):
		return nil, fmt.Errorf("twilio: messaging_service_sid must be an MG… SID: %w", herald.ErrInvalidInput)
	case c.MessagingServiceSID == "" && p.ManagerData[ManagerDataSkipMessagingService] != "true":
		return nil, fmt.Errorf("twilio: messaging_service_sid is required: %w", herald.ErrInvalidInput)
	}
	if err := v.checkCredentials(ctx, c); err != nil {
		return nil, err
	}
	return out, nil
}

// checkCredentials fetches the account with c (and, when both are set,
// with the auth token too: webhooks are verified with it).
func (v *Vendor) checkCredentials(ctx context.Context, c Credentials) error {
	if _, err := v.do(ctx, call{method: http.MethodGet, url: v.accountURL(c, ".json"), creds: c}); err != nil {
		return fmt.Errorf("twilio: checking credentials: %w", err)
	}
	if c.AuthToken != "" && c.APIKeySID != "" {
		tok := Credentials{AccountSID: c.AccountSID, AuthToken: c.AuthToken}
		if _, err := v.do(ctx, call{method: http.MethodGet, url: v.accountURL(tok, ".json"), creds: tok}); err != nil {
			return fmt.Errorf("twilio: checking the auth token: %w", err)
		}
	}
	return nil
}

// FullyConfigured reports whether the organization can send: usable
// credentials (its own or the defaults) and a messaging service SID,
// unless managerData sets ManagerDataSkipMessagingService to "true".
func (v *Vendor) FullyConfigured(ctx context.Context, org *herald.Organization, managerData map[string]string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("twilio: fully configured: %w", err)
	}
	c := v.credentials(org, nil)
	if !c.usable() {
		return false, nil
	}
	return c.MessagingServiceSID != "" || managerData[ManagerDataSkipMessagingService] == "true", nil
}
