package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	hjs "github.com/heraldmsg/herald/queues/jetstream"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// A dispatcher whose jobs and rate limits live in NATS JetStream. Every
// dispatcher process of a deployment does the same with the same stream
// and bucket (and a shared store, such as stores/sqlstore).
func Example() {
	ctx := context.Background()

	// A NATS server with JetStream; in production, your cluster's URL.
	dir, _ := os.MkdirTemp("", "herald-nats")
	defer os.RemoveAll(dir)
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	go ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(5 * time.Second)

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	jsc, _ := js.New(nc)
	queue, err := hjs.NewQueue(ctx, jsc, hjs.QueueOptions{Stream: "HERALD"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer queue.Close()
	limiter, err := hjs.NewLimiter(ctx, jsc, hjs.LimiterOptions{Bucket: "herald-rates"})
	if err != nil {
		fmt.Println(err)
		return
	}

	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{
		Store:      store,
		Vendors:    []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Queue:      queue,
		Limiter:    limiter,
		RateLimits: dispatch.RateLimits{Vendors: map[string]dispatch.Rate{"fake": {PerSecond: 50, Burst: 5}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() { stop(); <-done }()

	m, err := d.Enqueue(ctx, &herald.Message{OrgID: "acme", Channel: herald.ChannelSMS,
		To: "+14155552671", Body: "Your order has shipped."})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("enqueued:", m.Status)
	for range 500 {
		if cur, _ := store.GetMessage(ctx, "acme", m.ID); cur.Status == herald.StatusSent {
			fmt.Println("sent by a worker")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// enqueued: queued
	// sent by a worker
}
