package bandwidth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/heraldmsg/herald"
)

// configKeys are the keys UpdateOrgConfig accepts; secretKeys are obscured.
var (
	configKeys = []string{ConfigAccountID, ConfigClientID, ConfigClientSecret, ConfigUsername, ConfigPassword,
		ConfigApplicationID, ConfigFromNumber, ConfigSiteID, ConfigPeerID, ConfigCallbackUsername, ConfigCallbackPassword}
	secretKeys = []string{ConfigClientSecret, ConfigPassword, ConfigCallbackPassword}
)

// maxConfigValue is the longest configuration value accepted.
const maxConfigValue = 256

// OrgConfig returns a copy of the organization's configuration (empty when
// there is none); with obscure set, non-empty client_secret, password and
// callback_password are herald.ObscuredSecret.
func (v *Vendor) OrgConfig(ctx context.Context, org *herald.Organization, obscure bool) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bandwidth: org config: %w", err)
	}
	if org == nil {
		return nil, fmt.Errorf("bandwidth: org config without an organization: %w", herald.ErrInvalidInput)
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
//   - account_id (digits) is required, with client_id and client_secret
//     (OAuth2) or username and password (a legacy API user), each pair
//     complete;
//   - application_id is required; from_number, when set, is E.164;
//     callback_username and callback_password go together;
//   - the credentials are checked against Bandwidth (fetching the account
//     from the Numbers API, after an OAuth2 token when the client is
//     OAuth2): refused ones are a *herald.VendorError of class auth.
//
// Unlike Spoke it provisions nothing (sites, locations, applications):
// those are made once in Bandwidth's dashboard and named here.
func (v *Vendor) UpdateOrgConfig(ctx context.Context, p herald.UpdateOrgConfigParams) (map[string]string, error) {
	old := p.Old
	if old == nil {
		old = v.orgConfig(p.Organization)
	}
	for k, val := range p.New {
		if !slices.Contains(configKeys, k) {
			return nil, fmt.Errorf("bandwidth: unknown configuration key %q: %w", k, herald.ErrInvalidInput)
		}
		if len(val) > maxConfigValue {
			return nil, fmt.Errorf("bandwidth: %s is too long: %w", k, herald.ErrInvalidInput)
		}
	}
	out := map[string]string{}
	for _, k := range configKeys {
		val, ok := p.New[k]
		if !ok || (val == herald.ObscuredSecret && slices.Contains(secretKeys, k)) {
			val = old[k]
		}
		if val = strings.TrimSpace(val); val != "" {
			out[k] = val
		}
	}
	c := credsFrom(out)
	pair := func(a, b string) bool { return (out[a] == "") == (out[b] == "") }
	switch {
	case !digits(c.AccountID):
		return nil, fmt.Errorf("bandwidth: account_id must be the numeric account ID: %w", herald.ErrInvalidInput)
	case !pair(ConfigClientID, ConfigClientSecret):
		return nil, fmt.Errorf("bandwidth: client_id and client_secret go together: %w", herald.ErrInvalidInput)
	case !pair(ConfigUsername, ConfigPassword):
		return nil, fmt.Errorf("bandwidth: username and password go together: %w", herald.ErrInvalidInput)
	case !c.usable():
		return nil, fmt.Errorf("bandwidth: client_id and client_secret, or username and password, required: %w", herald.ErrInvalidInput)
	case c.ApplicationID == "":
		return nil, fmt.Errorf("bandwidth: application_id is required: %w", herald.ErrInvalidInput)
	case c.FromNumber != "" && (!strings.HasPrefix(c.FromNumber, "+") || !digits(c.FromNumber[1:])):
		return nil, fmt.Errorf("bandwidth: from_number must be E.164: %w", herald.ErrInvalidInput)
	case !pair(ConfigCallbackUsername, ConfigCallbackPassword):
		return nil, fmt.Errorf("bandwidth: callback_username and callback_password go together: %w", herald.ErrInvalidInput)
	}
	if _, err := v.do(ctx, call{api: apiDashboard, method: http.MethodGet, url: v.accountURL(c, ""), creds: c}); err != nil {
		return nil, fmt.Errorf("bandwidth: checking credentials: %w", err)
	}
	return out, nil
}

// FullyConfigured reports whether the organization can send: usable
// credentials (its own or the defaults) and a messaging application. The
// From number comes from the managers (numpicker, stickysender) or
// from_number; Send refuses a message with neither.
func (v *Vendor) FullyConfigured(ctx context.Context, org *herald.Organization, managerData map[string]string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("bandwidth: fully configured: %w", err)
	}
	c := v.credentials(org, nil)
	return c.usable() && c.ApplicationID != "", nil
}

// CostData reports the configured prices (by default Bandwidth's US list
// prices: 0.004 per SMS segment, 0.015 per MMS). Bandwidth has no price
// API, so the source is "list price" and from does not matter.
func (v *Vendor) CostData(ctx context.Context, org *herald.Organization, from string) (*herald.CostData, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bandwidth: cost data: %w", err)
	}
	return &herald.CostData{SMSSegment: v.smsPrice, MMSMessage: v.mmsPrice, Currency: v.currency,
		Source: "list price", CheckedAt: v.clock.Now()}, nil
}
