package fake_test

import (
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fake"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// request returns a valid request for ch, as the dispatcher would build it.
func request(ch herald.Channel, body string) *herald.SendRequest {
	m := &herald.Message{
		ID: "m1", IdempotencyKey: "k1", OrgID: "org1", Channel: ch, Body: body,
	}
	switch {
	case ch.IsPhone():
		m.To, m.From = "+15555550101", "+15555550100"
	case ch == herald.ChannelEmail:
		m.To, m.From, m.Subject = "ada@example.com", "news@example.org", "Hello"
	default:
		m.To = "device-token-1"
	}
	r := &herald.SendRequest{
		Message:      m,
		Organization: &herald.Organization{ID: "org1"},
		Route:        &herald.Route{},
	}
	if ch.IsPush() {
		r.Device = &herald.Device{Channel: ch, Token: m.To}
	}
	return r
}

func failing(code string) func(t *testing.T) *herald.SendRequest {
	return func(t *testing.T) *herald.SendRequest { return request(herald.ChannelSMS, "error"+code) }
}

func TestConformance(t *testing.T) {
	vendortest.Run(t, vendortest.Kit{
		New: func(t *testing.T) herald.Vendor {
			v := fake.New(fake.Options{})
			t.Cleanup(v.Wait)
			return v
		},
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			return request(ch, "hello from vendortest")
		},
		FailingRequest: failing("21211"),
		Failures: []vendortest.Failure{
			{Name: "429", Request: failing("429"), Class: herald.ClassRateLimited, Code: "429", WantRetryAfter: true},
			{Name: "20429", Request: failing("20429"), Class: herald.ClassRateLimited, Code: "20429", WantRetryAfter: true},
			{Name: "500", Request: failing("500"), Class: herald.ClassTemporary, Code: "500"},
			{Name: "503", Request: failing("503"), Class: herald.ClassTemporary, Code: "503"},
			{Name: "599", Request: failing("599"), Class: herald.ClassTemporary, Code: "599"},
			{Name: "21610", Request: failing("21610"), Class: herald.ClassOptedOut, Code: "21610"},
			{Name: "21211", Request: failing("21211"), Class: herald.ClassInvalidAddress, Code: "21211"},
			{Name: "21614", Request: failing("21614"), Class: herald.ClassInvalidAddress, Code: "21614"},
			{Name: "20003", Request: failing("20003"), Class: herald.ClassAuth, Code: "20003"},
			{Name: "401", Request: failing("401"), Class: herald.ClassAuth, Code: "401"},
			{Name: "403", Request: failing("403"), Class: herald.ClassAuth, Code: "403"},
			{Name: "410", Request: failing("410"), Class: herald.ClassGone, Code: "410"},
			{Name: "408", Request: failing("408"), Class: herald.ClassMaybeDelivered, Code: "408"},
			{Name: "400", Request: failing("400"), Class: herald.ClassPermanent, Code: "400"},
		},
	})
}
