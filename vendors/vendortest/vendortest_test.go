package vendortest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
	return herald.ErrorDescription{Code: code, Description: "echo error " + code}
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
		"name":          "lower-case token",
		"dupchannel":    "listed twice",
		"noid":          "VendorMessageID is required",
		"ignorectx":     "must fail",
		"slowctx":       "promptly",
		"plainerr":      "*herald.VendorError",
		"wrongvendor":   "the vendor's Name",
		"mutates":       "must not modify",
		"dupids":        "got the same VendorMessageID",
		"notidempotent": "first VendorMessageID",
		"describe":      "DescribeError",
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
