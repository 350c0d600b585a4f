package fake_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fake"
)

// sink collects what the fake delivers.
type sink struct {
	mu      sync.Mutex
	reports []herald.DeliveryReport
	inbound []herald.InboundMessage
	err     error
}

func (s *sink) HandleReport(_ context.Context, r *herald.DeliveryReport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, *r)
	return s.err
}

func (s *sink) HandleInbound(_ context.Context, m *herald.InboundMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inbound = append(s.inbound, *m)
	return s.err
}

func (s *sink) got() ([]herald.DeliveryReport, []herald.InboundMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]herald.DeliveryReport(nil), s.reports...), append([]herald.InboundMessage(nil), s.inbound...)
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newConnected(t *testing.T, opts fake.Options) (*fake.Vendor, *sink) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = fixedClock{t0}
	}
	v := fake.New(opts)
	s := &sink{}
	v.Connect(s)
	t.Cleanup(v.Wait)
	return v, s
}

func TestDefaults(t *testing.T) {
	v := fake.New(fake.Options{})
	md := v.Metadata()
	assert.Equal(t, "fake", md.Name)
	assert.NotEmpty(t, md.DisplayName)
	assert.Equal(t, fake.AllChannels(), md.Channels)
	assert.True(t, md.IdempotentSend)
	assert.True(t, md.SupportsOrgConfig)

	named := fake.New(fake.Options{Name: "fake2", Channels: []herald.Channel{herald.ChannelEmail}})
	assert.Equal(t, "fake2", named.Metadata().Name)
	assert.Equal(t, []herald.Channel{herald.ChannelEmail}, named.Metadata().Channels)
	assert.NotEqual(t, md.DisplayName, named.Metadata().DisplayName)
}

func TestSendDeliversReport(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	req := request(herald.ChannelSMS, "hello")
	req.Route.From = "+15555550199"
	req.Route.MessagingServiceID = "MG1"
	res, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(res.VendorMessageID, "FAKE"))
	assert.Equal(t, herald.StatusSent, res.Status)
	assert.Equal(t, "+15555550199", res.From, "Route.From wins over Message.From")
	assert.Equal(t, "MG1", res.MessagingServiceID)
	assert.Equal(t, 1, res.Segments)

	v.Wait()
	reports, inbound := s.got()
	require.Len(t, reports, 1)
	assert.Empty(t, inbound)
	r := reports[0]
	assert.Equal(t, "org1", r.OrgID)
	assert.Equal(t, "fake", r.Vendor)
	assert.NotEmpty(t, r.EventID)
	assert.Equal(t, res.VendorMessageID, r.VendorMessageID)
	assert.Equal(t, herald.StatusDelivered, r.Status)
	assert.Equal(t, "+15555550101", r.To)
	assert.Equal(t, "+15555550199", r.From)
	assert.Equal(t, "MG1", r.MessagingServiceID)
	assert.Equal(t, fake.Carrier, r.Carrier)
	assert.Equal(t, t0, r.At)
	assert.Empty(t, r.ErrorCode)
	assert.Equal(t, reports, v.Reports())
	assert.Empty(t, v.DeliveryErrors())
}

func TestIDsAreUnique(t *testing.T) {
	a, b := fake.New(fake.Options{}), fake.New(fake.Options{})
	seen := map[string]bool{}
	for i := range 50 {
		for _, v := range []*fake.Vendor{a, b} {
			req := request(herald.ChannelSMS, "hi")
			req.Message.IdempotencyKey = "k" + string(rune('a'+i%26)) + strings.Repeat("x", i)
			res, err := v.Send(context.Background(), req)
			require.NoError(t, err)
			require.False(t, seen[res.VendorMessageID], "duplicate ID %s", res.VendorMessageID)
			seen[res.VendorMessageID] = true
		}
	}
	a.Wait()
	b.Wait()
	events := map[string]bool{}
	for _, r := range append(a.Reports(), b.Reports()...) {
		require.False(t, events[r.EventID])
		events[r.EventID] = true
	}
}

