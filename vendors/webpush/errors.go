package webpush

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Error codes of this vendor. Answers of the push service carry their
// HTTP status as code ("410"); failures found before any request carry one
// of these.
const (
	// CodePayloadTooLarge: the payload exceeds MaxPayload (or the push
	// service answered 413).
	CodePayloadTooLarge = "payload-too-large"
	// CodeNoSubscription: the request has no usable subscription (missing
	// or malformed JSON, keys or endpoint).
	CodeNoSubscription = "no-subscription"
	// CodeInvalidRequest: the message cannot be sent as it is (a bad
	// topic, an unencodable payload).
	CodeInvalidRequest = "invalid-request"
)

var descriptions = map[string]string{
	CodePayloadTooLarge: "The encrypted payload is larger than push services accept (3993 bytes of JSON); send less data and fetch the rest when the notification is opened.",
	CodeNoSubscription:  "The device has no usable web push subscription (endpoint and keys p256dh and auth from PushSubscription.toJSON()).",
	CodeInvalidRequest:  "The message cannot be sent as a web push (bad Topic or payload).",
	"400":               "The push service refused the request as malformed (headers or VAPID token).",
	"401":               "The push service refused the VAPID token.",
	"403":               "The VAPID key is not the one the subscription was created with.",
	"404":               "The subscription's endpoint is unknown to the push service; the subscription is removed.",
	"410":               "The subscription has expired or the user unsubscribed; the subscription is removed.",
	"413":               "The push service refused the payload as too large.",
	"429":               "The push service is rate limiting this application server; retry after the given delay.",
	"500":               "The push service failed; retrying may succeed.",
	"503":               "The push service is unavailable; retrying may succeed.",
}

// DescribeError explains a code of this vendor.
func (c *Client) DescribeError(code string) herald.ErrorDescription {
	d, ok := descriptions[code]
	if !ok {
		d = "web push error " + code
	}
	return herald.ErrorDescription{Code: code, Description: d, Link: "https://www.rfc-editor.org/rfc/rfc8030#section-5"}
}

func (c *Client) fail(class herald.ErrorClass, code, msg string, status int, err error) error {
	return &herald.VendorError{Vendor: Name, Class: class, Code: code, Message: msg, HTTPStatus: status, Err: err}
}

// statusError maps a push service's non-2xx answer to a VendorError.
func (c *Client) statusError(resp *http.Response, body []byte) error {
	st := resp.StatusCode
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if msg == "" {
		msg = http.StatusText(st)
	}
	ve := &herald.VendorError{Vendor: Name, Code: strconv.Itoa(st), Message: msg, HTTPStatus: st}
	switch {
	case st == http.StatusNotFound || st == http.StatusGone:
		ve.Class = herald.ClassGone
	case st == http.StatusTooManyRequests:
		ve.Class = herald.ClassRateLimited
		ve.RetryAfter = vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case st == http.StatusRequestEntityTooLarge:
		ve.Class, ve.Code = herald.ClassPermanent, CodePayloadTooLarge
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		ve.Class = herald.ClassAuth
	case st >= 500:
		ve.Class = herald.ClassTemporary
		ve.RetryAfter = vendorhttp.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	default:
		ve.Class = herald.ClassPermanent
	}
	return ve
}
