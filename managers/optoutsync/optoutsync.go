// Package optoutsync is the opt-out sync service manager (registry name
// "optout-sync"): it forwards every opt-out, and every lifted opt-out, to a
// CRM or any other outside system through a one-method interface, [CRM]
// (the shape of Spoke's civicrm-donotsms, which put opted-out contacts in
// a CiviCRM "do not SMS" group by external ID).
//
// # How it relates to the dispatcher
//
// The dispatcher already does the opt-out work itself, for every
// organization, with or without this manager: it records an opt-out for an
// inbound STOP-style keyword, for a send that fails with
// herald.ClassOptedOut (Twilio 21610, Bandwidth 4775, ...), for a delivery
// report with OptedOut set (SendGrid unsubscribe, spam report) and for a
// host call to Dispatcher.OptOut; it lifts one on START-style keywords and
// Dispatcher.UndoOptOut; it blocks messages to opted-out addresses; and it
// runs the OnOptOut hooks once per new opt-out (a repeated STOP runs no
// hook) and once per lift (Undo set). This manager only adds the
// forwarding: it never records, lifts or blocks anything.
//
// # What it does
//
// OnOptOut (its only hook) turns the event into a [Record], writes it to
// its State (so it survives a crash), queues it and returns at once. The
// opt-out itself was recorded before the hook ran and never waits for the
// CRM. [Manager.Run], which the host runs in the background like
// Dispatcher.Run, delivers queued records with Options.Workers workers:
// each call bounded by Options.AttemptTimeout, a failure retried with
// exponential backoff (Options.InitialBackoff doubling up to
// Options.MaxBackoff) up to Options.MaxAttempts calls, an error wrapped
// with [Permanent] not retried. A record leaves the State when delivered
// or given up (Options.OnGiveUp is told).
//
// Records not delivered when the process stops stay in the State and are
// queued again by the next OnOptOut of their organization, or at once by
// [Manager.Resume] (call it at start-up with the store and the
// organizations to resume).
//
// # Configuration
//
// None in features: the CRM and the retry policy are Options. The CRM
// decides per organization what to do (Record.OrgID).
//
// # Cost and order
//
// It spends no money itself (the CRM may). Order does not matter: it only
// reads the event.
package optoutsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the hooks opt-out sync implements.
var (
	_ herald.ServiceManager = (*Manager)(nil)
	_ herald.OptOutHook     = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists.
const Name = "optout-sync"

// Defaults of Options.
const (
	DefaultMaxAttempts    = 10
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 10 * time.Minute
	DefaultAttemptTimeout = 10 * time.Second
	DefaultQueueSize      = 1024
	DefaultWorkers        = 2
)

// Record is one opt-out (or lift) to forward.
type Record struct {
	// ID identifies the record; repeated deliveries of one record carry
	// the same ID, so a CRM can deduplicate.
	ID    string
	OrgID string
	// Address is the opted-out address (E.164 or email).
	Address string
	// Channel is the opt-out's scope (sms covers mms; empty is every channel).
	Channel herald.Channel
	// Undo is true when the opt-out was lifted.
	Undo bool
	// Reason and Source are the opt-out's ("stop", "21610"; "inbound",
	// "vendor", "host", "undo").
	Reason string
	Source string
	// ContactID, ExternalID (the contact's ID in the CRM, when known) and
	// CampaignID.
	ContactID  string
	ExternalID string
	CampaignID string
	At         time.Time
	// Attempt is 1 for the first delivery, 2 for the first retry, ...
	Attempt int
}

// CRM receives opt-outs. SyncOptOut must be safe for concurrent use and
// honour ctx; an error is retried unless it wraps Permanent.
type CRM interface {
	SyncOptOut(ctx context.Context, r Record) error
}

// CRMFunc adapts a function to CRM.
type CRMFunc func(ctx context.Context, r Record) error

// SyncOptOut calls f.
func (f CRMFunc) SyncOptOut(ctx context.Context, r Record) error { return f(ctx, r) }

// permanentError marks an error that must not be retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the record is given up without retrying
// (the CRM does not know the contact, the request is malformed, ...).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// Options configures the manager. The zero value uses the defaults.
type Options struct {
	// MaxAttempts is the most CRM calls per record; default
	// DefaultMaxAttempts.
	MaxAttempts int
	// InitialBackoff and MaxBackoff bound the wait between attempts;
	// defaults DefaultInitialBackoff and DefaultMaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// AttemptTimeout bounds each CRM call; default DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// QueueSize is the in-memory queue's capacity; records beyond it wait
	// in the State for the next sweep. Default DefaultQueueSize.
	QueueSize int
	// Workers is how many records Run delivers at once; default
	// DefaultWorkers.
	Workers int
	// OnGiveUp is told about a record given up (permanent error or
	// MaxAttempts reached). Optional.
	OnGiveUp func(r Record, err error)
	// Logger receives delivery failures (never addresses); default discard.
	Logger *slog.Logger
}

// Stats counts what the manager did since New.
type Stats struct {
	Queued, Delivered, Retried, GivenUp int64
}

// job is a record with the State it is kept in.
type job struct {
	state herald.State
	rec   Record
}

// Manager forwards opt-outs to a CRM. It is safe for concurrent use.
type Manager struct {
	crm  CRM
	opts Options
	log  *slog.Logger

	queue    chan job
	inflight sync.Map // org + "|" + record ID → struct{}
	seq      atomic.Uint64

	queued, delivered, retried, givenUp atomic.Int64
}

// New returns a manager forwarding to crm; it fails with herald.ErrConfig
// when crm is nil.
func New(crm CRM, opts Options) (*Manager, error) {
	if crm == nil {
		return nil, fmt.Errorf("%w: optoutsync needs a CRM", herald.ErrConfig)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Manager{crm: crm, opts: opts, log: log, queue: make(chan job, opts.QueueSize)}, nil
}

// Metadata describes the manager: no settings screens, no money spent.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:        Name,
		DisplayName: "Opt-out sync",
		Description: "Forwards opt-outs and their undos to a CRM, with retries that never hold up the opt-out.",
	}
}

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	return Stats{Queued: m.queued.Load(), Delivered: m.delivered.Load(), Retried: m.retried.Load(), GivenUp: m.givenUp.Load()}
}

