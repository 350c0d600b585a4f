package vendortest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// echo is a minimal well-behaved vendor; broken names one way to misbehave.
type echo struct {
	broken string
	mu     sync.Mutex
	n      int
	byKey  map[string]string
}

func (e *echo) Metadata() herald.VendorMetadata {
	md := herald.VendorMetadata{
		Name: "echo", DisplayName: "Echo", IdempotentSend: true,
		Channels: []herald.Channel{herald.ChannelSMS, herald.ChannelEmail},
	}
	switch e.broken {
	case "name":
		md.Name = "Echo Vendor"
	case "dupchannel":
		md.Channels = append(md.Channels, herald.ChannelSMS)
	}
	return md
}

func (e *echo) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if len(req.Message.Media) > 0 && e.broken == "nomedia" {
		return nil, &herald.VendorError{Vendor: "echo", Class: herald.ClassPermanent, Code: "E2"}
	}
	if req.Message.Body == "stall" {
		switch e.broken {
		case "stallignore":
			time.Sleep(time.Second)
		case "stallclass":
			<-ctx.Done()
			return nil, &herald.VendorError{Vendor: "echo", Class: herald.ClassPermanent, Err: ctx.Err()}
		}
		<-ctx.Done()
		return nil, &herald.VendorError{Vendor: "echo", Class: herald.ClassMaybeDelivered, Err: ctx.Err()}
	}
	switch e.broken {
	case "ignorectx":
		time.Sleep(200 * time.Millisecond)
	case "slowctx":
		if err := ctx.Err(); err != nil {
			time.Sleep(200 * time.Millisecond)
			return nil, err
		}
	default:
		if err := ctx.Err(); err != nil {
			return nil, &herald.VendorError{Vendor: "echo", Class: herald.ClassMaybeDelivered, Err: err}
		}
	}
	if e.broken == "mutates" {
		req.Message.Body += "!"
	}
	if req.Message.Body == "refuse" {
		switch e.broken {
		case "plainerr":
			return nil, errors.New("refused")
		case "wrongvendor":
			return nil, &herald.VendorError{Vendor: "other", Class: herald.ClassPermanent, Code: "E1"}
		}
		return nil, &herald.VendorError{Vendor: "echo", Class: herald.ClassPermanent, Code: "E1"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.byKey[req.Message.IdempotencyKey]; ok && e.broken != "notidempotent" {
		return &herald.SendResult{VendorMessageID: id}, nil
	}
	e.n++
	id := fmt.Sprintf("E%d", e.n)
	switch e.broken {
	case "noid":
		id = ""
	case "dupids":
		id = "same"
	}
	e.byKey[req.Message.IdempotencyKey] = id
	return &herald.SendResult{VendorMessageID: id, Status: herald.StatusSent}, nil
}

func (e *echo) DescribeError(code string) herald.ErrorDescription {
	if e.broken == "describe" {
		return herald.ErrorDescription{Description: "?"}
	}
	if code == "E1" && e.broken != "generic" {
		return herald.ErrorDescription{Code: code, Description: "echo refused the message"}
	}
	return herald.ErrorDescription{Code: code, Description: "echo error " + code}
}

// ParseWebhook takes bodies "report:<message id>:<status>" and
// "inbound:<from>:<text>", signed by the header X-Echo-Sig = "sig:" + body.
func (e *echo) ParseWebhook(ctx context.Context, req *herald.WebhookRequest) (*herald.WebhookResult, error) {
	body := string(req.Body)
	if e.broken != "forgery" && req.Header.Get("X-Echo-Sig") != "sig:"+body {
		if e.broken == "forgedinvalid" {
			return nil, herald.ErrInvalidInput
		}
		return nil, herald.ErrUnauthorized
	}
	if e.broken == "mutateswebhook" {
		req.Header.Set("X-Seen", "1")
	}
	parts := strings.SplitN(body, ":", 3)
	if len(parts) != 3 || parts[1] == "" {
		if e.broken == "malformedunauth" {
			return nil, herald.ErrUnauthorized
		}
		return nil, herald.ErrInvalidInput
	}
	orgID := req.Organization.ID
	if e.broken == "wrongorg" {
		orgID = ""
	}
	e.mu.Lock()
	e.n++
	n := e.n
	e.mu.Unlock()
	event := parts[1]
	if e.broken == "eventid" {
		event = fmt.Sprintf("%s-%d", parts[1], n)
	}
	res := &herald.WebhookResult{}
	switch parts[0] {
	case "report":
		res.Reports = []herald.DeliveryReport{{OrgID: orgID, Vendor: "echo", EventID: event, VendorMessageID: parts[1],
			Status: herald.Status(parts[2])}}
	case "inbound":
		res.Inbound = []herald.InboundMessage{{OrgID: orgID, Vendor: "echo", EventID: event, From: parts[1], Body: parts[2]}}
	default:
		return nil, herald.ErrInvalidInput
	}
	return res, nil
}

func echoWebhook(body string) *herald.WebhookRequest {
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("X-Echo-Sig", "sig:"+body)
	return &herald.WebhookRequest{Organization: &herald.Organization{ID: "o"}, Method: http.MethodPost,
		URL: "https://h.example.com/o/echo/status", Path: "/status", Header: h, Body: []byte(body)}
}

func kit(broken string) vendortest.Kit {
	return vendortest.Kit{
		New: func(t *testing.T) herald.Vendor { return &echo{broken: broken, byKey: map[string]string{}} },
		Request: func(t *testing.T, ch herald.Channel) *herald.SendRequest {
			return &herald.SendRequest{Message: &herald.Message{OrgID: "o", Channel: ch, To: "x", Body: "hi"}}
		},
		FailingRequest: func(t *testing.T) *herald.SendRequest {
			return &herald.SendRequest{Message: &herald.Message{OrgID: "o", Channel: herald.ChannelSMS, To: "x", Body: "refuse"}}
		},
		Failures: []vendortest.Failure{{
			Name: "refuse",
			Request: func(t *testing.T) *herald.SendRequest {
				return &herald.SendRequest{Message: &herald.Message{Channel: herald.ChannelSMS, To: "x", Body: "refuse"}}
			},
			Class: herald.ClassPermanent, Code: "E1",
		}},
		Prompt: 100 * time.Millisecond,
		MediaRequest: func(t *testing.T) *herald.SendRequest {
			return &herald.SendRequest{Message: &herald.Message{OrgID: "o", Channel: herald.ChannelSMS, To: "x",
				Body: "pic", Media: []string{"https://example.com/a.png"}}}
		},
		Stall: func(t *testing.T) *herald.SendRequest {
			return &herald.SendRequest{Message: &herald.Message{OrgID: "o", Channel: herald.ChannelSMS, To: "x", Body: "stall"}}
		},
		StallAfter: 50 * time.Millisecond,
		Codes:      []string{"E1"},
		Webhooks: &vendortest.WebhookKit{
			Report: func(t *testing.T) (*herald.WebhookRequest, herald.DeliveryReport) {
				return echoWebhook("report:E7:delivered"), herald.DeliveryReport{VendorMessageID: "E7", Status: herald.StatusDelivered}
			},
			Inbound: func(t *testing.T) (*herald.WebhookRequest, herald.InboundMessage) {
				return echoWebhook("inbound:+15550001:STOP"), herald.InboundMessage{From: "+15550001", Body: "STOP"}
			},
			Forge: func(t *testing.T, valid *herald.WebhookRequest) []*herald.WebhookRequest {
				valid.Header.Set("X-Echo-Sig", "sig:other")
				return []*herald.WebhookRequest{valid}
			},
			Malformed: func(t *testing.T) *herald.WebhookRequest { return echoWebhook("nonsense") },
		},
	}
}

func TestWellBehavedVendorPasses(t *testing.T) {
	vendortest.Run(t, kit(""))
}

// TestBrokenVendor runs the kit on a broken vendor when the parent test
// asks for it; it is expected to fail.
func TestBrokenVendor(t *testing.T) {
	broken := os.Getenv("VENDORTEST_BROKEN")
	if broken == "" {
		t.Skip("run by TestKitCatchesBrokenVendors")
	}
	vendortest.Run(t, kit(broken))
}

func TestKitCatchesBrokenVendors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	cases := map[string]string{
		"name":            "lower-case token",
		"dupchannel":      "listed twice",
		"noid":            "VendorMessageID is required",
		"ignorectx":       "must fail",
		"slowctx":         "promptly",
		"plainerr":        "*herald.VendorError",
		"wrongvendor":     "the vendor's Name",
		"mutates":         "must not modify",
		"dupids":          "got the same VendorMessageID",
		"notidempotent":   "first VendorMessageID",
		"describe":        "DescribeError",
		"generic":         "needs its own description",
		"nomedia":         "Send with media",
		"stallignore":     "promptly when its deadline passes",
		"stallclass":      "an unanswered send is maybe-delivered",
		"forgery":         "webhook accepted",
		"forgedinvalid":   "must wrap herald.ErrUnauthorized",
		"mutateswebhook":  "must not modify the request",
		"malformedunauth": "is invalid, not unauthorized",
		"wrongorg":        "OrgID",
		"eventid":         "a replay must yield the same EventIDs",
	}
	for broken, want := range cases {
		t.Run(broken, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenVendor$", "-test.v")
			cmd.Env = append(os.Environ(), "VENDORTEST_BROKEN="+broken)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the kit passed a vendor that is broken (%s):\n%s", broken, out)
			assert.Contains(t, string(out), want)
		})
	}
}
