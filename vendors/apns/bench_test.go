package apns_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/payload"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
)

// runConcurrently calls fn n times from c goroutines and returns the
// elapsed time.
func runConcurrently(b *testing.B, n, c int, fn func(i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	return elapsed
}

// BenchmarkSendVsApns2 compares, in the same run and at concurrency 64,
// notifications per second to the local HTTP/2 APNs through
// Dispatcher.Send (whole pipeline on memstore, the apns vendor, token
// authentication) against apns2 used directly (one token client, the same
// alert payload built with apns2's payload builder, the same headers).
// Both verify nothing locally that the other does not: the fake server
// checks the JWT signature of both: on every request (server=verify-each-jwt)
// or once per token (server=cache-jwt, where the server costs less of the
// shared CPU and the client's differences weigh more). Rounds alternate so that all see the
// same machine state. Each iteration sends one notification each way, and
// one more through the vendor's Send alone. Metrics: dispatch-msg/s,
// apns2-msg/s and their ratio; vendor-msg/s and vendor-ratio (vendor /
// apns2); and the process CPU time per notification of each way (client
// and local server together, which other processes on the machine do not
// disturb as they do wall-clock rates) with cpu-ratio, apns2's CPU per
// notification over the dispatcher's: the throughput ratio a CPU-bound
// sender would see.
func BenchmarkSendVsApns2(b *testing.B) {
	for _, cached := range []bool{false, true} {
		c := 64
		name := fmt.Sprintf("concurrency=%d/server=verify-each-jwt", c)
		if cached {
			name = fmt.Sprintf("concurrency=%d/server=cache-jwt", c)
		}
		b.Run(name, func(b *testing.B) {
			f := newFakeAPNs(b, false)
			f.quiet, f.cacheJWT = true, cached
			v := f.vendor(b)
			newDispatcher := func() *dispatch.Dispatcher {
				d, err := dispatch.New(dispatch.Config{Store: memstore.New(), Vendors: []herald.Vendor{v}})
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			d := newDispatcher()
			viaDispatcher := func(i int) error {
				_, err := d.Send(bg, &herald.Message{OrgID: "org1", Channel: herald.ChannelAPNs, To: tokOK,
					Subject: "Hello", Body: "Hello from herald", Data: map[string]string{"k": "v"}})
				return err
			}

			key, err := token.AuthKeyFromBytes(f.p8)
			if err != nil {
				b.Fatal(err)
			}
			direct := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: testKeyID, TeamID: testTeamID})
			direct.Host = f.srv.URL
			direct.HTTPClient.Transport.(*http2.Transport).TLSClientConfig = f.tlsConfig()
			viaApns2 := func(i int) error {
				ctx, cancel := context.WithTimeout(bg, 30*time.Second)
				defer cancel()
				p := payload.NewPayload().AlertTitle("Hello").AlertBody("Hello from herald").Custom("k", "v")
				res, err := direct.PushWithContext(ctx, &apns2.Notification{DeviceToken: tokOK, Topic: testTopic,
					Priority: apns2.PriorityHigh, PushType: apns2.PushTypeAlert, Payload: p})
				if err != nil {
					return err
				}
				if !res.Sent() {
					return fmt.Errorf("apns2: %d %s", res.StatusCode, res.Reason)
				}
				return nil
			}

			viaVendor := func(i int) error {
				ctx, cancel := context.WithTimeout(bg, 30*time.Second)
				defer cancel()
				_, err := v.Send(ctx, &herald.SendRequest{Message: &herald.Message{ID: "m", OrgID: "org1",
					Channel: herald.ChannelAPNs, To: tokOK, Subject: "Hello", Body: "Hello from herald",
					Data: map[string]string{"k": "v"}}, Organization: &herald.Organization{ID: "org1"}, Route: &herald.Route{}})
				return err
			}

			// Warm every path (connections, tokens).
			runConcurrently(b, 4*c, c, viaApns2)
			runConcurrently(b, 4*c, c, viaDispatcher)
			runConcurrently(b, 4*c, c, viaVendor)
			b.ReportAllocs()
			b.ResetTimer()
			// Short rounds, each path first in turn, so that the machine's
			// noise (other processes) falls on all three alike.
			round := 2 * c
			var tDispatch, tDirect, tVendor, cDispatch, cDirect, cVendor time.Duration
			for done := 0; done < b.N; {
				n := min(round, b.N-done)
				measure := func(fn func(int) error, wall, cpu *time.Duration) {
					c0 := cpuTime()
					*wall += runConcurrently(b, n, c, fn)
					*cpu += cpuTime() - c0
				}
				if (done/round)%2 == 0 {
					measure(viaApns2, &tDirect, &cDirect)
					measure(viaDispatcher, &tDispatch, &cDispatch)
					measure(viaVendor, &tVendor, &cVendor)
				} else {
					measure(viaVendor, &tVendor, &cVendor)
					measure(viaDispatcher, &tDispatch, &cDispatch)
					measure(viaApns2, &tDirect, &cDirect)
				}
				done += n
				if done%(round*100) == 0 {
					b.StopTimer()
					d = newDispatcher() // keep memstore from growing without bound
					b.StartTimer()
				}
			}
			b.StopTimer()
			dps := float64(b.N) / tDispatch.Seconds()
			aps := float64(b.N) / tDirect.Seconds()
			b.ReportMetric(dps, "dispatch-msg/s")
			b.ReportMetric(aps, "apns2-msg/s")
			b.ReportMetric(dps/aps, "ratio")
			vps := float64(b.N) / tVendor.Seconds()
			b.ReportMetric(vps, "vendor-msg/s")
			b.ReportMetric(vps/aps, "vendor-ratio")
			b.ReportMetric(float64(f.conns.Load()), "conns")
			// CPU per notification (client and local server together):
			// steadier than wall-clock rates on a shared machine.
			if cDirect > 0 {
				b.ReportMetric(float64(cDispatch.Microseconds())/float64(b.N), "dispatch-cpu-µs/msg")
				b.ReportMetric(float64(cDirect.Microseconds())/float64(b.N), "apns2-cpu-µs/msg")
				b.ReportMetric(float64(cDirect)/float64(cDispatch), "cpu-ratio")
				b.ReportMetric(float64(cVendor.Microseconds())/float64(b.N), "vendor-cpu-µs/msg")
			}
		})
	}
}

// BenchmarkVendorSend is the vendor's Send alone (no dispatcher) at
// concurrency 64, for the cost of the vendor itself.
func BenchmarkVendorSend(b *testing.B) {
	f := newFakeAPNs(b, false)
	f.quiet = true
	v := f.vendor(b)
	req := pushRequest(tokOK)
	b.ReportAllocs()
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Send(bg, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
