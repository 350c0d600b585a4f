// Package webpushtest is the browser's side of Web Push, for tests and
// fake push services: a subscriber with its P-256 key pair and auth
// secret, the subscription JSON a page would post to its server, and the
// decryption of what a push service delivers (RFC 8291 keys, RFC 8188
// aes128gcm content coding).
package webpushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
)

// Subscriber is one browser subscription's keys.
type Subscriber struct {
	// Key is the subscription's P-256 key pair (its public half is p256dh).
	Key *ecdh.PrivateKey
	// Auth is the 16-byte authentication secret.
	Auth []byte
}

// NewSubscriber makes a subscriber's keys, as PushManager.subscribe does.
func NewSubscriber() (*Subscriber, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return nil, err
	}
	return &Subscriber{Key: key, Auth: auth}, nil
}

// Subscription returns the subscription for endpoint as
// PushSubscription.toJSON() gives it: the JSON a page posts to its server.
func (s *Subscriber) Subscription(endpoint string) string {
	b, _ := json.Marshal(map[string]any{
		"endpoint": endpoint, "expirationTime": nil,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(s.Key.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(s.Auth),
		},
	})
	return string(b)
}

// Decrypt opens a push message body encrypted to s: one aes128gcm record
// whose header carries the salt and the sender's ephemeral public key.
func (s *Subscriber) Decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("webpushtest: short aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, errors.New("webpushtest: the key ID is not a P-256 public key")
	}
	senderKey, ciphertext := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || uint32(len(ciphertext)) > rs {
		return nil, errors.New("webpushtest: more than one record")
	}
	sender, err := ecdh.P256().NewPublicKey(senderKey)
	if err != nil {
		return nil, err
	}
	shared, err := s.Key.ECDH(sender)
	if err != nil {
		return nil, err
	}
	info := "WebPush: info\x00" + string(s.Key.PublicKey().Bytes()) + string(senderKey)
	ikm, err := hkdf.Key(sha256.New, shared, s.Auth, info, 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, err
	}
	// The last record ends with the delimiter 0x02, then zero padding.
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 0x02 {
		return nil, errors.New("webpushtest: no last-record delimiter")
	}
	return plain[:len(plain)-1], nil
}
