package webpush

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"

	"github.com/heraldmsg/herald"
)

// Name is the vendor's registry name.
const Name = "webpush"

// MaxPayload is the largest plaintext payload, in bytes, that fits one
// 4096-byte aes128gcm record (RFC 8291: 4096 minus the 86-byte header, the
// 16-byte tag and the 1-byte padding delimiter). Push services only promise
// to carry payloads of this size.
const MaxPayload = 3993

// MetaTopic is the Message.Meta (or Route.Extra) key whose value is sent
// as the Topic header: a pending message with the same topic is replaced
// by the newer one at the push service.
const MetaTopic = "webpush.topic"

// DefaultTTL is the TTL used for messages without one when
// Options.DefaultTTL is zero: four weeks, the longest push services keep
// messages.
const DefaultTTL = 28 * 24 * time.Hour

// Options configures a Client.
type Options struct {
	// VAPIDKeys signs every push. Required; see GenerateVAPIDKeys and
	// LoadVAPIDKeys.
	VAPIDKeys VAPIDKeys
	// Subscriber is the contact the push services may use: an email
	// address ("ops@example.com", with or without "mailto:") or an https
	// URL. Required.
	Subscriber string
	// HTTPClient sends the requests. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// DefaultTTL is the TTL of messages whose TTL is zero. Default
	// DefaultTTL (four weeks).
	DefaultTTL time.Duration
	// AllowHTTP lets endpoints use plain http; real push services are
	// https only, so leave it false outside tests.
	AllowHTTP bool
	// Clock tells the time (Message.SendBefore); default the system clock.
	Clock herald.Clock
}

// Client sends web push notifications. It is safe for concurrent use.
type Client struct {
	keys       VAPIDKeys
	subscriber string
	http       *http.Client
	ttl        time.Duration
	allowHTTP  bool
	clock      herald.Clock
	seq        atomic.Uint64
}

// Compile-time capability checks.
var (
	_ herald.Vendor         = (*Client)(nil)
	_ herald.ErrorDescriber = (*Client)(nil)
)

// New checks o and returns a Client.
func New(o Options) (*Client, error) {
	keys, err := LoadVAPIDKeys(o.VAPIDKeys.Public, o.VAPIDKeys.Private)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", herald.ErrConfig, err)
	}
	sub := strings.TrimPrefix(strings.TrimSpace(o.Subscriber), "mailto:")
	if sub == "" {
		return nil, fmt.Errorf("%w: webpush: Options.Subscriber (an email address or https URL) is required", herald.ErrConfig)
	}
	if strings.HasPrefix(sub, "http:") {
		return nil, fmt.Errorf("%w: webpush: Options.Subscriber URL must be https", herald.ErrConfig)
	}
	if o.DefaultTTL < 0 {
		return nil, fmt.Errorf("%w: webpush: Options.DefaultTTL is negative", herald.ErrConfig)
	}
	c := &Client{keys: keys, subscriber: sub, http: o.HTTPClient, ttl: o.DefaultTTL, allowHTTP: o.AllowHTTP, clock: o.Clock}
	if c.clock == nil {
		c.clock = herald.SystemClock{}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.ttl == 0 {
		c.ttl = DefaultTTL
	}
	return c, nil
}

// Metadata describes the vendor.
func (c *Client) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: Name, DisplayName: "Web Push", Channels: []herald.Channel{herald.ChannelWebPush}}
}

// Notification is the JSON payload a service worker receives in its push
// event (event.data.json()). Empty fields are left out.
type Notification struct {
	// ID is herald's message ID, for acknowledgements and deduplication.
	ID string `json:"id,omitempty"`
	// Title is the message's Subject.
	Title string `json:"title,omitempty"`
	// Body is the message's Body.
	Body string `json:"body,omitempty"`
	// Data is the message's Data.
	Data map[string]string `json:"data,omitempty"`
}

// Subscription is a browser's push subscription, as
// PushSubscription.toJSON() gives it.
type Subscription struct {
	// Endpoint is the push service URL the browser was given.
	Endpoint string `json:"endpoint"`
	// Keys are the browser's encryption keys, base64url.
	Keys struct {
		// P256dh is the browser's P-256 public key.
		P256dh string `json:"p256dh"`
		// Auth is the 16-byte authentication secret.
		Auth string `json:"auth"`
	} `json:"keys"`
}

// ParseSubscription reads and checks a subscription's JSON: an endpoint
// URL, a P-256 public key (p256dh) and a 16-byte auth secret.
func ParseSubscription(raw string) (*Subscription, error) {
	var s Subscription
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("webpush: subscription is not JSON: %w", err)
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("webpush: subscription has no endpoint URL")
	}
	dh, err := decodeKey(s.Keys.P256dh)
	if err != nil {
		return nil, fmt.Errorf("webpush: subscription key p256dh: %w", err)
	}
	if _, err := ecdh.P256().NewPublicKey(dh); err != nil {
		return nil, errors.New("webpush: subscription key p256dh is not a P-256 point")
	}
	auth, err := decodeKey(s.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return nil, errors.New("webpush: subscription key auth is not 16 bytes of base64")
	}
	return &s, nil
}

