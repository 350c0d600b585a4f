package webpush_test

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldmsg/herald/vendors/webpush/webpushtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNPMFixture checks the test push service's decryption and VAPID
// verification against a push made by another implementation, the npm
// web-push package (testdata/gen/webpush-fixture.js wrote the fixture), so
// the fake is not only consistent with the library it tests.
func TestNPMFixture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "webpush-npm.json"))
	require.NoError(t, err)
	var fx struct {
		BrowserPrivateKey, BrowserPublicKey, Auth, VAPIDPublicKey, Endpoint, Body, Payload string
		Headers                                                                            map[string]any
	}
	require.NoError(t, json.Unmarshal(raw, &fx))
	dec := base64.RawURLEncoding.DecodeString
	privBytes, err := dec(fx.BrowserPrivateKey)
	require.NoError(t, err)
	priv, err := ecdh.P256().NewPrivateKey(privBytes)
	require.NoError(t, err)
	pub, err := dec(fx.BrowserPublicKey)
	require.NoError(t, err)
	require.Equal(t, pub, priv.PublicKey().Bytes())
	auth, err := dec(fx.Auth)
	require.NoError(t, err)
	body, err := base64.StdEncoding.DecodeString(fx.Body)
	require.NoError(t, err)

	pt, err := (&webpushtest.Subscriber{Key: priv, Auth: auth}).Decrypt(body)
	require.NoError(t, err)
	assert.Equal(t, fx.Payload, string(pt))

	vapid, err := dec(fx.VAPIDPublicKey)
	require.NoError(t, err)
	claims, err := verifyVAPID(fx.Headers["Authorization"].(string), "https://push.example.test", vapid)
	require.NoError(t, err)
	assert.Equal(t, "mailto:ops@example.com", claims["sub"])

	// One flipped ciphertext byte fails authentication.
	body[len(body)-1] ^= 1
	_, err = (&webpushtest.Subscriber{Key: priv, Auth: auth}).Decrypt(body)
	assert.Error(t, err)
}
