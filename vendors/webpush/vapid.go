package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	wp "github.com/SherClockHolmes/webpush-go"
)

// VAPIDKeys is an application server's VAPID key pair (RFC 8292), each
// key in unpadded URL-safe base64 as browsers and push libraries exchange
// them. Public is the uncompressed P-256 point (65 bytes) that the web page
// passes to PushManager.subscribe as applicationServerKey; Private is the
// 32-byte scalar, a secret.
type VAPIDKeys struct {
	Public  string
	Private string
}

// GenerateVAPIDKeys makes a new VAPID key pair. Generate it once, keep the
// private key secret, and load it with LoadVAPIDKeys on every start: a
// subscription only accepts pushes signed with the key it was made with.
func GenerateVAPIDKeys() (VAPIDKeys, error) {
	priv, pub, err := wp.GenerateVAPIDKeys()
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("webpush: generating VAPID keys: %w", err)
	}
	return LoadVAPIDKeys(pub, priv)
}

// LoadVAPIDKeys checks a saved key pair and returns it in canonical form
// (unpadded URL-safe base64). Padded or standard base64 is accepted. It
// fails when either key is malformed or the public key is not the private
// key's.
func LoadVAPIDKeys(public, private string) (VAPIDKeys, error) {
	privBytes, err := decodeKey(private)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("webpush: VAPID private key: %w", err)
	}
	pubBytes, err := decodeKey(public)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("webpush: VAPID public key: %w", err)
	}
	priv, err := ecdh.P256().NewPrivateKey(privBytes)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("webpush: VAPID private key is not a P-256 key: %w", err)
	}
	if _, err := ecdh.P256().NewPublicKey(pubBytes); err != nil {
		return VAPIDKeys{}, fmt.Errorf("webpush: VAPID public key is not an uncompressed P-256 point: %w", err)
	}
	if !bytes.Equal(priv.PublicKey().Bytes(), pubBytes) {
		return VAPIDKeys{}, errors.New("webpush: VAPID public key does not belong to the private key")
	}
	enc := base64.RawURLEncoding
	return VAPIDKeys{Public: enc.EncodeToString(pubBytes), Private: enc.EncodeToString(privBytes)}, nil
}

// decodeKey reads base64 in any of its four spellings (URL-safe or
// standard, padded or not), as browsers and libraries write keys.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if s == "" {
		return nil, errors.New("empty")
	}
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}
