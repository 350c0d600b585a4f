package jetstream_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/dispatch"
	hjs "github.com/heraldmsg/herald/queues/jetstream"
)

// maxInWindow is the most timestamps within any window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestLimiterHoldsAcrossProcesses(t *testing.T) {
	ns := startServer(t)
	rate := dispatch.Rate{PerSecond: 100, Burst: 5}
	const key = "vendor:fake"
	var mu sync.Mutex
	var passed []time.Time
	ctx, cancel := context.WithTimeout(bg, 2500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range 3 { // three dispatchers, each with its own connection
		l, err := hjs.NewLimiter(bg, connect(t, ns), hjs.LimiterOptions{})
		require.NoError(t, err)
		for range 6 { // each with six concurrent sends
			wg.Go(func() {
				for {
					if err := l.Wait(ctx, key, rate); err != nil {
						return
					}
					mu.Lock()
					passed = append(passed, time.Now())
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	peak := maxInWindow(passed, time.Second)
	t.Logf("%d sends in 2.5s, at most %d in any second (limit %v + burst %d)", len(passed), peak, rate.PerSecond, rate.Burst)
	// The slots never exceed the limit plus one burst in a second; the
	// timestamps are taken when the sleeping sender wakes, and a late
	// wake-up of the first burst can shift one more slot into its second.
	assert.LessOrEqual(t, peak, int(rate.PerSecond)+rate.Burst+1, "the aggregate never exceeds the limit plus one burst")
	assert.GreaterOrEqual(t, len(passed), 150, "the limiter lets the rate through")
}

func TestLimiterKeysAreIndependent(t *testing.T) {
	ns := startServer(t)
	l, err := hjs.NewLimiter(bg, connect(t, ns), hjs.LimiterOptions{Bucket: "rates"})
	require.NoError(t, err)
	slow := dispatch.Rate{PerSecond: 1}
	start := time.Now()
	// Addresses carry characters a bucket key refuses; each key has its own slot.
	for _, key := range []string{"sender:+14155550100", "sender:ops@example.com", "vendor:twilio"} {
		require.NoError(t, l.Wait(bg, key, slow))
	}
	assert.Less(t, time.Since(start), 900*time.Millisecond, "first call of each key goes at once")

	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, l.Wait(ctx, "vendor:twilio", slow), context.DeadlineExceeded, "the second call waits for its slot")
	require.NoError(t, l.Wait(bg, "vendor:anything", dispatch.Rate{}), "no rate, no limit")
}
