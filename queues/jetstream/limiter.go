package jetstream

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	js "github.com/nats-io/nats.go/jetstream"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
)

// LimiterOptions configures a Limiter.
type LimiterOptions struct {
	// Bucket names the key-value bucket. Default "herald-rates".
	Bucket string
	// File keeps the bucket on disk. Default: in memory, since a limiter
	// state lost with the server costs at most one burst.
	File bool
	// Replicas is the bucket's replica count. Default 1.
	Replicas int
	// Clock tells the time. Default: herald.SystemClock.
	Clock herald.Clock
}

// Limiter is a dispatch.Limiter whose limits hold across every dispatcher
// that opens the same bucket. It is safe for concurrent use.
type Limiter struct {
	kv    js.KeyValue
	clock herald.Clock
	// sleep waits for d or ctx; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ dispatch.Limiter = (*Limiter)(nil)

// NewLimiter creates or opens the bucket and returns a Limiter on it.
func NewLimiter(ctx context.Context, jsc js.JetStream, opts LimiterOptions) (*Limiter, error) {
	if jsc == nil {
		return nil, fmt.Errorf("%w: jetstream: no JetStream context", herald.ErrConfig)
	}
	if opts.Bucket == "" {
		opts.Bucket = "herald-rates"
	}
	storage := js.MemoryStorage
	if opts.File {
		storage = js.FileStorage
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Clock == nil {
		opts.Clock = herald.SystemClock{}
	}
	kv, err := jsc.CreateOrUpdateKeyValue(ctx, js.KeyValueConfig{
		Bucket:      opts.Bucket,
		Description: "herald rate limits",
		History:     1,
		Storage:     storage,
		Replicas:    opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: opening bucket %s: %w", opts.Bucket, err)
	}
	return &Limiter{kv: kv, clock: opts.Clock, sleep: sleepCtx}, nil
}

// Wait reserves the next slot of key at rate r among all dispatchers and
// sleeps until it. A Rate with PerSecond ≤ 0 is no limit.
//
// The bucket holds, per key, the theoretical arrival time (TAT) of the
// generic cell rate algorithm in Unix nanoseconds. A call takes
// tat' = max(TAT, now) + 1/rate, writes it if the key's revision is still
// the one read (else it reads again), and may go at tat' − burst/rate.
func (l *Limiter) Wait(ctx context.Context, key string, r dispatch.Rate) error {
	if r.PerSecond <= 0 {
		return ctx.Err()
	}
	interval := time.Duration(math.Round(float64(time.Second) / r.PerSecond))
	window := interval * time.Duration(max(r.Burst, 1))
	k := kvKey(key)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var tat int64
		var rev uint64
		e, err := l.kv.Get(ctx, k)
		switch {
		case err == nil:
			rev = e.Revision()
			if v := e.Value(); len(v) == 8 {
				tat = int64(binary.BigEndian.Uint64(v))
			}
		case errors.Is(err, js.ErrKeyNotFound) || errors.Is(err, js.ErrKeyDeleted):
		default:
			return fmt.Errorf("jetstream: reading rate %s: %w", key, err)
		}
		now := l.clock.Now().UnixNano()
		next := max(tat, now) + int64(interval)
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(next))
		if rev == 0 {
			_, err = l.kv.Create(ctx, k, buf[:])
		} else {
			_, err = l.kv.Update(ctx, k, buf[:], rev)
		}
		if err != nil {
			if errors.Is(err, js.ErrKeyExists) || errors.Is(err, js.ErrKeyRevisionMismatch) {
				continue // another dispatcher took a slot first
			}
			return fmt.Errorf("jetstream: reserving rate %s: %w", key, err)
		}
		if wait := time.Duration(next-int64(window)-now) * time.Nanosecond; wait > 0 {
			return l.sleep(ctx, wait)
		}
		return nil
	}
}

// kvKey maps a limiter key (which may hold '+', '@', ':') onto the
// characters a bucket key allows.
func kvKey(key string) string {
	return "k" + base64.RawURLEncoding.EncodeToString([]byte(key))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
