package fake

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldmsg/herald"
)

// lineOf looks a number up by its last digit: 2 landline, 3 nonexistent,
// 4 not found, anything else mobile.
func (v *Vendor) lineOf(number string) *herald.LookupResult {
	r := &herald.LookupResult{
		Number:     number,
		Carrier:    Carrier,
		Vendor:     v.name,
		LookedUpAt: v.clock.Now(),
	}
	switch number[len(number)-1] {
	case '2':
		r.LineType, r.StatusCode = "landline", herald.LookupLandline
	case '3':
		r.StatusCode, r.ErrorCode = herald.LookupNonexistent, "60600"
	case '4':
		r.StatusCode, r.ErrorCode = herald.LookupNotFound, CodeNotFound
	default:
		r.LineType, r.StatusCode = "mobile", herald.LookupTextable
	}
	return r
}

// LookupContact is the paid lookup. The number's last digit decides: 2
// landline (StatusCode -1, LineType "landline"), 3 nonexistent (-2,
// ErrorCode 60600), 4 not found (-4, ErrorCode 404), anything else mobile
// (1, LineType "mobile"); Carrier is always FakeCarrier. CallerName is set
// ("Foo " + the last four digits) only with WithCallerName. Every call is
// counted (see Lookups and LookupsFor), so a test can check that a number is
// never paid for twice.
func (v *Vendor) LookupContact(ctx context.Context, p herald.LookupParams) (*herald.LookupResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: lookup: %w", err)
	}
	if p.Number == "" {
		return nil, fmt.Errorf("fake: lookup of an empty number: %w", herald.ErrInvalidInput)
	}
	r := v.lineOf(p.Number)
	if p.WithCallerName {
		last := p.Number
		if len(last) > 4 {
			last = last[len(last)-4:]
		}
		r.CallerName = "Foo " + last
	}
	v.mu.Lock()
	v.lookups++
	v.lookupsBy[p.Number]++
	v.mu.Unlock()
	return r, nil
}

// FreeLookup classifies the number as LookupContact does, without a caller
// name and without counting as a paid lookup (see FreeLookups).
func (v *Vendor) FreeLookup(ctx context.Context, p herald.FreeLookupParams) (*herald.LookupResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: free lookup: %w", err)
	}
	if p.Number == "" {
		return nil, fmt.Errorf("fake: free lookup of an empty number: %w", herald.ErrInvalidInput)
	}
	r := v.lineOf(p.Number)
	v.mu.Lock()
	v.freeLookups++
	v.mu.Unlock()
	return r, nil
}

// Lookups returns how many paid lookups (LookupContact calls) were made.
func (v *Vendor) Lookups() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lookups
}

// LookupsFor returns how many paid lookups were made for number.
func (v *Vendor) LookupsFor(number string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lookupsBy[number]
}

// FreeLookups returns how many free lookups were made.
func (v *Vendor) FreeLookups() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.freeLookups
}

// CostData returns the fake's list price, whatever the sending number:
// 0.0075 USD per SMS segment and 0.02 per MMS, Source "fake list price".
func (v *Vendor) CostData(ctx context.Context, org *herald.Organization, from string) (*herald.CostData, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: cost data: %w", err)
	}
	return &herald.CostData{
		SMSSegment: SMSSegmentPrice,
		MMSMessage: MMSPrice,
		Currency:   "USD",
		Source:     "fake list price",
		CheckedAt:  v.clock.Now(),
	}, nil
}

// The fake's prices, in USD.
const (
	SMSSegmentPrice = 0.0075
	MMSPrice        = 0.02
)

// Keys of the fake's organization configuration.
const (
	ConfigAccount = "account"
	ConfigSecret  = "secret"
)

// OrgConfig returns the organization's configuration for this vendor (a
// copy, empty when there is none); with obscure set a non-empty secret is
// replaced by herald.ObscuredSecret.
func (v *Vendor) OrgConfig(ctx context.Context, org *herald.Organization, obscure bool) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: org config: %w", err)
	}
	if org == nil {
		return nil, fmt.Errorf("fake: org config without an organization: %w", herald.ErrInvalidInput)
	}
	return herald.CopyConfig(v.orgConfig(org), obscure, ConfigSecret), nil
}

// UpdateOrgConfig validates a change and returns the configuration to
// save, holding exactly "account" and "secret":
//
//   - keys other than account and secret are refused (ErrInvalidInput);
//   - an absent account keeps the old one; the result must have one
//     (ErrInvalidInput), and one containing "invalid" is refused by the
//     fake's API: a *herald.VendorError of class auth, code 20003;
//   - a secret of herald.ObscuredSecret, or an absent one, keeps the old
//     secret; an empty secret, or keeping one that does not exist, is
//     refused (ErrInvalidInput).
//
// The old configuration is p.Old, else the organization's. ManagerData is
// ignored.
func (v *Vendor) UpdateOrgConfig(ctx context.Context, p herald.UpdateOrgConfigParams) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: update org config: %w", err)
	}
	old := p.Old
	if old == nil {
		old = v.orgConfig(p.Organization)
	}
	for k := range p.New {
		if k != ConfigAccount && k != ConfigSecret {
			return nil, fmt.Errorf("fake: unknown configuration key %q: %w", k, herald.ErrInvalidInput)
		}
	}
	account, ok := p.New[ConfigAccount]
	if !ok {
		account = old[ConfigAccount]
	}
	if account == "" {
		return nil, fmt.Errorf("fake: account is required: %w", herald.ErrInvalidInput)
	}
	secret, ok := p.New[ConfigSecret]
	switch {
	case !ok || secret == herald.ObscuredSecret:
		secret = old[ConfigSecret]
		if secret == "" {
			return nil, fmt.Errorf("fake: no secret to keep: %w", herald.ErrInvalidInput)
		}
	case secret == "":
		return nil, fmt.Errorf("fake: secret must not be empty: %w", herald.ErrInvalidInput)
	}
	if strings.Contains(account, "invalid") {
		return nil, v.vendorError(CodeAuth, herald.ClassAuth, fmt.Errorf("fake: account refused: %w", herald.ErrConfig))
	}
	return map[string]string{ConfigAccount: account, ConfigSecret: secret}, nil
}

// FullyConfigured is true unless Options.RequireOrgConfig is set and the
// organization lacks an account or a secret.
func (v *Vendor) FullyConfigured(ctx context.Context, org *herald.Organization, managerData map[string]string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("fake: fully configured: %w", err)
	}
	if !v.requireCfg {
		return true, nil
	}
	cfg := v.orgConfig(org)
	return cfg[ConfigAccount] != "" && cfg[ConfigSecret] != "", nil
}
