// Package vendortest is the conformance kit every herald vendor package runs
// on itself, against the vendor's own fake API (an httptest server that
// behaves like the real one), never against a mock of herald's interfaces:
//
//	func TestConformance(t *testing.T) {
//		vendortest.Run(t, vendortest.Kit{
//			New:            func(t *testing.T) herald.Vendor { return newClient(t, newFakeAPI(t)) },
//			Request:        validRequest,
//			FailingRequest: func(t *testing.T) *herald.SendRequest { return requestTheAPIRefuses(t) },
//		})
//	}
//
// Run checks, each as a subtest:
//
//   - Metadata: Name is a non-empty lower-case token, DisplayName is set,
//     Channels is non-empty, each channel Valid, none twice, and Metadata
//     answers the same every time.
//   - Send/<channel>: for every channel in Metadata, a Send of the kit's
//     request succeeds with a non-empty VendorMessageID and a Status of "",
//     sent or delivered, and leaves the request's Message unchanged.
//   - IdempotentSend (when Metadata says so): the same request sent twice
//     gets the same VendorMessageID.
//   - CanceledContext / ExpiredDeadline: Send with a context already
//     canceled, or past its deadline, fails within Kit.Prompt (2 s) with
//     context.Canceled or context.DeadlineExceeded in the error chain.
//   - FailingRequest and Failures: the refused request's error holds a
//     *herald.VendorError with a valid Class and Vendor equal to the
//     vendor's Name (and, for Failures, the expected class, code and
//     Retry-After).
//   - MediaSend (with Kit.MediaRequest): a message with media (an MMS with
//     pictures) is accepted and left unchanged.
//   - Stall (with Kit.Stall): a send the fake API never answers returns
//     within Prompt of its deadline (Kit.StallAfter), with
//     context.DeadlineExceeded in the chain and class maybe-delivered (or
//     temporary).
//   - Failures: each with its class and code; RetryAfter (or any positive
//     one with WantRetryAfter) for rate-limit answers with Retry-After.
//   - DescribeError (when the vendor implements herald.ErrorDescriber): the
//     description of a code, known or not, carries that code; every code
//     of Kit.Codes (the vendor's documented codes) has its own non-empty
//     description.
//   - Webhooks (when the vendor implements herald.WebhookHandler and the
//     kit has a WebhookKit): a correctly signed report and inbound message
//     parse to the expected events, stamped with the vendor's Name and the
//     organization's ID, each with an EventID; a replay parses to the same
//     EventIDs (the dispatcher deduplicates on them); the request is left
//     unchanged; unsigned, tampered and kit-forged requests are refused
//     with an error wrapping herald.ErrUnauthorized and no events; a
//     verified malformed request with herald.ErrInvalidInput.
//   - BatchSend (when the vendor implements herald.BatchSender): one outcome
//     per request, in order, each like a Send's.
//   - Concurrent: Kit.Concurrency (20) Sends at once, across the channels,
//     all succeed with distinct VendorMessageIDs; run it under -race.
//
// Every error a Send returns must also have a valid class (its VendorError,
// or herald.ClassOf's reading of it). Every Kit field but New and Request
// is optional; a check without its fixture is skipped.
//
// Capability checks (ContactLookup, NumberInventory, MessagingServices,
// OrgConfigurer) stay in each vendor's own tests: what a correct answer is
// depends on the fake API's data.
package vendortest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

