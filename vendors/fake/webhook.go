package fake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/heraldmsg/herald"
)

// SignatureHeader is the header that carries a webhook body's signature:
// HMAC-SHA256 of the raw body under the webhook secret, lower-case hex.
const SignatureHeader = "X-Fake-Signature"

// Sign returns the signature of body under secret, as SignatureHeader
// carries it.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// webhookOK is the answer ParseWebhook gives an accepted request.
var webhookOK = []byte(`{"ok":true}`)

// payload is the JSON body of a fake webhook. Each call carries one event,
// but a body may hold any number of both kinds.
type payload struct {
	Reports []wireReport  `json:"reports,omitempty"`
	Inbound []wireInbound `json:"inbound,omitempty"`
}

type wireReport struct {
	OrgID              string            `json:"org_id,omitempty"`
	EventID            string            `json:"event_id,omitempty"`
	MessageID          string            `json:"message_id"`
	Status             herald.Status     `json:"status,omitempty"`
	Engagement         herald.Engagement `json:"engagement,omitempty"`
	ErrorCode          string            `json:"error_code,omitempty"`
	From               string            `json:"from,omitempty"`
	To                 string            `json:"to,omitempty"`
	MessagingServiceID string            `json:"messaging_service_id,omitempty"`
	Carrier            string            `json:"carrier,omitempty"`
	Landline           bool              `json:"landline,omitempty"`
	At                 time.Time         `json:"at"`
	Raw                map[string]string `json:"raw,omitempty"`
}

type wireInbound struct {
	OrgID              string            `json:"org_id,omitempty"`
	EventID            string            `json:"event_id"`
	Channel            herald.Channel    `json:"channel,omitempty"`
	From               string            `json:"from"`
	To                 string            `json:"to,omitempty"`
	MessagingServiceID string            `json:"messaging_service_id,omitempty"`
	Body               string            `json:"body,omitempty"`
	Media              []string          `json:"media,omitempty"`
	ReceivedAt         time.Time         `json:"received_at"`
	Raw                map[string]string `json:"raw,omitempty"`
}

// EncodeWebhook returns the JSON body the fake posts for the events:
//
//	{"reports":[{"org_id","event_id","message_id","status","engagement",
//	  "error_code","from","to","messaging_service_id","carrier","landline",
//	  "at","raw"}],
//	 "inbound":[{"org_id","event_id","channel","from","to",
//	  "messaging_service_id","body","media","received_at","raw"}]}
//
// message_id is the VendorMessageID; times are RFC 3339. Tests sign the
// result with Sign to build requests for ParseWebhook.
func EncodeWebhook(reports []herald.DeliveryReport, inbound []herald.InboundMessage) ([]byte, error) {
	var p payload
	for _, r := range reports {
		p.Reports = append(p.Reports, wireReport{
			OrgID: r.OrgID, EventID: r.EventID, MessageID: r.VendorMessageID,
			Status: r.Status, Engagement: r.Engagement, ErrorCode: r.ErrorCode,
			From: r.From, To: r.To, MessagingServiceID: r.MessagingServiceID,
			Carrier: r.Carrier, Landline: r.Landline, At: r.At, Raw: r.Raw,
		})
	}
	for _, m := range inbound {
		p.Inbound = append(p.Inbound, wireInbound{
			OrgID: m.OrgID, EventID: m.EventID, Channel: m.Channel,
			From: m.From, To: m.To, MessagingServiceID: m.MessagingServiceID,
			Body: m.Body, Media: m.Media, ReceivedAt: m.ReceivedAt, Raw: m.Raw,
		})
	}
	return json.Marshal(p)
}

