package fcm

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/heraldmsg/herald"
)

// Scope is the OAuth 2.0 scope of FCM's v1 API.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// Keys of the organization configuration (Organization.VendorConfig[name])
// and of Route.Credentials.
const (
	// ConfigServiceAccountJSON is the service account key file (secret).
	ConfigServiceAccountJSON = "service_account_json"
	// ConfigProjectID overrides the key file's project_id.
	ConfigProjectID = "project_id"
)

var configKeys = []string{ConfigServiceAccountJSON, ConfigProjectID}

// maxConfigValue is the longest configuration value accepted.
const maxConfigValue = 64 << 10

// serviceAccount is the part of a key file the vendor reads itself.
type serviceAccount struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
}

// parseServiceAccount checks a key file and returns its fields.
func parseServiceAccount(data []byte) (serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal(data, &sa); err != nil {
		return sa, fmt.Errorf("fcm: service account key is not JSON: %w", herald.ErrInvalidInput)
	}
	if sa.Type != "service_account" {
		return sa, fmt.Errorf("fcm: key file type is %q, want \"service_account\": %w", sa.Type, herald.ErrInvalidInput)
	}
	if sa.ClientEmail == "" || sa.PrivateKey == "" {
		return sa, fmt.Errorf("fcm: key file needs client_email and private_key: %w", herald.ErrInvalidInput)
	}
	return sa, nil
}

// source is where a send's credentials come from.
type source struct {
	json      []byte
	projectID string
}

// account is a resolved, cached credential: a project and a token source.
type account struct {
	projectID string
	ts        oauth2.TokenSource
	// last is the latest token, used without calling ts while valid.
	last atomic.Pointer[oauth2.Token]
}

// sourceFrom reads a configuration map.
func sourceFrom(m map[string]string) source {
	s := source{projectID: m[ConfigProjectID]}
	if j := m[ConfigServiceAccountJSON]; j != "" {
		s.json = []byte(j)
	}
	return s
}

// resolve returns the source of a send: the route's, the organization's,
// else the defaults (nil json with the default token source).
func (v *Vendor) resolve(org *herald.Organization, route *herald.Route) source {
	if route != nil {
		if s := sourceFrom(route.Credentials); s.json != nil {
			return s
		}
	}
	if org != nil {
		if s := sourceFrom(org.VendorConfig[v.name]); s.json != nil {
			return s
		}
	}
	return v.def
}

// account returns the cached account of s, creating it on first use.
func (v *Vendor) account(s source) (*account, error) {
	if s.json == nil {
		if v.defAccount == nil {
			return nil, fmt.Errorf("fcm: no service account or token source and project: %w", herald.ErrConfig)
		}
		return v.defAccount, nil
	}
	key := digest(s)
	v.mu.RLock()
	a := v.accounts[key]
	v.mu.RUnlock()
	if a != nil {
		return a, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if a := v.accounts[key]; a != nil {
		return a, nil
	}
	a, err := v.newAccount(s)
	if err != nil {
		return nil, err
	}
	v.accounts[key] = a
	return a, nil
}

// forget drops the cached account of s (its token was refused), so the next
// send gets a fresh token.
func (v *Vendor) forget(s source) {
	if s.json == nil {
		return
	}
	v.mu.Lock()
	delete(v.accounts, digest(s))
	v.mu.Unlock()
}

func digest(s source) [32]byte {
	h := sha256.New()
	h.Write([]byte(s.projectID))
	h.Write([]byte{0})
	h.Write(s.json)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// newAccount parses a key file into a cached token source pointed at the
// vendor's token endpoint.
func (v *Vendor) newAccount(s source) (*account, error) {
	sa, err := parseServiceAccount(s.json)
	if err != nil {
		return nil, err
	}
	cfg, err := google.JWTConfigFromJSON(s.json, Scope)
	if err != nil {
		return nil, fmt.Errorf("fcm: service account key: %w: %w", herald.ErrInvalidInput, err)
	}
	cfg.TokenURL = v.tokenURL
	project := s.projectID
	if project == "" {
		project = sa.ProjectID
	}
	if project == "" {
		return nil, fmt.Errorf("fcm: no project_id: %w", herald.ErrInvalidInput)
	}
	// The token source keeps this context for its token requests: it only
	// carries the HTTP client.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, v.client)
	return &account{projectID: project, ts: oauth2.ReuseTokenSource(nil, cfg.TokenSource(ctx))}, nil
}

// OrgConfig returns a copy of the organization's configuration (empty when
// there is none); with obscure set, a non-empty service_account_json is
// herald.ObscuredSecret.
func (v *Vendor) OrgConfig(ctx context.Context, org *herald.Organization, obscure bool) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fcm: org config: %w", err)
	}
	if org == nil {
		return nil, fmt.Errorf("fcm: org config without an organization: %w", herald.ErrInvalidInput)
	}
	return herald.CopyConfig(org.VendorConfig[v.name], obscure, ConfigServiceAccountJSON), nil
}

// UpdateOrgConfig validates a configuration change and returns what to
// save: only the Config* keys; a key absent from p.New, or the secret sent
// as herald.ObscuredSecret, keeps its old value (p.Old, else the
// organization's), an empty value clears it; the key file must be a
// service account with a parseable private key, and a project must be
// known (project_id, else the key file's). The key is then checked by
// getting an access token from the token endpoint: a refusal is a
// *herald.VendorError of class auth.
func (v *Vendor) UpdateOrgConfig(ctx context.Context, p herald.UpdateOrgConfigParams) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fcm: update org config: %w", err)
	}
	old := p.Old
	if old == nil && p.Organization != nil {
		old = p.Organization.VendorConfig[v.name]
	}
	for k, val := range p.New {
		if k != ConfigServiceAccountJSON && k != ConfigProjectID {
			return nil, fmt.Errorf("fcm: unknown configuration key %q: %w", k, herald.ErrInvalidInput)
		}
		if len(val) > maxConfigValue {
			return nil, fmt.Errorf("fcm: %s is too long: %w", k, herald.ErrInvalidInput)
		}
	}
	out := map[string]string{}
	for _, k := range configKeys {
		val, ok := p.New[k]
		if !ok || val == herald.ObscuredSecret {
			val = old[k]
		}
		if val = strings.TrimSpace(val); val != "" {
			out[k] = val
		}
	}
	s := sourceFrom(out)
	if s.json == nil {
		return nil, fmt.Errorf("fcm: service_account_json is required: %w", herald.ErrInvalidInput)
	}
	a, err := v.newAccount(s)
	if err != nil {
		return nil, err
	}
	if _, err := v.token(ctx, a); err != nil {
		return nil, fmt.Errorf("fcm: checking the service account: %w", err)
	}
	return out, nil
}

// FullyConfigured reports whether the organization can send: its own
// service account or the defaults parse and name a project. It does not
// call the token endpoint.
func (v *Vendor) FullyConfigured(ctx context.Context, org *herald.Organization, _ map[string]string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("fcm: fully configured: %w", err)
	}
	_, err := v.account(v.resolve(org, nil))
	return err == nil, nil
}
