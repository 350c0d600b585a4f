package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
)

// QueueOptions configures a Queue. Every field has a default.
type QueueOptions struct {
	// Stream names the deployment's stream; its subjects are Stream.jobs
	// and, in the Stream_DEAD stream, Stream.dead. Default "HERALD".
	Stream string
	// Consumer is the durable consumer every dispatcher shares. Default
	// "herald-workers".
	Consumer string
	// AckWait is how long JetStream waits for a delivery to be settled
	// before it redelivers the job to another dispatcher. It must exceed
	// the longest send (SendTimeout plus rate-limit waits). Default 2m.
	AckWait time.Duration
	// Duplicates is the window in which a job published twice (same
	// Nats-Msg-Id) is dropped by the server. Default 10m.
	Duplicates time.Duration
	// MaxAckPending caps the deliveries not yet settled, across all
	// dispatchers. Default 10,000.
	MaxAckPending int
	// Prefetch is how many jobs each Queue buffers ahead of its
	// dispatcher. Default 64.
	Prefetch int
	// DeadLetterMaxAge is how long dead letters are kept. Default 30 days.
	DeadLetterMaxAge time.Duration
	// Storage is the streams' storage. Default file storage.
	Storage js.StorageType
	// Replicas is the streams' replica count in a NATS cluster. Default 1.
	Replicas int
	// Logger receives what the queue cannot return. Default: discard.
	Logger *slog.Logger
	// Clock tells the time; it must be the dispatcher's clock. Default:
	// herald.SystemClock.
	Clock herald.Clock
}

func (o *QueueOptions) setDefaults() {
	if o.Stream == "" {
		o.Stream = "HERALD"
	}
	if o.Consumer == "" {
		o.Consumer = "herald-workers"
	}
	if o.AckWait == 0 {
		o.AckWait = 2 * time.Minute
	}
	if o.Duplicates == 0 {
		o.Duplicates = 10 * time.Minute
	}
	if o.MaxAckPending == 0 {
		o.MaxAckPending = 10000
	}
	if o.Prefetch == 0 {
		o.Prefetch = 64
	}
	if o.DeadLetterMaxAge == 0 {
		o.DeadLetterMaxAge = 30 * 24 * time.Hour
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = herald.SystemClock{}
	}
}

// Queue is a dispatch.Queue on JetStream, shared by every dispatcher that
// opens it with the same stream and consumer. It is safe for concurrent
// use; Close it when done.
type Queue struct {
	js       js.JetStream
	opts     QueueOptions
	jobs     string // subject of jobs
	dead     string // subject of dead letters
	consumer js.Consumer

	mu   sync.Mutex
	iter js.MessagesContext
}

var (
	_ dispatch.Queue        = (*Queue)(nil)
	_ dispatch.DeadLetterer = (*Queue)(nil)
)