func TestIdempotentSend(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	req := request(herald.ChannelSMS, "hello autorespond")
	first, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	again, err := v.Send(context.Background(), request(herald.ChannelSMS, "a different body"))
	require.NoError(t, err)
	assert.Equal(t, first, again)

	// Another organization's key is another send.
	other := request(herald.ChannelSMS, "hello")
	other.Message.OrgID, other.Organization.ID = "org2", "org2"
	third, err := v.Send(context.Background(), other)
	require.NoError(t, err)
	assert.NotEqual(t, first.VendorMessageID, third.VendorMessageID)

	v.Wait()
	reports, inbound := s.got()
	assert.Len(t, reports, 2, "a deduplicated send produces no second report")
	assert.Len(t, inbound, 1, "nor a second reply")
	assert.Equal(t, 3, v.Calls("k1"))
	assert.True(t, v.Accepted("k1"))
	assert.False(t, v.Accepted("nope"))
	assert.Equal(t, 0, v.Calls("nope"))
	sends := v.Sends()
	require.Len(t, sends, 2)
	assert.Equal(t, "hello autorespond", sends[0].Request.Message.Body)
	assert.Equal(t, first.VendorMessageID, sends[0].Result.VendorMessageID)
	assert.Equal(t, t0, sends[0].At)

	// Sends hands out copies.
	sends[0].Request.Message.Body = "changed"
	sends[0].Request.Organization.ID = "changed"
	assert.Equal(t, "hello autorespond", v.Sends()[0].Request.Message.Body)
	assert.Equal(t, "org1", v.Sends()[0].Request.Organization.ID)
}

func TestEmptyKeyIsNotDeduplicated(t *testing.T) {
	v, _ := newConnected(t, fake.Options{})
	req := request(herald.ChannelSMS, "hi")
	req.Message.IdempotencyKey = ""
	a, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	b, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	assert.NotEqual(t, a.VendorMessageID, b.VendorMessageID)
	assert.Len(t, v.Sends(), 2)
	assert.Equal(t, 2, v.Calls(""))
}

func TestSendDoesNotModifyRequest(t *testing.T) {
	v, _ := newConnected(t, fake.Options{})
	req := request(herald.ChannelMMS, "autorespondPicture error30003")
	req.Route.Credentials = map[string]string{"account": "a", "secret": "s"}
	before := *req.Message
	_, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, before, *req.Message)
}

func TestErrorClasses(t *testing.T) {
	cases := []struct {
		code   string
		class  herald.ErrorClass
		status int
	}{
		{"429", herald.ClassRateLimited, 429},
		{"20429", herald.ClassRateLimited, 429},
		{"500", herald.ClassTemporary, 500},
		{"502", herald.ClassTemporary, 502},
		{"599", herald.ClassTemporary, 599},
		{"21610", herald.ClassOptedOut, 400},
		{"21211", herald.ClassInvalidAddress, 400},
		{"21614", herald.ClassInvalidAddress, 400},
		{"20003", herald.ClassAuth, 401},
		{"401", herald.ClassAuth, 401},
		{"403", herald.ClassAuth, 403},
		{"410", herald.ClassGone, 410},
		{"408", herald.ClassMaybeDelivered, 408},
		{"400", herald.ClassPermanent, 400},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			v, s := newConnected(t, fake.Options{RetryAfter: 3 * time.Second})
			res, err := v.Send(context.Background(), request(herald.ChannelSMS, "please error"+c.code+" now"))
			require.Error(t, err)
			assert.Nil(t, res)
			var ve *herald.VendorError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, c.class, ve.Class)
			assert.Equal(t, c.code, ve.Code)
			assert.Equal(t, "fake", ve.Vendor)
			assert.Equal(t, c.status, ve.HTTPStatus)
			assert.NotEmpty(t, ve.Message)
			assert.ErrorIs(t, err, c.class)
			if c.class == herald.ClassRateLimited {
				assert.Equal(t, 3*time.Second, ve.RetryAfter)
			} else {
				assert.Zero(t, ve.RetryAfter)
			}
			class, ok := fake.Classify(c.code)
			assert.True(t, ok)
			assert.Equal(t, c.class, class)
			v.Wait()
			reports, _ := s.got()
			assert.Empty(t, reports, "a refused send is not reported")
			assert.Empty(t, v.Sends())
			assert.False(t, v.Accepted("k1"))
			assert.Equal(t, 1, v.Calls("k1"))
		})
	}
	for _, code := range []string{"", "0500", "600", "499", "30003", "abc"} {
		_, ok := fake.Classify(code)
		assert.False(t, ok, code)
	}
}

