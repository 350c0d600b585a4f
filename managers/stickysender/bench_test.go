package stickysender_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/mmswhencheaper"
	"github.com/heraldmsg/herald/managers/numpicker"
	"github.com/heraldmsg/herald/managers/quiethours"
	"github.com/heraldmsg/herald/managers/stickysender"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// benchContacts is how many contacts the benchmarks rotate over; every
// other one has a sticky number, so half the sends take the sticky path
// and half fall through to the picker.
const benchContacts = 1000

func benchTo(i int) string { return fmt.Sprintf("+1212555%04d", i%benchContacts) }

// benchPipeline builds a dispatcher on a fresh memstore with a quiet fake
// vendor, 20 owned numbers, sticky numbers for half the contacts, and the
// given managers enabled.
func benchPipeline(b *testing.B, enabled ...string) *dispatch.Dispatcher {
	b.Helper()
	ctx := context.Background()
	store := memstore.New()
	var numbers []herald.OwnedNumber
	for i := range 20 {
		numbers = append(numbers, herald.OwnedNumber{OrgID: "org1", Vendor: "fake", Number: fmt.Sprintf("+1415555%04d", i)})
	}
	if err := store.AddNumbers(ctx, numbers); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchContacts; i += 2 {
		if _, err := stickysender.SetStickyNumber(ctx, store, "org1", "fake", benchTo(i), numbers[i%20].Number); err != nil {
			b.Fatal(err)
		}
	}
	qh, err := quiethours.New(quiethours.Options{Window: "00:00-00:00"}) // always open: measures the check
	if err != nil {
		b.Fatal(err)
	}
	d, err := dispatch.New(dispatch.Config{
		Store:   store,
		Vendors: []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers: []herald.ServiceManager{qh, stickysender.New(stickysender.Options{}), numpicker.New(numpicker.Options{}),
			mmswhencheaper.New()},
		EnabledManagers: enabled,
	})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkPipeline measures dispatcher Send on memstore with no manager,
// with sticky-sender + numpicker, and with quiet-hours in front of them,
// in one run, so the difference is the managers' cost per message. The
// store is emptied (timer stopped) every 10,000 sends so that memstore's
// growth does not drown the difference (see BENCHMARKS.md, dispatch).
func BenchmarkPipeline(b *testing.B) {
	cases := []struct {
		name    string
		enabled []string
	}{
		{"none", nil},
		{"sticky+numpicker", []string{stickysender.Name, numpicker.Name}},
		{"quiet+sticky+numpicker", []string{quiethours.Name, stickysender.Name, numpicker.Name}},
	}
	ctx := context.Background()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			d := benchPipeline(b, c.enabled...)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if i%10000 == 0 {
					b.StopTimer()
					d = benchPipeline(b, c.enabled...)
					runtime.GC()
					b.StartTimer()
				}
				_, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: benchTo(i), Body: "Hello from herald"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHooks measures the two managers' send hooks alone, with State
// on memstore as the dispatcher builds it: the per-message cost without
// the pipeline's noise.
func BenchmarkHooks(b *testing.B) {
	ctx := context.Background()
	store := memstore.New()
	for i := 0; i < benchContacts; i += 2 {
		_, _ = stickysender.SetStickyNumber(ctx, store, "org1", "fake", benchTo(i), "+14155550100")
	}
	var numbers []herald.OwnedNumber
	for i := range 20 {
		numbers = append(numbers, herald.OwnedNumber{OrgID: "org1", Vendor: "fake", Number: fmt.Sprintf("+1415555%04d", i)})
	}
	_ = store.AddNumbers(ctx, numbers)
	env := herald.Env{State: &state{store: store, org: "org1"}, Vendor: fake.New(fake.Options{Quiet: true}), Store: store,
		Clock: herald.SystemClock{}}
	sticky, picker := stickysender.New(stickysender.Options{}), numpicker.New(numpicker.Options{})
	org := &herald.Organization{ID: "org1"}
	msgs := make([]*herald.Message, benchContacts)
	for i := range msgs {
		msgs[i] = &herald.Message{ID: "m", OrgID: "org1", Channel: herald.ChannelSMS, To: benchTo(i), Body: "hi"}
	}
	run := func(b *testing.B, start, step int) {
		b.ReportAllocs()
		i := start
		ev := &herald.MessageSendEvent{Env: env, Organization: org}
		var route herald.Route
		for b.Loop() {
			route = herald.Route{}
			ev.Message, ev.Route = msgs[i%benchContacts], &route
			i += step
			if err := sticky.OnMessageSend(ctx, ev); err != nil {
				b.Fatal(err)
			}
			if err := picker.OnMessageSend(ctx, ev); err != nil {
				b.Fatal(err)
			}
			if route.From == "" {
				b.Fatal("no sender")
			}
		}
	}
	b.Run("mixed", func(b *testing.B) { run(b, 0, 1) })  // half sticky hits, half picks
	b.Run("sticky", func(b *testing.B) { run(b, 0, 2) }) // every contact has a sticky number
	b.Run("picked", func(b *testing.B) { run(b, 1, 2) }) // no sticky number: the picker fills
}

// BenchmarkPipelinePaired sends each iteration one message through a
// dispatcher without managers and one through a dispatcher with
// sticky-sender + numpicker (which goes first alternates), timing each, so
// that both see the same machine load. It reports the median time per
// message of each and the median of the per-iteration differences
// ("managers-ns/msg", the managers' cost per message): medians, because a
// GC cycle or a descheduling lands on one side of a pair at random and
// would swamp a mean on a busy machine. Both stores are emptied (timer
// stopped) every 10,000 iterations.
func BenchmarkPipelinePaired(b *testing.B) {
	for _, c := range []struct {
		name    string
		enabled []string
	}{
		{"sticky+numpicker", []string{stickysender.Name, numpicker.Name}},
		{"sticky+numpicker+mms", []string{stickysender.Name, numpicker.Name, mmswhencheaper.Name}},
	} {
		b.Run(c.name, func(b *testing.B) { pipelinePaired(b, c.enabled) })
	}
}

func pipelinePaired(b *testing.B, enabled []string) {
	ctx := context.Background()
	bare, with := benchPipeline(b), benchPipeline(b, enabled...)
	var tBare, tWith, delta []time.Duration
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%10000 == 0 {
			b.StopTimer()
			bare, with = benchPipeline(b), benchPipeline(b, enabled...)
			runtime.GC()
			b.StartTimer()
		}
		first, second := bare, with
		if i%2 == 0 {
			first, second = with, bare
		}
		t0 := time.Now()
		if _, err := first.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: benchTo(i), Body: "Hello from herald"}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := second.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: benchTo(i), Body: "Hello from herald"}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		a, w := t1.Sub(t0), t2.Sub(t1)
		if first == with {
			a, w = w, a
		}
		tBare, tWith, delta = append(tBare, a), append(tWith, w), append(delta, w-a)
	}
	b.ReportMetric(float64(median(tBare)), "none-ns/msg")
	b.ReportMetric(float64(median(tWith)), "with-ns/msg")
	b.ReportMetric(float64(median(delta)), "managers-ns/msg")
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
