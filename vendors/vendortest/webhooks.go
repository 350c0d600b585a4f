package vendortest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

func checkMediaSend(t *testing.T, k Kit) {
	v := k.New(t)
	req := k.MediaRequest(t)
	require.NotNil(t, req, "Kit.MediaRequest returned nil")
	require.NotNil(t, req.Message, "Kit.MediaRequest returned no Message")
	require.NotEmpty(t, req.Message.Media, "Kit.MediaRequest's message must carry Media")
	uniquify(req)
	before := req.Message.Clone()
	res, err := v.Send(sendCtx(t), req)
	require.NoError(t, err, "Send with media")
	require.NotNil(t, res, "Send returned neither a result nor an error")
	assert.NotEmpty(t, res.VendorMessageID, "VendorMessageID is required")
	assert.Equal(t, before, req.Message, "Send must not modify the request's Message")
}

func checkStall(t *testing.T, k Kit) {
	v := k.New(t)
	name := v.Metadata().Name
	req := k.Stall(t)
	require.NotNil(t, req, "Kit.Stall returned nil")
	require.NotNil(t, req.Message, "Kit.Stall returned no Message")
	uniquify(req)
	ctx, cancel := context.WithTimeout(context.Background(), k.StallAfter)
	defer cancel()
	start := time.Now()
	res, err := v.Send(ctx, req)
	elapsed := time.Since(start)
	require.Error(t, err, "a send the API never answers must fail at its deadline (result %+v)", res)
	assert.Less(t, elapsed, k.StallAfter+k.Prompt, "Send must return promptly when its deadline passes")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	checkClassified(t, name, err)
	class := herald.ClassOf(err)
	assert.Contains(t, []herald.ErrorClass{herald.ClassMaybeDelivered, herald.ClassTemporary}, class,
		"an unanswered send is maybe-delivered (or temporary), not %s", class)
}

// cloneWebhook deep-copies a webhook request.
func cloneWebhook(r *herald.WebhookRequest) *herald.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = slices.Clone(r.Body)
	c.Organization = r.Organization.Clone()
	return &c
}

func checkWebhooks(t *testing.T, k Kit) {
	v := k.New(t)
	wh, ok := v.(herald.WebhookHandler)
	if !ok {
		t.Skip("the vendor does not implement herald.WebhookHandler")
	}
	if k.Webhooks == nil {
		t.Skip("no Kit.Webhooks")
	}
	name := v.Metadata().Name
	w := k.Webhooks
	t.Run("Report", func(t *testing.T) {
		if w.Report == nil {
			t.Skip("no WebhookKit.Report")
		}
		req, want := w.Report(t)
		require.NotNil(t, req, "WebhookKit.Report returned nil")
		got := parseOK(t, wh, req, name)
		require.NotEmpty(t, got.Reports, "a delivery report webhook must yield a report")
		r := got.Reports[0]
		assert.Equal(t, want.VendorMessageID, r.VendorMessageID)
		assert.Equal(t, want.Status, r.Status)
		assert.Equal(t, want.Engagement, r.Engagement)
		assert.Equal(t, want.ErrorCode, r.ErrorCode)
		if want.EventID != "" {
			assert.Equal(t, want.EventID, r.EventID)
		}
		checkForgeries(t, w, wh, req)
	})
	t.Run("Inbound", func(t *testing.T) {
		if w.Inbound == nil {
			t.Skip("no WebhookKit.Inbound")
		}
		req, want := w.Inbound(t)
		require.NotNil(t, req, "WebhookKit.Inbound returned nil")
		got := parseOK(t, wh, req, name)
		require.NotEmpty(t, got.Inbound, "an inbound webhook must yield an inbound message")
		m := got.Inbound[0]
		assert.Equal(t, want.From, m.From)
		assert.Equal(t, want.Body, m.Body)
		assert.Equal(t, want.Media, m.Media)
		if want.Channel != "" {
			assert.Equal(t, want.Channel, m.Channel)
		}
		if want.EventID != "" {
			assert.Equal(t, want.EventID, m.EventID)
		}
		checkForgeries(t, w, wh, req)
	})
	t.Run("Malformed", func(t *testing.T) {
		if w.Malformed == nil {
			t.Skip("no WebhookKit.Malformed")
		}
		req := w.Malformed(t)
		require.NotNil(t, req, "WebhookKit.Malformed returned nil")
		res, err := wh.ParseWebhook(context.Background(), req)
		require.Error(t, err, "a malformed webhook must be refused (result %+v)", res)
		assert.ErrorIs(t, err, herald.ErrInvalidInput)
		assert.NotErrorIs(t, err, herald.ErrUnauthorized, "a verified malformed webhook is invalid, not unauthorized")
	})
}

