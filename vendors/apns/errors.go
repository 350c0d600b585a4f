package apns

import (
	"net/http"
	"slices"

	"github.com/sideshow/apns2"

	"github.com/heraldmsg/herald"
)

// Codes of refusals the vendor makes itself, before any request.
const (
	// CodeNotConfigured: no usable credentials for the organization.
	CodeNotConfigured = "NotConfigured"
	// CodeBadOption: a Meta or Route.Extra option or the custom data is
	// unusable.
	CodeBadOption = "BadOption"
)

// Classify maps an APNs answer (HTTP status and reason) to an error class;
// see the package documentation.
func Classify(status int, reason string) herald.ErrorClass {
	switch reason {
	case apns2.ReasonBadDeviceToken, apns2.ReasonUnregistered, apns2.ReasonExpiredToken:
		return herald.ClassGone
	case apns2.ReasonBadTopic, apns2.ReasonMissingTopic, apns2.ReasonTopicDisallowed, apns2.ReasonDeviceTokenNotForTopic:
		return herald.ClassAuth
	case apns2.ReasonTooManyRequests, apns2.ReasonTooManyProviderTokenUpdates:
		return herald.ClassRateLimited
	case apns2.ReasonIdleTimeout, apns2.ReasonInternalServerError, apns2.ReasonServiceUnavailable, apns2.ReasonShutdown:
		return herald.ClassTemporary
	}
	switch {
	case status == http.StatusGone:
		return herald.ClassGone
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return herald.ClassAuth
	case status == http.StatusTooManyRequests:
		return herald.ClassRateLimited
	case status >= 500:
		return herald.ClassTemporary
	}
	return herald.ClassPermanent
}

// descriptions explains APNs' reasons (Apple's "Handling notification
// responses from APNs") and the vendor's own codes.
var descriptions = map[string]string{
	apns2.ReasonBadCollapseID:               "the collapse identifier exceeds the maximum allowed size",
	apns2.ReasonBadDeviceToken:              "the device token is invalid, or belongs to the other environment (sandbox vs production); the device is removed",
	apns2.ReasonBadExpirationDate:           "the apns-expiration value is bad",
	apns2.ReasonBadMessageID:                "the apns-id value is bad",
	apns2.ReasonBadPriority:                 "the apns-priority value is bad",
	apns2.ReasonBadTopic:                    "the apns-topic value is invalid",
	apns2.ReasonDeviceTokenNotForTopic:      "the device token does not match the specified topic",
	apns2.ReasonDuplicateHeaders:            "one or more headers are repeated",
	apns2.ReasonIdleTimeout:                 "idle timeout",
	apns2.ReasonInvalidPushType:             "the apns-push-type value is invalid",
	apns2.ReasonMissingDeviceToken:          "the device token is not specified in the request path",
	apns2.ReasonMissingTopic:                "the apns-topic header is missing and required",
	apns2.ReasonPayloadEmpty:                "the message payload is empty",
	apns2.ReasonTopicDisallowed:             "pushing to this topic is not allowed",
	apns2.ReasonBadCertificate:              "the certificate is invalid",
	apns2.ReasonBadCertificateEnvironment:   "the client certificate is for the wrong environment",
	apns2.ReasonExpiredProviderToken:        "the provider token is stale and a new token should be generated",
	apns2.ReasonForbidden:                   "the specified action is not allowed",
	apns2.ReasonInvalidProviderToken:        "the provider token is not valid, or the token signature cannot be verified",
	apns2.ReasonMissingProviderToken:        "no provider certificate was used to connect to APNs, and the authorization header is missing or no provider token is specified",
	apns2.ReasonBadPath:                     "the request contained an invalid :path value",
	apns2.ReasonMethodNotAllowed:            "the specified :method value is not POST",
	apns2.ReasonExpiredToken:                "the device token has expired; the device is removed",
	apns2.ReasonUnregistered:                "the device token is inactive for the specified topic; the device is removed",
	apns2.ReasonPayloadTooLarge:             "the message payload is too large (4096 bytes, 5120 for VoIP)",
	apns2.ReasonTooManyProviderTokenUpdates: "the provider's authentication token is being updated too often",
	apns2.ReasonTooManyRequests:             "too many requests were made consecutively to the same device token",
	apns2.ReasonInternalServerError:         "an internal server error occurred",
	apns2.ReasonServiceUnavailable:          "the service is unavailable",
	apns2.ReasonShutdown:                    "the APNs server is shutting down",
	CodeNotConfigured:                       "herald: no usable APNs credentials for the organization (auth_key with key_id, team_id and topic, or certificate)",
	CodeBadOption:                           "herald: a notification option (Meta or Route.Extra) or the custom data is unusable",
}

// docLink is Apple's page on APNs responses.
const docLink = "https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns"

// Codes returns every code DescribeError knows, sorted.
func Codes() []string {
	out := make([]string, 0, len(descriptions))
	for c := range descriptions {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// DescribeError explains an APNs reason or one of the vendor's own codes,
// with a link to Apple's documentation; an unknown code is described as
// such.
func (v *Vendor) DescribeError(code string) herald.ErrorDescription {
	d, ok := descriptions[code]
	if !ok {
		return herald.ErrorDescription{Code: code, Description: "APNs error " + code, Link: docLink}
	}
	return herald.ErrorDescription{Code: code, Description: d, Link: docLink}
}