// Kit is what Run needs to exercise a vendor.
type Kit struct {
	// New returns a fresh vendor, talking to a fake API the test owns
	// (stop it with t.Cleanup). Required. It is called once per subtest.
	New func(t *testing.T) herald.Vendor
	// Request returns a fresh request for channel ch (one of the vendor's
	// channels) that the fake API accepts. Required. Run overwrites the
	// message's ID and IdempotencyKey with unique values, and sets an
	// empty Route.
	Request func(t *testing.T, ch herald.Channel) *herald.SendRequest
	// FailingRequest returns a request the fake API refuses; optional.
	FailingRequest func(t *testing.T) *herald.SendRequest
	// Failures lists refusals with the class each must map to; optional.
	Failures []Failure
	// Concurrency is how many Sends the Concurrent check runs at once;
	// default 20.
	Concurrency int
	// Prompt is how soon Send must return when its context has ended;
	// default 2 s.
	Prompt time.Duration

	// MediaRequest returns a request with Message.Media (an MMS with
	// pictures) that the fake API accepts; optional. The MediaSend check
	// sends it.
	MediaRequest func(t *testing.T) *herald.SendRequest
	// Stall returns a request the fake API receives and never answers;
	// optional. The Stall check sends it with a short deadline (StallAfter)
	// and requires Send to return within Prompt of the deadline with
	// context.DeadlineExceeded in the chain and class maybe-delivered (the
	// request reached the vendor), or class temporary for vendors whose
	// API is known not to act on unanswered requests.
	Stall func(t *testing.T) *herald.SendRequest
	// StallAfter is the Stall check's deadline; default 200 ms.
	StallAfter time.Duration
	// Codes lists the vendor's documented error codes; optional. The
	// DescribeError check requires a description of each, with that Code,
	// that is not the description of a made-up code.
	Codes []string
	// Webhooks builds webhook requests for vendors implementing
	// herald.WebhookHandler; optional (the Webhooks checks are skipped
	// without it).
	Webhooks *WebhookKit
}

// WebhookKit builds correctly verified webhook requests, as the vendor's
// API would send them to the dispatcher's Webhooks() mount. Report and
// Inbound are each optional; the checks of a missing one are skipped.
//
// Given a request, the kit checks that ParseWebhook returns the expected
// event with the vendor's Name and the organization's ID; that parsing the
// same request again yields the same EventIDs (the dispatcher deduplicates
// on them, so a replay changes nothing); that ParseWebhook does not modify
// the request; and that forgeries are refused with an error wrapping
// herald.ErrUnauthorized and no events: the request without any header
// but Content-Type (unsigned), with one byte of the body changed
// (tampered), and whatever Forge returns.
type WebhookKit struct {
	// Report returns a request carrying one delivery report and the report
	// it must parse to: VendorMessageID, Status, Engagement and ErrorCode
	// are compared (EventID too, when set).
	Report func(t *testing.T) (*herald.WebhookRequest, herald.DeliveryReport)
	// Inbound returns a request carrying one inbound message and the
	// message it must parse to: From, Body and Media are compared (Channel
	// and EventID too, when set).
	Inbound func(t *testing.T) (*herald.WebhookRequest, herald.InboundMessage)
	// Forge returns more forgeries of a valid request (a wrong secret,
	// another organization's signature, ...); optional.
	Forge func(t *testing.T, valid *herald.WebhookRequest) []*herald.WebhookRequest
	// Malformed returns a correctly verified request whose content is not
	// a valid webhook; optional. ParseWebhook must refuse it with
	// herald.ErrInvalidInput.
	Malformed func(t *testing.T) *herald.WebhookRequest
	// BodyUnauthenticated says the vendor authenticates its callbacks
	// without covering the body (HTTP Basic credentials, as Bandwidth's),
	// so the tampered-body forgery is not checked; say why in the vendor's
	// package doc. The unsigned and Forge variants are still checked.
	BodyUnauthenticated bool
}

// Failure is a request the vendor's fake API refuses, and what the
// vendor's error must say about it.
type Failure struct {
	// Name names the subtest.
	Name string
	// Request returns the request. Required.
	Request func(t *testing.T) *herald.SendRequest
	// Class is the class the error must have. Required.
	Class herald.ErrorClass
	// Code, when set, is the VendorError's Code.
	Code string
	// WantRetryAfter requires a positive RetryAfter.
	WantRetryAfter bool
	// RetryAfter, when set, is the RetryAfter the error must carry (the
	// fake API's Retry-After header).
	RetryAfter time.Duration
}