func TestDefaultRetryAfter(t *testing.T) {
	v := fake.New(fake.Options{})
	_, err := v.Send(context.Background(), request(herald.ChannelSMS, "error429"))
	assert.Equal(t, time.Second, herald.RetryAfterOf(err))
}

func TestDeliveryFailures(t *testing.T) {
	for _, code := range []string{"30003", "30004", "30005", "30006", "30007", "30008", "12345"} {
		t.Run(code, func(t *testing.T) {
			v, s := newConnected(t, fake.Options{})
			res, err := v.Send(context.Background(), request(herald.ChannelSMS, "error"+code))
			require.NoError(t, err, "codes outside the class table are accepted")
			v.Wait()
			reports, _ := s.got()
			require.Len(t, reports, 1)
			assert.Equal(t, res.VendorMessageID, reports[0].VendorMessageID)
			assert.Equal(t, herald.StatusFailed, reports[0].Status)
			assert.Equal(t, code, reports[0].ErrorCode)
			assert.Equal(t, code == "30006", reports[0].Landline)
		})
	}
}

func TestFlaky(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	req := request(herald.ChannelSMS, "flaky503")
	_, err := v.Send(context.Background(), req)
	require.Error(t, err)
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err))
	assert.Equal(t, "503", herald.CodeOf(err))
	assert.False(t, v.Accepted("k1"))

	res, err := v.Send(context.Background(), req)
	require.NoError(t, err, "the retry succeeds")
	res2, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, res, res2)
	assert.Equal(t, 3, v.Calls("k1"))
	assert.True(t, v.Accepted("k1"))
	v.Wait()
	reports, _ := s.got()
	require.Len(t, reports, 1)
	assert.Equal(t, herald.StatusDelivered, reports[0].Status)

	// A code outside the class table fails as permanent the first time.
	other := request(herald.ChannelSMS, "flaky30003")
	other.Message.IdempotencyKey = "k2"
	_, err = v.Send(context.Background(), other)
	assert.Equal(t, herald.ClassPermanent, herald.ClassOf(err))
	_, err = v.Send(context.Background(), other)
	assert.NoError(t, err)

	// Without a key, every call is a first call.
	nokey := request(herald.ChannelSMS, "flaky429")
	nokey.Message.IdempotencyKey = ""
	for range 2 {
		_, err = v.Send(context.Background(), nokey)
		assert.ErrorIs(t, err, herald.ClassRateLimited)
	}
}

func TestAutorespond(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	req := request(herald.ChannelSMS, "please autorespond")
	req.Route.MessagingServiceID = "MG9"
	res, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	v.Wait()
	reports, inbound := s.got()
	require.Len(t, reports, 1)
	require.Len(t, inbound, 1)
	m := inbound[0]
	assert.Equal(t, "org1", m.OrgID)
	assert.Equal(t, "fake", m.Vendor)
	assert.NotEmpty(t, m.EventID)
	assert.NotEqual(t, reports[0].EventID, m.EventID)
	assert.Equal(t, herald.ChannelSMS, m.Channel)
	assert.Equal(t, "+15555550101", m.From)
	assert.Equal(t, "+15555550100", m.To, "the reply goes to Message.From when the route has none")
	assert.Equal(t, "MG9", m.MessagingServiceID)
	assert.Equal(t, "responding to please autorespond", m.Body)
	assert.Empty(t, m.Media)
	assert.Equal(t, t0, m.ReceivedAt)
	assert.Equal(t, inbound, v.InboundMessages())
	_ = res

	pic := request(herald.ChannelMMS, "autorespondPicture")
	pic.Message.IdempotencyKey = "k2"
	pic.Route.From = "+15555550177"
	_, err = v.Send(context.Background(), pic)
	require.NoError(t, err)
	v.Wait()
	_, inbound = s.got()
	require.Len(t, inbound, 2)
	assert.Equal(t, herald.ChannelMMS, inbound[1].Channel)
	assert.Equal(t, "+15555550177", inbound[1].To)
	assert.Equal(t, []string{fake.PictureURL}, inbound[1].Media)
	assert.True(t, strings.HasSuffix(fake.PictureURL, ".png"))
}

