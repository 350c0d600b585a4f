package twilio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/heraldmsg/herald"
)

// Webhook paths under the dispatcher's /{org}/{vendor} mount.
const (
	PathStatus  = "/status"
	PathInbound = "/inbound"
)

// EmptyTwiML is the answer to every accepted webhook: a TwiML document
// that asks Twilio to do nothing (no automatic reply).
const EmptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

var emptyTwiML = []byte(EmptyTwiML)

// ParseWebhook verifies a Twilio webhook and turns it into events. See the
// package documentation for verification, the status mapping and the
// answer. A request without a valid signature (or with no auth token to
// check it) is an error wrapping herald.ErrUnauthorized; a verified request
// that is not a Twilio status callback or inbound message (no MessageSid,
// an inbound message without From, a body that does not parse) an error
// wrapping herald.ErrInvalidInput. It has no side effects.
func (v *Vendor) ParseWebhook(ctx context.Context, req *herald.WebhookRequest) (*herald.WebhookResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req == nil {
		return nil, fmt.Errorf("twilio: nil webhook request: %w", herald.ErrInvalidInput)
	}
	sig := req.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, fmt.Errorf("twilio: missing %s: %w", SignatureHeader, herald.ErrUnauthorized)
	}
	// A body that does not parse is verified over what did parse: a
	// forged one is still unauthorized, a signed one malformed.
	signed, fields, jsonBody, parseErr := webhookParams(req)
	if jsonBody {
		if f, err := jsonParams(req.Body); err == nil {
			fields = f // for the AccountSid only, until verified
		}
	}
	verified := false
	for _, token := range v.webhookTokens(ctx, req.Organization, fields.Get("AccountSid")) {
		if jsonBody {
			verified = ValidBodySignature(token, sig, req.URL, req.Body)
		} else {
			verified = ValidSignature(token, sig, req.URL, signed)
		}
		if verified {
			break
		}
	}
	if !verified {
		return nil, fmt.Errorf("twilio: bad %s: %w", SignatureHeader, herald.ErrUnauthorized)
	}
	if parseErr != nil {
		return nil, fmt.Errorf("twilio: webhook: %v: %w", parseErr, herald.ErrInvalidInput)
	}
	if jsonBody {
		var err error
		if fields, err = jsonParams(req.Body); err != nil {
			return nil, fmt.Errorf("twilio: webhook body: %v: %w", err, herald.ErrInvalidInput)
		}
	}
	return v.parseParams(req.Organization, req.Path, fields)
}

// webhookParams returns the signed parameters and the request's fields:
// for a form POST both are the form; for a GET nothing is signed (the
// query is part of the signed URL) and the fields are the query; for a
// JSON body (covered by bodySHA256) neither, with jsonBody set. The
// fields are never nil.
func webhookParams(req *herald.WebhookRequest) (signed, fields url.Values, jsonBody bool, err error) {
	if req.Method == http.MethodGet {
		u, err := url.Parse(req.URL)
		if err != nil {
			return nil, url.Values{}, false, err
		}
		q, err := url.ParseQuery(u.RawQuery)
		return nil, q, false, err
	}
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct == "application/json" || (ct == "" && strings.Contains(req.URL, "bodySHA256=")) {
		return nil, url.Values{}, true, nil
	}
	params, err := url.ParseQuery(string(req.Body))
	if err != nil {
		err = fmt.Errorf("form body: %v", err)
	}
	return params, params, false, err
}

// jsonParams flattens a JSON object of scalars into parameters.
func jsonParams(body []byte) (url.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	params := make(url.Values, len(obj))
	for k, val := range obj {
		switch x := val.(type) {
		case string:
			params.Set(k, x)
		case json.Number:
			params.Set(k, x.String())
		case bool:
			params.Set(k, strconv.FormatBool(x))
		case nil:
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					params.Add(k, s)
				}
			}
		}
	}
	return params, nil
}

// webhookTokens lists the auth tokens a webhook may be signed with: the
// organization's own; the default token only for organizations on the
// default account (so another account cannot sign for an organization);
// then Options.AuthTokenFor's for the callback's account.
func (v *Vendor) webhookTokens(ctx context.Context, org *herald.Organization, accountSID string) []string {
	var out []string
	add := func(t string) {
		for _, x := range out {
			if x == t {
				return
			}
		}
		if t != "" {
			out = append(out, t)
		}
	}
	cfg := v.orgConfig(org)
	switch {
	case cfg[ConfigAuthToken] != "":
		add(cfg[ConfigAuthToken])
	case cfg[ConfigAccountSID] == "" || cfg[ConfigAccountSID] == v.def.AccountSID:
		add(v.def.AuthToken)
	}
	if v.tokenFor != nil && accountSID != "" {
		if t, err := v.tokenFor(ctx, org, accountSID); err == nil {
			add(t)
		} else {
			v.log.Warn("twilio: AuthTokenFor failed", "err", err)
		}
	}
	return out
}

