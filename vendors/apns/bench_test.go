package apns_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
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
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// BenchmarkSendVsApns2 compares, in the same run and at concurrency 64,
// notifications per second to the local HTTP/2 APNs through
// Dispatcher.Send (whole pipeline on memstore, the apns vendor, token
// authentication) against apns2 used directly (one token client, the same
// alert payload built with apns2's payload builder, the same headers).
// Both carry an apns-id header (the vendor derives it from the message ID;
// the apns2 path sets a fresh UUID, as a caller that tracks its pushes
// would), since a distinct header value per push costs HPACK work on both
// ends that a header-less push does not.
// Both verify nothing locally that the other does not: the fake server
// checks the JWT signature of both: on every request (server=verify-each-jwt)
// or once per token (server=cache-jwt, where the server costs less of the
// shared CPU and the client's differences weigh more). Rounds alternate so that all see the
// same machine state. Each iteration sends one notification each way, and
// one more through the vendor's Send alone. vendortest.CompareThroughput
// reports each way's rate and CPU per notification (client and local
// server together, which other processes do not disturb as they do
// wall-clock rates) and the ratios dispatch/apns2 and vendor/apns2, by
// rate and by CPU. The dispatcher's memstore is emptied (Reset) every
// 2,000 sends.
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
			store := memstore.New()
			newDispatcher := func() *dispatch.Dispatcher {
				d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}})
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
				res, err := direct.PushWithContext(ctx, &apns2.Notification{ApnsID: benchUUID(), DeviceToken: tokOK, Topic: testTopic,
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
				_, err := v.Send(ctx, &herald.SendRequest{Message: &herald.Message{ID: "m" + strconv.FormatUint(benchSeq.Add(1), 10), OrgID: "org1",
					Channel: herald.ChannelAPNs, To: tokOK, Subject: "Hello", Body: "Hello from herald",
					Data: map[string]string{"k": "v"}}, Organization: &herald.Organization{ID: "org1"}, Route: &herald.Route{}})
				return err
			}

			vendortest.CompareThroughput(b, vendortest.CompareOptions{Concurrency: c, Between: store.Reset},
				vendortest.Path{Name: "apns2", Send: viaApns2},
				vendortest.Path{Name: "dispatch", Send: viaDispatcher},
				vendortest.Path{Name: "vendor", Send: viaVendor})
			b.ReportMetric(float64(f.conns.Load()), "conns")
		})
	}
}

var benchSeq atomic.Uint64

// benchUUID returns a distinct UUID (version 4 layout) per call.
func benchUUID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], benchSeq.Add(1))
	b[6], b[8] = 0x40, 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	hex.Encode(out[9:13], b[4:6])
	hex.Encode(out[14:18], b[6:8])
	hex.Encode(out[19:23], b[8:10])
	hex.Encode(out[24:], b[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
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
