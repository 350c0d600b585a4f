package dispatch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
)

// recQueue is the local queue with every publish and settlement recorded.
type recQueue struct {
	dispatch.Queue
	mu        sync.Mutex
	published []dispatch.Job
	settled   map[string][]string // message ID → "done", "retry", "dead:<reason>"
	dead      []string            // DeadLetter calls (polled messages)
}

func newRecQueue() *recQueue {
	return &recQueue{Queue: dispatch.NewLocalQueue(64, nil), settled: map[string][]string{}}
}

func (q *recQueue) Publish(ctx context.Context, j dispatch.Job) error {
	q.mu.Lock()
	q.published = append(q.published, j)
	q.mu.Unlock()
	return q.Queue.Publish(ctx, j)
}

func (q *recQueue) Receive(ctx context.Context) (dispatch.Delivery, error) {
	d, err := q.Queue.Receive(ctx)
	if err != nil {
		return nil, err
	}
	return &recDelivery{Delivery: d, q: q}, nil
}

func (q *recQueue) DeadLetter(_ context.Context, j dispatch.Job, reason string) error {
	q.mu.Lock()
	q.dead = append(q.dead, j.MessageID+":"+reason)
	q.mu.Unlock()
	return nil
}

func (q *recQueue) record(id, what string) {
	q.mu.Lock()
	q.settled[id] = append(q.settled[id], what)
	q.mu.Unlock()
}

func (q *recQueue) settlements(id string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.settled[id]...)
}

func (q *recQueue) jobs() []dispatch.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]dispatch.Job(nil), q.published...)
}

type recDelivery struct {
	dispatch.Delivery
	q *recQueue
}

func (d *recDelivery) mark(what string) { d.q.record(d.Job().MessageID, what) }

func (d *recDelivery) Done(ctx context.Context) error {
	d.mark("done")
	return d.Delivery.Done(ctx)
}

func (d *recDelivery) Retry(ctx context.Context, delay time.Duration) error {
	d.mark("retry")
	return d.Delivery.Retry(ctx, delay)
}

func (d *recDelivery) Dead(ctx context.Context, reason string) error {
	d.mark("dead:" + reason)
	return d.Delivery.Dead(ctx, reason)
}

func TestQueueJobsAreSettledByOutcome(t *testing.T) {
	q := newRecQueue()
	f := newFixture(t, func(c *dispatch.Config) {
		c.Queue = q
		c.Retry.MaxAttempts = 2
		c.PollInterval = time.Hour // only the queue brings work
	})
	startRun(t, f)
	ok, err := f.d.Enqueue(bg, sms("org1", "+14155552671", "hello"))
	require.NoError(t, err)
	flaky, err := f.d.Enqueue(bg, sms("org1", "+14155552672", "flaky503"))
	require.NoError(t, err)
	bad, err := f.d.Enqueue(bg, sms("org1", "+14155552673", "error400"))
	require.NoError(t, err)
	down, err := f.d.Enqueue(bg, sms("org1", "+14155552674", "error503"))
	require.NoError(t, err)

	jobs := q.jobs()[1:]
	require.Len(t, jobs, 4, "Enqueue publishes one job per new message")
	assert.Equal(t, ok.IdempotencyKey, jobs[0].Key)
	assert.Equal(t, 0, jobs[0].Attempt)
	again, err := f.d.Enqueue(bg, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: "hello", IdempotencyKey: ok.IdempotencyKey})
	require.NoError(t, err)
	assert.Equal(t, ok.ID, again.ID)
	assert.Len(t, q.jobs(), 5, "an existing message is not published again")

	eventually(t, func() bool { return len(q.settlements(down.ID)) == 2 }, "the failing message is tried twice")
	eventually(t, func() bool { return len(q.settlements(flaky.ID)) == 2 }, "the flaky message is retried: %v", q.settlements(flaky.ID))

	assert.Equal(t, []string{"done"}, q.settlements(ok.ID))
	assert.Equal(t, []string{"retry", "done"}, q.settlements(flaky.ID), "a temporary failure is retried, then done")
	bs := q.settlements(bad.ID)
	require.Len(t, bs, 1)
	assert.Contains(t, bs[0], "dead:", "a permanent failure is dead at once")
	ds := q.settlements(down.ID)
	assert.Equal(t, "retry", ds[0])
	assert.Contains(t, ds[1], "dead:", "the last attempt's failure is dead")
	assert.Equal(t, herald.StatusFailed, statusOf(t, f.store, "org1", down.ID))
}

