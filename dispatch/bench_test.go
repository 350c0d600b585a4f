package dispatch_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// benchManager is a light send hook, like the shipped ones on their fast
// path: read the route, maybe fill a field.
type benchManager struct {
	name string
	fill func(ev *herald.MessageSendEvent)
}

func (m *benchManager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{Name: m.name}
}

func (m *benchManager) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	m.fill(ev)
	return nil
}

func benchDispatcher(b *testing.B) *dispatch.Dispatcher {
	b.Helper()
	pool := []string{"+14155550100", "+14155550101", "+14155550102"}
	var next atomic.Uint64
	managers := []herald.ServiceManager{
		&benchManager{name: "quiet-hours", fill: func(ev *herald.MessageSendEvent) {}},
		&benchManager{name: "sticky", fill: func(ev *herald.MessageSendEvent) {}},
		&benchManager{name: "picker", fill: func(ev *herald.MessageSendEvent) {
			if ev.Route.From == "" {
				ev.Route.From = pool[next.Add(1)%uint64(len(pool))]
			}
		}},
	}
	d, err := dispatch.New(dispatch.Config{
		Store:           memstore.New(),
		Vendors:         []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers:        managers,
		EnabledManagers: []string{"quiet-hours", "sticky", "picker"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkSend measures the whole pipeline: validation and E.164
// normalisation, idempotent create, opt-out check, three send hooks, the
// sending CAS, the fake vendor's Send and the sent CAS, on memstore.
func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		d := benchDispatcher(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
				To: "+14155552671", Body: "Hello from herald " + strconv.Itoa(i)})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same, with the store emptied (timer stopped) every 10,000 sends:
	// the pipeline's own cost, without the in-memory store's growth (a
	// memstore keeps every message and its history, so its heap, map
	// growth and GC work grow with b.N).
	b.Run("sequential-bounded", func(b *testing.B) {
		d := benchDispatcher(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if i%10000 == 0 {
				b.StopTimer()
				d = benchDispatcher(b)
				runtime.GC()
				b.StartTimer()
			}
			_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
				To: "+14155552671", Body: "Hello from herald " + strconv.Itoa(i)})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		d := benchDispatcher(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
					To: "+14155552671", Body: "Hello from herald"})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// instantVendor accepts every message at once: what is left of a send is
// the dispatcher's and the store's own cost.
type instantVendor struct{}

func (instantVendor) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: "instant", Channels: []herald.Channel{herald.ChannelSMS}}
}

func (instantVendor) Send(context.Context, *herald.SendRequest) (*herald.SendResult, error) {
	return &herald.SendResult{VendorMessageID: "SM1"}, nil
}

// BenchmarkPipeline is Dispatcher.Send with a vendor that costs nothing,
// on memstore emptied every 2,000 sends (as in the vendors' comparison
// benchmarks), by 8 and by 64 goroutines: the per-send overhead a vendor's
// dispatcher-vs-bare ratio pays.
//
//	go test -run '^$' -bench Pipeline -benchtime 200000x -cpuprofile cpu.out ./dispatch/
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []int{8, 64} {
		b.Run("goroutines="+strconv.Itoa(c), func(b *testing.B) {
			ctx := context.Background()
			store := memstore.New()
			d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{instantVendor{}}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for done := 0; done < b.N; {
				n := min(2000, b.N-done)
				var next atomic.Int64
				var wg sync.WaitGroup
				for range c {
					wg.Go(func() {
						for next.Add(1) <= int64(n) {
							if _, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS,
								To: "+14155552671", Body: "Hello from herald"}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				done += n
				b.StopTimer()
				store.Reset()
				b.StartTimer()
			}
		})
	}
}
