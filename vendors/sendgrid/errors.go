package sendgrid

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Error codes of this vendor. SendGrid's answers carry their HTTP status
// as code ("429"); failures found before any request carry one of these.
const (
	// CodeInvalidRequest: the message cannot be sent as it is (no body, an
	// unparsable address).
	CodeInvalidRequest = "invalid-request"
	// CodeNoAPIKey: neither the organization nor the Options hold an API key.
	CodeNoAPIKey = "no-api-key"
	// CodeNoSender: no From address anywhere.
	CodeNoSender = "no-sender"
	// CodeAttachment: a Media URL could not be fetched or is too large.
	CodeAttachment = "attachment"
)

var descriptions = map[string]string{
	CodeInvalidRequest:  "The message cannot be sent as an email (no body, or an address that does not parse).",
	CodeNoAPIKey:        "No SendGrid API key is configured for the organization or the process.",
	CodeNoSender:        "No sender address: set Options.From, the organization's from, or the message's From.",
	CodeAttachment:      "An attachment URL could not be fetched, or its content is too large.",
	"400":               "SendGrid refused the request as invalid; the error names the field.",
	"401":               "The API key is missing or wrong.",
	"403":               "The API key lacks the mail.send permission, the sender is not verified, or the account is blocked.",
	"406":               "The request did not accept JSON.",
	"413":               "The mail is larger than SendGrid accepts (30 MB including attachments).",
	"429":               "SendGrid's rate limit was reached; retry after the reset time.",
	"451":               "The request was sent to a region the account's data may not go to.",
	"500":               "SendGrid failed; retrying may succeed.",
	"503":               "SendGrid is unavailable; retrying may succeed.",
	"bounce":            "The receiving server rejected the mail (hard bounce or block).",
	"dropped":           "SendGrid dropped the mail without sending it (suppressed or invalid address).",
	"deferred":          "The receiving server deferred the mail; SendGrid keeps retrying for 72 hours.",
	"unsubscribe":       "The recipient unsubscribed; the address is opted out of email.",
	"group_unsubscribe": "The recipient unsubscribed from the unsubscribe group; the address is opted out of email.",
	"spamreport":        "The recipient reported the mail as spam; the address is opted out of email.",
}

// DescribeError explains a code of this vendor or an SMTP status from a
// bounce ("5.1.1").
func (c *Client) DescribeError(code string) herald.ErrorDescription {
	d, ok := descriptions[code]
	link := "https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send#responses"
	switch {
	case ok:
	case strings.HasPrefix(code, "5."):
		d, link = "Permanent SMTP failure "+code+" from the receiving server.", "https://www.twilio.com/docs/sendgrid/ui/sending-email/bounces"
	case strings.HasPrefix(code, "4."):
		d, link = "Temporary SMTP failure "+code+" from the receiving server.", "https://www.twilio.com/docs/sendgrid/ui/sending-email/bounces"
	default:
		d = "SendGrid error " + code
	}
	return herald.ErrorDescription{Code: code, Description: d, Link: link}
}

func (c *Client) fail(class herald.ErrorClass, code, msg string, status int, err error) error {
	return &herald.VendorError{Vendor: Name, Class: class, Code: code, Message: msg, HTTPStatus: status, Err: err}
}

// apiErrors is SendGrid's error body.
type apiErrors struct {
	Errors []struct {
		Field   *string `json:"field"`
		Message string  `json:"message"`
	} `json:"errors"`
}

// statusError maps a non-2xx answer to a VendorError.
func (c *Client) statusError(status int, h http.Header, body string, now time.Time) error {
	ve := &herald.VendorError{Vendor: Name, Code: strconv.Itoa(status), HTTPStatus: status}
	var ae apiErrors
	addressField := false
	if json.Unmarshal([]byte(body), &ae) == nil && len(ae.Errors) > 0 {
		var parts []string
		for _, e := range ae.Errors {
			s := e.Message
			if e.Field != nil && *e.Field != "" {
				s = *e.Field + ": " + s
				f := *e.Field
				if strings.HasSuffix(f, ".email") || f == "from" || strings.HasPrefix(f, "personalizations") && strings.Contains(f, ".to") {
					addressField = true
				}
			}
			parts = append(parts, s)
		}
		ve.Message = strings.Join(parts, "; ")
	} else {
		ve.Message = http.StatusText(status)
	}
	if len(ve.Message) > 300 {
		ve.Message = ve.Message[:300]
	}
	switch {
	case status == http.StatusTooManyRequests:
		ve.Class = herald.ClassRateLimited
		ve.RetryAfter = retryAfter(h, now)
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusUnavailableForLegalReasons:
		ve.Class = herald.ClassAuth
	case status >= 500:
		ve.Class = herald.ClassTemporary
		ve.RetryAfter = retryAfter(h, now)
	case status == http.StatusBadRequest && addressField:
		ve.Class = herald.ClassInvalidAddress
	default:
		ve.Class = herald.ClassPermanent
	}
	return ve
}

// retryAfter reads Retry-After (seconds or an HTTP date), else
// X-RateLimit-Reset (a Unix time), capped at a day.
func retryAfter(h http.Header, now time.Time) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		d = vendorhttp.RetryAfter(v, now)
	} else if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			d = time.Unix(s, 0).Sub(now)
		}
	}
	if d <= 0 {
		return 0
	}
	return min(max(d.Round(time.Second), time.Second), vendorhttp.MaxRetryAfter)
}
