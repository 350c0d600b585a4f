package fcm_test

import (
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fcm"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

func to(tok string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest { return fcmRequest(tok) }
}

// TestConformance runs herald's vendor conformance kit against the fake
// token endpoint and FCM v1 API.
func TestConformance(t *testing.T) {
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor { return newFakeFCM(t).vendor(t) },
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			r := fcmRequest(tokOK)
			r.Message.Channel = ch
			return r
		},
		Stall:          to(tokStall),
		FailingRequest: to(tokUnreg),
		Failures: []vendortest.Failure{
			{Name: "UNREGISTERED", Request: to(tokUnreg), Class: herald.ClassGone, Code: "UNREGISTERED"},
			{Name: "INVALID_ARGUMENT-token", Request: to(tokInvalid), Class: herald.ClassInvalidAddress, Code: "INVALID_ARGUMENT"},
			{Name: "INVALID_ARGUMENT-payload", Request: to(tokBadPayload), Class: herald.ClassPermanent, Code: "INVALID_ARGUMENT"},
			{Name: "QUOTA_EXCEEDED", Request: to(tokQuota), Class: herald.ClassRateLimited, Code: "QUOTA_EXCEEDED", RetryAfter: 17 * time.Second},
			{Name: "UNAVAILABLE", Request: to(tokUnavailable), Class: herald.ClassTemporary, Code: "UNAVAILABLE"},
			{Name: "INTERNAL", Request: to(tokInternal), Class: herald.ClassTemporary, Code: "INTERNAL"},
			{Name: "HTML-502", Request: to(tokHTML502), Class: herald.ClassTemporary, Code: "502"},
			{Name: "SENDER_ID_MISMATCH", Request: to(tokMismatch), Class: herald.ClassAuth, Code: "SENDER_ID_MISMATCH"},
			{Name: "THIRD_PARTY_AUTH_ERROR", Request: to(tokThirdParty), Class: herald.ClassAuth, Code: "THIRD_PARTY_AUTH_ERROR"},
		},
		Codes: fcm.Codes(),
	})
}