// Payload returns the plaintext payload Send encrypts for m.
func Payload(m *herald.Message) ([]byte, error) {
	return json.Marshal(Notification{ID: m.ID, Title: m.Subject, Body: m.Body, Data: m.Data})
}

// Send encrypts the message for the request's subscription and posts it
// to the subscription's endpoint. See the package documentation for the
// headers and how answers map to error classes.
func (c *Client) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if req == nil || req.Message == nil {
		return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "request has no message", 0, nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, c.fail(herald.ClassTemporary, "", "not sent", 0, err)
	}
	m := req.Message
	sub, err := c.subscription(req)
	if err != nil {
		return nil, err
	}
	payload, err := Payload(m)
	if err != nil {
		return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "encoding payload", 0, err)
	}
	if len(payload) > MaxPayload {
		return nil, c.fail(herald.ClassPermanent, CodePayloadTooLarge,
			fmt.Sprintf("payload is %d bytes; web push carries at most %d", len(payload), MaxPayload), 0, nil)
	}
	topic := m.Meta[MetaTopic]
	if topic == "" && req.Route != nil {
		topic = req.Route.Extra[MetaTopic]
	}
	if !validTopic(topic) {
		return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest,
			"topic must be at most 32 characters of A-Z a-z 0-9 - _", 0, nil)
	}
	ttl := m.TTL
	if ttl <= 0 {
		ttl = c.ttl
	}
	if !m.SendBefore.IsZero() {
		left := m.SendBefore.Sub(c.clock.Now())
		if left <= 0 {
			return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "the message expired before it was sent", 0, nil)
		}
		ttl = min(ttl, left)
	}
	opts := &wp.Options{
		HTTPClient:      c.http,
		Subscriber:      c.subscriber,
		VAPIDPublicKey:  c.keys.Public,
		VAPIDPrivateKey: c.keys.Private,
		TTL:             ttlSeconds(ttl),
		Urgency:         wp.Urgency(m.Urgency.OrDefault()),
		Topic:           topic,
	}
	var wrote atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	ws := &wp.Subscription{Endpoint: sub.Endpoint, Keys: wp.Keys{P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth}}
	resp, err := wp.SendNotificationWithContext(tctx, payload, ws, opts)
	if err != nil {
		if errors.Is(err, wp.ErrMaxPadExceeded) {
			return nil, c.fail(herald.ClassPermanent, CodePayloadTooLarge, "payload does not fit one record", 0, err)
		}
		if wrote.Load() {
			return nil, c.fail(herald.ClassMaybeDelivered, "", "no answer from the push service", 0, err)
		}
		return nil, c.fail(herald.ClassTemporary, "", "request not sent", 0, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &herald.SendResult{VendorMessageID: c.messageID(resp, sub.Endpoint, m.ID), Status: herald.StatusSent}, nil
	}
	return nil, c.statusError(resp, body)
}

// subscription finds the request's subscription: the device's JSON,
// whose endpoint must be the message's address.
func (c *Client) subscription(req *herald.SendRequest) (*Subscription, error) {
	if req.Device == nil || req.Device.Subscription == "" {
		return nil, c.fail(herald.ClassInvalidAddress, CodeNoSubscription,
			"the request carries no subscription (register it with its keys as a webpush device)", 0, nil)
	}
	sub, err := ParseSubscription(req.Device.Subscription)
	if err != nil {
		return nil, c.fail(herald.ClassInvalidAddress, CodeNoSubscription, "unusable subscription", 0, err)
	}
	if to := req.Message.To; to != "" && to != sub.Endpoint {
		return nil, c.fail(herald.ClassInvalidAddress, CodeNoSubscription, "message To is not the subscription's endpoint", 0, nil)
	}
	if !c.allowHTTP && !strings.HasPrefix(sub.Endpoint, "https://") {
		return nil, c.fail(herald.ClassInvalidAddress, CodeNoSubscription, "subscription endpoint is not https", 0, nil)
	}
	return sub, nil
}

// messageID is the push service's Location, or a stable local ID.
func (c *Client) messageID(resp *http.Response, endpoint, id string) string {
	if loc := resp.Header.Get("Location"); loc != "" {
		return loc
	}
	h := sha256.Sum256([]byte(endpoint + "\x00" + id))
	return fmt.Sprintf("wp-%s-%d", hex.EncodeToString(h[:8]), c.seq.Add(1))
}

// ttlSeconds rounds a positive TTL up to whole seconds (at least 1).
func ttlSeconds(ttl time.Duration) int {
	s := math.Ceil(ttl.Seconds())
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return max(int(s), 1)
}

// validTopic: RFC 8030 section 5.4, at most 32 URL-safe base64 characters.
func validTopic(t string) bool {
	if len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		b := t[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}