// parseOK parses req twice and checks the common properties of a good
// webhook: no error, events stamped with the vendor and organization,
// every event with an EventID, the same EventIDs both times, and req
// unchanged.
func parseOK(t *testing.T, wh herald.WebhookHandler, req *herald.WebhookRequest, name string) *herald.WebhookResult {
	t.Helper()
	before := cloneWebhook(req)
	res, err := wh.ParseWebhook(context.Background(), req)
	require.NoError(t, err, "a correctly verified webhook must parse")
	require.NotNil(t, res, "ParseWebhook returned neither a result nor an error")
	assert.Equal(t, before, req, "ParseWebhook must not modify the request")
	orgID := ""
	if req.Organization != nil {
		orgID = req.Organization.ID
	}
	for i, r := range res.Reports {
		assert.Equal(t, name, r.Vendor, "report %d: Vendor", i)
		assert.Equal(t, orgID, r.OrgID, "report %d: OrgID", i)
		assert.NotEmpty(t, r.EventID, "report %d: EventID is needed to deduplicate", i)
		assert.NotEmpty(t, r.VendorMessageID, "report %d: VendorMessageID", i)
	}
	for i, m := range res.Inbound {
		assert.Equal(t, name, m.Vendor, "inbound %d: Vendor", i)
		assert.Equal(t, orgID, m.OrgID, "inbound %d: OrgID", i)
		assert.NotEmpty(t, m.EventID, "inbound %d: EventID is needed to deduplicate", i)
		assert.NotEmpty(t, m.From, "inbound %d: From", i)
	}
	if res.StatusCode != 0 {
		assert.True(t, res.StatusCode >= 200 && res.StatusCode <= 299, "an accepted webhook is answered 2xx, not %d", res.StatusCode)
	}
	again, err := wh.ParseWebhook(context.Background(), cloneWebhook(before))
	require.NoError(t, err, "a replayed webhook must parse the same")
	assert.Equal(t, eventIDs(res), eventIDs(again), "a replay must yield the same EventIDs, so the dispatcher drops it")
	return res
}

func eventIDs(r *herald.WebhookResult) []string {
	var ids []string
	for _, x := range r.Reports {
		ids = append(ids, "report:"+x.EventID)
	}
	for _, x := range r.Inbound {
		ids = append(ids, "inbound:"+x.EventID)
	}
	return ids
}

// checkForgeries refuses the unsigned, tampered and kit-forged variants of
// a valid request.
func checkForgeries(t *testing.T, w *WebhookKit, wh herald.WebhookHandler, valid *herald.WebhookRequest) {
	t.Helper()
	forged := map[string]*herald.WebhookRequest{}
	unsigned := cloneWebhook(valid)
	unsigned.Header = http.Header{}
	if ct := valid.Header.Get("Content-Type"); ct != "" {
		unsigned.Header.Set("Content-Type", ct)
	}
	forged["unsigned"] = unsigned
	if len(valid.Body) > 0 && !w.BodyUnauthenticated {
		tampered := cloneWebhook(valid)
		i := bytes.LastIndexAny(tampered.Body, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
		if i < 0 {
			i = len(tampered.Body) - 1
		}
		switch c := tampered.Body[i]; {
		case c == '9' || c == 'z' || c == 'Z':
			tampered.Body[i] = c - 1
		default:
			tampered.Body[i] = c + 1
		}
		forged["tampered"] = tampered
	}
	if w.Forge != nil {
		for i, f := range w.Forge(t, cloneWebhook(valid)) {
			forged["forged-"+string(rune('a'+i))] = f
		}
	}
	names := slices.Sorted(maps.Keys(forged))
	for _, n := range names {
		res, err := wh.ParseWebhook(context.Background(), forged[n])
		if !assert.Error(t, err, "%s webhook accepted", n) {
			continue
		}
		assert.True(t, errors.Is(err, herald.ErrUnauthorized), "%s webhook: the error must wrap herald.ErrUnauthorized, got %v", n, err)
		if res != nil {
			assert.Empty(t, res.Reports, "%s webhook yielded reports", n)
			assert.Empty(t, res.Inbound, "%s webhook yielded inbound messages", n)
		}
	}
}
