package mmswhencheaper_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/managers/mmswhencheaper"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// priced is a vendor with a price list: herald.CostReporter. It records the
// sending numbers it was asked about.
type priced struct {
	name     string
	sms, mms float64
	err      error

	mu    sync.Mutex
	froms []string
}

func (v *priced) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: v.name, Channels: []herald.Channel{herald.ChannelSMS, herald.ChannelMMS}}
}

func (v *priced) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "x"}, nil
}

func (v *priced) CostData(_ context.Context, _ *herald.Organization, from string) (*herald.CostData, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.froms = append(v.froms, from)
	if v.err != nil {
		return nil, v.err
	}
	return &herald.CostData{SMSSegment: v.sms, MMSMessage: v.mms, Currency: "USD"}, nil
}

func (v *priced) calls() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.froms...)
}

// unpriced is a vendor without cost data.
type unpriced struct{}

func (unpriced) Metadata() herald.VendorMetadata { return herald.VendorMetadata{Name: "unpriced"} }
func (unpriced) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "x"}, nil
}

// logBuffer is a bytes.Buffer safe for concurrent loggers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	store *memstore.Store
	clock *testkit.Clock
	logs  *logBuffer
	// vendors by name, for Env.Vendors.
	vendors map[string]herald.Vendor
}

func newFixture(vendors ...herald.Vendor) *fixture {
	f := &fixture{store: memstore.New(), clock: testkit.NewClock(t0), logs: &logBuffer{}, vendors: map[string]herald.Vendor{}}
	for _, v := range vendors {
		f.vendors[v.Metadata().Name] = v
	}
	return f
}