// State keys.
const (
	indexKey      = "index"
	pendingPrefix = "pending|"
)

// OnOptOut records the opt-out for delivery and queues it; see the package
// doc. Its error (the State could not keep the record) is after the fact:
// the opt-out stands.
func (m *Manager) OnOptOut(ctx context.Context, ev *herald.OptOutEvent) error {
	o := ev.OptOut
	if o == nil || ev.Env.State == nil {
		return nil
	}
	at := o.At
	if at.IsZero() && ev.Env.Clock != nil {
		at = ev.Env.Clock.Now()
	}
	r := Record{
		OrgID: o.OrgID, Address: o.Address, Channel: o.Channel, Undo: ev.Undo,
		Reason: o.Reason, Source: o.Source, ContactID: o.ContactID, CampaignID: o.CampaignID, At: at,
	}
	if ev.Contact != nil {
		r.ExternalID = ev.Contact.ExternalID
		if r.ContactID == "" {
			r.ContactID = ev.Contact.ID
		}
	}
	r.ID = strconv.FormatInt(at.UnixNano(), 36) + "-" + strconv.FormatUint(m.seq.Add(1), 36)
	if err := m.persist(ctx, ev.Env.State, r); err != nil {
		return fmt.Errorf("optoutsync: keeping record: %w", err)
	}
	m.enqueue(job{state: ev.Env.State, rec: r})
	// Records a previous process left behind.
	if err := m.sweep(ctx, ev.Env.State, o.OrgID); err != nil {
		m.log.WarnContext(ctx, "optoutsync: resuming pending records", "org", o.OrgID, "err", err)
	}
	return nil
}

// persist writes the record and adds its ID to the organization's index.
func (m *Manager) persist(ctx context.Context, s herald.State, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.Put(ctx, pendingPrefix+r.ID, b); err != nil {
		return err
	}
	return updateIndex(ctx, s, func(ids []string) []string { return append(ids, r.ID) })
}

// updateIndex changes the index of pending IDs with compare-and-swap.
func updateIndex(ctx context.Context, s herald.State, change func([]string) []string) error {
	for range 1000 {
		raw, ok, err := s.Get(ctx, indexKey)
		if err != nil {
			return err
		}
		var ids []string
		var old []byte
		if ok {
			old = raw
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &ids); err != nil {
					return fmt.Errorf("reading index: %w", err)
				}
			}
		}
		next, err := json.Marshal(change(ids))
		if err != nil {
			return err
		}
		swapped, err := s.CompareAndSwap(ctx, indexKey, old, next)
		if err != nil {
			return err
		}
		if swapped {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("optoutsync: index: %w", herald.ErrConflict)
}