// parseParams turns verified webhook parameters into events.
func (v *Vendor) parseParams(org *herald.Organization, path string, p url.Values) (*herald.WebhookResult, error) {
	sid := first(p, "MessageSid", "SmsSid", "SmsMessageSid")
	if sid == "" {
		return nil, fmt.Errorf("twilio: webhook without MessageSid: %w", herald.ErrInvalidInput)
	}
	status := strings.ToLower(first(p, "MessageStatus", "SmsStatus"))
	inbound := false
	switch path {
	case PathInbound:
		inbound = true
	case PathStatus:
	case "", "/":
		inbound = status == "" || status == "received" || status == "receiving"
	default:
		return nil, fmt.Errorf("twilio: unknown webhook path %q: %w", path, herald.ErrInvalidInput)
	}
	orgID := ""
	if org != nil {
		orgID = org.ID
	}
	res := &herald.WebhookResult{StatusCode: http.StatusOK, ContentType: "text/xml", Body: emptyTwiML}
	if inbound {
		in, err := v.inbound(orgID, sid, p)
		if err != nil {
			return nil, err
		}
		res.Inbound = []herald.InboundMessage{in}
		return res, nil
	}
	if status == "" {
		return nil, fmt.Errorf("twilio: status callback without MessageStatus: %w", herald.ErrInvalidInput)
	}
	res.Reports = v.reports(orgID, sid, status, p)
	return res, nil
}

// first returns the first non-empty value among the names.
func first(p url.Values, names ...string) string {
	for _, n := range names {
		if s := p.Get(n); s != "" {
			return s
		}
	}
	return ""
}

// MapStatus maps a Twilio MessageStatus onto a herald status, and reports
// whether the status is one herald records (false for queued, accepted,
// scheduled, sending, receiving, received and unknown statuses).
func MapStatus(twilioStatus string) (herald.Status, bool) {
	switch strings.ToLower(twilioStatus) {
	case "sent":
		return herald.StatusSent, true
	case "delivered", "partially_delivered", "read":
		return herald.StatusDelivered, true
	case "undelivered", "failed", "canceled":
		return herald.StatusFailed, true
	}
	return "", false
}

func raw(p url.Values) map[string]string {
	m := make(map[string]string, len(p))
	for k, vals := range p {
		if len(vals) > 0 {
			m[k] = vals[0]
		}
	}
	return m
}

func (v *Vendor) reports(orgID, sid, status string, p url.Values) []herald.DeliveryReport {
	st, ok := MapStatus(status)
	if !ok {
		return nil
	}
	code := p.Get("ErrorCode")
	if code == "0" {
		code = ""
	}
	r := herald.DeliveryReport{
		OrgID: orgID, Vendor: v.name, EventID: sid + "/" + status, VendorMessageID: sid,
		Status: st, ErrorCode: code, From: p.Get("From"), To: p.Get("To"),
		MessagingServiceID: p.Get("MessagingServiceSid"),
		Landline:           code == CodeLandline,
		OptedOut:           code == CodeUnsubscribed,
		Raw:                raw(p),
	}
	if status != "read" {
		return []herald.DeliveryReport{r}
	}
	// A read receipt: delivered (deduplicated with Twilio's own delivered
	// callback) and the "opened" engagement.
	delivered := r
	delivered.EventID = sid + "/delivered"
	opened := r
	opened.Status, opened.Engagement = "", herald.EngagementOpened
	opened.Raw = raw(p)
	return []herald.DeliveryReport{delivered, opened}
}

func (v *Vendor) inbound(orgID, sid string, p url.Values) (herald.InboundMessage, error) {
	from := p.Get("From")
	if from == "" {
		return herald.InboundMessage{}, fmt.Errorf("twilio: inbound message without From: %w", herald.ErrInvalidInput)
	}
	n, err := strconv.Atoi(p.Get("NumMedia"))
	if p.Get("NumMedia") != "" && (err != nil || n < 0 || n > 100) {
		return herald.InboundMessage{}, fmt.Errorf("twilio: NumMedia %q: %w", p.Get("NumMedia"), herald.ErrInvalidInput)
	}
	var media []string
	for i := range n {
		if u := p.Get("MediaUrl" + strconv.Itoa(i)); u != "" {
			media = append(media, u)
		}
	}
	ch := herald.ChannelSMS
	if len(media) > 0 {
		ch = herald.ChannelMMS
	}
	return herald.InboundMessage{
		OrgID: orgID, Vendor: v.name, EventID: sid, Channel: ch,
		From: from, To: p.Get("To"), MessagingServiceID: p.Get("MessagingServiceSid"),
		Body: strings.ReplaceAll(p.Get("Body"), "\x00", ""), Media: media, Raw: raw(p),
	}, nil
}
