// Command cluster runs herald as a deployment of several dispatchers that
// share one SQL store and one NATS JetStream queue, and proves what that
// buys: it sends 20,000 messages through three workers, kills one of them
// midway (SIGKILL) and starts another in its place, and then checks that
//
//   - every message ended sent (or delivered);
//   - the SMS API accepted each idempotency key exactly once: a message
//     the dead worker had on the wire is resent by another worker once its
//     lease expires, and the API answers the resend from its idempotency
//     record (the resends are counted and printed);
//   - no message is left in sending;
//   - the vendor rate limit configured on the dispatchers held in aggregate:
//     the API never saw more requests in one second than the limit plus one
//     burst, because the workers share a queues/jetstream.Limiter;
//   - no message was dead-lettered.
//
// The program starts everything itself: an embedded NATS server with
// JetStream, the store (SQLite in a temporary directory, or a fresh schema
// in PostgreSQL with -postgres URL), a stand-in SMS API
// on loopback, and the workers, as processes of this same program (the
// default) or as goroutines (-goroutines). Run it with:
//
//	go run ./examples/cluster
//	go run ./examples/cluster -goroutines -messages 5000 -rate 100
//	go run ./examples/cluster -workers 1 -kill=false -rate 0   # throughput
//
// The vendor limit (-rate, per second, for all workers together) is
// checked only when the workers reach it; the program says so when they
// did not.
//
// It exits non-zero when a check fails.
//
// What each worker does is what an application's processes do:
//
//	q, _ := jetstream.NewQueue(ctx, js, jetstream.QueueOptions{})
//	l, _ := jetstream.NewLimiter(ctx, js, jetstream.LimiterOptions{})
//	d, _ := dispatch.New(dispatch.Config{Store: sqlStore, Queue: q, Limiter: l, ...})
//	d.Run(ctx)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// runAsWorker runs this process as a worker when the environment carries a
// worker's configuration (the coordinator starts its workers so), until
// SIGTERM or SIGINT, and returns the exit code; ok is false otherwise.
func runAsWorker() (code int, ok bool) {
	env := os.Getenv(workerEnv)
	if env == "" {
		return 0, false
	}
	var cfg workerConfig
	if err := json.Unmarshal([]byte(env), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker configuration:", err)
		return 2, true
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := workerMain(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1, true
	}
	return 0, true
}

func main() {
	if code, ok := runAsWorker(); ok {
		os.Exit(code)
	}

	o := options{Out: os.Stdout}
	flag.IntVar(&o.Messages, "messages", 20000, "messages to send")
	flag.IntVar(&o.Workers, "workers", 3, "dispatchers")
	flag.IntVar(&o.Concurrency, "concurrency", 16, "sends in flight per dispatcher")
	flag.Float64Var(&o.Rate, "rate", 800, "the vendor's rate limit for all dispatchers together, per second")
	flag.IntVar(&o.Burst, "burst", 20, "the rate limit's burst")
	goroutines := flag.Bool("goroutines", false, "run the workers as goroutines of this process instead of processes")
	flag.BoolVar(&o.Kill, "kill", true, "kill one worker midway and start another")
	flag.StringVar(&o.Postgres, "postgres", "", "PostgreSQL URL, e.g. $HERALD_TEST_POSTGRES (default: SQLite in a temp dir)")
	flag.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up after")
	flag.Parse()
	o.Processes = !*goroutines
	if o.Workers < 2 && o.Kill {
		fmt.Fprintln(os.Stderr, "-kill needs at least 2 workers")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := prove(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
	if err := r.ok(); err != nil {
		fmt.Fprintln(os.Stderr, "FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("every check passed")
}
