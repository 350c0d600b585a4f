package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
)

// workItem is a message for a worker: from the queue (a delivery to
// settle; the worker claims the message) or already claimed by the poll.
type workItem struct {
	orgID, id string
	claimed   *herald.Message
	delivery  Delivery
}

// ErrRunning is returned by Run when the dispatcher is already running.
var ErrRunning = errors.New("dispatch: Run is already running")

// Enqueue validates and stores a message for Run to send, and returns the
// stored message. Like Send, bad input is an error and nothing is stored,
// and a message whose idempotency key exists is returned, not stored again.
// The message waits in the store, so nothing is lost if the process stops
// before Run sends it: the next Run (of any dispatcher sharing the store)
// picks it up. Enqueue then publishes a job on the Queue; when that fails
// the error is logged, not returned, since Run's poll finds the stored
// message anyway.
func (d *Dispatcher) Enqueue(ctx context.Context, m *herald.Message) (*herald.Message, error) {
	msg, _, err := d.prepare(ctx, m, new(herald.Message))
	if err != nil {
		return nil, err
	}
	stored, created, err := d.store.CreateMessage(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("dispatch: storing message: %w", err)
	}
	if created && stored.Status.Pending() {
		d.publish(ctx, stored, stored.SendAt)
	}
	return stored, nil
}

// publish offers the job of a stored message due at notBefore.
func (d *Dispatcher) publish(ctx context.Context, m *herald.Message, notBefore time.Time) {
	if err := d.queue.Publish(ctx, jobFor(m, notBefore)); err != nil {
		d.logger.Warn("publishing job; the poll will find the message", "message", m.ID, "err", err)
	}
}

// Run works until ctx ends: it takes jobs from the Queue (enqueued
// messages, scheduled sends and retries) and sends them with
// Config.Concurrency workers, and polls the store every Config.PollInterval
// for due work the queue did not bring (including messages whose worker
// died, once their lease expired).
//
// Each job is settled once its message's status is recorded: done, retried
// after the retry delay (or when another worker's lease ends), or dead when
// the message failed for good.
//
// When ctx ends, Run stops taking work, lets the sends in flight finish
// (each bounded by SendTimeout), hands back what it had taken but not
// started (releasing leases and asking the queue to redeliver at once) so
// that any dispatcher can take it, and returns nil. Nothing is lost: unsent
// messages stay in the store.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.runMu.Lock()
	if d.running {
		d.runMu.Unlock()
		return ErrRunning
	}
	d.running = true
	d.runMu.Unlock()
	defer func() {
		d.runMu.Lock()
		d.running = false
		d.runMu.Unlock()
	}()

	// In-flight sends finish even after ctx ends.
	work := context.WithoutCancel(ctx)
	items := make(chan workItem, d.cfg.Concurrency)
	stopping := make(chan struct{})
	var workers sync.WaitGroup
	for range d.cfg.Concurrency {
		workers.Go(func() {
			for {
				select {
				case <-stopping:
					return
				case it := <-items:
					select {
					case <-stopping: // shutting down: leave it for the drain
						d.giveBack(work, it)
						continue
					default:
					}
					d.work(work, it)
				}
			}
		})
	}

	var feeder sync.WaitGroup
	feeder.Go(func() { d.feed(ctx, work, items) })

	d.poll(ctx, items)
	d.prune(ctx)
	ticker := time.NewTicker(d.cfg.PollInterval)
	pruner := time.NewTicker(pruneEvery)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			d.poll(ctx, items)
		case <-pruner.C:
			d.prune(ctx)
		}
	}
	ticker.Stop()
	pruner.Stop()
	feeder.Wait()
	close(stopping)
	workers.Wait()
	for {
		select {
		case it := <-items:
			d.giveBack(work, it)
			continue
		default:
		}
		break
	}
	return nil
}

// pruneEvery is how often Run prunes the store's webhook state.
const pruneEvery = time.Hour

