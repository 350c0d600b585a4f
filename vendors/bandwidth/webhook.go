package bandwidth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// Webhook paths under the dispatcher's /{org}/{vendor} mount. Bandwidth
// posts every event of an application to its one callback URL, so the
// event's type decides what it is; these paths (and the mount itself) are
// all accepted.
const (
	PathStatus  = "/status"
	PathInbound = "/inbound"
)

// Callback event types.
const (
	EventSending   = "message-sending"
	EventDelivered = "message-delivered"
	EventFailed    = "message-failed"
	EventRead      = "message-read"
	EventReceived  = "message-received"
)

// Event is one element of a Bandwidth callback (a JSON array of them).
// Exported so that tests and hosts can build callbacks as Bandwidth does.
type Event struct {
	Type        string `json:"type"`
	Time        string `json:"time,omitempty"`
	Description string `json:"description,omitempty"`
	// To is the recipient this event is about (for inbound messages, the
	// organization's number that received it).
	To string `json:"to,omitempty"`
	// ErrorCode is set on message-failed events; Bandwidth sends a number.
	ErrorCode json.RawMessage `json:"errorCode,omitempty"`
	// CarrierName is the carrier that handled the message, when known.
	CarrierName string        `json:"carrierName,omitempty"`
	Message     *EventMessage `json:"message,omitempty"`
}

// EventMessage is the message an Event is about.
type EventMessage struct {
	ID            string          `json:"id"`
	Owner         string          `json:"owner,omitempty"`
	ApplicationID string          `json:"applicationId,omitempty"`
	Time          string          `json:"time,omitempty"`
	SegmentCount  json.RawMessage `json:"segmentCount,omitempty"`
	Direction     string          `json:"direction,omitempty"`
	To            []string        `json:"to,omitempty"`
	From          string          `json:"from,omitempty"`
	Text          string          `json:"text"`
	Media         []string        `json:"media,omitempty"`
	Tag           string          `json:"tag,omitempty"`
	Priority      string          `json:"priority,omitempty"`
}

// hookCreds are the HTTP Basic credentials callbacks must carry.
type hookCreds struct{ user, pass string }

// webhookCreds returns the credentials an organization's callbacks must
// carry: its own callback_username and callback_password; else the
// defaults, only for an organization on the default account (so that
// another account's application cannot post for it); else none.
func (v *Vendor) webhookCreds(org *herald.Organization) (hookCreds, bool) {
	cfg := v.orgConfig(org)
	if cfg[ConfigCallbackUsername] != "" || cfg[ConfigCallbackPassword] != "" {
		c := hookCreds{cfg[ConfigCallbackUsername], cfg[ConfigCallbackPassword]}
		return c, c.user != "" && c.pass != ""
	}
	if acct := cfg[ConfigAccountID]; acct != "" && acct != v.def.AccountID {
		return hookCreds{}, false
	}
	return v.defHook, v.defHook.user != "" && v.defHook.pass != ""
}

// ParseWebhook verifies a Bandwidth callback and turns its events into
// reports and inbound messages. See the package documentation for the
// verification and the mapping. A request without the organization's
// callback credentials (or for an organization that has none configured)
// is an error wrapping herald.ErrUnauthorized; a verified request whose
// body is not a callback (not JSON, an event without type or message id,
// an inbound message without from) an error wrapping
// herald.ErrInvalidInput. It has no side effects.
func (v *Vendor) ParseWebhook(ctx context.Context, req *herald.WebhookRequest) (*herald.WebhookResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req == nil {
		return nil, fmt.Errorf("bandwidth: nil webhook request: %w", herald.ErrInvalidInput)
	}
	want, ok := v.webhookCreds(req.Organization)
	if !ok {
		return nil, fmt.Errorf("bandwidth: no callback credentials configured for the organization: %w", herald.ErrUnauthorized)
	}
	user, pass, ok := basicAuth(req.Header.Get("Authorization"))
	if !ok {
		// Challenge: a sender that sends credentials only when asked
		// gets a 401 with a Basic challenge rather than a 403.
		return nil, &herald.ChallengeError{Challenge: `Basic realm="herald"`,
			Err: fmt.Errorf("bandwidth: callback without basic auth: %w", herald.ErrUnauthorized)}
	}
	if !ValidCallbackAuth(want.user, want.pass, user, pass) {
		return nil, fmt.Errorf("bandwidth: wrong callback credentials: %w", herald.ErrUnauthorized)
	}
	switch req.Path {
	case "", "/", PathStatus, PathInbound:
	default:
		return nil, fmt.Errorf("bandwidth: unknown webhook path %q: %w", req.Path, herald.ErrInvalidInput)
	}
	events, err := ParseEvents(req.Body)
	if err != nil {
		return nil, fmt.Errorf("bandwidth: callback body: %v: %w", err, herald.ErrInvalidInput)
	}
	orgID := ""
	if req.Organization != nil {
		orgID = req.Organization.ID
	}
	res := &herald.WebhookResult{}
	for i := range events {
		if err := v.addEvent(res, orgID, &events[i]); err != nil {
			return nil, fmt.Errorf("bandwidth: callback event %d: %w", i, err)
		}
	}
	return res, nil
}

// ValidCallbackAuth reports whether the user and password a callback
// carried are the expected ones, comparing in constant time (the SHA-256
// of each, so neither the content nor the length leaks).
func ValidCallbackAuth(wantUser, wantPass, user, pass string) bool {
	eq := func(a, b string) int {
		ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
		return subtle.ConstantTimeCompare(ha[:], hb[:])
	}
	return wantUser != "" && wantPass != "" && eq(wantUser, user)&eq(wantPass, pass) == 1
}

// basicAuth reads an Authorization header of the Basic scheme.
func basicAuth(h string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}