// env builds the Env the dispatcher hands a send hook: State namespaced to
// the manager and organization, the resolved vendor, the registry, the
// store, the clock and a logger.
func (f *fixture) env(org string, vendor herald.Vendor) herald.Env {
	return herald.Env{
		State:  herald.NamespacedState(f.store, org, mmswhencheaper.Name),
		Vendor: vendor,
		Vendors: func(name string) (herald.Vendor, bool) {
			v, ok := f.vendors[name]
			return v, ok
		},
		Store:  f.store,
		Clock:  f.clock,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func (f *fixture) event(org *herald.Organization, vendor herald.Vendor, ch herald.Channel, body, from string) *herald.MessageSendEvent {
	return &herald.MessageSendEvent{
		Env:          f.env(org.ID, vendor),
		Message:      &herald.Message{ID: "m1", OrgID: org.ID, Channel: ch, To: "+14155550123", Body: body},
		Organization: org,
		Route:        &herald.Route{From: from},
		Attempt:      1,
	}
}

func gsm(n int) string  { return strings.Repeat("a", n) }
func ucs2(n int) string { return strings.Repeat("中", n) }
func org(features map[string]string) *herald.Organization {
	return &herald.Organization{ID: "org1", Features: features}
}

func TestMetadata(t *testing.T) {
	md := mmswhencheaper.New().Metadata()
	assert.Equal(t, "mms-when-cheaper", md.Name)
	assert.Equal(t, mmswhencheaper.Name, md.Name)
	assert.NotEmpty(t, md.DisplayName)
	assert.Contains(t, md.Description, mmswhencheaper.FeatureCostRatio)
	assert.True(t, md.CanSpendMoney)
	assert.Equal(t, []string{"OnMessageSend"}, md.MoneySpendingOperations)
	assert.Equal(t, []string{"sticky-sender", "numpicker-basic"}, md.RunsAfter)
	assert.Empty(t, md.RunsBefore)

	after := []string{"my-picker"}
	m := mmswhencheaper.NewWithOptions(mmswhencheaper.Options{Name: "mms2", RunsAfter: after})
	after[0] = "changed"
	md = m.Metadata()
	assert.Equal(t, "mms2", md.Name)
	assert.Equal(t, []string{"my-picker"}, md.RunsAfter)
	md.RunsAfter[0] = "changed again"
	assert.Equal(t, []string{"my-picker"}, m.Metadata().RunsAfter, "metadata hands out copies")
	assert.Empty(t, mmswhencheaper.NewWithOptions(mmswhencheaper.Options{RunsAfter: []string{}}).Metadata().RunsAfter)
}

func TestOnMessageSend(t *testing.T) {
	fakePrices := func() *priced { return &priced{name: "p", sms: fake.SMSSegmentPrice, mms: fake.MMSPrice} } // ≈ 2.67
	bandwidth := func() *priced { return &priced{name: "p", sms: 0.004, mms: 0.015} }                         // 3.75
	tests := []struct {
		name     string
		features map[string]string
		vendor   func() *priced // nil: a vendor without cost data
		noVendor bool
		channel  herald.Channel
		body     string
		preset   bool // Route.ForceMMS already set
		want     bool
		calls    int // CostData calls
	}{
		{name: "1 segment stays SMS", vendor: fakePrices, body: gsm(160), calls: 1},
		{name: "2 segments stay SMS (2 < 2.67)", vendor: fakePrices, body: gsm(161), calls: 1},
		{name: "3 segments go MMS (3 > 2.67)", vendor: fakePrices, body: gsm(307), want: true, calls: 1},
		{name: "UCS-2 2 segments stay SMS", vendor: fakePrices, body: ucs2(134), calls: 1},
		{name: "UCS-2 3 segments go MMS", vendor: fakePrices, body: ucs2(135), want: true, calls: 1},
		{name: "emoji makes it UCS-2", vendor: fakePrices, body: gsm(140) + "😀", want: true, calls: 1},
		{name: "ratio 3.75: 3 segments stay", vendor: bandwidth, body: gsm(459), calls: 1},
		{name: "ratio 3.75: 4 segments go", vendor: bandwidth, body: gsm(460), want: true, calls: 1},
		{name: "feature wins, strictly greater: 3 = 3 stays", features: map[string]string{"COST_RATIO_MMS_SMS": "3"},
			vendor: fakePrices, body: gsm(459)},
		{name: "feature wins: 4 > 3 goes", features: map[string]string{"COST_RATIO_MMS_SMS": "3"},
			vendor: fakePrices, body: gsm(460), want: true},
		{name: "feature with spaces and decimals", features: map[string]string{"COST_RATIO_MMS_SMS": " 1.5 "},
			vendor: fakePrices, body: gsm(161), want: true},
		{name: "feature without a vendor price list", features: map[string]string{"COST_RATIO_MMS_SMS": "2"},
			body: gsm(307), want: true},
		{name: "bad feature falls back to the vendor", features: map[string]string{"COST_RATIO_MMS_SMS": "cheap"},
			vendor: fakePrices, body: gsm(307), want: true, calls: 1},
		{name: "zero feature falls back", features: map[string]string{"COST_RATIO_MMS_SMS": "0"},
			vendor: fakePrices, body: gsm(161), calls: 1},
		{name: "negative feature falls back", features: map[string]string{"COST_RATIO_MMS_SMS": "-1"},
			vendor: fakePrices, body: gsm(307), want: true, calls: 1},
		{name: "NaN feature falls back", features: map[string]string{"COST_RATIO_MMS_SMS": "NaN"},
			vendor: fakePrices, body: gsm(161), calls: 1},
		{name: "infinite feature falls back", features: map[string]string{"COST_RATIO_MMS_SMS": "+Inf"},
			vendor: fakePrices, body: gsm(307), want: true, calls: 1},
		{name: "empty feature is unset", features: map[string]string{"COST_RATIO_MMS_SMS": ""},
			vendor: fakePrices, body: gsm(307), want: true, calls: 1},
		{name: "no ratio anywhere: nothing", body: gsm(1000)},
		{name: "no vendor at all: nothing", noVendor: true, body: gsm(1000)},
		{name: "mms channel is left alone", vendor: fakePrices, channel: herald.ChannelMMS, body: gsm(1000)},
		{name: "email is left alone", vendor: fakePrices, channel: herald.ChannelEmail, body: gsm(1000)},
		{name: "an earlier ForceMMS stands", vendor: fakePrices, body: gsm(10), preset: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var vendor herald.Vendor = unpriced{}
			var p *priced
			if tt.vendor != nil {
				p = tt.vendor()
				vendor = p
			}
			if tt.noVendor {
				vendor = nil
			}
			f := newFixture()
			ch := tt.channel
			if ch == "" {
				ch = herald.ChannelSMS
			}
			ev := f.event(org(tt.features), vendor, ch, tt.body, "+14155550100")
			ev.Route.ForceMMS = tt.preset
			require.NoError(t, mmswhencheaper.New().OnMessageSend(context.Background(), ev))
			assert.Equal(t, tt.want, ev.Route.ForceMMS)
			if p != nil {
				assert.Len(t, p.calls(), tt.calls, "CostData calls")
			}
		})
	}
}

func TestNilPartsAreIgnored(t *testing.T) {
	m := mmswhencheaper.New()
	ctx := context.Background()
	assert.NoError(t, m.OnMessageSend(ctx, &herald.MessageSendEvent{Route: &herald.Route{}}))
	assert.NoError(t, m.OnMessageSend(ctx, &herald.MessageSendEvent{Message: &herald.Message{Channel: herald.ChannelSMS}}))
	ev := &herald.MessageSendEvent{Message: &herald.Message{OrgID: "o", Channel: herald.ChannelSMS, Body: gsm(1000)},
		Route: &herald.Route{}, Env: herald.Env{Vendor: &priced{name: "p", sms: 1, mms: 2}}}
	require.NoError(t, m.OnMessageSend(ctx, ev), "no organization, clock or logger in Env")
	assert.True(t, ev.Route.ForceMMS)
}

// TestAsksForTheRouteSender checks the number the prices are asked for is
// the route's, as the number pickers left it (Spoke passed none).
func TestAsksForTheRouteSender(t *testing.T) {
	p := &priced{name: "p", sms: 1, mms: 2}
	f := newFixture(p)
	ev := f.event(org(nil), p, herald.ChannelSMS, gsm(500), "+14155550102")
	ev.Message.From = "+14155550101"
	require.NoError(t, mmswhencheaper.New().OnMessageSend(context.Background(), ev))
	assert.Equal(t, []string{"+14155550102"}, p.calls())
	assert.True(t, ev.Route.ForceMMS)
}

// TestRouteVendorWins checks that a vendor chosen on the route by an
// earlier manager is the one asked, not the organization's default.
func TestRouteVendorWins(t *testing.T) {
	dear := &priced{name: "dear", sms: 0.01, mms: 0.1} // ratio 10
	cheap := &priced{name: "cheap", sms: 0.01, mms: 0.02}
	f := newFixture(dear, cheap)
	ev := f.event(org(nil), dear, herald.ChannelSMS, gsm(307), "+14155550100")
	ev.Route.Vendor = "cheap"
	require.NoError(t, mmswhencheaper.New().OnMessageSend(context.Background(), ev))
	assert.True(t, ev.Route.ForceMMS)
	assert.Len(t, cheap.calls(), 1)
	assert.Empty(t, dear.calls())

	ev = f.event(org(nil), dear, herald.ChannelSMS, gsm(307), "+14155550100")
	ev.Route.Vendor = "unknown"
	require.NoError(t, mmswhencheaper.New().OnMessageSend(context.Background(), ev))
	assert.False(t, ev.Route.ForceMMS, "an unknown route vendor leaves Env.Vendor")
	assert.Len(t, dear.calls(), 1)
}

func TestCostDataIsCached(t *testing.T) {
	ctx := context.Background()
	p := &priced{name: "p", sms: fake.SMSSegmentPrice, mms: fake.MMSPrice}
	f := newFixture(p)
	m := mmswhencheaper.NewWithOptions(mmswhencheaper.Options{CacheTTL: time.Minute})
	send := func(o *herald.Organization, from string) bool {
		ev := f.event(o, p, herald.ChannelSMS, gsm(307), from)
		require.NoError(t, m.OnMessageSend(ctx, ev))
		return ev.Route.ForceMMS
	}
	for range 5 {
		assert.True(t, send(org(nil), "+14155550100"))
	}
	assert.Len(t, p.calls(), 1, "one call per sending number")
	send(org(nil), "+14155550101")
	assert.Len(t, p.calls(), 2, "another number, another call")
	send(&herald.Organization{ID: "org2"}, "+14155550100")
	assert.Len(t, p.calls(), 3, "another organization, another call")

	f.clock.Advance(59 * time.Second)
	send(org(nil), "+14155550100")
	assert.Len(t, p.calls(), 3, "still fresh")
	f.clock.Advance(time.Second)
	send(org(nil), "+14155550100")
	assert.Len(t, p.calls(), 4, "expired after CacheTTL")

	m.Forget()
	send(org(nil), "+14155550100")
	assert.Len(t, p.calls(), 5, "Forget drops the cache")

	uncached := mmswhencheaper.NewWithOptions(mmswhencheaper.Options{CacheTTL: -1})
	p2 := &priced{name: "p", sms: 1, mms: 2}
	for range 3 {
		ev := f.event(org(nil), p2, herald.ChannelSMS, gsm(307), "+14155550100")
		require.NoError(t, uncached.OnMessageSend(ctx, ev))
		assert.True(t, ev.Route.ForceMMS)
	}
	assert.Len(t, p2.calls(), 3, "negative CacheTTL asks every time")
}

func TestCostDataFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("an error is logged, the send goes on as SMS, and it is remembered for ErrorTTL", func(t *testing.T) {
		p := &priced{name: "p", err: errors.New("pricing API down")}
		f := newFixture(p)
		m := mmswhencheaper.NewWithOptions(mmswhencheaper.Options{ErrorTTL: 30 * time.Second})
		for range 3 {
			ev := f.event(org(nil), p, herald.ChannelSMS, gsm(1000), "+14155550100")
			require.NoError(t, m.OnMessageSend(ctx, ev))
			assert.False(t, ev.Route.ForceMMS)
		}
		assert.Len(t, p.calls(), 1)
		assert.Contains(t, f.logs.String(), "pricing API down")
		assert.NotContains(t, f.logs.String(), "+14155550100", "no phone numbers in logs")

		f.clock.Advance(30 * time.Second)
		p.mu.Lock()
		p.err, p.sms, p.mms = nil, 1, 2
		p.mu.Unlock()
		ev := f.event(org(nil), p, herald.ChannelSMS, gsm(1000), "+14155550100")
		require.NoError(t, m.OnMessageSend(ctx, ev))
		assert.True(t, ev.Route.ForceMMS, "asked again after ErrorTTL")
		assert.Len(t, p.calls(), 2)
	})
	t.Run("prices that are not positive are unusable", func(t *testing.T) {
		for _, p := range []*priced{{name: "p", sms: 0, mms: 0.02}, {name: "p", sms: 0.0075, mms: 0}, {name: "p", sms: -1, mms: 1}} {
			f := newFixture(p)
			ev := f.event(org(nil), p, herald.ChannelSMS, gsm(1000), "+14155550100")
			require.NoError(t, mmswhencheaper.New().OnMessageSend(ctx, ev))
			assert.False(t, ev.Route.ForceMMS)
			assert.Contains(t, f.logs.String(), "no usable prices")
		}
	})
	t.Run("a canceled send remembers nothing", func(t *testing.T) {
		p := &priced{name: "p", err: context.Canceled}
		f := newFixture(p)
		m := mmswhencheaper.New()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		require.NoError(t, m.OnMessageSend(cctx, f.event(org(nil), p, herald.ChannelSMS, gsm(1000), "")))
		require.NoError(t, m.OnMessageSend(cctx, f.event(org(nil), p, herald.ChannelSMS, gsm(1000), "")))
		assert.Len(t, p.calls(), 2)
	})
	t.Run("a bad feature is logged", func(t *testing.T) {
		f := newFixture()
		ev := f.event(org(map[string]string{"COST_RATIO_MMS_SMS": "cheap"}), unpriced{}, herald.ChannelSMS, gsm(1000), "")
		require.NoError(t, mmswhencheaper.New().OnMessageSend(ctx, ev))
		assert.False(t, ev.Route.ForceMMS)
		assert.Contains(t, f.logs.String(), "COST_RATIO_MMS_SMS")
	})
}

func TestConcurrentSends(t *testing.T) {
	p := &priced{name: "p", sms: fake.SMSSegmentPrice, mms: fake.MMSPrice}
	f := newFixture(p)
	m := mmswhencheaper.New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				body := gsm(100 + (g*200+i)%400)
				ev := f.event(org(nil), p, herald.ChannelSMS, body, "+1415555010"+string(rune('0'+g)))
				assert.NoError(t, m.OnMessageSend(context.Background(), ev))
				assert.Equal(t, len(body) > 306, ev.Route.ForceMMS, "%d characters", len(body))
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, len(p.calls()), 8*8, "the cache holds per sending number")
}
