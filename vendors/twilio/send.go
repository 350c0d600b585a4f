package twilio

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// message is the part of Twilio's Message resource the vendor reads.
type message struct {
	SID                 string  `json:"sid"`
	From                *string `json:"from"`
	MessagingServiceSID *string `json:"messaging_service_sid"`
	NumSegments         string  `json:"num_segments"`
}

// Send posts the message to Twilio's Messages API; see the package
// documentation for the parameters and the error classes.
func (v *Vendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if err := vendorhttp.CheckSend(ctx, v.name, req); err != nil {
		return nil, err
	}
	creds := v.credentials(req.Organization, req.Route)
	form, err := v.sendForm(req, creds)
	if err != nil {
		return nil, err
	}
	var m message
	_, err = v.do(ctx, call{method: http.MethodPost, url: v.messagesURL(creds), body: form, creds: creds, out: &m})
	if err != nil {
		return nil, err
	}
	if m.SID == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassMaybeDelivered, Message: "Twilio answered without a message SID"}
	}
	res := &herald.SendResult{VendorMessageID: m.SID, Status: herald.StatusSent}
	if m.From != nil {
		res.From = *m.From
	}
	if m.MessagingServiceSID != nil {
		res.MessagingServiceID = *m.MessagingServiceSID
	}
	res.Segments, _ = strconv.Atoi(m.NumSegments)
	return res, nil
}

// sendForm builds the Messages API form for req.
func (v *Vendor) sendForm(req *herald.SendRequest, creds Credentials) (formBody, error) {
	msg := req.Message
	route := req.Route
	if route == nil {
		route = &herald.Route{}
	}
	if msg.Channel != herald.ChannelSMS && msg.Channel != herald.ChannelMMS {
		return nil, v.invalid(fmt.Sprintf("channel %q is not sms or mms", msg.Channel))
	}
	if msg.To == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassInvalidAddress, Code: CodeInvalidTo,
			Message: "no 'To' number", Err: herald.ErrInvalidInput}
	}
	if msg.Body == "" && len(msg.Media) == 0 {
		return nil, v.invalid("neither a body nor media")
	}
	if len(msg.Media) > MaxMedia {
		return nil, v.invalid(fmt.Sprintf("%d media URLs, Twilio takes at most %d", len(msg.Media), MaxMedia))
	}
	from := route.From
	if from == "" {
		from = msg.From
	}
	service := route.MessagingServiceID
	if service == "" {
		service = msg.MessagingServiceID
	}
	if service == "" && from == "" {
		service = creds.MessagingServiceSID
	}
	if from == "" && service == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth,
			Message: "neither a From number nor a messaging service SID", Err: herald.ErrConfig}
	}
	validity := 0
	if !msg.SendBefore.IsZero() {
		left := msg.SendBefore.Sub(v.clock.Now())
		if left < time.Second {
			return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent,
				Message: "the message's send window has closed"}
		}
		if left < MaxValidityPeriod {
			validity = int(left / time.Second)
		}
	}
	size := 96 + len(msg.To) + 2*len(msg.Body) + len(from) + len(service) + 2*len(req.StatusCallbackURL)
	for _, u := range msg.Media {
		size += 12 + 2*len(u)
	}
	form := make(formBody, 0, size).add("To", msg.To)
	if msg.Body != "" {
		form = form.add("Body", msg.Body)
	}
	if from != "" {
		form = form.add("From", from)
	}
	if service != "" {
		form = form.add("MessagingServiceSid", service)
	}
	if len(msg.Media) > 0 {
		for _, u := range msg.Media {
			form = form.add("MediaUrl", u)
		}
	} else if route.ForceMMS || msg.Channel == herald.ChannelMMS {
		form = form.add("SendAsMms", "true")
	}
	if req.StatusCallbackURL != "" {
		form = form.add("StatusCallback", req.StatusCallbackURL)
	}
	if validity > 0 {
		form = form.add("ValidityPeriod", strconv.Itoa(validity))
	}
	return form, nil
}

// invalid is the VendorError of a request Twilio would refuse: permanent,
// wrapping herald.ErrInvalidInput.
func (v *Vendor) invalid(what string) *herald.VendorError {
	return &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Message: what, Err: herald.ErrInvalidInput}
}
