package mmswhencheaper_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/mmswhencheaper"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// spyVendor is the fake vendor, recording which sending numbers its cost
// data was asked for. Embedding keeps every capability of the fake.
type spyVendor struct {
	*fake.Vendor
	mu    sync.Mutex
	froms []string
}

func (v *spyVendor) CostData(ctx context.Context, org *herald.Organization, from string) (*herald.CostData, error) {
	v.mu.Lock()
	v.froms = append(v.froms, from)
	v.mu.Unlock()
	return v.Vendor.CostData(ctx, org, from)
}

func (v *spyVendor) costCalls() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.froms...)
}

// picker stands for a number picker registered under the shipped picker's
// name: it fills Route.From when empty, from a pool, round robin.
type picker struct {
	pool []string
	next atomic.Uint64
}

func (p *picker) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{Name: mmswhencheaper.NumPickerName}
}

func (p *picker) OnMessageSend(_ context.Context, ev *herald.MessageSendEvent) error {
	if ev.Route.From == "" {
		ev.Route.From = p.pool[(p.next.Add(1)-1)%uint64(len(p.pool))]
	}
	return nil
}

// newDispatcher builds a dispatcher with the fake vendor (quiet keeps no
// copies of sends, for benchmarks), the manager and the picker registered,
// and the given managers enabled.
func newDispatcher(t testing.TB, store *memstore.Store, quiet bool, enabled ...string) (*dispatch.Dispatcher, *spyVendor, error) {
	t.Helper()
	v := &spyVendor{Vendor: fake.New(fake.Options{Quiet: quiet})}
	d, err := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{v},
		Managers:        []herald.ServiceManager{mmswhencheaper.New(), &picker{pool: []string{"+14155550100", "+14155550101"}}},
		EnabledManagers: enabled,
	})
	if !quiet {
		t.Cleanup(v.Wait)
	}
	return d, v, err
}

// lastRoute returns the route the fake vendor was handed for the message.
func lastRoute(t *testing.T, v *spyVendor, messageID string) *herald.Route {
	t.Helper()
	for _, s := range v.Sends() {
		if s.Request.Message.ID == messageID {
			return s.Request.Route
		}
	}
	t.Fatalf("message %s never reached the vendor", messageID)
	return nil
}

// TestThroughTheDispatcher sends through a dispatcher with the fake vendor
// (0.0075 per segment, 0.02 per MMS: ratio ≈ 2.67) and the manager after a
// number picker, and looks at the route the vendor got.
func TestThroughTheDispatcher(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	_, err := store.PutOrganization(ctx, &herald.Organization{ID: "ratio5",
		Features: map[string]string{mmswhencheaper.FeatureCostRatio: "5"}})
	require.NoError(t, err)
	d, v, err := newDispatcher(t, store, false, mmswhencheaper.NumPickerName, mmswhencheaper.Name)
	require.NoError(t, err)

	tests := []struct {
		org     string
		channel herald.Channel
		body    string
		want    bool
	}{
		{"org1", herald.ChannelSMS, gsm(160), false},
		{"org1", herald.ChannelSMS, gsm(306), false},
		{"org1", herald.ChannelSMS, gsm(307), true},
		{"org1", herald.ChannelSMS, ucs2(135), true},
		{"org1", herald.ChannelMMS, gsm(1000), false},
		{"ratio5", herald.ChannelSMS, gsm(307), false},
		{"ratio5", herald.ChannelSMS, gsm(153*5 + 1), true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tt.org, tt.channel, len([]rune(tt.body))), func(t *testing.T) {
			res, err := d.Send(ctx, &herald.Message{ID: "m" + strconv.Itoa(i), OrgID: tt.org, Channel: tt.channel,
				To: "+14155552671", Body: tt.body})
			require.NoError(t, err)
			assert.Equal(t, herald.StatusSent, res.Message.Status)
			route := lastRoute(t, v, res.Message.ID)
			assert.Equal(t, tt.want, route.ForceMMS)
			assert.NotEmpty(t, route.From, "the picker ran first")
		})
	}
	// Cost data was asked for the picker's numbers only, once each (org1;
	// ratio5 has its feature).
	assert.ElementsMatch(t, []string{"+14155550100", "+14155550101"}, v.costCalls())
}