func TestEndedContext(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Send(ctx, request(herald.ChannelSMS, "hi"))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, herald.ClassTemporary, herald.ClassOf(err))
	var ve *herald.VendorError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "fake", ve.Vendor)

	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Minute))
	defer dcancel()
	_, err = v.Send(dctx, request(herald.ChannelSMS, "hi"))
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	assert.Equal(t, 0, v.Calls("k1"), "an ended context is refused before anything")
	assert.Empty(t, v.Sends())
	v.Wait()
	reports, _ := s.got()
	assert.Empty(t, reports)
}

func TestReportOutlivesSendContext(t *testing.T) {
	v, s := newConnected(t, fake.Options{ReportDelay: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := v.Send(ctx, request(herald.ChannelSMS, "hi"))
	require.NoError(t, err)
	cancel()
	v.Wait()
	reports, _ := s.got()
	assert.Len(t, reports, 1)
}

func TestRefusals(t *testing.T) {
	v := fake.New(fake.Options{Channels: []herald.Channel{herald.ChannelSMS}})
	_, err := v.Send(context.Background(), request(herald.ChannelEmail, "hi"))
	assert.ErrorIs(t, err, herald.ErrUnsupported)
	assert.Equal(t, herald.ClassPermanent, herald.ClassOf(err))

	_, err = v.Send(context.Background(), &herald.SendRequest{})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)

	noTo := request(herald.ChannelSMS, "hi")
	noTo.Message.To = ""
	_, err = v.Send(context.Background(), noTo)
	assert.Equal(t, herald.ClassInvalidAddress, herald.ClassOf(err))

	noRoute := request(herald.ChannelSMS, "hi")
	noRoute.Route = nil
	_, err = v.Send(context.Background(), noRoute)
	assert.NoError(t, err, "a nil Route is read as empty")
	v.Wait()
}

func TestCredentials(t *testing.T) {
	v := fake.New(fake.Options{RequireOrgConfig: true})
	defer v.Wait()
	req := request(herald.ChannelSMS, "hi")
	_, err := v.Send(context.Background(), req)
	assert.Equal(t, herald.ClassAuth, herald.ClassOf(err))
	assert.ErrorIs(t, err, herald.ErrConfig)

	req.Organization.VendorConfig = map[string]map[string]string{"fake": {"account": "AC1", "secret": "s"}}
	_, err = v.Send(context.Background(), req)
	assert.NoError(t, err)

	switched := request(herald.ChannelSMS, "hi")
	switched.Message.IdempotencyKey = "k2"
	switched.Route.Credentials = map[string]string{"account": "AC2", "secret": "s2"}
	_, err = v.Send(context.Background(), switched)
	assert.NoError(t, err, "Route.Credentials stand in for the organization's")

	bad := request(herald.ChannelSMS, "hi")
	bad.Message.IdempotencyKey = "k3"
	bad.Route.Credentials = map[string]string{"account": "an-invalid-account", "secret": "s"}
	_, err = v.Send(context.Background(), bad)
	assert.Equal(t, herald.ClassAuth, herald.ClassOf(err))
	assert.Equal(t, fake.CodeAuth, herald.CodeOf(err))
}

func TestSinkErrorsAreKept(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	s.err = errors.New("sink down")
	_, err := v.Send(context.Background(), request(herald.ChannelSMS, "autorespond"))
	require.NoError(t, err)
	v.Wait()
	errs := v.DeliveryErrors()
	require.Len(t, errs, 2, "the report and the reply")
	for _, e := range errs {
		assert.ErrorIs(t, e, s.err)
	}
}

func TestNoDestinationKeepsEvents(t *testing.T) {
	v := fake.New(fake.Options{})
	_, err := v.Send(context.Background(), request(herald.ChannelSMS, "autorespond"))
	require.NoError(t, err)
	v.Wait()
	assert.Len(t, v.Reports(), 1)
	assert.Len(t, v.InboundMessages(), 1)
	assert.Empty(t, v.DeliveryErrors())
	assert.ErrorIs(t, v.Report(context.Background(), &herald.DeliveryReport{OrgID: "org1", VendorMessageID: "X", Status: herald.StatusSent}), fake.ErrNoDestination)
	assert.ErrorIs(t, v.Inbound(context.Background(), &herald.InboundMessage{OrgID: "org1", From: "+15555550101"}), fake.ErrNoDestination)
}

func TestReportDelayAndConnectLater(t *testing.T) {
	const delay = 300 * time.Millisecond
	v := fake.New(fake.Options{ReportDelay: delay})
	start := time.Now()
	_, err := v.Send(context.Background(), request(herald.ChannelSMS, "hi"))
	require.NoError(t, err)
	require.Less(t, time.Since(start), delay/2, "Send does not wait for the report")
	s := &sink{}
	v.Connect(s) // before the delay has passed
	v.Wait()
	assert.GreaterOrEqual(t, time.Since(start), delay)
	reports, _ := s.got()
	assert.Len(t, reports, 1)
}

// resender sends again from inside the sink, as a dispatcher answering an
// inbound message would; Wait covers that send too.
type resender struct {
	sink
	v *fake.Vendor
}

func (r *resender) HandleInbound(ctx context.Context, m *herald.InboundMessage) error {
	req := request(herald.ChannelSMS, "thanks")
	req.Message.IdempotencyKey = "reply-to-" + m.EventID
	_, err := r.v.Send(ctx, req)
	return errors.Join(err, r.sink.HandleInbound(ctx, m))
}

func TestWaitCoversChainedSends(t *testing.T) {
	v := fake.New(fake.Options{ReportDelay: 5 * time.Millisecond})
	r := &resender{v: v}
	v.Connect(r)
	_, err := v.Send(context.Background(), request(herald.ChannelSMS, "autorespond"))
	require.NoError(t, err)
	v.Wait()
	reports, inbound := r.got()
	assert.Len(t, reports, 2)
	assert.Len(t, inbound, 1)
	assert.Empty(t, v.DeliveryErrors())
}

func TestInjectEvents(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	require.NoError(t, v.Report(context.Background(), &herald.DeliveryReport{
		OrgID: "org1", VendorMessageID: "FAKE1", Engagement: herald.EngagementOpened,
	}))
	require.NoError(t, v.Inbound(context.Background(), &herald.InboundMessage{
		OrgID: "org1", From: "+15555550101", To: "+15555550100", Body: "STOP",
	}))
	reports, inbound := s.got()
	require.Len(t, reports, 1)
	require.Len(t, inbound, 1)
	assert.Equal(t, "fake", reports[0].Vendor)
	assert.NotEmpty(t, reports[0].EventID)
	assert.Equal(t, t0, reports[0].At)
	assert.Equal(t, herald.ChannelSMS, inbound[0].Channel)
	assert.NotEmpty(t, inbound[0].EventID)
	assert.Equal(t, t0, inbound[0].ReceivedAt)

	s.err = errors.New("refused")
	err := v.Report(context.Background(), &herald.DeliveryReport{OrgID: "org1", VendorMessageID: "FAKE1", Status: herald.StatusSent})
	assert.ErrorIs(t, err, s.err, "the helpers return the delivery's error")
	assert.Empty(t, v.DeliveryErrors(), "synchronous errors are returned, not kept")
	assert.ErrorIs(t, v.Report(context.Background(), nil), herald.ErrInvalidInput)
	assert.ErrorIs(t, v.Inbound(context.Background(), nil), herald.ErrInvalidInput)
}

func TestConcurrentUse(t *testing.T) {
	v, s := newConnected(t, fake.Options{})
	org := &herald.Organization{ID: "org1"}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			ctx := context.Background()
			req := request(herald.ChannelSMS, "autorespond")
			req.Message.IdempotencyKey = "key-" + string(rune('A'+i%20)) // 20 distinct keys, each twice
			_, err := v.Send(ctx, req)
			assert.NoError(t, err)
			_, err = v.LookupContact(ctx, herald.LookupParams{Organization: org, Number: "+15555550101"})
			assert.NoError(t, err)
			_, err = v.BuyNumbers(ctx, herald.BuyNumbersParams{Organization: org, AreaCode: "415", Limit: 2})
			assert.NoError(t, err)
			_, err = v.ListNumbers(ctx, herald.ListNumbersParams{Organization: org})
			assert.NoError(t, err)
			_ = v.Sends()
			_ = v.Reports()
			_ = v.Calls("key-A")
		})
	}
	wg.Wait()
	v.Wait()
	reports, inbound := s.got()
	assert.Len(t, reports, 20)
	assert.Len(t, inbound, 20)
	assert.Len(t, v.Sends(), 20)
	assert.Equal(t, 40, v.Lookups())
	nums, err := v.ListNumbers(context.Background(), herald.ListNumbersParams{Organization: org})
	require.NoError(t, err)
	assert.Len(t, nums, 80)
}

