package twilio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	_, err = v.do(ctx, call{method: http.MethodPost, url: v.accountURL(creds, "/Messages.json"), form: form, creds: creds, out: &m})
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
func (v *Vendor) sendForm(req *herald.SendRequest, creds Credentials) (url.Values, error) {
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
	form := make(url.Values, 8)
	form["To"] = []string{msg.To}
	if msg.Body != "" {
		form["Body"] = []string{msg.Body}
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
	if from != "" {
		form["From"] = []string{from}
	}
	if service != "" {
		form["MessagingServiceSid"] = []string{service}
	}
	if len(msg.Media) > 0 {
		form["MediaUrl"] = msg.Media
	} else if route.ForceMMS || msg.Channel == herald.ChannelMMS {
		form["SendAsMms"] = []string{"true"}
	}
	if req.StatusCallbackURL != "" {
		form["StatusCallback"] = []string{req.StatusCallbackURL}
	}
	if !msg.SendBefore.IsZero() {
		left := msg.SendBefore.Sub(v.clock.Now())
		if left < time.Second {
			return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent,
				Message: "the message's send window has closed"}
		}
		if left < MaxValidityPeriod {
			form["ValidityPeriod"] = []string{strconv.Itoa(int(left / time.Second))}
		}
	}
	return form, nil
}

// invalid is the VendorError of a request Twilio would refuse: permanent,
// wrapping herald.ErrInvalidInput.
func (v *Vendor) invalid(what string) *herald.VendorError {
	return &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Message: what, Err: herald.ErrInvalidInput}
}
