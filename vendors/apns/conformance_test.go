package apns_test

import (
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/apns"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

func to(tok string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest { return pushRequest(tok) }
}

// TestConformance runs herald's vendor conformance kit against the local
// HTTP/2 APNs.
func TestConformance(t *testing.T) {
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor { return newFakeAPNs(t, false).vendor(t) },
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			r := pushRequest(tokOK)
			r.Message.Channel = ch
			return r
		},
		Stall:          to(tokStall),
		FailingRequest: to(tokGone),
		Failures: []vendortest.Failure{
			{Name: "BadDeviceToken", Request: to(tokBadToken), Class: herald.ClassGone, Code: "BadDeviceToken"},
			{Name: "BadTopic", Request: to(tokBadTopic), Class: herald.ClassAuth, Code: "BadTopic"},
			{Name: "InvalidProviderToken", Request: to(tokInvalidJWT), Class: herald.ClassAuth, Code: "InvalidProviderToken"},
			{Name: "Unregistered", Request: to(tokGone), Class: herald.ClassGone, Code: "Unregistered"},
			{Name: "PayloadTooLarge", Request: to(tokTooLarge), Class: herald.ClassPermanent, Code: "PayloadTooLarge"},
			{Name: "TooManyRequests", Request: to(tokTooMany), Class: herald.ClassRateLimited, Code: "TooManyRequests"},
			{Name: "InternalServerError", Request: to(tokInternal), Class: herald.ClassTemporary, Code: "InternalServerError"},
			{Name: "ServiceUnavailable", Request: to(tokUnavail), Class: herald.ClassTemporary, Code: "ServiceUnavailable"},
		},
		Codes: apns.Codes(),
	})
}
