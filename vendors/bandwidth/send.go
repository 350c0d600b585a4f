package bandwidth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// MaxTextLength is the longest text, in characters, the Messaging API takes.
const MaxTextLength = 2048

// messageRequest is the Messaging API v2 request body.
type messageRequest struct {
	ApplicationID string   `json:"applicationId"`
	To            []string `json:"to"`
	From          string   `json:"from"`
	Text          string   `json:"text,omitempty"`
	Media         []string `json:"media,omitempty"`
	Tag           string   `json:"tag,omitempty"`
	Priority      string   `json:"priority,omitempty"`
	Expiration    string   `json:"expiration,omitempty"`
}

// messageAnswer is the part of the 202 answer the vendor reads.
type messageAnswer struct {
	ID            string `json:"id"`
	From          string `json:"from"`
	ApplicationID string `json:"applicationId"`
	SegmentCount  int    `json:"segmentCount"`
}

// Send posts the message to the Messaging API; see the package
// documentation for the request and the error classes.
func (v *Vendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if err := vendorhttp.CheckSend(ctx, v.name, req); err != nil {
		return nil, err
	}
	creds := v.credentials(req.Organization, req.Route)
	body, err := v.sendBody(req, creds)
	if err != nil {
		return nil, err
	}
	var ans messageAnswer
	_, err = v.do(ctx, call{
		api: apiMessaging, method: http.MethodPost, url: v.messagesURL(creds), body: body,
		contentType: jsonContentType, creds: creds,
		out: func(data []byte) error { return json.Unmarshal(data, &ans) },
	})
	if err != nil {
		return nil, err
	}
	if ans.ID == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassMaybeDelivered, Message: "Bandwidth answered without a message id"}
	}
	return &herald.SendResult{VendorMessageID: ans.ID, Status: herald.StatusSent, From: ans.From,
		MessagingServiceID: ans.ApplicationID, Segments: ans.SegmentCount}, nil
}

// messagesURL is the Messaging API URL of the account's messages.
func (v *Vendor) messagesURL(c Credentials) string {
	if c.AccountID == v.def.AccountID && v.defMessages != "" {
		return v.defMessages
	}
	return messagesURLOf(v.msgBase, c.AccountID)
}

func messagesURLOf(base, account string) string {
	return base + "/api/v2/users/" + url.PathEscape(account) + "/messages"
}

// sendBody builds the JSON request for req.
func (v *Vendor) sendBody(req *herald.SendRequest, creds Credentials) ([]byte, error) {
	msg := req.Message
	route := req.Route
	if route == nil {
		route = &herald.Route{}
	}
	if msg.Channel != herald.ChannelSMS && msg.Channel != herald.ChannelMMS {
		return nil, v.invalid(fmt.Sprintf("channel %q is not sms or mms", msg.Channel))
	}
	if msg.To == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassInvalidAddress, Code: "4303",
			Message: "no 'to' number", Err: herald.ErrInvalidInput}
	}
	if msg.Body == "" && len(msg.Media) == 0 {
		return nil, v.invalid("neither a body nor media")
	}
	if len(msg.Media) > MaxMedia {
		return nil, v.invalid(fmt.Sprintf("%d media URLs, Bandwidth takes at most %d", len(msg.Media), MaxMedia))
	}
	if n := utf8.RuneCountInString(msg.Body); n > MaxTextLength {
		return nil, v.invalid(fmt.Sprintf("a %d-character text, Bandwidth takes at most %d", n, MaxTextLength))
	}
	r := messageRequest{To: []string{msg.To}, Text: msg.Body, Media: msg.Media, Priority: "default"}
	r.From = route.From
	if r.From == "" {
		r.From = msg.From
	}
	if r.From == "" {
		r.From = creds.FromNumber
	}
	if r.From == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth,
			Message: "no From number: enable a number-picking manager or configure from_number", Err: herald.ErrConfig}
	}
	r.ApplicationID = route.MessagingServiceID
	if r.ApplicationID == "" {
		r.ApplicationID = msg.MessagingServiceID
	}
	if r.ApplicationID == "" {
		r.ApplicationID = creds.ApplicationID
	}
	if r.ApplicationID == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth,
			Message: "no messaging application ID configured", Err: herald.ErrConfig}
	}
	if len(msg.ID) <= MaxTagLength {
		r.Tag = msg.ID
	}
	if msg.Urgency == herald.UrgencyHigh {
		r.Priority = "high"
	}
	if !msg.SendBefore.IsZero() {
		if msg.SendBefore.Sub(v.clock.Now()) < time.Second {
			return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Code: "4360",
				Message: "the message's send window has closed"}
		}
		r.Expiration = msg.SendBefore.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, v.invalid("encoding the request: " + err.Error())
	}
	return b, nil
}

// invalid is the VendorError of a request Bandwidth would refuse:
// permanent, wrapping herald.ErrInvalidInput.
func (v *Vendor) invalid(what string) *herald.VendorError {
	return &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Message: what, Err: herald.ErrInvalidInput}
}