func TestQueueJobForMissingOrHeldMessage(t *testing.T) {
	q := newRecQueue()
	f := newFixture(t, func(c *dispatch.Config) {
		c.Queue = q
		c.PollInterval = time.Hour
	})
	startRun(t, f)
	// A job the store knows nothing of is done, not retried forever.
	require.NoError(t, q.Publish(bg, dispatch.Job{OrgID: "org1", MessageID: "nope", Key: "nope"}))
	// A message another worker holds is retried when its lease ends. It is
	// stored held before its job is published, so that Run cannot take it
	// first.
	m := sms("org1", "+14155552671", "held")
	m.ID, m.IdempotencyKey, m.Status = "held", "held", herald.StatusQueued
	m.CreatedAt = time.Now()
	m.LeaseOwner, m.LeaseUntil = "other", m.CreatedAt.Add(150*time.Millisecond)
	_, _, err := f.store.CreateMessage(bg, m)
	require.NoError(t, err)
	require.NoError(t, q.Publish(bg, dispatch.Job{OrgID: "org1", MessageID: m.ID, Key: m.IdempotencyKey}))

	eventually(t, func() bool { return len(q.settlements("nope")) == 1 }, "missing message settled")
	assert.Equal(t, []string{"done"}, q.settlements("nope"))
	eventually(t, func() bool { return statusOf(t, f.store, "org1", m.ID) == herald.StatusDelivered }, "sent once the lease ended")
	s := q.settlements(m.ID)
	require.GreaterOrEqual(t, len(s), 2)
	assert.Equal(t, "retry", s[0], "held elsewhere: asked again later")
	assert.Equal(t, "done", s[len(s)-1])
	assert.Len(t, f.fake.Sends(), 2, "the warm-up and the held message, once")
}

// startRun starts Run and waits until it took a first job, so that its
// first poll of the store is over and jobs published now reach it through
// the queue only.
func startRun(t *testing.T, f *fixture) {
	t.Helper()
	run(t, f.d)
	m, err := f.d.Enqueue(bg, sms("org1", "+14155550100", "warm up"))
	require.NoError(t, err)
	eventually(t, func() bool { return f.fake.Accepted(m.IdempotencyKey) }, "Run works")
}

func TestPolledFailuresAreDeadLettered(t *testing.T) {
	q := newRecQueue()
	f := newFixture(t, func(c *dispatch.Config) {
		c.Queue = q
		c.Retry.MaxAttempts = 1
	})
	// Stored directly: no job was ever published, so only the poll finds it.
	m := sms("org1", "+14155552671", "error400")
	m.ID, m.IdempotencyKey, m.Status = "m1", "m1", herald.StatusQueued
	m.CreatedAt = time.Now()
	_, _, err := f.store.CreateMessage(bg, m)
	require.NoError(t, err)
	run(t, f.d)
	eventually(t, func() bool { q.mu.Lock(); defer q.mu.Unlock(); return len(q.dead) == 1 }, "dead-lettered")
	assert.Equal(t, herald.StatusFailed, statusOf(t, f.store, "org1", "m1"))
}

func TestSendPublishesItsRetry(t *testing.T) {
	q := newRecQueue()
	f := newFixture(t, func(c *dispatch.Config) { c.Queue = q })
	res, err := f.d.Send(bg, sms("org1", "+14155552671", "flaky503"))
	require.Error(t, err)
	require.False(t, res.NextAttempt.IsZero())
	jobs := q.jobs()
	require.Len(t, jobs, 1)
	assert.Equal(t, 1, jobs[0].Attempt, "the retry is a new job of the message")
	assert.Equal(t, res.NextAttempt, jobs[0].NotBefore)

	later := sms("org1", "+14155552672", "later")
	later.SendAt = time.Now().Add(time.Hour)
	res, err = f.d.Send(bg, later)
	require.NoError(t, err)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.Equal(t, later.SendAt, res.NextAttempt)
	require.Len(t, q.jobs(), 2, "a scheduled message is published for its time")
}

func TestJobDedupeID(t *testing.T) {
	a := dispatch.Job{OrgID: "a/b", Key: "c"}
	b := dispatch.Job{OrgID: "a", Key: "b/c"}
	assert.NotEqual(t, a.DedupeID(), b.DedupeID(), "joins are unambiguous")
	c := a
	c.NotBefore = time.Now()
	assert.Equal(t, a.DedupeID(), c.DedupeID(), "timing is not identity")
	c.Attempt = 1
	assert.NotEqual(t, a.DedupeID(), c.DedupeID(), "a retry is a new job")
	assert.Equal(t, fmt.Sprintf("%d:%s:%s:%d", 3, "a/b", "c", 0), a.DedupeID())
}