// seq keeps message IDs unique across every check of a process.
var seq atomic.Uint64

// Run checks the vendor the kit builds. See the package documentation.
func Run(t *testing.T, k Kit) {
	t.Helper()
	require.NotNil(t, k.New, "vendortest: Kit.New is required")
	require.NotNil(t, k.Request, "vendortest: Kit.Request is required")
	if k.Concurrency <= 0 {
		k.Concurrency = 20
	}
	if k.Prompt <= 0 {
		k.Prompt = 2 * time.Second
	}
	if k.StallAfter <= 0 {
		k.StallAfter = 200 * time.Millisecond
	}

	t.Run("Metadata", func(t *testing.T) { checkMetadata(t, k) })
	t.Run("Send", func(t *testing.T) {
		v := k.New(t)
		for _, ch := range v.Metadata().Channels {
			t.Run(string(ch), func(t *testing.T) { checkSend(t, k, ch) })
		}
	})
	t.Run("MediaSend", func(t *testing.T) {
		if k.MediaRequest == nil {
			t.Skip("no Kit.MediaRequest")
		}
		checkMediaSend(t, k)
	})
	t.Run("IdempotentSend", func(t *testing.T) { checkIdempotent(t, k) })
	t.Run("CanceledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		checkEndedContext(t, k, ctx, context.Canceled)
	})
	t.Run("ExpiredDeadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		checkEndedContext(t, k, ctx, context.DeadlineExceeded)
	})
	t.Run("Stall", func(t *testing.T) {
		if k.Stall == nil {
			t.Skip("no Kit.Stall")
		}
		checkStall(t, k)
	})
	t.Run("FailingRequest", func(t *testing.T) {
		if k.FailingRequest == nil {
			t.Skip("no Kit.FailingRequest")
		}
		checkFailure(t, k, Failure{Request: k.FailingRequest})
	})
	for i, f := range k.Failures {
		name := f.Name
		if name == "" {
			name = fmt.Sprintf("%d-%s", i, f.Class)
		}
		t.Run("Failure/"+name, func(t *testing.T) {
			require.NotNil(t, f.Request, "Failure.Request is required")
			require.True(t, f.Class.Valid(), "Failure.Class %q is not a class", f.Class)
			checkFailure(t, k, f)
		})
	}
	t.Run("DescribeError", func(t *testing.T) { checkDescribe(t, k) })
	t.Run("Webhooks", func(t *testing.T) { checkWebhooks(t, k) })
	t.Run("BatchSend", func(t *testing.T) { checkBatch(t, k) })
	t.Run("Concurrent", func(t *testing.T) { checkConcurrent(t, k) })
}

// validName reports whether s is a lower-case token: a-z first, then a-z,
// 0-9, '-' or '_'.
func validName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

func checkMetadata(t *testing.T, k Kit) {
	v := k.New(t)
	md := v.Metadata()
	assert.True(t, validName(md.Name), "Name %q must be a non-empty lower-case token", md.Name)
	assert.NotEmpty(t, md.DisplayName, "DisplayName must be set")
	require.NotEmpty(t, md.Channels, "Channels must not be empty")
	seen := map[herald.Channel]bool{}
	for _, ch := range md.Channels {
		assert.True(t, ch.Valid(), "channel %q is not Valid", ch)
		assert.False(t, seen[ch], "channel %q listed twice", ch)
		seen[ch] = true
	}
	assert.Equal(t, md, v.Metadata(), "Metadata must answer the same every time")
}

// request builds a request for ch with a unique message ID and key.
func request(t *testing.T, k Kit, ch herald.Channel) *herald.SendRequest {
	t.Helper()
	req := k.Request(t, ch)
	require.NotNil(t, req, "Kit.Request returned nil")
	require.NotNil(t, req.Message, "Kit.Request returned no Message")
	uniquify(req)
	return req
}