// enqueue queues a job unless it is already queued or in progress here,
// or the queue is full (it stays in the State for the next sweep).
func (m *Manager) enqueue(j job) {
	key := j.rec.OrgID + "|" + j.rec.ID
	if _, busy := m.inflight.LoadOrStore(key, struct{}{}); busy {
		return
	}
	select {
	case m.queue <- j:
		m.queued.Add(1)
	default:
		m.inflight.Delete(key)
		m.log.Warn("optoutsync: queue full; the record waits in State", "org", j.rec.OrgID, "record", j.rec.ID)
	}
}

// sweep queues the organization's pending records not queued here yet.
func (m *Manager) sweep(ctx context.Context, s herald.State, orgID string) error {
	raw, ok, err := s.Get(ctx, indexKey)
	if err != nil || !ok || len(raw) == 0 {
		return err
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		return err
	}
	for _, id := range ids {
		if _, busy := m.inflight.Load(orgID + "|" + id); busy {
			continue
		}
		b, ok, err := s.Get(ctx, pendingPrefix+id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		m.enqueue(job{state: s, rec: r})
	}
	return nil
}

// Resume queues the pending records of the organizations, kept in store
// (the dispatcher's store) by an earlier process.
func (m *Manager) Resume(ctx context.Context, store herald.StateStore, orgIDs ...string) error {
	var errs []error
	for _, org := range orgIDs {
		if err := m.sweep(ctx, herald.NamespacedState(store, org, Name), org); err != nil {
			errs = append(errs, fmt.Errorf("optoutsync: resuming %s: %w", org, err))
		}
	}
	return errors.Join(errs...)
}

// Run delivers queued records until ctx ends, then returns nil. Records
// still pending stay in the State. Run it once per Manager.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range m.opts.Workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-m.queue:
					m.deliver(ctx, j)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// deliver makes one attempt and schedules a retry or finishes the record.
func (m *Manager) deliver(ctx context.Context, j job) {
	j.rec.Attempt++
	actx, cancel := context.WithTimeout(ctx, m.opts.AttemptTimeout)
	err := m.crm.SyncOptOut(actx, j.rec)
	cancel()
	key := j.rec.OrgID + "|" + j.rec.ID
	if err == nil {
		m.delivered.Add(1)
		m.finish(ctx, j)
		return
	}
	if ctx.Err() != nil {
		m.inflight.Delete(key) // stopping: the record stays pending
		return
	}
	var perm *permanentError
	if errors.As(err, &perm) || j.rec.Attempt >= m.opts.MaxAttempts {
		m.log.Warn("optoutsync: giving up", "org", j.rec.OrgID, "contact", j.rec.ContactID, "record", j.rec.ID, "attempts", j.rec.Attempt, "err", err)
		if m.opts.OnGiveUp != nil {
			m.opts.OnGiveUp(j.rec, err)
		}
		// Counted once OnGiveUp has been told, so that Stats says what
		// has been handled.
		m.givenUp.Add(1)
		m.finish(ctx, j)
		return
	}
	m.retried.Add(1)
	wait := m.backoff(j.rec.Attempt)
	m.log.Info("optoutsync: CRM call failed; retrying", "org", j.rec.OrgID, "record", j.rec.ID, "attempt", j.rec.Attempt, "in", wait, "err", err)
	t := time.NewTimer(wait)
	go func() {
		defer t.Stop()
		select {
		case <-ctx.Done():
			m.inflight.Delete(key)
		case <-t.C:
			select {
			case m.queue <- j:
			case <-ctx.Done():
				m.inflight.Delete(key)
			}
		}
	}()
}

// finish removes a delivered or abandoned record from the State.
func (m *Manager) finish(ctx context.Context, j job) {
	defer m.inflight.Delete(j.rec.OrgID + "|" + j.rec.ID)
	ctx = context.WithoutCancel(ctx)
	err := updateIndex(ctx, j.state, func(ids []string) []string {
		return slices.DeleteFunc(ids, func(id string) bool { return id == j.rec.ID })
	})
	if err == nil {
		err = j.state.Delete(ctx, pendingPrefix+j.rec.ID)
	}
	if err != nil {
		m.log.Warn("optoutsync: removing a finished record", "org", j.rec.OrgID, "record", j.rec.ID, "err", err)
	}
}

// backoff is the wait after attempt n.
func (m *Manager) backoff(n int) time.Duration {
	d := m.opts.InitialBackoff
	for i := 1; i < n && d < m.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, m.opts.MaxBackoff)
}