func TestQuietSendsLeaveNoTrace(t *testing.T) {
	v := fake.New(fake.Options{Quiet: true})
	s := &sink{}
	v.Connect(s)
	req := request(herald.ChannelSMS, "autorespond")
	res, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	again, err := v.Send(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, res.VendorMessageID, again.VendorMessageID, "still deduplicated")
	v.Wait()
	assert.True(t, v.Accepted(req.Message.IdempotencyKey))
	assert.Equal(t, 2, v.Calls(req.Message.IdempotencyKey))
	assert.Empty(t, v.Sends())
	assert.Empty(t, v.Reports())
	reports, inbound := s.got()
	assert.Empty(t, reports)
	assert.Empty(t, inbound)
}

func TestSendBatch(t *testing.T) {
	v := fake.New(fake.Options{Quiet: true})
	ctx := context.Background()
	reqs := []*herald.SendRequest{
		request(herald.ChannelSMS, "one"),
		request(herald.ChannelSMS, "error21211"),
		request(herald.ChannelSMS, "three"),
	}
	reqs[0].Message.IdempotencyKey, reqs[1].Message.IdempotencyKey, reqs[2].Message.IdempotencyKey = "b1", "b2", "b3"
	out, err := v.SendBatch(ctx, reqs)
	require.NoError(t, err)
	require.Len(t, out, 3)
	require.NoError(t, out[0].Err)
	assert.NotEmpty(t, out[0].Result.VendorMessageID)
	assert.Equal(t, herald.ClassInvalidAddress, herald.ClassOf(out[1].Err))
	require.NoError(t, out[2].Err)
	assert.NotEqual(t, out[0].Result.VendorMessageID, out[2].Result.VendorMessageID)
	assert.Equal(t, []int{3}, v.Batches())
	assert.Equal(t, fake.MaxBatchSize, v.MaxBatch())

	big := make([]*herald.SendRequest, fake.MaxBatchSize+1)
	for i := range big {
		big[i] = request(herald.ChannelSMS, "x")
	}
	_, err = v.SendBatch(ctx, big)
	assert.Equal(t, herald.ClassPermanent, herald.ClassOf(err))
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.SendBatch(canceled, reqs)
	assert.ErrorIs(t, err, context.Canceled)
}
