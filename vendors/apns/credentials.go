package apns

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/sideshow/apns2/token"

	"github.com/heraldmsg/herald"
)

// Keys of the organization configuration (Organization.VendorConfig[name])
// and of Route.Credentials.
const (
	// ConfigKeyID is the .p8 key's 10-character key ID.
	ConfigKeyID = "key_id"
	// ConfigTeamID is the Apple developer team ID.
	ConfigTeamID = "team_id"
	// ConfigAuthKey is the .p8 signing key, PEM (secret).
	ConfigAuthKey = "auth_key"
	// ConfigCertificate is the client certificate and its private key,
	// PEM (secret).
	ConfigCertificate = "certificate"
	// ConfigTopic is the app's bundle ID.
	ConfigTopic = "topic"
	// ConfigEnvironment is "production" (default) or "sandbox".
	ConfigEnvironment = "environment"
)

var (
	configKeys = []string{ConfigKeyID, ConfigTeamID, ConfigAuthKey, ConfigCertificate, ConfigTopic, ConfigEnvironment}
	secretKeys = []string{ConfigAuthKey, ConfigCertificate}
)

// maxConfigValue is the longest configuration value accepted (a
// certificate chain in PEM fits).
const maxConfigValue = 64 << 10

// Credentials are one app's APNs credentials: token authentication
// (AuthKey, KeyID, TeamID) or certificate authentication (Certificate).
// When both are set, token authentication is used.
type Credentials struct {
	// AuthKey is the .p8 signing key in PEM ("-----BEGIN PRIVATE KEY-----").
	AuthKey []byte
	KeyID   string
	TeamID  string
	// Certificate is a PEM holding the client certificate and its
	// unencrypted private key.
	Certificate []byte
	// Topic is the app's bundle ID; required with token authentication.
	Topic string
	// Environment is EnvironmentProduction (the default when empty) or
	// EnvironmentSandbox.
	Environment string
}

// credsFrom reads credentials from a configuration map.
func credsFrom(m map[string]string) Credentials {
	c := Credentials{KeyID: m[ConfigKeyID], TeamID: m[ConfigTeamID], Topic: m[ConfigTopic], Environment: m[ConfigEnvironment]}
	if s := m[ConfigAuthKey]; s != "" {
		c.AuthKey = []byte(s)
	}
	if s := m[ConfigCertificate]; s != "" {
		c.Certificate = []byte(s)
	}
	return c
}

// knownEnvironment reports whether c's Environment is production, sandbox
// or empty (production).
func (c Credentials) knownEnvironment() bool {
	switch c.Environment {
	case "", EnvironmentProduction, EnvironmentSandbox:
		return true
	}
	return false
}

// tokenAuth reports whether c authenticates with a signing key.
func (c Credentials) tokenAuth() bool { return len(c.AuthKey) > 0 }

// present reports whether c carries a key or a certificate.
func (c Credentials) present() bool { return len(c.AuthKey) > 0 || len(c.Certificate) > 0 }

// usable reports whether c has what a push needs (not whether it parses).
func (c Credentials) usable() bool {
	if c.tokenAuth() {
		return c.KeyID != "" && c.TeamID != "" && c.Topic != ""
	}
	return len(c.Certificate) > 0
}

func (c Credentials) kind() string {
	if c.tokenAuth() {
		return "token"
	}
	return "certificate"
}

