package sendgrid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/heraldmsg/herald"
)

// The Event Webhook's signature headers.
const (
	SignatureHeader = eventwebhook.VerificationHTTPHeader
	TimestampHeader = eventwebhook.TimestampHTTPHeader
)

// ParseWebhook verifies a signed Event Webhook post and turns its events
// into delivery reports. See the package documentation.
func (c *Client) ParseWebhook(ctx context.Context, req *herald.WebhookRequest) (*herald.WebhookResult, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: sendgrid: no request", herald.ErrInvalidInput)
	}
	if err := c.verify(req); err != nil {
		return nil, fmt.Errorf("%w: sendgrid: %v", herald.ErrUnauthorized, err)
	}
	if req.Method != "" && req.Method != http.MethodPost {
		return nil, fmt.Errorf("%w: sendgrid: method %s", herald.ErrInvalidInput, req.Method)
	}
	events, err := ParseEvents(req.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", herald.ErrInvalidInput, err)
	}
	res := &herald.WebhookResult{}
	orgID := ""
	if req.Organization != nil {
		orgID = req.Organization.ID
	}
	for _, r := range events {
		r.OrgID, r.Vendor = orgID, Name
		res.Reports = append(res.Reports, r)
	}
	return res, nil
}

// verify checks the signature over timestamp + raw body and the
// timestamp's freshness.
func (c *Client) verify(req *herald.WebhookRequest) error {
	keyText := orgConfig(req.Organization, ConfigWebhookPublicKey)
	if keyText == "" {
		keyText = c.o.WebhookPublicKey
	}
	if keyText == "" {
		return errNoKey
	}
	key, err := c.publicKey(keyText)
	if err != nil {
		return err
	}
	sigText, ts := req.Header.Get(SignatureHeader), req.Header.Get(TimestampHeader)
	if sigText == "" || ts == "" {
		return errors.New("missing signature or timestamp header")
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return errors.New("signature is not base64")
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(req.Body)
	if !ecdsa.VerifyASN1(key, h.Sum(nil), sig) {
		return errors.New("bad signature")
	}
	if c.o.WebhookTolerance > 0 {
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return errors.New("timestamp is not Unix seconds")
		}
		skew := c.o.Now().Sub(time.Unix(secs, 0))
		if skew > c.o.WebhookTolerance || skew < -c.o.WebhookTolerance {
			return fmt.Errorf("timestamp is %s from now, more than the %s allowed", skew.Round(time.Second), c.o.WebhookTolerance)
		}
	}
	return nil
}

// publicKey parses (once) a base64 DER P-256 public key. Unlike
// eventwebhook.ConvertPublicKeyBase64ToECDSA, it returns an error for a key
// of another type instead of panicking.
func (c *Client) publicKey(text string) (*ecdsa.PublicKey, error) {
	if k, ok := c.keys.Load(text); ok {
		return k.(*ecdsa.PublicKey), nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, errors.New("verification key is not base64")
	}
	pk, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("verification key: %v", err)
	}
	ek, ok := pk.(*ecdsa.PublicKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("verification key is a %T, not an ECDSA P-256 key", pk)
	}
	c.keys.Store(text, ek)
	return ek, nil
}

// ParseEvents reads an Event Webhook body (a JSON array of events) into
// delivery reports, without verifying it: ParseWebhook verifies first.
// Events without sg_message_id, and kinds herald does not record, are
// skipped. It never panics, whatever the input.
func ParseEvents(body []byte) ([]herald.DeliveryReport, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, errors.New("sendgrid: event webhook body is not a JSON array")
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("sendgrid: event webhook body: %v", err)
	}
	var out []herald.DeliveryReport
	for _, ev := range raw {
		if r, ok := report(ev); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// report maps one event.
func report(ev map[string]json.RawMessage) (herald.DeliveryReport, bool) {
	fields := make(map[string]string, len(ev))
	for k, v := range ev {
		fields[k] = scalar(v)
	}
	kind := fields["event"]
	msgID := fields["sg_message_id"]
	if i := strings.IndexByte(msgID, '.'); i >= 0 {
		msgID = msgID[:i]
	}
	if kind == "" || msgID == "" {
		return herald.DeliveryReport{}, false
	}
	r := herald.DeliveryReport{
		EventID: fields["sg_event_id"], VendorMessageID: msgID, To: fields["email"], Raw: fields,
	}
	if r.EventID == "" {
		r.EventID = msgID + ":" + kind + ":" + fields["timestamp"]
	}
	if ts, err := strconv.ParseInt(fields["timestamp"], 10, 64); err == nil && ts > 0 && ts < 1<<40 {
		r.At = time.Unix(ts, 0).UTC()
	}
	switch kind {
	case "processed":
		r.Status = herald.StatusSent
	case "deferred":
		r.Status, r.ErrorCode = herald.StatusSent, "deferred"
	case "delivered":
		r.Status = herald.StatusDelivered
	case "bounce":
		r.Status, r.ErrorCode = herald.StatusFailed, "bounce"
		if s := fields["status"]; s != "" && len(s) <= 16 {
			r.ErrorCode = s
		}
	case "dropped":
		r.Status, r.ErrorCode = herald.StatusFailed, "dropped"
		reason := strings.ToLower(fields["reason"])
		r.OptedOut = strings.Contains(reason, "unsubscribed") || strings.Contains(reason, "spam reporting")
	case "open":
		r.Engagement = herald.EngagementOpened
	case "click":
		r.Engagement = herald.EngagementClicked
	case "unsubscribe", "group_unsubscribe":
		r.Status, r.OptedOut, r.ErrorCode = herald.StatusDelivered, true, kind
	case "spamreport":
		r.Status, r.OptedOut, r.ErrorCode = herald.StatusDelivered, true, kind
	default:
		return herald.DeliveryReport{}, false
	}
	return r, true
}

// scalar renders a JSON value as text: strings unquoted, arrays of strings
// comma-joined (category), anything else as its JSON.
func scalar(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(v, &list) == nil {
		return strings.Join(list, ",")
	}
	return string(bytes.TrimSpace(v))
}