func uniquify(req *herald.SendRequest) {
	if req.Message != nil {
		id := fmt.Sprintf("vendortest-%d-%d", time.Now().UnixNano(), seq.Add(1))
		req.Message.ID = id
		req.Message.IdempotencyKey = id
	}
	if req.Route == nil {
		req.Route = &herald.Route{}
	}
}

func sendCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func checkSend(t *testing.T, k Kit, ch herald.Channel) {
	v := k.New(t)
	req := request(t, k, ch)
	before := req.Message.Clone()
	res, err := v.Send(sendCtx(t), req)
	require.NoError(t, err, "Send on %s", ch)
	require.NotNil(t, res, "Send returned neither a result nor an error")
	assert.NotEmpty(t, res.VendorMessageID, "VendorMessageID is required")
	assert.Contains(t, []herald.Status{"", herald.StatusSent, herald.StatusDelivered}, res.Status,
		"SendResult.Status must be empty, sent or delivered")
	assert.Equal(t, before, req.Message, "Send must not modify the request's Message")
}

func checkIdempotent(t *testing.T, k Kit) {
	v := k.New(t)
	md := v.Metadata()
	if !md.IdempotentSend {
		t.Skip("vendor does not deduplicate sends")
	}
	require.NotEmpty(t, md.Channels)
	req := request(t, k, md.Channels[0])
	first, err := v.Send(sendCtx(t), req)
	require.NoError(t, err)
	require.NotNil(t, first, "Send returned neither a result nor an error")
	again, err := v.Send(sendCtx(t), req)
	require.NoError(t, err, "a repeated send with one idempotency key must succeed")
	require.NotNil(t, again, "Send returned neither a result nor an error")
	assert.Equal(t, first.VendorMessageID, again.VendorMessageID,
		"IdempotentSend: a repeated send must return the first VendorMessageID")
}

func checkEndedContext(t *testing.T, k Kit, ctx context.Context, want error) {
	v := k.New(t)
	md := v.Metadata()
	require.NotEmpty(t, md.Channels)
	req := request(t, k, md.Channels[0])
	start := time.Now()
	res, err := v.Send(ctx, req)
	elapsed := time.Since(start)
	require.Error(t, err, "Send with an ended context must fail (result %+v)", res)
	assert.ErrorIs(t, err, want)
	assert.Less(t, elapsed, k.Prompt, "Send must return promptly when its context has ended")
	checkClassified(t, md.Name, err)
}

// checkClassified checks that a Send error says its class: a VendorError
// in the chain must be valid and name the vendor.
func checkClassified(t *testing.T, name string, err error) {
	t.Helper()
	var ve *herald.VendorError
	if errors.As(err, &ve) {
		assert.True(t, ve.Class.Valid(), "VendorError.Class %q is not a class", ve.Class)
		assert.Equal(t, name, ve.Vendor, "VendorError.Vendor must be the vendor's Name")
	}
	assert.True(t, herald.ClassOf(err).Valid())
}

func checkFailure(t *testing.T, k Kit, f Failure) {
	v := k.New(t)
	name := v.Metadata().Name
	req := f.Request(t)
	require.NotNil(t, req, "failing request is nil")
	require.NotNil(t, req.Message, "failing request has no Message")
	uniquify(req)
	res, err := v.Send(sendCtx(t), req)
	require.Error(t, err, "the failing request was accepted (result %+v)", res)
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve, "a refused send must return a *herald.VendorError")
	assert.True(t, ve.Class.Valid(), "VendorError.Class %q is not a class", ve.Class)
	assert.Equal(t, name, ve.Vendor, "VendorError.Vendor must be the vendor's Name")
	assert.Equal(t, ve.Class, herald.ClassOf(err))
	if f.Class != "" {
		assert.Equal(t, f.Class, ve.Class)
		assert.ErrorIs(t, err, f.Class)
	}
	if f.Code != "" {
		assert.Equal(t, f.Code, ve.Code)
	}
	if f.WantRetryAfter {
		assert.Positive(t, ve.RetryAfter, "a rate-limited error must carry RetryAfter")
	}
	if f.RetryAfter > 0 {
		assert.Equal(t, f.RetryAfter, ve.RetryAfter, "RetryAfter must be the API's Retry-After")
	}
}

