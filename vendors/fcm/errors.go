package fcm

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/heraldmsg/herald"
)

// FCM error codes (details[].errorCode of google.firebase.fcm.v1.FcmError)
// and the google.rpc status names the vendor acts on.
const (
	CodeUnspecified         = "UNSPECIFIED_ERROR"
	CodeInvalidArgument     = "INVALID_ARGUMENT"
	CodeUnregistered        = "UNREGISTERED"
	CodeSenderIDMismatch    = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded       = "QUOTA_EXCEEDED"
	CodeUnavailable         = "UNAVAILABLE"
	CodeInternal            = "INTERNAL"
	CodeThirdPartyAuthError = "THIRD_PARTY_AUTH_ERROR"
	CodeUnauthenticated     = "UNAUTHENTICATED"
	CodePermissionDenied    = "PERMISSION_DENIED"
	CodeNotFound            = "NOT_FOUND"
	CodeResourceExhausted   = "RESOURCE_EXHAUSTED"
)

// Codes of refusals the vendor makes itself.
const (
	// CodeNotConfigured: no usable service account for the organization.
	CodeNotConfigured = "NotConfigured"
	// CodeBadOption: a Meta or Route.Extra option or the data is unusable.
	CodeBadOption = "BadOption"
	// CodeTokenUnavailable: no OAuth 2.0 access token could be obtained.
	CodeTokenUnavailable = "TokenUnavailable"
)

// apiError is the v1 API's error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// errorInfo is what an error answer says.
type errorInfo struct {
	code    string
	message string
	// aboutToken: an INVALID_ARGUMENT that names the registration token.
	aboutToken bool
}

// parseError reads an error body; anything not JSON gives an empty code.
func parseError(data []byte) errorInfo {
	var ae apiError
	if json.Unmarshal(data, &ae) != nil {
		return errorInfo{}
	}
	info := errorInfo{code: ae.Error.Status, message: ae.Error.Message}
	for _, d := range ae.Error.Details {
		if d.ErrorCode != "" {
			info.code = d.ErrorCode
		}
		for _, fv := range d.FieldViolations {
			if fv.Field == "message.token" {
				info.aboutToken = true
			}
		}
	}
	if strings.Contains(strings.ToLower(info.message), "registration token") {
		info.aboutToken = true
	}
	return info
}

// Classify maps an FCM answer to an error class: the HTTP status, the
// error code (details[].errorCode, else error.status; empty for a body
// that is not JSON) and whether an INVALID_ARGUMENT is about the token.
func Classify(status int, code string, aboutToken bool) herald.ErrorClass {
	switch code {
	case CodeUnregistered:
		return herald.ClassGone
	case CodeInvalidArgument:
		if aboutToken {
			return herald.ClassInvalidAddress
		}
		return herald.ClassPermanent
	case CodeQuotaExceeded, CodeResourceExhausted:
		return herald.ClassRateLimited
	case CodeUnavailable, CodeInternal:
		return herald.ClassTemporary
	case CodeSenderIDMismatch, CodeThirdPartyAuthError, CodeUnauthenticated, CodePermissionDenied:
		return herald.ClassAuth
	}
	switch {
	case status == http.StatusTooManyRequests:
		return herald.ClassRateLimited
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return herald.ClassAuth
	case status >= 500:
		return herald.ClassTemporary
	}
	return herald.ClassPermanent
}

// descriptions explains FCM's codes (the v1 ErrorCode reference) and the
// vendor's own.
var descriptions = map[string]string{
	CodeUnspecified:         "no more information is available about this error",
	CodeInvalidArgument:     "the request was invalid: a malformed registration token, a payload over 4096 bytes, a reserved data key or a bad value",
	CodeUnregistered:        "the app instance was unregistered from FCM; the token is no longer valid and the device is removed",
	CodeSenderIDMismatch:    "the authenticated sender ID is different from the sender ID of the registration token",
	CodeQuotaExceeded:       "the sending limit was exceeded (project, device, or topic message rate); retry after the Retry-After delay",
	CodeUnavailable:         "the server is overloaded; retry with backoff, honouring Retry-After",
	CodeInternal:            "an unknown internal error occurred; retry with backoff",
	CodeThirdPartyAuthError: "the APNs certificate or web push auth key configured in Firebase was invalid or missing",
	CodeUnauthenticated:     "the OAuth 2.0 access token was missing, expired or invalid",
	CodePermissionDenied:    "the service account may not send messages for this project",
	CodeNotFound:            "the requested entity (the project) was not found",
	CodeResourceExhausted:   "a quota was exhausted; retry after the Retry-After delay",
	CodeNotConfigured:       "herald: no usable FCM service account for the organization",
	CodeBadOption:           "herald: a message option (Meta or Route.Extra) or the data is unusable",
	CodeTokenUnavailable:    "herald: no OAuth 2.0 access token could be obtained from the token endpoint",
}

// docLink is FCM's error code reference.
const docLink = "https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode"

// Codes returns every code DescribeError knows, sorted.
func Codes() []string {
	out := make([]string, 0, len(descriptions))
	for c := range descriptions {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// DescribeError explains an FCM error code or one of the vendor's own, with
// a link to FCM's reference; an unknown code (an HTTP status) is described
// as such.
func (v *Vendor) DescribeError(code string) herald.ErrorDescription {
	d, ok := descriptions[code]
	if !ok {
		return herald.ErrorDescription{Code: code, Description: "FCM error " + code, Link: docLink}
	}
	return herald.ErrorDescription{Code: code, Description: d, Link: docLink}
}
