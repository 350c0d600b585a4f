package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
)

// workItem is a message for a worker: by ID (from Enqueue or a retry
// timer; the worker claims it) or already claimed (from the poller).
type workItem struct {
	orgID, id string
	claimed   *herald.Message
}

// ErrRunning is returned by Run when the dispatcher is already running.
var ErrRunning = errors.New("dispatch: Run is already running")

// Enqueue validates and stores a message for Run to send, and returns the
// stored message. Like Send, bad input is an error and nothing is stored,
// and a message whose idempotency key exists is returned, not stored again.
// The message waits in the store, so nothing is lost if the process stops
// before Run sends it: the next Run (of any dispatcher sharing the store)
// picks it up.
func (d *Dispatcher) Enqueue(ctx context.Context, m *herald.Message) (*herald.Message, error) {
	msg, _, err := d.prepare(ctx, m)
	if err != nil {
		return nil, err
	}
	stored, created, err := d.store.CreateMessage(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("dispatch: storing message: %w", err)
	}
	if created && stored.Status == herald.StatusQueued {
		d.offer(workItem{orgID: stored.OrgID, id: stored.ID})
	}
	return stored, nil
}

// offer hands an item to a running worker loop without blocking; when the
// loop is not running or its queue is full, the poller finds the message
// in the store instead.
func (d *Dispatcher) offer(it workItem) bool {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	if !d.running {
		return false
	}
	select {
	case d.queue <- it:
		return true
	default:
		return false
	}
}

// scheduleRetry wakes the worker loop when a retry is due; the poller
// would find it anyway, this only makes it prompt.
func (d *Dispatcher) scheduleRetry(m *herald.Message, delay time.Duration) {
	d.runMu.Lock()
	running, stop := d.running, d.stopping
	d.runMu.Unlock()
	if !running {
		return
	}
	it := workItem{orgID: m.OrgID, id: m.ID}
	d.timers.Add(1)
	go func() {
		defer d.timers.Done()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			d.offer(it)
		case <-stop:
		}
	}()
}

// Run works until ctx ends: it sends enqueued messages, scheduled messages
// when they fall due, and retries, with Config.Concurrency workers, polling
// the store every Config.PollInterval for due work (including messages
// whose worker died, once their lease expired).
//
// When ctx ends, Run stops taking work, lets the sends in flight finish
// (each bounded by SendTimeout), releases its leases on messages it had
// claimed but not started so that any dispatcher can take them at once, and
// returns nil. Nothing is lost: unsent messages stay in the store.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.runMu.Lock()
	if d.running {
		d.runMu.Unlock()
		return ErrRunning
	}
	d.running = true
	d.queue = make(chan workItem, d.cfg.QueueSize)
	d.stopping = make(chan struct{})
	queue, stopping := d.queue, d.stopping
	d.runMu.Unlock()

	// In-flight sends finish even after ctx ends.
	work := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range d.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopping:
					return
				case it := <-queue:
					select {
					case <-stopping: // shutting down: leave it for the drain
						d.releaseItem(work, it)
						continue
					default:
					}
					d.work(work, it)
				}
			}
		}()
	}

	d.poll(ctx, queue)
	ticker := time.NewTicker(d.cfg.PollInterval)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			d.poll(ctx, queue)
		}
	}
	ticker.Stop()

	d.runMu.Lock()
	d.running = false
	close(stopping)
	d.runMu.Unlock()
	wg.Wait()
	d.timers.Wait()
	for {
		select {
		case it := <-queue:
			d.releaseItem(work, it)
			continue
		default:
		}
		break
	}
	return nil
}

// poll claims due messages up to the queue's free room.
func (d *Dispatcher) poll(ctx context.Context, queue chan workItem) {
	room := cap(queue) - len(queue)
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
		select {
		case queue <- workItem{orgID: m.OrgID, id: m.ID, claimed: m}:
		default:
			d.releaseItem(ctx, workItem{orgID: m.OrgID, id: m.ID, claimed: m})
		}
	}
}

func (d *Dispatcher) releaseItem(ctx context.Context, it workItem) {
	if it.claimed == nil {
		return // never claimed: nothing held
	}
	if err := d.store.ReleaseLease(context.WithoutCancel(ctx), it.orgID, it.id, d.cfg.WorkerID); err != nil {
		d.logger.Warn("releasing lease", "message", it.id, "err", err)
	}
}

// work claims (when needed) and processes one message.
func (d *Dispatcher) work(ctx context.Context, it workItem) {
	key := it.orgID + "\x00" + it.id
	if _, busy := d.inflight.LoadOrStore(key, struct{}{}); busy {
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
			if !errors.Is(err, herald.ErrConflict) && !errors.Is(err, herald.ErrNotFound) {
				d.logger.Warn("claiming message", "message", it.id, "err", err)
			}
			return
		}
	}
	if msg.Status.Pending() && msg.SendAt.After(d.clock.Now()) {
		d.releaseItem(ctx, workItem{orgID: msg.OrgID, id: msg.ID, claimed: msg})
		return
	}
	if msg.Status == herald.StatusSending {
		// The worker that sent it died: resend only where the vendor
		// deduplicates by idempotency key.
		if !d.vendorMeta[msg.Vendor].IdempotentSend {
			reason := "worker lost during send; the vendor may or may not have the message"
			if _, err := d.finish(ctx, &Result{Message: msg}, herald.StatusUnknown, "", reason, herald.SourceDispatcher); err != nil {
				d.logger.Warn("recording unknown outcome", "message", msg.ID, "err", err)
			}
			return
		}
	}
	if _, err := d.process(ctx, msg, nil); err != nil {
		d.logger.Debug("message not sent", "message", msg.ID, "err", err)
	}
}
