package webpush_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendortest"
	"github.com/heraldmsg/herald/vendors/webpush"
)

func TestConformance(t *testing.T) {
	// One push service per vendor the kit builds; requests go to it.
	var current atomic.Pointer[fixture]
	var n atomic.Int64
	req := func(t *testing.T) *herald.SendRequest {
		return current.Load().request(t, fmt.Sprintf("c%d", n.Add(1)))
	}
	failing := func(status int, retryAfter string) func(t *testing.T) *herald.SendRequest {
		return func(t *testing.T) *herald.SendRequest {
			name := fmt.Sprintf("f%d", n.Add(1))
			r := current.Load().request(t, name)
			current.Load().push.answer(name, status, retryAfter)
			return r
		}
	}
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor {
			f := newFixture(t)
			current.Store(f)
			return f.client
		},
		Request:        func(t *testing.T, _ herald.Channel) *herald.SendRequest { return req(t) },
		FailingRequest: failing(410, ""),
		Failures: []vendortest.Failure{
			{Name: "404", Request: failing(404, ""), Class: herald.ClassGone, Code: "404"},
			{Name: "410", Request: failing(410, ""), Class: herald.ClassGone, Code: "410"},
			{Name: "429", Request: failing(429, "12"), Class: herald.ClassRateLimited, Code: "429", RetryAfter: 12 * time.Second},
			{Name: "413", Request: failing(413, ""), Class: herald.ClassPermanent, Code: "payload-too-large"},
			{Name: "403", Request: failing(403, ""), Class: herald.ClassAuth, Code: "403"},
			{Name: "502", Request: failing(502, ""), Class: herald.ClassTemporary, Code: "502"},
		},
		Stall: func(t *testing.T) *herald.SendRequest {
			name := fmt.Sprintf("stall%d", n.Add(1))
			r := current.Load().request(t, name)
			current.Load().push.stall(name)
			return r
		},
		Codes: []string{webpush.CodePayloadTooLarge, webpush.CodeNoSubscription, webpush.CodeInvalidRequest,
			"400", "401", "403", "404", "410", "413", "429", "500", "503"},
	})
}