// ParseWebhook verifies a webhook the fake (or a test, with Sign and
// EncodeWebhook) posted and returns its events.
//
// The signature in SignatureHeader must be the HMAC-SHA256 of the body
// under the organization's VendorConfig[name]["secret"], else
// Options.WebhookSecret; it is compared in constant time. A missing or
// forged signature, or no secret to check it with, is an error wrapping
// herald.ErrUnauthorized. A body that is not the JSON of EncodeWebhook,
// holds no event, or holds an event without its IDs or with an unknown
// status, is an error wrapping herald.ErrInvalidInput. Events get the
// vendor's name and, when the request names an organization, its ID (the
// URL's organization wins over the body's). A report without event_id gets
// message_id + "/" + status (or engagement). The answer is 200 {"ok":true},
// application/json. ParseWebhook has no side effects.
func (v *Vendor) ParseWebhook(ctx context.Context, req *herald.WebhookRequest) (*herald.WebhookResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req == nil {
		return nil, fmt.Errorf("fake: nil webhook request: %w", herald.ErrInvalidInput)
	}
	secret := v.secretFor(req.Organization)
	if secret == "" {
		return nil, fmt.Errorf("%w: %w", herald.ErrUnauthorized, errNoSecret)
	}
	got := req.Header.Get(SignatureHeader)
	if got == "" {
		return nil, fmt.Errorf("fake: missing %s: %w", SignatureHeader, herald.ErrUnauthorized)
	}
	sig, err := hex.DecodeString(got)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(req.Body)
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, fmt.Errorf("fake: bad %s: %w", SignatureHeader, herald.ErrUnauthorized)
	}

	var p payload
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("fake: webhook body: %v: %w", err, herald.ErrInvalidInput)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("fake: webhook body: trailing data: %w", herald.ErrInvalidInput)
	}
	if len(p.Reports) == 0 && len(p.Inbound) == 0 {
		return nil, fmt.Errorf("fake: webhook body holds no event: %w", herald.ErrInvalidInput)
	}
	orgID := ""
	if req.Organization != nil {
		orgID = req.Organization.ID
	}
	res := &herald.WebhookResult{StatusCode: 200, ContentType: "application/json", Body: slices.Clone(webhookOK)}
	for i, w := range p.Reports {
		r, err := v.reportFromWire(w, orgID)
		if err != nil {
			return nil, fmt.Errorf("fake: report %d: %w", i, err)
		}
		res.Reports = append(res.Reports, r)
	}
	for i, w := range p.Inbound {
		m, err := v.inboundFromWire(w, orgID)
		if err != nil {
			return nil, fmt.Errorf("fake: inbound %d: %w", i, err)
		}
		res.Inbound = append(res.Inbound, m)
	}
	return res, nil
}

func (v *Vendor) reportFromWire(w wireReport, orgID string) (herald.DeliveryReport, error) {
	if w.MessageID == "" {
		return herald.DeliveryReport{}, fmt.Errorf("no message_id: %w", herald.ErrInvalidInput)
	}
	what := ""
	switch {
	case w.Status != "" && w.Engagement != "":
		return herald.DeliveryReport{}, fmt.Errorf("both status and engagement: %w", herald.ErrInvalidInput)
	case w.Status == herald.StatusSent || w.Status == herald.StatusDelivered || w.Status == herald.StatusFailed:
		what = string(w.Status)
	case w.Engagement == herald.EngagementOpened || w.Engagement == herald.EngagementClicked || w.Engagement == herald.EngagementReplied:
		what = string(w.Engagement)
	default:
		return herald.DeliveryReport{}, fmt.Errorf("status %q / engagement %q: %w", w.Status, w.Engagement, herald.ErrInvalidInput)
	}
	if orgID == "" {
		orgID = w.OrgID
	}
	r := herald.DeliveryReport{
		OrgID: orgID, Vendor: v.name, EventID: w.EventID, VendorMessageID: w.MessageID,
		Status: w.Status, Engagement: w.Engagement, ErrorCode: w.ErrorCode,
		From: w.From, To: w.To, MessagingServiceID: w.MessagingServiceID,
		Carrier: w.Carrier, Landline: w.Landline, At: w.At, Raw: maps.Clone(w.Raw),
	}
	if r.EventID == "" {
		r.EventID = w.MessageID + "/" + what
	}
	return r, nil
}

func (v *Vendor) inboundFromWire(w wireInbound, orgID string) (herald.InboundMessage, error) {
	if w.EventID == "" || w.From == "" {
		return herald.InboundMessage{}, fmt.Errorf("no event_id or from: %w", herald.ErrInvalidInput)
	}
	if w.Channel == "" {
		w.Channel = herald.ChannelSMS
	}
	if !w.Channel.Valid() {
		return herald.InboundMessage{}, fmt.Errorf("channel %q: %w", w.Channel, herald.ErrInvalidInput)
	}
	if orgID == "" {
		orgID = w.OrgID
	}
	return herald.InboundMessage{
		OrgID: orgID, Vendor: v.name, EventID: w.EventID, Channel: w.Channel,
		From: w.From, To: w.To, MessagingServiceID: w.MessagingServiceID,
		Body: w.Body, Media: slices.Clone(w.Media), ReceivedAt: w.ReceivedAt, Raw: maps.Clone(w.Raw),
	}, nil
}
