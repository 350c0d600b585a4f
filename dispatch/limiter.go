package dispatch

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// Limiter paces vendor calls. Wait returns when one call under key may go
// at rate r, or ctx's error when ctx ends first. Any error leaves the
// message unsent and scheduled for a retry that does not count as an
// attempt, so a shared limiter that is down delays messages and never
// fails them. The dispatcher's keys are
// "vendor:" + the vendor's name and "sender:" + the sending address; r is
// the same for a key on every call. A Limiter must be safe for concurrent
// use.
type Limiter interface {
	Wait(ctx context.Context, key string, r Rate) error
}

// NewLocalLimiter returns the default Limiter: a token bucket per key, in
// this process, made on first use. A Rate with PerSecond ≤ 0 is no limit.
func NewLocalLimiter() Limiter { return &localLimiter{} }

type localLimiter struct {
	buckets sync.Map // key → *rate.Limiter
}

func (l *localLimiter) Wait(ctx context.Context, key string, r Rate) error {
	b, ok := l.buckets.Load(key)
	if !ok {
		b, _ = l.buckets.LoadOrStore(key, newBucket(r))
	}
	return b.(*rate.Limiter).Wait(ctx)
}

func newBucket(r Rate) *rate.Limiter {
	burst := max(r.Burst, 1)
	if r.PerSecond <= 0 {
		return rate.NewLimiter(rate.Inf, burst)
	}
	return rate.NewLimiter(rate.Limit(r.PerSecond), burst)
}
