package jetstream_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/dispatch"
	hjs "github.com/heraldmsg/herald/queues/jetstream"
)

var bg = context.Background()

// startServer starts an embedded NATS server with JetStream on a random
// port, stopped when the test ends.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		ServerName: "herald-test", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	require.NoError(t, err)
	go ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second), "NATS server ready")
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// connect opens a connection of its own, as a separate process would.
func connect(t testing.TB, ns *server.Server) js.JetStream {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	jsc, err := js.New(nc)
	require.NoError(t, err)
	return jsc
}

func newQueue(t testing.TB, ns *server.Server, opts hjs.QueueOptions) *hjs.Queue {
	t.Helper()
	q, err := hjs.NewQueue(bg, connect(t, ns), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func receive(t testing.TB, q *hjs.Queue, within time.Duration) (dispatch.Delivery, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, within)
	defer cancel()
	return q.Receive(ctx)
}

func streamMsgs(t testing.TB, ns *server.Server, stream string) uint64 {
	t.Helper()
	s, err := connect(t, ns).Stream(bg, stream)
	require.NoError(t, err)
	info, err := s.Info(bg)
	require.NoError(t, err)
	return info.State.Msgs
}

func job(i int) dispatch.Job {
	return dispatch.Job{OrgID: "org1", MessageID: fmt.Sprintf("m%d", i), Key: fmt.Sprintf("k%d", i)}
}

func TestPublishReceiveDone(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	require.NoError(t, q.Publish(bg, job(1)))
	d, err := receive(t, q, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, job(1), d.Job())
	require.NoError(t, d.Done(bg))
	assert.Zero(t, streamMsgs(t, ns, "HERALD"), "a done job leaves the work queue")
	_, err = receive(t, q, 200*time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "nothing else to receive")
}

func TestDuplicatePublishIsDropped(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	require.NoError(t, q.Publish(bg, job(1)))
	require.NoError(t, q.Publish(bg, job(1)), "a duplicate is not an error")
	retry := job(1)
	retry.Attempt = 1
	require.NoError(t, q.Publish(bg, retry), "a retry is a new job")
	assert.Equal(t, uint64(2), streamMsgs(t, ns, "HERALD"))
	var got []int
	for range 2 {
		d, err := receive(t, q, 5*time.Second)
		require.NoError(t, err)
		got = append(got, d.Job().Attempt)
		require.NoError(t, d.Done(bg))
	}
	assert.ElementsMatch(t, []int{0, 1}, got)
}

func TestJobIsNotDeliveredBeforeItIsDue(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	j := job(1)
	j.NotBefore = time.Now().Add(400 * time.Millisecond)
	require.NoError(t, q.Publish(bg, j))
	d, err := receive(t, q, 5*time.Second)
	require.NoError(t, err)
	assert.False(t, time.Now().Before(j.NotBefore), "received only once due")
	require.NoError(t, d.Done(bg))
}

func TestRetryRedeliversAfterTheDelay(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	require.NoError(t, q.Publish(bg, job(1)))
	d, err := receive(t, q, 5*time.Second)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, d.Retry(bg, 300*time.Millisecond))
	d, err = receive(t, q, 5*time.Second)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.Equal(t, job(1), d.Job())
	require.NoError(t, d.Done(bg))
}

func TestDeadJobsAreKeptAsDeadLetters(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	require.NoError(t, q.Publish(bg, job(1)))
	d, err := receive(t, q, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, d.Dead(bg, "failed: 21211 invalid number"))
	require.NoError(t, q.DeadLetter(bg, job(2), "found by the poll"))
	require.NoError(t, q.DeadLetter(bg, job(2), "found by the poll"), "once per job")
	assert.Zero(t, streamMsgs(t, ns, "HERALD"))
	dead, err := q.DeadLetters(bg, 10)
	require.NoError(t, err)
	require.Len(t, dead, 2)
	assert.Equal(t, "m1", dead[0].MessageID)
	assert.Equal(t, "failed: 21211 invalid number", dead[0].Reason)
	assert.Equal(t, "m2", dead[1].MessageID)
}

func TestUnsettledJobGoesToAnotherWorkerAfterAckWait(t *testing.T) {
	ns := startServer(t)
	opts := hjs.QueueOptions{AckWait: 300 * time.Millisecond}
	dying := newQueue(t, ns, opts)
	require.NoError(t, dying.Publish(bg, job(1)))
	_, err := receive(t, dying, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, dying.Close()) // the worker dies holding the job

	other := newQueue(t, ns, opts)
	d, err := receive(t, other, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, job(1), d.Job())
	require.NoError(t, d.Done(bg))
}

func TestWorkersShareTheConsumer(t *testing.T) {
	ns := startServer(t)
	const n = 300
	pub := newQueue(t, ns, hjs.QueueOptions{})
	for i := range n {
		require.NoError(t, pub.Publish(bg, job(i)))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	perWorker := make([]int, 3)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	for w := range 3 {
		q := newQueue(t, ns, hjs.QueueOptions{Prefetch: 8})
		wg.Go(func() {
			for {
				d, err := q.Receive(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[d.Job().MessageID]++
				perWorker[w]++
				done := len(seen) == n
				mu.Unlock()
				assert.NoError(t, d.Done(bg))
				if done {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, n)
	for id, c := range seen {
		assert.Equal(t, 1, c, "job %s delivered once", id)
	}
	for w, c := range perWorker {
		assert.Positive(t, c, "worker %d got work", w)
	}
}

func TestMalformedJobIsDeadLettered(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	jsc := connect(t, ns)
	_, err := jsc.Publish(bg, "HERALD.jobs", []byte("not json"))
	require.NoError(t, err)
	require.NoError(t, q.Publish(bg, job(1)))
	d, err := receive(t, q, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "m1", d.Job().MessageID, "the malformed job is skipped")
	require.NoError(t, d.Done(bg))
	dead, err := q.DeadLetters(bg, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Contains(t, dead[0].Reason, "malformed job")
}

func TestReceiveEndsWithItsContext(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	ctx, cancel := context.WithCancel(bg)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := q.Receive(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNewQueueRefusesBadOptions(t *testing.T) {
	ns := startServer(t)
	_, err := hjs.NewQueue(bg, connect(t, ns), hjs.QueueOptions{AckWait: -1})
	assert.Error(t, err)
	_, err = hjs.NewQueue(bg, nil, hjs.QueueOptions{})
	assert.Error(t, err)
	_, err = hjs.NewQueue(bg, connect(t, ns), hjs.QueueOptions{Stream: "bad.name"})
	assert.Error(t, err)
}

func TestReceiveRecoversWhenTheConsumerIsRecreated(t *testing.T) {
	ns := startServer(t)
	q := newQueue(t, ns, hjs.QueueOptions{})
	require.NoError(t, q.Publish(bg, job(1)))
	d, err := receive(t, q, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, d.Done(bg))

	// An operator deletes the consumer; another dispatcher starting up
	// creates it again.
	jsc := connect(t, ns)
	require.NoError(t, jsc.DeleteConsumer(bg, "HERALD", "herald-workers"))
	newQueue(t, ns, hjs.QueueOptions{})
	require.NoError(t, q.Publish(bg, job(2)))

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d, err := receive(t, q, time.Second)
		if err == nil {
			assert.Equal(t, job(2), d.Job())
			require.NoError(t, d.Done(bg))
			return
		}
	}
	t.Fatal("the queue never received again after its consumer was recreated")
}