// digest identifies the client of c on host: the cache key.
func (c Credentials) digest(host string) [32]byte {
	h := sha256.New()
	for _, s := range []string{host, c.kind(), c.KeyID, c.TeamID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if c.tokenAuth() {
		h.Write(c.AuthKey)
	} else {
		h.Write(c.Certificate)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// parse reads c's signing key into an apns2 token (token authentication)
// or its client certificate (certificate authentication).
func (c Credentials) parse() (*token.Token, *tls.Certificate, error) {
	if c.tokenAuth() {
		key, err := token.AuthKeyFromBytes(c.AuthKey)
		if err != nil {
			return nil, nil, fmt.Errorf("apns: auth_key is not a PEM PKCS#8 ECDSA key: %w", err)
		}
		return &token.Token{AuthKey: key, KeyID: c.KeyID, TeamID: c.TeamID}, nil, nil
	}
	cert, err := tls.X509KeyPair(c.Certificate, c.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("apns: certificate must be a PEM with the certificate and its private key: %w", err)
	}
	return nil, &cert, nil
}

// check parses c as a push would.
func (c Credentials) check() error {
	if !c.present() {
		return fmt.Errorf("apns: auth_key or certificate required: %w", herald.ErrInvalidInput)
	}
	if c.tokenAuth() && (c.KeyID == "" || c.TeamID == "" || c.Topic == "") {
		return fmt.Errorf("apns: token authentication needs key_id, team_id and topic: %w", herald.ErrInvalidInput)
	}
	if !c.knownEnvironment() {
		return fmt.Errorf("apns: environment must be %q or %q: %w", EnvironmentProduction, EnvironmentSandbox, herald.ErrInvalidInput)
	}
	if _, _, err := c.parse(); err != nil {
		return fmt.Errorf("%w: %w", herald.ErrInvalidInput, err)
	}
	return nil
}

// orgConfig returns the organization's configuration for this vendor.
func (v *Vendor) orgConfig(org *herald.Organization) map[string]string {
	if org == nil {
		return nil
	}
	return org.VendorConfig[v.name]
}

// credentials resolves the credentials of a send: the route's, the
// organization's, else the defaults; the first that carries a key or a
// certificate is used whole.
func (v *Vendor) credentials(org *herald.Organization, route *herald.Route) Credentials {
	if route != nil {
		if c := credsFrom(route.Credentials); c.present() {
			return c
		}
	}
	if c := credsFrom(v.orgConfig(org)); c.present() {
		return c
	}
	return v.def
}

// OrgConfig returns a copy of the organization's configuration (empty when
// there is none); with obscure set, a non-empty auth_key or certificate is
// herald.ObscuredSecret.
func (v *Vendor) OrgConfig(ctx context.Context, org *herald.Organization, obscure bool) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("apns: org config: %w", err)
	}
	if org == nil {
		return nil, fmt.Errorf("apns: org config without an organization: %w", herald.ErrInvalidInput)
	}
	return herald.CopyConfig(v.orgConfig(org), obscure, secretKeys...), nil
}

// UpdateOrgConfig validates a configuration change and returns what to
// save: only the Config* keys; a key absent from p.New, or a secret sent as
// herald.ObscuredSecret, keeps its old value (p.Old, else the
// organization's), an empty value clears it; the result must parse as
// credentials (a PKCS#8 ECDSA auth_key with key_id, team_id and topic, or
// a certificate with its key) and name a known environment. APNs has no
// endpoint to check credentials without a device, so a wrong but
// well-formed key shows at the first push (InvalidProviderToken, auth).
func (v *Vendor) UpdateOrgConfig(ctx context.Context, p herald.UpdateOrgConfigParams) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("apns: update org config: %w", err)
	}
	old := p.Old
	if old == nil {
		old = v.orgConfig(p.Organization)
	}
	for k, val := range p.New {
		known := false
		for _, c := range configKeys {
			known = known || c == k
		}
		if !known {
			return nil, fmt.Errorf("apns: unknown configuration key %q: %w", k, herald.ErrInvalidInput)
		}
		if len(val) > maxConfigValue {
			return nil, fmt.Errorf("apns: %s is too long: %w", k, herald.ErrInvalidInput)
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
	if err := credsFrom(out).check(); err != nil {
		return nil, err
	}
	return out, nil
}

// FullyConfigured reports whether the organization can push: its own
// credentials or the defaults are complete and parse.
func (v *Vendor) FullyConfigured(ctx context.Context, org *herald.Organization, _ map[string]string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("apns: fully configured: %w", err)
	}
	c := v.credentials(org, nil)
	return c.usable() && c.check() == nil, nil
}
