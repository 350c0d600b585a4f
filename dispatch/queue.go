package dispatch

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldmsg/herald"
)

// Queue carries work to Run: each Job names a stored message that is ready
// to send, or will be at Job.NotBefore. The store stays the truth. A job is
// a prompt to claim the message, so a lost job only delays a send until
// Run's poll finds the message in the store, and a duplicate job finds the
// message claimed or finished and is settled without a second send.
//
// The default is an in-process queue (a bounded channel with timers for
// delayed jobs) that only the dispatcher that published a job sees.
// queues/jetstream is a NATS JetStream queue shared by every dispatcher of
// a deployment. A Queue must be safe for concurrent use.
type Queue interface {
	// Publish offers a job. A queue may drop a job it has published
	// before (same Job.DedupeID); it may also drop a job when it is full,
	// since Run's poll finds the message.
	Publish(ctx context.Context, j Job) error
	// Receive waits for the next job that is due and returns it, or
	// returns ctx's error when ctx ends first.
	Receive(ctx context.Context) (Delivery, error)
}

// Delivery is one received job. Run settles each delivery exactly once,
// with Done, Retry or Dead.
type Delivery interface {
	// Job is the job delivered.
	Job() Job
	// Done says the job is finished: its message's status is recorded (it
	// was sent, or ended, or another worker holds it and will finish it).
	Done(ctx context.Context) error
	// Retry asks for the job again after delay: a temporary failure's
	// retry, a manager's deferral, or a message another worker holds.
	Retry(ctx context.Context, delay time.Duration) error
	// Dead says the message failed for good (status failed or unknown,
	// after its last attempt); a queue may keep it on a dead-letter list.
	Dead(ctx context.Context, reason string) error
}

// DeadLetterer is implemented by a Queue that keeps dead letters. Run hands
// it the messages that fail for good outside a delivery (those it found by
// polling the store), so that every failure reaches the same list.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, j Job, reason string) error
}

// Job names a message for a worker.
type Job struct {
	OrgID     string
	MessageID string
	// Key is the message's idempotency key, or its ID when it has none.
	Key string
	// Attempt is the number of vendor calls made before this job: a retry
	// is a new job of the same message.
	Attempt int
	// NotBefore is when the message falls due; zero means now.
	NotBefore time.Time
}

// DedupeID identifies the job for deduplication: the organization, the key
// and the attempt, unambiguously joined. Publishing one job twice yields
// the same ID; a retry (a later Attempt) yields another.
func (j Job) DedupeID() string {
	b := make([]byte, 0, 24+len(j.OrgID)+len(j.Key))
	b = strconv.AppendInt(b, int64(len(j.OrgID)), 10)
	b = append(b, ':')
	b = append(b, j.OrgID...)
	b = append(b, ':')
	b = append(b, j.Key...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(j.Attempt), 10)
	return string(b)
}

// jobFor is the job for a stored message due at notBefore.
func jobFor(m *herald.Message, notBefore time.Time) Job {
	key := m.IdempotencyKey
	if key == "" {
		key = m.ID
	}
	return Job{OrgID: m.OrgID, MessageID: m.ID, Key: key, Attempt: m.Attempts, NotBefore: notBefore}
}

// memQueue is the default Queue: a bounded channel, with a bounded number
// of timers holding delayed jobs. Whatever does not fit is dropped, for
// Run's poll to find in the store.
type memQueue struct {
	ch     chan Job
	clock  herald.Clock
	timers atomic.Int64
	limit  int64
}

// NewLocalQueue returns the in-process Queue a dispatcher uses by default:
// it holds up to size due jobs and up to size delayed ones (timers on
// clock, nil meaning the system clock), drops what does not fit (Run's poll
// finds those messages in the store) and does not deduplicate. Dead
// letters are not kept: the store's failed messages are the record.
func NewLocalQueue(size int, clock herald.Clock) Queue {
	return newMemQueue(size, clock)
}

func newMemQueue(size int, clock herald.Clock) *memQueue {
	if clock == nil {
		clock = herald.SystemClock{}
	}
	size = max(size, 1)
	return &memQueue{ch: make(chan Job, size), clock: clock, limit: int64(size)}
}

func (q *memQueue) Publish(_ context.Context, j Job) error {
	delay := j.NotBefore.Sub(q.clock.Now())
	if j.NotBefore.IsZero() || delay <= 0 {
		q.push(j)
		return nil
	}
	if q.timers.Add(1) > q.limit {
		q.timers.Add(-1)
		return nil // the poll finds it when due
	}
	time.AfterFunc(delay, func() {
		q.timers.Add(-1)
		q.push(j)
	})
	return nil
}

func (q *memQueue) push(j Job) {
	select {
	case q.ch <- j:
	default: // full: the poll finds it
	}
}

func (q *memQueue) Receive(ctx context.Context) (Delivery, error) {
	select {
	case j := <-q.ch:
		return memDelivery{q: q, j: j}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memDelivery struct {
	q *memQueue
	j Job
}

func (d memDelivery) Job() Job                           { return d.j }
func (d memDelivery) Done(context.Context) error         { return nil }
func (d memDelivery) Dead(context.Context, string) error { return nil }
func (d memDelivery) Retry(ctx context.Context, delay time.Duration) error {
	j := d.j
	j.NotBefore = d.q.clock.Now().Add(delay)
	return d.q.Publish(ctx, j)
}