// NewQueue creates or updates the deployment's streams and consumer and
// returns a Queue on them. Every dispatcher process calls it with the same
// options.
func NewQueue(ctx context.Context, jsc js.JetStream, opts QueueOptions) (*Queue, error) {
	if jsc == nil {
		return nil, fmt.Errorf("%w: jetstream: no JetStream context", herald.ErrConfig)
	}
	opts.setDefaults()
	if opts.AckWait < 0 || opts.Duplicates < 0 || opts.MaxAckPending < 0 || opts.Prefetch < 0 || opts.DeadLetterMaxAge < 0 {
		return nil, fmt.Errorf("%w: jetstream: negative queue option", herald.ErrConfig)
	}
	q := &Queue{js: jsc, opts: opts, jobs: opts.Stream + ".jobs", dead: opts.Stream + ".dead"}
	_, err := jsc.CreateOrUpdateStream(ctx, js.StreamConfig{
		Name:        opts.Stream,
		Description: "herald jobs",
		Subjects:    []string{q.jobs},
		Retention:   js.WorkQueuePolicy,
		Storage:     opts.Storage,
		Replicas:    opts.Replicas,
		Duplicates:  opts.Duplicates,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: creating stream %s: %w", opts.Stream, err)
	}
	_, err = jsc.CreateOrUpdateStream(ctx, js.StreamConfig{
		Name:        opts.Stream + "_DEAD",
		Description: "herald dead letters",
		Subjects:    []string{q.dead},
		Retention:   js.LimitsPolicy,
		Storage:     opts.Storage,
		Replicas:    opts.Replicas,
		MaxAge:      opts.DeadLetterMaxAge,
		Duplicates:  opts.Duplicates,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: creating stream %s_DEAD: %w", opts.Stream, err)
	}
	q.consumer, err = jsc.CreateOrUpdateConsumer(ctx, opts.Stream, js.ConsumerConfig{
		Durable:       opts.Consumer,
		Description:   "herald dispatchers",
		AckPolicy:     js.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		MaxDeliver:    -1, // the dispatcher decides when a message is dead
		MaxAckPending: opts.MaxAckPending,
		FilterSubject: q.jobs,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: creating consumer %s: %w", opts.Consumer, err)
	}
	return q, nil
}

// wireJob is a job as stored in the stream.
type wireJob struct {
	OrgID     string    `json:"org"`
	MessageID string    `json:"id"`
	Key       string    `json:"key"`
	Attempt   int       `json:"attempt,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
}

// DeadLetter is a message that failed for good, as published on the
// dead-letter subject.
type DeadLetter struct {
	OrgID     string    `json:"org"`
	MessageID string    `json:"id"`
	Key       string    `json:"key"`
	Attempt   int       `json:"attempt,omitempty"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// Publish adds a job to the stream with its DedupeID as Nats-Msg-Id; the
// server drops a job published again within the duplicate window.
func (q *Queue) Publish(ctx context.Context, j dispatch.Job) error {
	data, err := json.Marshal(wireJob(j))
	if err != nil {
		return fmt.Errorf("jetstream: encoding job: %w", err)
	}
	if _, err := q.js.Publish(ctx, q.jobs, data, js.WithMsgID(j.DedupeID()), js.WithExpectStream(q.opts.Stream)); err != nil {
		return fmt.Errorf("jetstream: publishing job for message %s: %w", j.MessageID, err)
	}
	return nil
}

// Receive returns the next due job. A job that is not due yet goes back
// to the stream with a nak delayed until it is; a job that cannot be read
// is dead-lettered.
func (q *Queue) Receive(ctx context.Context) (dispatch.Delivery, error) {
	iter, err := q.messages()
	if err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := iter.Next(js.NextContext(ctx))
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			// The iterator may be closed for good (lost heartbeats, a
			// deleted consumer): drop it, so the next Receive starts a
			// fresh one.
			q.dropIterator(iter)
			return nil, fmt.Errorf("jetstream: receiving: %w", err)
		}
		var w wireJob
		if err := json.Unmarshal(m.Data(), &w); err != nil || w.OrgID == "" || w.MessageID == "" {
			q.poison(ctx, m, err)
			continue
		}
		if wait := w.NotBefore.Sub(q.opts.Clock.Now()); wait > 0 {
			if err := m.NakWithDelay(wait); err != nil {
				q.opts.Logger.Warn("jetstream: putting back a job not due", "message", w.MessageID, "err", err)
			}
			continue
		}
		return &delivery{q: q, m: m, j: dispatch.Job(w)}, nil
	}
}

// messages returns the consumer's message iterator, made on first use.
func (q *Queue) messages() (js.MessagesContext, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.iter != nil {
		return q.iter, nil
	}
	it, err := q.consumer.Messages(js.PullMaxMessages(q.opts.Prefetch))
	if err != nil {
		return nil, fmt.Errorf("jetstream: consuming: %w", err)
	}
	q.iter = it
	return it, nil
}

// dropIterator stops it and forgets it when it is still the current one.
func (q *Queue) dropIterator(it js.MessagesContext) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.iter == it {
		it.Stop()
		q.iter = nil
	}
}

// poison dead-letters a stream message that is not a job.
func (q *Queue) poison(ctx context.Context, m js.Msg, err error) {
	reason := "malformed job"
	if err != nil {
		reason += ": " + err.Error()
	}
	q.opts.Logger.Error("jetstream: "+reason, "subject", m.Subject())
	msg := nats.NewMsg(q.dead)
	msg.Data = m.Data()
	msg.Header.Set("Herald-Reason", reason)
	if _, perr := q.js.PublishMsg(ctx, msg); perr != nil {
		q.opts.Logger.Error("jetstream: dead-lettering a malformed job", "err", perr)
		_ = m.NakWithDelay(q.opts.AckWait)
		return
	}
	if err := m.Term(); err != nil {
		q.opts.Logger.Warn("jetstream: dropping a malformed job", "err", err)
	}
}

// DeadLetter publishes a message that failed for good on the dead-letter
// subject, once per job (Nats-Msg-Id).
func (q *Queue) DeadLetter(ctx context.Context, j dispatch.Job, reason string) error {
	data, err := json.Marshal(DeadLetter{OrgID: j.OrgID, MessageID: j.MessageID, Key: j.Key, Attempt: j.Attempt, Reason: reason, At: q.opts.Clock.Now()})
	if err != nil {
		return fmt.Errorf("jetstream: encoding dead letter: %w", err)
	}
	if _, err := q.js.Publish(ctx, q.dead, data, js.WithMsgID("dead:"+j.DedupeID())); err != nil {
		return fmt.Errorf("jetstream: dead-lettering message %s: %w", j.MessageID, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters, oldest first, without
// removing them; ctx bounds the wait.
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	c, err := q.js.OrderedConsumer(ctx, q.opts.Stream+"_DEAD", js.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("jetstream: reading dead letters: %w", err)
	}
	var out []DeadLetter
	for len(out) < limit {
		batch, err := c.FetchNoWait(limit - len(out))
		if err != nil {
			return out, fmt.Errorf("jetstream: reading dead letters: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var dl DeadLetter
			if err := json.Unmarshal(m.Data(), &dl); err != nil {
				dl = DeadLetter{Reason: m.Headers().Get("Herald-Reason")}
			}
			out = append(out, dl)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, js.ErrNoMessages) {
			return out, fmt.Errorf("jetstream: reading dead letters: %w", err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}

// Close stops receiving; buffered deliveries not yet returned are
// redelivered by the server after AckWait.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.iter != nil {
		q.iter.Stop()
		q.iter = nil
	}
	return nil
}

// delivery is one received job.
type delivery struct {
	q *Queue
	m js.Msg
	j dispatch.Job
}

func (d *delivery) Job() dispatch.Job { return d.j }

// Done acknowledges the job and waits for the server to confirm.
func (d *delivery) Done(ctx context.Context) error {
	if err := d.m.DoubleAck(ctx); err != nil {
		return fmt.Errorf("jetstream: acknowledging job for message %s: %w", d.j.MessageID, err)
	}
	return nil
}

// Retry naks the job with delay.
func (d *delivery) Retry(_ context.Context, delay time.Duration) error {
	var err error
	if delay <= 0 {
		err = d.m.Nak()
	} else {
		err = d.m.NakWithDelay(delay)
	}
	if err != nil {
		return fmt.Errorf("jetstream: putting back job for message %s: %w", d.j.MessageID, err)
	}
	return nil
}

// Dead publishes a dead letter and then acknowledges the job; when the
// dead letter cannot be published the job is left for redelivery.
func (d *delivery) Dead(ctx context.Context, reason string) error {
	if err := d.q.DeadLetter(ctx, d.j, reason); err != nil {
		_ = d.m.NakWithDelay(d.q.opts.AckWait)
		return err
	}
	return d.Done(ctx)
}