func checkDescribe(t *testing.T, k Kit) {
	v := k.New(t)
	d, ok := v.(herald.ErrorDescriber)
	if !ok {
		t.Skip("vendor does not implement herald.ErrorDescriber")
	}
	codes := []string{"vendortest-unknown-code"}
	if k.FailingRequest != nil {
		req := k.FailingRequest(t)
		uniquify(req)
		if _, err := v.Send(sendCtx(t), req); err != nil {
			if c := herald.CodeOf(err); c != "" {
				codes = append(codes, c)
			}
		}
	}
	for _, f := range k.Failures {
		if f.Code != "" {
			codes = append(codes, f.Code)
		}
	}
	for _, c := range codes {
		assert.Equal(t, c, d.DescribeError(c).Code, "DescribeError(%q).Code", c)
	}
	unknown := d.DescribeError("vendortest-unknown-code").Description
	for _, c := range k.Codes {
		desc := d.DescribeError(c)
		assert.Equal(t, c, desc.Code, "DescribeError(%q).Code", c)
		assert.NotEmpty(t, desc.Description, "DescribeError(%q) has no description", c)
		if unknown != "" {
			assert.NotEqual(t, strings.ReplaceAll(unknown, "vendortest-unknown-code", c), desc.Description,
				"DescribeError(%q): a documented code needs its own description", c)
		}
	}
}

func checkConcurrent(t *testing.T, k Kit) {
	v := k.New(t)
	chans := v.Metadata().Channels
	require.NotEmpty(t, chans)
	reqs := make([]*herald.SendRequest, k.Concurrency)
	for i := range reqs {
		reqs[i] = request(t, k, chans[i%len(chans)])
	}
	ctx := sendCtx(t)
	ids := make([]string, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			res, err := v.Send(ctx, req)
			errs[i] = err
			if res != nil {
				ids[i] = res.VendorMessageID
			}
			_ = v.Metadata()
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range reqs {
		if assert.NoError(t, errs[i], "concurrent send %d", i) {
			assert.NotEmpty(t, ids[i], "concurrent send %d: empty VendorMessageID", i)
			if prev, dup := seen[ids[i]]; dup {
				t.Errorf("sends %d and %d got the same VendorMessageID %q", prev, i, ids[i])
			}
			seen[ids[i]] = i
		}
	}
}

// checkBatch checks a vendor implementing herald.BatchSender: a positive
// MaxBatch, one outcome per request in order, each like a Send's.
func checkBatch(t *testing.T, k Kit) {
	v := k.New(t)
	bs, ok := v.(herald.BatchSender)
	if !ok {
		t.Skip("the vendor does not implement herald.BatchSender")
	}
	require.GreaterOrEqual(t, bs.MaxBatch(), 1, "MaxBatch must be at least 1")
	ch := v.Metadata().Channels[0]
	n := min(3, bs.MaxBatch())
	reqs := make([]*herald.SendRequest, n)
	for i := range reqs {
		reqs[i] = request(t, k, ch)
	}
	out, err := bs.SendBatch(sendCtx(t), reqs)
	require.NoError(t, err)
	require.Len(t, out, n, "one outcome per request")
	seen := map[string]bool{}
	for i, o := range out {
		require.NoError(t, o.Err, "request %d", i)
		require.NotNil(t, o.Result, "request %d", i)
		require.NotEmpty(t, o.Result.VendorMessageID, "request %d", i)
		require.False(t, seen[o.Result.VendorMessageID], "request %d repeats a vendor message ID", i)
		seen[o.Result.VendorMessageID] = true
	}
}