// PruneWebhookState makes the store forget seen webhook events and parked
// reports older than Config.WebhookRetention, and reports how many of each
// it removed. Run calls it when it starts and every hour; a host that
// takes webhooks without running Run calls it itself now and then.
func (d *Dispatcher) PruneWebhookState(ctx context.Context) (events, reports int, err error) {
	events, reports, err = d.store.PruneWebhookState(ctx, d.clock.Now().Add(-d.cfg.WebhookRetention))
	if err != nil {
		return events, reports, fmt.Errorf("dispatch: pruning webhook state: %w", err)
	}
	return events, reports, nil
}

func (d *Dispatcher) prune(ctx context.Context) {
	events, reports, err := d.PruneWebhookState(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		d.logger.Warn("pruning webhook state", "err", err)
	case events+reports > 0:
		d.logger.Info("pruned webhook state", "events", events, "reports", reports)
	}
}

// feed moves jobs from the queue to the workers until ctx ends.
func (d *Dispatcher) feed(ctx, work context.Context, items chan<- workItem) {
	for {
		del, err := d.queue.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.logger.Error("receiving from the queue", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(d.cfg.PollInterval):
			}
			continue
		}
		j := del.Job()
		it := workItem{orgID: j.OrgID, id: j.MessageID, delivery: del}
		select {
		case items <- it:
		case <-ctx.Done():
			d.giveBack(work, it)
			return
		}
	}
}

// poll claims due messages up to the workers' free room.
func (d *Dispatcher) poll(ctx context.Context, items chan workItem) {
	room := cap(items) - len(items)
	if room <= 0 || ctx.Err() != nil {
		return
	}
	claimed, err := d.store.ClaimDue(ctx, herald.ClaimParams{
		Owner: d.cfg.WorkerID, Now: d.clock.Now(), LeaseFor: d.cfg.LeaseDuration, Limit: room,
	})
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("claiming due messages", "err", err)
		}
		return
	}
	for _, m := range claimed {
		it := workItem{orgID: m.OrgID, id: m.ID, claimed: m}
		select {
		case items <- it:
		default:
			d.giveBack(ctx, it)
		}
	}
}

// giveBack returns an item not worked on: its lease is released and its
// delivery redelivered at once, so that any dispatcher can take it.
//
// The lease is released only while no worker of this dispatcher works on
// the message: the same message can arrive twice (from the poll and from
// the queue), and dropping the lease of a send in flight would keep its
// outcome from being recorded.
func (d *Dispatcher) giveBack(ctx context.Context, it workItem) {
	ctx = context.WithoutCancel(ctx)
	if it.claimed != nil {
		key := inflightKey(it.orgID, it.id)
		if _, busy := d.inflight.LoadOrStore(key, struct{}{}); !busy {
			if err := d.store.ReleaseLease(ctx, it.orgID, it.id, d.cfg.WorkerID); err != nil {
				d.logger.Warn("releasing lease", "message", it.id, "err", err)
			}
			d.inflight.Delete(key)
		}
	}
	if it.delivery != nil {
		if err := it.delivery.Retry(ctx, 0); err != nil {
			d.logger.Warn("handing back a job", "message", it.id, "err", err)
		}
	}
}

