package vendortest

import (
	"context"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Path is one way of sending in a throughput comparison: Send sends
// message i and reports failure.
type Path struct {
	// Name names the path in the metrics ("bare", "dispatch", "vendor").
	Name string
	Send func(i int) error
}

// CompareOptions tune CompareThroughput; zero values take the defaults.
type CompareOptions struct {
	// Concurrency is how many goroutines send at once. Default 1.
	Concurrency int
	// Round is how many messages each path sends before the next takes
	// its turn. Default 2 × Concurrency (at least 64).
	Round int
	// Every and Between: Between, when set, is called with the timer
	// stopped after every Every messages per path (default 2,000), for
	// example to empty the dispatcher's memstore (memstore.Store.Reset),
	// which otherwise keeps every message and turns the comparison into
	// one of garbage collection over a growing heap.
	Every   int
	Between func()
}

// CompareThroughput sends b.N messages through each path at the same
// concurrency, in short rounds that change their order every time, so that
// the machine's noise (other processes, garbage collection) falls on all
// alike. Each path is warmed first. It reports, for every path,
// <name>-msg/s (wall clock) and <name>-cpu-µs/msg (the process's CPU time
// per message, client and in-process server together, steadier than
// wall-clock rates on a shared machine), and for every path after the
// first (the baseline) <name>/<baseline> (the ratio of their rates) and
// <name>/<baseline>-cpu (the ratio a CPU-bound sender would see: the
// baseline's CPU per message over the path's). Each path's sends carry the
// profiler label path=<name>, so that a CPU profile of the benchmark can
// be split by path (go tool pprof -tagfocus=path=dispatch).
func CompareThroughput(b *testing.B, o CompareOptions, paths ...Path) {
	b.Helper()
	if len(paths) == 0 {
		b.Fatal("vendortest: CompareThroughput without paths")
	}
	c := max(o.Concurrency, 1)
	round := o.Round
	if round <= 0 {
		round = max(2*c, 64)
	}
	every := o.Every
	if every <= 0 {
		every = 2000
	}
	for _, p := range paths {
		runConcurrently(b, 4*c, c, p.Send)
	}
	wall := make([]time.Duration, len(paths))
	cpu := make([]time.Duration, len(paths))
	b.ReportAllocs()
	b.ResetTimer()
	sinceBetween := 0
	for done, turn := 0, 0; done < b.N; turn++ {
		n := min(round, b.N-done)
		for k := range paths {
			j := (k + turn) % len(paths) // each path leads in turn
			c0 := cpuTime()
			// The label lets a CPU profile (-cpuprofile) be split by
			// path: go tool pprof -tagfocus=path=dispatch.
			pprof.Do(context.Background(), pprof.Labels("path", paths[j].Name), func(context.Context) {
				wall[j] += runConcurrently(b, n, c, paths[j].Send)
			})
			cpu[j] += cpuTime() - c0
		}
		done += n
		sinceBetween += n
		if o.Between != nil && sinceBetween >= every {
			b.StopTimer()
			o.Between()
			b.StartTimer()
			sinceBetween = 0
		}
	}
	b.StopTimer()
	base := paths[0].Name
	for j, p := range paths {
		b.ReportMetric(float64(b.N)/wall[j].Seconds(), p.Name+"-msg/s")
		if cpu[j] > 0 {
			b.ReportMetric(float64(cpu[j].Nanoseconds())/1e3/float64(b.N), p.Name+"-cpu-µs/msg")
		}
		if j == 0 {
			continue
		}
		b.ReportMetric(float64(wall[0])/float64(wall[j]), p.Name+"/"+base)
		if cpu[j] > 0 {
			b.ReportMetric(float64(cpu[0])/float64(cpu[j]), p.Name+"/"+base+"-cpu")
		}
	}
}

// runConcurrently calls fn n times from c goroutines and returns the
// elapsed time; a failure ends the benchmark.
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