// ParseEvents reads a callback body: a JSON array of events (a single
// event object is taken too). It checks the JSON only; ParseWebhook checks
// the events.
func ParseEvents(body []byte) ([]Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var events []Event
	switch body[0] {
	case '[':
		if err := dec.Decode(&events); err != nil {
			return nil, err
		}
	case '{':
		var e Event
		if err := dec.Decode(&e); err != nil {
			return nil, err
		}
		events = []Event{e}
	default:
		return nil, fmt.Errorf("not a JSON array of events")
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the events")
	}
	return events, nil
}

// MapStatus maps a callback event type onto a herald status and reports
// whether the type is a delivery report herald records: message-sending →
// sent, message-delivered → delivered, message-failed → failed.
func MapStatus(eventType string) (herald.Status, bool) {
	switch eventType {
	case EventSending:
		return herald.StatusSent, true
	case EventDelivered:
		return herald.StatusDelivered, true
	case EventFailed:
		return herald.StatusFailed, true
	}
	return "", false
}

// code reads an errorCode (a JSON number, or a string) as a string.
func code(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return ""
	}
	if s[0] == '"' {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			return strings.TrimSpace(str)
		}
		return ""
	}
	if s == "0" {
		return ""
	}
	return s
}

// addEvent adds one event's report or inbound message to res; event types
// herald does not record (and inbound echoes of outbound messages) are
// skipped.
func (v *Vendor) addEvent(res *herald.WebhookResult, orgID string, e *Event) error {
	if e.Type == "" {
		return fmt.Errorf("event without a type: %w", herald.ErrInvalidInput)
	}
	m := e.Message
	if m == nil || m.ID == "" {
		return fmt.Errorf("%s event without a message id: %w", e.Type, herald.ErrInvalidInput)
	}
	at, _ := time.Parse(time.RFC3339Nano, e.Time)
	// A group message has one event per recipient: the recipient is part
	// of the event's identity.
	eventID := m.ID + "/" + e.Type
	if len(m.To) > 1 && e.To != "" {
		eventID += "/" + e.To
	}
	if e.Type == EventReceived {
		if strings.EqualFold(m.Direction, "out") {
			return nil // never treat our own outbound message as a reply
		}
		if m.From == "" {
			return fmt.Errorf("inbound message without from: %w", herald.ErrInvalidInput)
		}
		to := e.To
		if to == "" {
			to = m.Owner
		}
		inboundID := m.ID
		if len(m.To) > 1 && e.To != "" {
			inboundID += "/" + e.To
		}
		var media []string
		for _, u := range m.Media {
			if u != "" && !isLayoutFile(u) {
				media = append(media, u)
			}
		}
		ch := herald.ChannelSMS
		if len(media) > 0 {
			ch = herald.ChannelMMS
		}
		res.Inbound = append(res.Inbound, herald.InboundMessage{
			OrgID: orgID, Vendor: v.name, EventID: inboundID, Channel: ch, From: m.From, To: to,
			MessagingServiceID: m.ApplicationID, Body: strings.ReplaceAll(m.Text, "\x00", ""), Media: media,
			ReceivedAt: at, Raw: raw(e),
		})
		return nil
	}
	if strings.EqualFold(m.Direction, "in") {
		return nil
	}
	r := herald.DeliveryReport{
		OrgID: orgID, Vendor: v.name, EventID: eventID, VendorMessageID: m.ID,
		From: m.From, To: e.To, MessagingServiceID: m.ApplicationID, Carrier: e.CarrierName, At: at, Raw: raw(e),
	}
	if r.To == "" && len(m.To) == 1 {
		r.To = m.To[0]
	}
	if e.Type == EventRead {
		r.Engagement = herald.EngagementOpened
		res.Reports = append(res.Reports, r)
		return nil
	}
	st, ok := MapStatus(e.Type)
	if !ok {
		return nil // a type added later: nothing to record
	}
	r.Status = st
	if st == herald.StatusFailed {
		r.ErrorCode = code(e.ErrorCode)
		switch r.ErrorCode {
		case CodeOptedOut:
			r.OptedOut = true
		case CodeInvalidDestination:
			r.Landline = true
		case CodeDLRTimeout:
			// No receipt came: the message may well have been delivered.
			// Record the code without failing it.
			r.Status = herald.StatusSent
		}
	}
	res.Reports = append(res.Reports, r)
	return nil
}

// isLayoutFile reports whether an inbound media URL is the MMS's SMIL
// layout rather than content.
func isLayoutFile(u string) bool {
	p := u
	if pu, err := url.Parse(u); err == nil {
		p = pu.Path
	}
	return strings.HasSuffix(strings.ToLower(p), ".smil")
}

// raw flattens an event's fields for managers that need more.
func raw(e *Event) map[string]string {
	m := map[string]string{"type": e.Type}
	set := func(k, val string) {
		if val != "" {
			m[k] = val
		}
	}
	set("time", e.Time)
	set("description", e.Description)
	set("to", e.To)
	set("errorCode", code(e.ErrorCode))
	set("carrierName", e.CarrierName)
	if msg := e.Message; msg != nil {
		set("messageId", msg.ID)
		set("owner", msg.Owner)
		set("applicationId", msg.ApplicationID)
		set("direction", msg.Direction)
		set("from", msg.From)
		set("tag", msg.Tag)
		set("priority", msg.Priority)
		set("segmentCount", strings.Trim(string(msg.SegmentCount), `"`))
	}
	return m
}

// CallbackAuthorization returns the Authorization header Bandwidth sends
// with callbacks of an application whose callback credentials are user and
// password. Tests and tools use it to post callbacks as Bandwidth does.
func CallbackAuthorization(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