// work claims (when needed) and processes one message, then settles the
// item's delivery.
func (d *Dispatcher) work(ctx context.Context, it workItem) {
	key := inflightKey(it.orgID, it.id)
	if _, busy := d.inflight.LoadOrStore(key, struct{}{}); busy {
		// This dispatcher works on it already; look again when that is over.
		d.settle(ctx, it, nil, d.cfg.PollInterval)
		return
	}
	defer d.inflight.Delete(key)
	msg := it.claimed
	if msg == nil {
		var err error
		msg, err = d.store.ClaimMessage(ctx, it.orgID, it.id, herald.ClaimParams{
			Owner: d.cfg.WorkerID, Now: d.clock.Now(), LeaseFor: d.cfg.LeaseDuration,
		})
		if err != nil {
			d.settleUnclaimed(ctx, it, err)
			return
		}
	}
	if now := d.clock.Now(); msg.Status.Pending() && msg.SendAt.After(now) {
		if err := d.store.ReleaseLease(ctx, msg.OrgID, msg.ID, d.cfg.WorkerID); err != nil {
			d.logger.Warn("releasing lease", "message", msg.ID, "err", err)
		}
		d.settle(ctx, it, msg, msg.SendAt.Sub(now))
		return
	}
	if msg.Status == herald.StatusSending {
		// The worker that sent it died: resend only where the vendor
		// deduplicates by idempotency key.
		if !d.vendorMeta[msg.Vendor].IdempotentSend {
			reason := "worker lost during send; the vendor may or may not have the message"
			res, err := d.finish(ctx, &Result{Message: msg}, herald.StatusUnknown, "", reason, herald.SourceDispatcher)
			if err != nil {
				d.logger.Warn("recording unknown outcome", "message", msg.ID, "err", err)
			}
			d.settle(ctx, it, res.Message, d.cfg.PollInterval)
			return
		}
	}
	res, err := d.process(ctx, msg, nil)
	if err != nil {
		d.logger.Debug("message not sent", "message", msg.ID, "err", err)
	}
	if res == nil || res.Message == nil {
		d.settle(ctx, it, nil, d.cfg.PollInterval)
		return
	}
	if !res.NextAttempt.IsZero() {
		d.settle(ctx, it, res.Message, res.NextAttempt.Sub(d.clock.Now()))
		return
	}
	d.settle(ctx, it, res.Message, d.cfg.PollInterval)
}

// inflightKey names a message in Dispatcher.inflight.
func inflightKey(orgID, id string) string { return orgID + "\x00" + id }

// settleUnclaimed settles an item whose message could not be claimed.
func (d *Dispatcher) settleUnclaimed(ctx context.Context, it workItem, err error) {
	switch {
	case errors.Is(err, herald.ErrNotFound):
		d.settle(ctx, it, nil, 0)
		if it.delivery != nil {
			d.logger.Warn("job for a message the store does not have", "message", it.id)
		}
	case errors.Is(err, herald.ErrConflict):
		// Finished, or another worker holds it: look at which.
		cur, gerr := d.store.GetMessage(ctx, it.orgID, it.id)
		if gerr != nil {
			d.settle(ctx, it, nil, d.cfg.PollInterval)
			return
		}
		wait := d.cfg.PollInterval
		if until := cur.LeaseUntil.Sub(d.clock.Now()); until > 0 {
			wait = until
		}
		d.settle(ctx, it, cur, wait)
	default:
		d.logger.Warn("claiming message", "message", it.id, "err", err)
		d.settle(ctx, it, nil, d.cfg.PollInterval)
	}
}

// settle ends an item by what became of its message m (nil when unknown
// or gone): a message still waiting is retried after wait, a failed one is
// dead, any other is done. Items from the poll have no delivery: their
// retries are published as new jobs and their failures dead-lettered when
// the queue keeps dead letters.
func (d *Dispatcher) settle(ctx context.Context, it workItem, m *herald.Message, wait time.Duration) {
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case m == nil && it.delivery != nil && wait > 0:
		err = it.delivery.Retry(ctx, wait)
	case m == nil:
		if it.delivery != nil {
			err = it.delivery.Done(ctx)
		}
	case m.Status.Pending() || m.Status == herald.StatusSending:
		if it.delivery != nil {
			err = it.delivery.Retry(ctx, max(wait, 0))
		} else if m.Status.Pending() && m.LeaseOwner == "" {
			d.publish(ctx, m, d.clock.Now().Add(max(wait, 0)))
		}
	case m.Status == herald.StatusFailed || m.Status == herald.StatusUnknown:
		reason := m.Reason
		if reason == "" {
			reason = string(m.Status)
		}
		if it.delivery != nil {
			err = it.delivery.Dead(ctx, reason)
		} else if dl, ok := d.queue.(DeadLetterer); ok {
			err = dl.DeadLetter(ctx, jobFor(m, time.Time{}), reason)
		}
	default:
		if it.delivery != nil {
			err = it.delivery.Done(ctx)
		}
	}
	if err != nil {
		d.logger.Warn("settling job", "message", it.id, "err", err)
	}
}
