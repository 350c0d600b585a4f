package twilio

import (
	"maps"
	"slices"
	"strconv"

	"github.com/heraldmsg/herald"
)

// ErrorLinkBase is the prefix of Twilio's error documentation links; the
// code follows it.
const ErrorLinkBase = "https://www.twilio.com/docs/api/errors/"

// Codes of note, named.
const (
	CodeAuthenticate    = "20003" // authentication failed
	CodeNotFound        = "20404" // resource not found
	CodeTooManyRequests = "20429" // too many requests
	CodeInvalidTo       = "21211" // invalid 'To' number
	CodeUnsubscribed    = "21610" // recipient replied STOP
	CodeNotMobile       = "21614" // 'To' is not a mobile number
	CodeBodyTooLong     = "21617" // body over 1600 characters
	CodeLandline        = "30006" // landline or unreachable carrier
)

type codeInfo struct {
	class herald.ErrorClass
	desc  string
}

// codes is every Twilio code the vendor knows: Spoke's table, the common
// REST errors and the delivery failures. The class applies when the code
// comes back from a REST call; delivery failures (300xx) normally arrive
// in status callbacks, where they fail the message whatever the class.
var codes = map[string]codeInfo{
	"12300": {herald.ClassPermanent, "Invalid Content-Type: Twilio could not process the content type of the media."},
	"12400": {herald.ClassTemporary, "Internal failure within Twilio; retrying may succeed."},
	"20001": {herald.ClassPermanent, "Unknown parameters in the request."},
	"20003": {herald.ClassAuth, "Authentication failed: the account SID, auth token or API key is wrong."},
	"20005": {herald.ClassAuth, "The account is not active (suspended or closed)."},
	"20008": {herald.ClassAuth, "The resource cannot be accessed with test credentials."},
	"20404": {herald.ClassPermanent, "The requested resource was not found."},
	"20429": {herald.ClassRateLimited, "Too many requests: Twilio's queue is full, retrying later is fine."},
	"20500": {herald.ClassTemporary, "Internal server error at Twilio."},
	"20503": {herald.ClassTemporary, "Twilio's service is unavailable."},
	"21211": {herald.ClassInvalidAddress, "Invalid 'To' phone number."},
	"21212": {herald.ClassAuth, "Invalid 'From' phone number."},
	"21214": {herald.ClassInvalidAddress, "The 'To' phone number cannot be reached."},
	"21266": {herald.ClassInvalidAddress, "'To' and 'From' are the same number."},
	"21408": {herald.ClassAuth, "Permission to send to this region has not been enabled on the account."},
	"21602": {herald.ClassPermanent, "Message body is required."},
	"21604": {herald.ClassInvalidAddress, "A 'To' phone number is required."},
	"21606": {herald.ClassAuth, "The 'From' number is not a valid, SMS-capable number of this account."},
	"21608": {herald.ClassAuth, "Trial accounts may only send to verified numbers."},
	"21610": {herald.ClassOptedOut, "The recipient unsubscribed (replied STOP) from this sender."},
	"21611": {herald.ClassRateLimited, "The 'From' number has too many messages queued; slow down."},
	"21612": {herald.ClassInvalidAddress, "The 'To' number is not reachable by SMS from this 'From' number."},
	"21614": {herald.ClassInvalidAddress, "The 'To' number is not a valid mobile number."},
	"21617": {herald.ClassPermanent, "The message body exceeds 1600 characters."},
	"21619": {herald.ClassPermanent, "A text body or media URL is required."},
	"21620": {herald.ClassPermanent, "Invalid media URL."},
	"21621": {herald.ClassAuth, "The 'From' number is not MMS-capable."},
	"21623": {herald.ClassPermanent, "The number of media files exceeds the limit of 10."},
	"21635": {herald.ClassInvalidAddress, "The 'To' number is a landline and cannot receive SMS."},
	"21701": {herald.ClassAuth, "The messaging service does not exist."},
	"21703": {herald.ClassAuth, "The messaging service has no phone numbers to send from."},
	"21710": {herald.ClassPermanent, "The phone number is already in the messaging service."},
	"30001": {herald.ClassTemporary, "Queue overflow: too many messages were queued for the sender."},
	"30002": {herald.ClassAuth, "The account is suspended."},
	"30003": {herald.ClassTemporary, "Unreachable destination handset (off or out of coverage)."},
	"30004": {herald.ClassPermanent, "Message blocked by the recipient or the carrier."},
	"30005": {herald.ClassInvalidAddress, "Unknown destination handset: the number may not exist."},
	"30006": {herald.ClassInvalidAddress, "Landline or unreachable carrier: the number cannot take texts."},
	"30007": {herald.ClassPermanent, "Carrier violation: the message was filtered as spam or content violation."},
	"30008": {herald.ClassTemporary, "Unknown delivery error."},
	"60600": {herald.ClassInvalidAddress, "The number is unprovisioned or out of coverage (lookup)."},
}

// Codes returns every Twilio code DescribeError knows, sorted.
func Codes() []string {
	return slices.Sorted(maps.Keys(codes))
}

// Classify returns the class of a failed REST call from Twilio's error code
// (or the HTTP status as a string when the body had none) and the HTTP
// status: the code's class when the code is known; otherwise 429 is
// rate-limited, 5xx temporary, 401 and 403 auth, 408 maybe-delivered
// (the request reached Twilio) and anything else permanent.
func Classify(code string, httpStatus int) herald.ErrorClass {
	if c, ok := codes[code]; ok {
		return c.class
	}
	if httpStatus == 0 {
		httpStatus, _ = strconv.Atoi(code)
	}
	switch {
	case httpStatus == 429:
		return herald.ClassRateLimited
	case httpStatus >= 500 && httpStatus <= 599:
		return herald.ClassTemporary
	case httpStatus == 401 || httpStatus == 403:
		return herald.ClassAuth
	case httpStatus == 408:
		return herald.ClassMaybeDelivered
	}
	return herald.ClassPermanent
}

// DescribeError explains a Twilio error code (or an HTTP status the
// vendor reported as its code) with a link to Twilio's page for it. The
// answer's Code is always code.
func (v *Vendor) DescribeError(code string) herald.ErrorDescription {
	d := herald.ErrorDescription{Code: code}
	if c, ok := codes[code]; ok {
		d.Description = c.desc
		d.Link = ErrorLinkBase + code
		return d
	}
	n, err := strconv.Atoi(code)
	switch {
	case err == nil && n >= 100 && n <= 599:
		d.Description = "HTTP " + code + " from Twilio"
		if t := httpText(n); t != "" {
			d.Description += ": " + t
		}
	case err == nil && n > 0:
		d.Description = "Twilio error " + code + "."
		d.Link = ErrorLinkBase + code
	default:
		d.Description = "Twilio error " + code + "."
	}
	return d
}

func httpText(n int) string {
	switch {
	case n == 429:
		return "too many requests; retry after the Retry-After delay."
	case n >= 500:
		return "server error; retry later."
	case n == 401 || n == 403:
		return "credentials refused."
	}
	return ""
}
