package apns

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/heraldmsg/herald"
)

// TestHostByEnvironment checks which APNs host a client pushes to, without
// a network: production by default, sandbox on request, Options.Host over
// both; and that an unknown environment is refused, never sent to
// production by mistake.
func TestHostByEnvironment(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	creds := Credentials{AuthKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", Topic: "com.example.app"}
	sandbox := creds
	sandbox.Environment = EnvironmentSandbox
	production := creds
	production.Environment = EnvironmentProduction

	for _, tc := range []struct {
		name, host string
		creds      Credentials
		want       string
	}{
		{"default", "", creds, "https://api.push.apple.com/3/device/"},
		{"production", "", production, "https://api.push.apple.com/3/device/"},
		{"sandbox", "", sandbox, "https://api.sandbox.push.apple.com/3/device/"},
		{"host option", "https://127.0.0.1:8443", sandbox, "https://127.0.0.1:8443/3/device/"},
	} {
		v, err := New(Options{Credentials: tc.creds, Host: tc.host})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		cl, err := v.client(tc.creds)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cl.device != tc.want {
			t.Errorf("%s: pushes go to %q, want %q", tc.name, cl.device, tc.want)
		}
	}

	bad := creds
	bad.Environment = "prod"
	if _, err := New(Options{Credentials: bad}); !errors.Is(err, herald.ErrConfig) {
		t.Errorf("environment %q: got %v, want ErrConfig", bad.Environment, err)
	}
	// Route credentials with an unknown environment: refused, not sent.
	v, err := New(Options{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Send(t.Context(), &herald.SendRequest{
		Message: &herald.Message{ID: "m1", OrgID: "org1", Channel: herald.ChannelAPNs, To: "aa", Body: "hi"},
		Route: &herald.Route{Credentials: map[string]string{ConfigAuthKey: string(bad.AuthKey), ConfigKeyID: bad.KeyID,
			ConfigTeamID: bad.TeamID, ConfigTopic: bad.Topic, ConfigEnvironment: "prod"}},
	})
	if herald.ClassOf(err) != herald.ClassAuth || !errors.Is(err, herald.ErrConfig) {
		t.Errorf("route environment %q: got %v, want an auth-class ErrConfig", "prod", err)
	}
}
