// Package jetstream shares a herald deployment's work among its dispatcher
// processes through NATS JetStream: a [Queue] that implements
// [dispatch.Queue] and a [Limiter] that implements [dispatch.Limiter].
//
//	nc, _ := nats.Connect(url)
//	js, _ := jetstream.New(nc)                        // github.com/nats-io/nats.go/jetstream
//	q, _ := hjs.NewQueue(ctx, js, hjs.QueueOptions{Stream: "HERALD"})
//	l, _ := hjs.NewLimiter(ctx, js, hjs.LimiterOptions{Bucket: "herald-rates"})
//	d, _ := dispatch.New(dispatch.Config{Store: sharedStore, Queue: q, Limiter: l, ...})
//	go d.Run(ctx)
//
// # The queue
//
// One stream per deployment (QueueOptions.Stream) holds the jobs with work
// queue retention on the subject Stream.jobs; one durable pull consumer
// (QueueOptions.Consumer) is shared by every dispatcher, so each job goes
// to one of them. A job is published with its dispatch.Job.DedupeID as
// Nats-Msg-Id, so the server drops a duplicate enqueue within the
// stream's duplicate window. A delivery is acknowledged (and the ack
// confirmed) only after the dispatcher recorded the message's status; a
// retry, a deferral or a message another worker holds is a nak with that
// delay; a message that failed for good is published to the dead-letter
// subject Stream.dead, kept in its own stream (Stream_DEAD, limits
// retention, QueueOptions.DeadLetterMaxAge), and acknowledged. A job
// published for later (a scheduled send) is delivered early by JetStream
// and put back by Receive with a nak delayed until it is due.
//
// A dispatcher that dies leaves its deliveries unacknowledged: JetStream
// redelivers them after QueueOptions.AckWait, and the store's leases keep
// a second dispatcher from sending a message the first one holds (it naks
// until the lease ends). The store stays the truth: a job lost between
// the store and the server is found by Run's poll.
//
// # The limiter
//
// [Limiter] keeps one value per rate-limit key in a JetStream key-value
// bucket: the theoretical arrival time of the generic cell rate algorithm.
// Each call reserves the next slot with a compare-and-set on the key's
// revision and sleeps until that slot, so the dispatchers together never
// exceed the limit plus its burst. The processes' clocks must agree (NTP);
// a skew of s lets the aggregate exceed the limit by about s × rate.
// Each send costs a read and a write to the bucket; under contention the
// compare-and-set is retried.
//
// # Why this package is in the main module
//
// Go links only the packages a program imports, so an application that
// imports herald and dispatch links neither this package nor the NATS
// client; one that imports this package links the NATS client (nats.go),
// never the NATS server. The server (github.com/nats-io/nats-server) is
// imported only by this package's tests and by examples/cluster, which
// start it embedded. It appears in herald's go.mod for them, and Go's
// module graph pruning keeps it out of an importer's build list unless
// that importer needs it itself. A separate module would save importers
// nothing they link and would split the README's one test command in two.
package jetstream
