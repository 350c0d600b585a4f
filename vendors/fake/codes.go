package fake

import (
	"net/http"
	"strconv"
	"time"

	"github.com/heraldmsg/herald"
)

// Codes the fake uses besides the magic-word codes.
const (
	// CodeNotFound is the code of a VendorError for an unknown messaging
	// service or number.
	CodeNotFound = "404"
	// CodeConflict is the code of a VendorError for a number that already
	// belongs to another messaging service.
	CodeConflict = "409"
	// CodeAuth is the code of a VendorError for an account the fake refuses.
	CodeAuth = "20003"
	// CodeLandline is the delivery failure code that marks the report
	// Landline.
	CodeLandline = "30006"
)

// ErrorLinkBase is the prefix of the links DescribeError returns; the code
// follows it.
const ErrorLinkBase = "https://fake.example.com/docs/errors/"

// Classify returns the class the fake gives a failing code, and false when
// the code is not in the class table: such a code is accepted by Send and
// reported failed later. See the package documentation for the table.
func Classify(code string) (herald.ErrorClass, bool) {
	switch code {
	case "429", "20429":
		return herald.ClassRateLimited, true
	case "21610":
		return herald.ClassOptedOut, true
	case "21211", "21614":
		return herald.ClassInvalidAddress, true
	case "20003", "401", "403":
		return herald.ClassAuth, true
	case "410":
		return herald.ClassGone, true
	case "408":
		return herald.ClassMaybeDelivered, true
	case "400":
		return herald.ClassPermanent, true
	}
	if n, err := strconv.Atoi(code); err == nil && n >= 500 && n <= 599 && strconv.Itoa(n) == code {
		return herald.ClassTemporary, true
	}
	return "", false
}

// httpStatusFor returns the HTTP status a real API would answer a failing
// code with.
func httpStatusFor(code string, class herald.ErrorClass) int {
	switch class {
	case herald.ClassRateLimited:
		return http.StatusTooManyRequests
	case herald.ClassTemporary:
		n, _ := strconv.Atoi(code)
		return n
	case herald.ClassAuth:
		if code == "403" {
			return http.StatusForbidden
		}
		return http.StatusUnauthorized
	case herald.ClassGone:
		return http.StatusGone
	case herald.ClassMaybeDelivered:
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// errorDescriptions describes every code the fake produces.
var errorDescriptions = map[string]string{
	"400":   "Bad request: the fake refused the message and always will.",
	"401":   "Unauthorized: the credentials are missing or wrong.",
	"403":   "Forbidden: the account may not send this message.",
	"404":   "Not found: no such resource at the fake.",
	"408":   "Request timeout: the message may or may not have been accepted.",
	"409":   "Conflict: the number already belongs to another messaging service.",
	"410":   "Gone: the device or subscription no longer exists.",
	"429":   "Too many requests: slow down and retry after the Retry-After delay.",
	"20003": "Authentication failed: the account or secret is wrong.",
	"20429": "Too many requests for this account: retry after the Retry-After delay.",
	"21211": "Invalid 'To' phone number.",
	"21610": "The recipient unsubscribed (replied STOP) from this sender.",
	"21614": "The 'To' number is not a valid mobile number.",
	"30003": "Unreachable destination handset.",
	"30004": "Message blocked by the recipient or the carrier.",
	"30005": "Unknown destination handset.",
	"30006": "Landline or unreachable carrier: the number cannot take texts.",
	"30007": "Carrier violation: the message was filtered.",
	"30008": "Unknown delivery error.",
}

// DescribeError explains a code: every code in the class table, the
// carrier failures 30003–30008 and the fake's own 404 and 409. Unknown codes
// get a generic description. The Code of the answer is always code.
func (v *Vendor) DescribeError(code string) herald.ErrorDescription {
	d, ok := errorDescriptions[code]
	if !ok {
		if class, known := Classify(code); known && class == herald.ClassTemporary {
			d = "Server error " + code + ": the fake could not take the message now; retry later."
		} else {
			d = "Fake vendor error " + code + "."
		}
	}
	return herald.ErrorDescription{Code: code, Description: d, Link: ErrorLinkBase + code}
}

// vendorError builds the VendorError for a failing code in the class table.
func (v *Vendor) vendorError(code string, class herald.ErrorClass, err error) *herald.VendorError {
	ve := &herald.VendorError{
		Vendor:     v.name,
		Class:      class,
		Code:       code,
		Message:    v.DescribeError(code).Description,
		HTTPStatus: httpStatusFor(code, class),
		Err:        err,
	}
	if class == herald.ClassRateLimited {
		ve.RetryAfter = v.retryAfter
	}
	return ve
}

// defaultRetryAfter is Options.RetryAfter's default.
const defaultRetryAfter = time.Second