// TestOrderIsEnforced checks that the dispatcher refuses to run the
// manager before the number picker, so the wrong order is never silent.
func TestOrderIsEnforced(t *testing.T) {
	ctx := context.Background()
	_, _, err := newDispatcher(t, memstore.New(), false, mmswhencheaper.Name, mmswhencheaper.NumPickerName)
	require.ErrorIs(t, err, herald.ErrConfig, "the process-wide list is checked at New")
	assert.Contains(t, err.Error(), `"mms-when-cheaper" must run after "numpicker-basic"`)

	// An organization's own list is checked when it is used.
	store := memstore.New()
	_, err = store.PutOrganization(ctx, &herald.Organization{ID: "wrong", Features: map[string]string{
		herald.FeatureServiceManagers: mmswhencheaper.Name + "," + mmswhencheaper.NumPickerName}})
	require.NoError(t, err)
	d, v, err := newDispatcher(t, store, false, mmswhencheaper.NumPickerName, mmswhencheaper.Name)
	require.NoError(t, err)
	_, err = d.EnabledManagers(ctx, "wrong")
	require.ErrorIs(t, err, herald.ErrConfig)
	_, err = d.Send(ctx, &herald.Message{OrgID: "wrong", Channel: herald.ChannelSMS, To: "+14155552671", Body: gsm(400)})
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.Empty(t, v.Sends(), "nothing was sent in the wrong order")

	// Alone, with no picker enabled, it runs and asks for the empty sender.
	d, v, err = newDispatcher(t, memstore.New(), false, mmswhencheaper.Name)
	require.NoError(t, err)
	res, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: gsm(400)})
	require.NoError(t, err)
	assert.True(t, lastRoute(t, v, res.Message.ID).ForceMMS)
	assert.Equal(t, []string{""}, v.costCalls())
}

// BenchmarkSendPipeline measures the dispatcher's send pipeline on memstore
// with the fake vendor: with no managers, with the number picker alone,
// and with the picker then mms-when-cheaper, in the same run. Bodies
// alternate between one and three segments. The store is replaced (timer
// stopped) every 10,000 sends so that its growth does not count.
//
//	go test -run '^$' -bench SendPipeline -benchmem ./managers/mmswhencheaper
func BenchmarkSendPipeline(b *testing.B) {
	ctx := context.Background()
	bodies := []string{"Hello from herald, see you Saturday!", gsm(400)}
	for _, bc := range []struct {
		name    string
		enabled []string
	}{
		{"no-managers", nil},
		{"numpicker", []string{mmswhencheaper.NumPickerName}},
		{"numpicker+mms-when-cheaper", []string{mmswhencheaper.NumPickerName, mmswhencheaper.Name}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, _, err := newDispatcher(b, memstore.New(), true, bc.enabled...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if i%10000 == 0 {
					b.StopTimer()
					d, _, _ = newDispatcher(b, memstore.New(), true, bc.enabled...)
					runtime.GC()
					b.StartTimer()
				}
				_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
					To: "+14155552671", From: "", Body: bodies[i%2]})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSendPipelineInterleaved sends one message through a dispatcher
// with no managers and one through a dispatcher with the number picker and
// mms-when-cheaper, alternately, timing each, so that the machine's load
// drifts equally over both. It reports ns per message for each and the
// difference: what the two managers add to a send.
//
//	go test -run '^$' -bench SendPipelineInterleaved -benchtime 200000x -count 5 ./managers/mmswhencheaper
func BenchmarkSendPipelineInterleaved(b *testing.B) {
	ctx := context.Background()
	bodies := []string{"Hello from herald, see you Saturday!", gsm(400)}
	fresh := func() (none, with *dispatch.Dispatcher) {
		var err error
		if none, _, err = newDispatcher(b, memstore.New(), true); err != nil {
			b.Fatal(err)
		}
		if with, _, err = newDispatcher(b, memstore.New(), true, mmswhencheaper.NumPickerName, mmswhencheaper.Name); err != nil {
			b.Fatal(err)
		}
		return none, with
	}
	none, with := fresh()
	var tNone, tWith time.Duration
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%10000 == 0 {
			b.StopTimer()
			none, with = fresh()
			runtime.GC()
			b.StartTimer()
		}
		for _, d := range []*dispatch.Dispatcher{none, with} {
			start := time.Now()
			_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
				To: "+14155552671", Body: bodies[i%2]})
			if d == none {
				tNone += time.Since(start)
			} else {
				tWith += time.Since(start)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(tNone.Nanoseconds())/float64(i), "ns/send-none")
	b.ReportMetric(float64(tWith.Nanoseconds())/float64(i), "ns/send-managers")
	b.ReportMetric(float64((tWith-tNone).Nanoseconds())/float64(i), "ns/added")
}

// BenchmarkOnMessageSend measures the hook alone, with the ratio cached.
func BenchmarkOnMessageSend(b *testing.B) {
	ctx := context.Background()
	p := &priced{name: "p", sms: fake.SMSSegmentPrice, mms: fake.MMSPrice}
	f := newFixture(p)
	m := mmswhencheaper.New()
	for _, body := range []struct{ name, text string }{{"1-segment", gsm(100)}, {"3-segments", gsm(400)}, {"ucs2", ucs2(100) + "😀"}} {
		b.Run(body.name, func(b *testing.B) {
			ev := f.event(org(nil), p, herald.ChannelSMS, body.text, "+14155550100")
			ev.Env.Logger = slog.New(slog.DiscardHandler) // as the dispatcher's default
			b.ReportAllocs()
			for b.Loop() {
				ev.Route.ForceMMS = false
				if err := m.OnMessageSend(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
