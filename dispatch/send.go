package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// Result is what happened to one message in one call.
type Result struct {
	// Message is the message as stored after this call.
	Message *herald.Message
	// Created is false when a message with the same idempotency key existed:
	// that message is returned and nothing was sent again.
	Created bool
	// Attempted is true when this call handed the message to a vendor.
	Attempted bool
	// NextAttempt is when a retry is due, when one was scheduled.
	NextAttempt time.Time
}

// Send sends one message now (or stores it for later when SendAt is in the
// future) and returns what happened. It runs the pipeline in order:
//
//  1. validate and normalise the address: bad input returns an error
//     wrapping herald.ErrInvalidInput and nothing is stored;
//  2. create the message in the store, idempotently: when the idempotency
//     key exists the stored message is returned and not sent again;
//  3. check opt-outs: an opted-out address ends blocked;
//  4. resolve organization, campaign, contact and the enabled managers, and
//     run the send hooks in order;
//  5. choose the vendor: the route's, else the organization's default for
//     the channel, else the dispatcher's;
//  6. move the message to sending, wait for the rate limits, call the
//     vendor with SendTimeout;
//  7. act on the outcome by error class and record the status.
//
// When no send hook is enabled for the organization, steps 3 to 5 only
// read, so they run before the create and the message is created in the
// status they decide: sending (with the lease, vendor and route of its
// first attempt), blocked, canceled or failed. That saves one store write
// per send; the message's history then starts at that status instead of
// queued. A store read that fails there falls back to the order above, so
// the message is kept and retried.
//
// Send makes at most one vendor call. The error is nil when the message was
// accepted by the vendor, scheduled by SendAt or deferred by a manager
// (Result.NextAttempt), or already existed;
// otherwise it says why (wrapping herald.ErrBlocked, the vendor's
// *herald.VendorError, ...) and the Result, when non-nil, holds the stored
// message. A retryable failure leaves the message scheduled for a retry that
// Run performs (Result.NextAttempt).
func (d *Dispatcher) Send(ctx context.Context, m *herald.Message) (*Result, error) {
	a, res, err := d.begin(ctx, m)
	if a == nil {
		d.publishRetry(ctx, res)
		return res, err
	}
	sr, sendErr := d.call(ctx, a)
	res, err = d.finishAttempt(ctx, a, sr, sendErr)
	d.publishRetry(ctx, res)
	return res, err
}

// publishRetry publishes the job of a retry or deferral that a Send or
// SendBatch scheduled, for Run to perform.
func (d *Dispatcher) publishRetry(ctx context.Context, res *Result) {
	if res != nil && !res.NextAttempt.IsZero() {
		d.publish(ctx, res.Message, res.NextAttempt)
	}
}

// begin runs steps 1 to 6 of the pipeline up to the vendor call. It returns
// an attempt ready for the call, or (nil, result, error) when the message
// needs no call (it existed, is scheduled, blocked, failed, ...).
func (d *Dispatcher) begin(ctx context.Context, m *herald.Message) (*attempt, *Result, error) {
	a := &attempt{} // the dispatcher's copy of m lives in it
	msg, org, err := d.prepare(ctx, m, &a.msg)
	if err != nil {
		return nil, nil, err
	}
	a.init(msg)
	if msg.Status == herald.StatusQueued {
		if managers, err := d.managersFor(org); err == nil && len(managers.send) == 0 {
			if res, err, ok := d.beginDirect(ctx, a, org, managers); ok {
				if res != nil {
					return nil, res, err
				}
				return a, nil, nil
			}
			a = newAttempt(msg) // decide gave up on a store read: start over stored first
		}
		now := msg.CreatedAt // prepare's now
		msg.LeaseOwner, msg.LeaseUntil = d.cfg.WorkerID, now.Add(d.cfg.LeaseDuration)
	}
	stored, created, err := d.store.CreateMessage(ctx, msg)
	if err != nil {
		return nil, nil, fmt.Errorf("dispatch: storing message: %w", err)
	}
	if !created || stored.Status != herald.StatusQueued {
		res := &Result{Message: stored, Created: created}
		if created && stored.Status == herald.StatusScheduled {
			res.NextAttempt = stored.SendAt
		}
		return nil, res, nil
	}
	a.init(stored)
	a, res, err := d.prepareAttempt(ctx, a, org)
	if a != nil {
		a.res.Created = true
	} else {
		res.Created = true
	}
	return a, res, err
}

// beginDirect creates a new message that no send hook needs to see first
// in the state the checks of steps 3 to 5 decide: sending (then the attempt
// is ready for its call), blocked, canceled or failed. The checks only read,
// so one store write does what a create and a move to sending would. ok is
// false when a check could not read the store: the caller then stores the
// message queued and takes the usual path, so the message is kept and
// retried. A nil result with ok means a is ready for its call.
func (d *Dispatcher) beginDirect(ctx context.Context, a *attempt, org *herald.Organization, managers *managerList) (res *Result, err error, ok bool) {
	msg := a.result.Message
	now := msg.CreatedAt
	if !d.decide(ctx, a, org, managers, nil, now) {
		if a.release || !a.until.IsZero() { // (only a hook defers)
			return nil, nil, false
		}
		msg.Status, msg.Reason = a.status, a.reason
	} else {
		msg.Status = herald.StatusSending
		msg.Vendor, msg.From, msg.MessagingServiceID = a.name, a.route.From, a.route.MessagingServiceID
		msg.Attempts = 1
		msg.LeaseOwner, msg.LeaseUntil = d.cfg.WorkerID, now.Add(d.cfg.LeaseDuration)
	}
	stored, created, err := d.store.CreateMessage(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("dispatch: storing message: %w", err), true
	}
	if !created {
		return &Result{Message: stored}, nil, true
	}
	a.result.Message, a.result.Created = stored, true
	if stored.Status != herald.StatusSending {
		return &a.result, a.err, true
	}
	d.ready(a, stored, org)
	return nil, nil, true
}

// call makes the vendor call of one attempt, bounded by SendTimeout, once
// the rate limits let it go.
func (d *Dispatcher) call(ctx context.Context, a *attempt) (*herald.SendResult, error) {
	if err := d.waitRate(ctx, a.name, a.req.Route.From); err != nil {
		return nil, notSent(a.name, err)
	}
	sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	defer cancel()
	return a.vendor.Send(sctx, &a.req)
}

// noLease is the empty lease an update sets to drop the worker's lease;
// stores only read it.
var noLease = &herald.Lease{}

// notSent is the failure of an attempt whose rate-limit wait ended (ctx
// ended first): the vendor was not called, so it is temporary.
func notSent(vendor string, err error) error {
	return &herald.VendorError{Vendor: vendor, Class: herald.ClassTemporary, Message: "not sent: waiting for the rate limit",
		Err: fmt.Errorf("%w: %w", errRateWait, err)}
}

// errRateWait marks a failure that happened before the vendor call (the
// rate-limit wait ended, or a shared limiter was unreachable): the retry it
// schedules does not count as an attempt, so a limiter outage delays
// messages and never fails them.
var errRateWait = errors.New("rate-limit wait")

// BatchResult is the outcome of one message of a SendBatch.
type BatchResult struct {
	*Result
	Err error
}

// SendBatch sends messages with at most Config.Concurrency in flight and
// returns one result per message, in input order, each as Send would have
// returned it. Messages that reach their vendor call are grouped by vendor:
// a vendor implementing herald.BatchSender gets them in calls of at most
// its MaxBatch, the others one Send each. When ctx ends, messages not
// started carry ctx's error.
func (d *Dispatcher) SendBatch(ctx context.Context, msgs []*herald.Message) []BatchResult {
	out := make([]BatchResult, len(msgs))
	attempts := make([]*attempt, len(msgs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.cfg.Concurrency)
	for i, m := range msgs {
		if gctx.Err() != nil {
			out[i].Err = gctx.Err()
			continue
		}
		g.Go(func() error {
			attempts[i], out[i].Result, out[i].Err = d.begin(ctx, m)
			if attempts[i] == nil {
				d.publishRetry(ctx, out[i].Result)
			}
			return nil
		})
	}
	_ = g.Wait()

	// Group the attempts by vendor, keeping input order within a group.
	groups := map[string][]int{}
	var order []string
	for i, a := range attempts {
		if a == nil {
			continue
		}
		if _, ok := groups[a.name]; !ok {
			order = append(order, a.name)
		}
		groups[a.name] = append(groups[a.name], i)
	}
	var calls errgroup.Group
	calls.SetLimit(d.cfg.Concurrency)
	finish := func(i int, sr *herald.SendResult, err error) {
		out[i].Result, out[i].Err = d.finishAttempt(ctx, attempts[i], sr, err)
		d.publishRetry(ctx, out[i].Result)
	}
	for _, name := range order {
		idx := groups[name]
		bs, batch := d.vendors[name].(herald.BatchSender)
		if !batch {
			for _, i := range idx {
				calls.Go(func() error {
					sr, err := d.call(ctx, attempts[i])
					finish(i, sr, err)
					return nil
				})
			}
			continue
		}
		size := max(bs.MaxBatch(), 1)
		for start := 0; start < len(idx); start += size {
			chunk := idx[start:min(start+size, len(idx))]
			calls.Go(func() error {
				reqs := make([]*herald.SendRequest, len(chunk))
				for j, i := range chunk {
					reqs[j] = &attempts[i].req
				}
				// Each message of a batch counts against the limits.
				for _, i := range chunk {
					if err := d.waitRate(ctx, name, attempts[i].req.Route.From); err != nil {
						for _, i := range chunk {
							finish(i, nil, notSent(name, err))
						}
						return nil
					}
				}
				sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
				outcomes, err := bs.SendBatch(sctx, reqs)
				cancel()
				for j, i := range chunk {
					switch {
					case err != nil:
						finish(i, nil, err)
					case j >= len(outcomes):
						finish(i, nil, &herald.VendorError{Vendor: name, Class: herald.ClassMaybeDelivered,
							Message: "batch send returned fewer outcomes than requests"})
					default:
						finish(i, outcomes[j].Result, outcomes[j].Err)
					}
				}
				return nil
			})
		}
	}
	_ = calls.Wait()
	return out
}

// prepare validates m and makes the copy to store in dst: normalised
// address, ID, idempotency key, status and timestamps filled. It returns
// dst.
func (d *Dispatcher) prepare(ctx context.Context, m *herald.Message, dst *herald.Message) (*herald.Message, *herald.Organization, error) {
	if m == nil {
		return nil, nil, fmt.Errorf("%w: message is nil", herald.ErrInvalidInput)
	}
	if m.OrgID == "" {
		return nil, nil, fmt.Errorf("%w: message has no OrgID", herald.ErrInvalidInput)
	}
	if !m.Channel.Valid() {
		return nil, nil, fmt.Errorf("%w: unknown channel %q", herald.ErrInvalidInput, m.Channel)
	}
	if !m.Urgency.Valid() {
		return nil, nil, fmt.Errorf("%w: unknown urgency %q", herald.ErrInvalidInput, m.Urgency)
	}
	if m.TTL < 0 {
		return nil, nil, fmt.Errorf("%w: negative TTL", herald.ErrInvalidInput)
	}
	if err := checkContent(m); err != nil {
		return nil, nil, err
	}
	org, err := d.organization(ctx, m.OrgID)
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := d.resolveVendor(org, m.Vendor, m.Channel); err != nil {
		return nil, nil, err
	}
	to, err := contacts.NormalizeAddress(m.Channel, m.To, d.region(org))
	if err != nil {
		return nil, nil, fmt.Errorf("message To: %w", err)
	}
	m.CopyTo(dst)
	msg := dst
	msg.To = to
	if msg.From != "" && m.Channel.IsPhone() {
		if msg.From, err = contacts.NormalizeAddress(m.Channel, m.From, d.region(org)); err != nil {
			return nil, nil, fmt.Errorf("message From: %w", err)
		}
	}
	if msg.ID == "" {
		msg.ID = d.newID()
	}
	if msg.IdempotencyKey == "" {
		msg.IdempotencyKey = msg.ID
	}
	now := d.clock.Now()
	msg.Status = herald.StatusQueued
	if msg.SendAt.After(now) {
		msg.Status = herald.StatusScheduled
	}
	msg.VendorMessageID, msg.ErrorCode, msg.Reason, msg.Attempts = "", "", "", 0
	msg.LeaseOwner, msg.LeaseUntil, msg.SentAt = "", time.Time{}, time.Time{}
	msg.CreatedAt, msg.UpdatedAt = now, now
	return msg, org, nil
}

func checkContent(m *herald.Message) error {
	switch {
	case m.Channel == herald.ChannelEmail:
		if strings.TrimSpace(m.Subject) == "" {
			return fmt.Errorf("%w: email has no subject", herald.ErrInvalidInput)
		}
		if strings.TrimSpace(m.Body) == "" && strings.TrimSpace(m.HTML) == "" {
			return fmt.Errorf("%w: email has no body", herald.ErrInvalidInput)
		}
	case m.Channel.IsPush():
		if strings.TrimSpace(m.Body) == "" && strings.TrimSpace(m.Subject) == "" && len(m.Data) == 0 {
			return fmt.Errorf("%w: push message has no body, title or data", herald.ErrInvalidInput)
		}
	default:
		if strings.TrimSpace(m.Body) == "" && len(m.Media) == 0 {
			return fmt.Errorf("%w: message body is empty", herald.ErrInvalidInput)
		}
	}
	if !m.SendBefore.IsZero() && !m.SendAt.IsZero() && !m.SendBefore.After(m.SendAt) {
		return fmt.Errorf("%w: SendBefore is not after SendAt", herald.ErrInvalidInput)
	}
	return nil
}

// attempt is a message on its way to its vendor call: what steps 3 to 5
// decided for it and, once it is held by this worker in sending, its
// request. It is one allocation for everything a send needs until its
// outcome is recorded.
type attempt struct {
	result Result // res points here
	res    *Result

	// Set by decide when the message is to be sent.
	vendor   herald.Vendor
	name     string
	route    herald.Route
	contact  *herald.Contact
	campaign *herald.Campaign

	// Set by decide when the message ends before its call: the final
	// status, the reason and source of the event, and the error the
	// caller gets (nil for a canceled message); or until, when a manager
	// deferred it; or release, when reading the store failed (err).
	status  herald.Status
	reason  string
	source  herald.EventSource
	until   time.Time
	release bool
	err     error

	req    herald.SendRequest
	device herald.Device        // req.Device of a push message
	update herald.MessageUpdate // the attempt's status changes; stores do not keep it
	lease  herald.Lease
	now    time.Time

	msg herald.Message // Send's copy of the caller's message
}

func newAttempt(msg *herald.Message) *attempt {
	a := &attempt{}
	a.init(msg)
	return a
}

// init points a's result at msg.
func (a *attempt) init(msg *herald.Message) {
	a.result.Message = msg
	a.res = &a.result
}

// process takes a stored message this worker holds the lease on through
// steps 3 to 7 of the pipeline.
func (d *Dispatcher) process(ctx context.Context, msg *herald.Message, org *herald.Organization) (*Result, error) {
	a, res, err := d.prepareAttempt(ctx, newAttempt(msg), org)
	if a == nil {
		return res, err
	}
	sr, sendErr := d.call(ctx, a)
	return d.finishAttempt(ctx, a, sr, sendErr)
}

// prepareAttempt runs steps 3 to 6 for a stored message this worker holds:
// opt-outs, hooks, vendor, the move to sending. It returns the attempt, or
// (nil, result, error) when the message ends before its call.
func (d *Dispatcher) prepareAttempt(ctx context.Context, a *attempt, org *herald.Organization) (*attempt, *Result, error) {
	msg := a.result.Message
	res := a.res
	var err error
	if org == nil {
		if org, err = d.organization(ctx, msg.OrgID); err != nil {
			return nil, res, err
		}
	}
	managers, merr := d.managersFor(org)
	if !d.decide(ctx, a, org, managers, merr, d.clock.Now()) {
		r, err := d.end(ctx, a)
		return nil, r, err
	}

	// 6. sending, then the rate limits and the call (call and SendBatch
	// wait for the limits right before the vendor call, so that the time
	// a store write takes cannot bunch the calls the limiter spaced).
	attempts := msg.Attempts + 1
	now := d.clock.Now()
	expect := pendingStatuses
	if msg.Status == herald.StatusSending {
		expect = sendingStatus // a recovered send
	}
	a.lease = herald.Lease{Owner: d.cfg.WorkerID, Until: now.Add(d.cfg.LeaseDuration)}
	a.update = herald.MessageUpdate{
		OrgID: msg.OrgID, ID: msg.ID, Status: herald.StatusSending,
		ExpectStatus: expect, ExpectLeaseOwner: d.cfg.WorkerID,
		Event:  herald.StatusEvent{At: now, Source: herald.SourceDispatcher, Reason: attemptReason(attempts)},
		Vendor: &a.name, From: &a.route.From, MessagingServiceID: &a.route.MessagingServiceID,
		Attempts: &attempts,
		Lease:    &a.lease,
	}
	sending, err := d.store.UpdateMessage(ctx, &a.update)
	if err != nil {
		return nil, res, fmt.Errorf("dispatch: moving message to sending: %w", err)
	}
	res.Message = sending
	d.ready(a, sending, org)
	return a, nil, nil
}

// ready builds the vendor request of an attempt whose message is held in
// sending.
func (d *Dispatcher) ready(a *attempt, sending *herald.Message, org *herald.Organization) {
	a.req = herald.SendRequest{
		Message: sending, Contact: a.contact, Organization: org, Campaign: a.campaign, Route: &a.route,
		StatusCallbackURL: d.callbackURL(sending.OrgID, a.name),
	}
	if sending.Channel.IsPush() {
		a.device = deviceFor(a.contact, sending)
		a.req.Device = &a.device
	}
}

// decide runs steps 3 to 5 for the attempt's message: the send window,
// opt-outs, the campaign, the contact, the send hooks and the vendor. It
// reports whether the message is to be sent (a's vendor, name, route,
// contact and campaign are set) or ends before its call (a's status,
// reason, source and err; until or release). managers and merr are what
// managersFor answered for org. It changes nothing in the store: hooks
// may, and do when the message is stored.
func (d *Dispatcher) decide(ctx context.Context, a *attempt, org *herald.Organization, managers *managerList, merr error, now time.Time) bool {
	msg := a.result.Message
	end := func(status herald.Status, reason string, src herald.EventSource, err error) bool {
		a.status, a.reason, a.source, a.err = status, reason, src, err
		return false
	}
	giveBack := func(err error) bool {
		a.release, a.err = true, err
		return false
	}
	if !msg.SendBefore.IsZero() && !now.Before(msg.SendBefore) {
		return end(herald.StatusCanceled, "send window closed before the message could be sent", herald.SourceDispatcher, nil)
	}

	// 3. opt-outs.
	if o, err := d.store.FindOptOut(ctx, msg.OrgID, msg.Channel, msg.To); err == nil {
		reason := "recipient opted out"
		if o.Reason != "" {
			reason += " (" + o.Reason + ")"
		}
		return end(herald.StatusBlocked, reason, herald.SourceDispatcher, fmt.Errorf("%w: %s", herald.ErrBlocked, reason))
	} else if !errors.Is(err, herald.ErrNotFound) {
		return giveBack(fmt.Errorf("dispatch: checking opt-outs: %w", err))
	}

	// 4. context and send hooks.
	var err error
	if msg.CampaignID != "" {
		if a.campaign, err = d.store.GetCampaign(ctx, msg.OrgID, msg.CampaignID); err != nil {
			return giveBack(fmt.Errorf("dispatch: loading campaign %s: %w", msg.CampaignID, err))
		}
		if a.campaign.State == herald.CampaignArchived {
			return end(herald.StatusBlocked, "campaign is archived", herald.SourceDispatcher,
				fmt.Errorf("%w: campaign %s is archived", herald.ErrBlocked, a.campaign.ID))
		}
	}
	if msg.ContactID != "" {
		a.contact, err = d.store.GetContact(ctx, msg.OrgID, msg.ContactID)
		if err != nil && !errors.Is(err, herald.ErrNotFound) {
			return giveBack(fmt.Errorf("dispatch: loading contact: %w", err))
		}
	}
	if merr != nil {
		return end(herald.StatusFailed, merr.Error(), herald.SourceDispatcher, merr)
	}
	a.route = herald.Route{Vendor: msg.Vendor, From: msg.From, MessagingServiceID: msg.MessagingServiceID}
	route := &a.route
	if len(managers.send) > 0 {
		vendor, _, _ := d.resolveVendor(org, route.Vendor, msg.Channel)
		routed := route.Vendor
		ev := &herald.MessageSendEvent{Message: msg, Contact: a.contact, Organization: org, Campaign: a.campaign, Route: route, Attempt: msg.Attempts + 1}
		err := runChain(managers.send, "OnMessageSend", func(m *manager) error {
			if route.Vendor != routed { // an earlier hook rerouted: later ones see the new vendor
				routed = route.Vendor
				vendor, _, _ = d.resolveVendor(org, routed, msg.Channel)
			}
			ev.Env = d.env(m, msg.OrgID, vendor)
			return m.send.OnMessageSend(ctx, ev)
		})
		if err != nil {
			var deferred *herald.DeferError
			if errors.As(err, &deferred) {
				a.until, a.reason = deferred.Until, err.Error()
				return false
			}
			if errors.Is(err, herald.ErrBlocked) {
				return end(herald.StatusBlocked, err.Error(), herald.SourceManager, err)
			}
			return end(herald.StatusFailed, err.Error(), herald.SourceManager, err)
		}
	}

	// 5. the vendor.
	vendor, vendorName, err := d.resolveVendor(org, route.Vendor, msg.Channel)
	if err != nil {
		return end(herald.StatusFailed, err.Error(), herald.SourceDispatcher, err)
	}
	a.vendor, a.name = vendor, vendorName
	return true
}

// end records what decide decided for a stored message that is not sent:
// its final status, a deferral, or the lease given back.
func (d *Dispatcher) end(ctx context.Context, a *attempt) (*Result, error) {
	switch {
	case a.release:
		return d.release(ctx, a.res, a.err)
	case !a.until.IsZero():
		return d.deferMessage(ctx, a.res, a.until, a.reason)
	}
	r, err := d.finish(ctx, a.res, a.status, "", a.reason, a.source)
	if a.err != nil {
		return r, a.err
	}
	return r, err
}

// finishAttempt records the outcome of an attempt's vendor call (step 7).
// The outcome is recorded even when ctx has ended: the vendor call
// happened, and the message must not stay in sending.
func (d *Dispatcher) finishAttempt(ctx context.Context, a *attempt, sr *herald.SendResult, sendErr error) (*Result, error) {
	if ctx.Done() != nil { // a context that cannot end needs no wrapping
		ctx = context.WithoutCancel(ctx)
	}
	a.res.Attempted = true
	if sendErr == nil && (sr == nil || sr.VendorMessageID == "") {
		sendErr = &herald.VendorError{Vendor: a.name, Class: herald.ClassMaybeDelivered, Message: "vendor returned no message ID"}
	}
	if sendErr == nil {
		return d.recordSent(ctx, a, sr)
	}
	return d.recordFailure(ctx, a.res, a.contact, sendErr)
}

// recordSent records an accepted send, then applies reports that arrived
// before it.
func (d *Dispatcher) recordSent(ctx context.Context, a *attempt, sr *herald.SendResult) (*Result, error) {
	res := a.res
	msg := res.Message
	status := sr.Status
	if status != herald.StatusDelivered {
		status = herald.StatusSent
	}
	a.now = d.clock.Now()
	a.update = herald.MessageUpdate{
		OrgID: msg.OrgID, ID: msg.ID, Status: status,
		ExpectStatus: sendingStatus, ExpectLeaseOwner: d.cfg.WorkerID,
		Event:           herald.StatusEvent{At: a.now, Source: herald.SourceVendor},
		VendorMessageID: &sr.VendorMessageID, SentAt: &a.now, Lease: noLease,
		// msg is the dispatcher's own copy (a store's answer, or Send's
		// copy the store copied): it is brought up to date here rather
		// than copied again. Nothing else changes a message while its
		// lease is held.
		Discard: true,
	}
	u := &a.update
	if sr.From != "" {
		u.From = &sr.From
	}
	if sr.MessagingServiceID != "" {
		u.MessagingServiceID = &sr.MessagingServiceID
	}
	updated, err := d.store.UpdateMessage(ctx, u)
	if err != nil {
		return res, fmt.Errorf("dispatch: recording sent message %s: %w", msg.ID, err)
	}
	if updated == nil {
		u.Apply(msg, a.now)
		updated = msg
	}
	res.Message = updated
	pending, err := d.store.TakePendingReports(ctx, msg.OrgID, updated.Vendor, sr.VendorMessageID)
	if err != nil {
		d.logger.Warn("taking pending reports", "message", msg.ID, "err", err)
		return res, nil
	}
	for _, r := range pending {
		if err := d.applyReport(ctx, r, updated); err != nil && !onlyHookErrors(err) {
			d.logger.Warn("applying pending report", "message", msg.ID, "err", err)
		}
	}
	if len(pending) > 0 {
		if m, err := d.store.GetMessage(ctx, msg.OrgID, msg.ID); err == nil {
			res.Message = m
		}
	}
	return res, nil
}

// recordFailure acts on a vendor error by its class.
func (d *Dispatcher) recordFailure(ctx context.Context, res *Result, contact *herald.Contact, sendErr error) (*Result, error) {
	msg := res.Message
	class := herald.ClassOf(sendErr)
	code := herald.CodeOf(sendErr)
	md := d.vendorMeta[msg.Vendor]
	retryable := class.Retryable() || (class == herald.ClassMaybeDelivered && md.IdempotentSend)
	uncalled := errors.Is(sendErr, errRateWait)
	if retryable && (msg.Attempts < d.cfg.Retry.MaxAttempts || uncalled) {
		delay := d.backoff(max(msg.Attempts, 1), herald.RetryAfterOf(sendErr))
		next := d.clock.Now().Add(delay)
		u := &herald.MessageUpdate{
			OrgID: msg.OrgID, ID: msg.ID, Status: herald.StatusScheduled,
			ExpectStatus: sendingStatus, ExpectLeaseOwner: d.cfg.WorkerID,
			Event:     herald.StatusEvent{At: d.clock.Now(), Source: herald.SourceVendor, VendorCode: code, Reason: "retry after " + string(class) + " error: " + sendErr.Error()},
			ErrorCode: &code, SendAt: &next, Lease: noLease,
		}
		if uncalled {
			// The vendor was not called: this attempt does not count.
			attempts := max(msg.Attempts-1, 0)
			u.Attempts = &attempts
			u.Event.Source = herald.SourceDispatcher
		}
		updated, err := d.store.UpdateMessage(ctx, u)
		if err != nil {
			return res, errors.Join(sendErr, fmt.Errorf("dispatch: scheduling retry: %w", err))
		}
		res.Message, res.NextAttempt = updated, next
		return res, sendErr
	}
	status := herald.StatusFailed
	switch class {
	case herald.ClassOptedOut:
		status = herald.StatusBlocked
		o := &herald.OptOut{OrgID: msg.OrgID, Address: msg.To, Channel: herald.OptOutScope(msg.Channel),
			Reason: code, Source: "vendor", CampaignID: msg.CampaignID, ContactID: msg.ContactID, At: d.clock.Now()}
		if err := d.recordOptOut(ctx, o, contact); err != nil && !onlyHookErrors(err) {
			d.logger.Warn("recording vendor opt-out", "message", msg.ID, "err", err)
		}
	case herald.ClassGone:
		d.removeGoneDevice(ctx, msg, contact)
	case herald.ClassMaybeDelivered:
		status = herald.StatusUnknown
	}
	r, err := d.finish(ctx, res, status, code, sendErr.Error(), herald.SourceVendor)
	if err != nil {
		return r, errors.Join(sendErr, err)
	}
	return r, sendErr
}

// finish moves a message this worker holds to a final status.
func (d *Dispatcher) finish(ctx context.Context, res *Result, status herald.Status, code, reason string, src herald.EventSource) (*Result, error) {
	msg := res.Message
	u := &herald.MessageUpdate{
		OrgID: msg.OrgID, ID: msg.ID, Status: status,
		ExpectStatus:     unsentStatuses,
		ExpectLeaseOwner: d.cfg.WorkerID,
		Event:            herald.StatusEvent{At: d.clock.Now(), Source: src, VendorCode: code, Reason: reason},
		Reason:           &reason, Lease: noLease,
	}
	if code != "" {
		u.ErrorCode = &code
	}
	updated, err := d.store.UpdateMessage(ctx, u)
	if err != nil {
		return res, fmt.Errorf("dispatch: recording %s for message %s: %w", status, msg.ID, err)
	}
	res.Message = updated
	return res, nil
}

// deferMessage holds a message this worker has until a manager's time: it
// goes back to scheduled (no attempt counted) and Run sends it then. A
// message that must be sent before then is canceled.
func (d *Dispatcher) deferMessage(ctx context.Context, res *Result, until time.Time, reason string) (*Result, error) {
	msg := res.Message
	if !msg.SendBefore.IsZero() && !until.Before(msg.SendBefore) {
		return d.finish(ctx, res, herald.StatusCanceled, "", reason+"; past the message's SendBefore", herald.SourceManager)
	}
	updated, err := d.store.UpdateMessage(ctx, &herald.MessageUpdate{
		OrgID: msg.OrgID, ID: msg.ID, Status: herald.StatusScheduled,
		ExpectStatus: unsentStatuses, ExpectLeaseOwner: d.cfg.WorkerID,
		Event:  herald.StatusEvent{At: d.clock.Now(), Source: herald.SourceManager, Reason: reason},
		Reason: &reason, SendAt: &until, Lease: noLease,
	})
	if err != nil {
		return res, fmt.Errorf("dispatch: deferring message %s: %w", msg.ID, err)
	}
	res.Message, res.NextAttempt = updated, until
	return res, nil
}

// release gives up the lease after an infrastructure error so that another
// attempt can take the message at once.
func (d *Dispatcher) release(ctx context.Context, res *Result, err error) (*Result, error) {
	if rerr := d.store.ReleaseLease(context.WithoutCancel(ctx), res.Message.OrgID, res.Message.ID, d.cfg.WorkerID); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return res, err
}

// backoff is the wait before the attempt after attempt n.
func (d *Dispatcher) backoff(n int, retryAfter time.Duration) time.Duration {
	p := d.cfg.Retry
	b := float64(p.InitialBackoff)
	for i := 1; i < n; i++ {
		b *= p.Multiplier
		if b >= float64(p.MaxBackoff) {
			break
		}
	}
	if b > float64(p.MaxBackoff) {
		b = float64(p.MaxBackoff)
	}
	if p.Jitter > 0 {
		b *= 1 + p.Jitter*(2*rand.Float64()-1)
	}
	delay := time.Duration(b)
	if retryAfter > delay {
		delay = retryAfter
	}
	return delay
}

// deviceFor finds the contact's device for a push message, or describes
// the address alone.
func deviceFor(c *herald.Contact, m *herald.Message) herald.Device {
	if c != nil {
		for i := range c.Devices {
			if c.Devices[i].Token == m.To && c.Devices[i].Channel == m.Channel {
				return c.Devices[i]
			}
		}
	}
	return herald.Device{Channel: m.Channel, Token: m.To}
}

func (d *Dispatcher) callbackURL(orgID, vendor string) string {
	if d.cfg.PublicBaseURL == "" {
		return ""
	}
	return strings.TrimRight(d.cfg.PublicBaseURL, "/") + "/" + orgID + "/" + vendor + "/status"
}

// Expected statuses for the pipeline's compare-and-sets; shared, never
// modified.
var (
	pendingStatuses = []herald.Status{herald.StatusQueued, herald.StatusScheduled}
	sendingStatus   = []herald.Status{herald.StatusSending}
	unsentStatuses  = []herald.Status{herald.StatusQueued, herald.StatusScheduled, herald.StatusSending}
)

var attemptReasons = func() (r [10]string) {
	for i := range r {
		r[i] = "attempt " + strconv.Itoa(i+1)
	}
	return r
}()

// attemptReason is the sending event's reason, without allocating for the
// first ten attempts.
func attemptReason(n int) string {
	if n >= 1 && n <= len(attemptReasons) {
		return attemptReasons[n-1]
	}
	return "attempt " + strconv.Itoa(n)
}

// removeGoneDevice removes the push device a vendor answered gone for
// (msg.To, its token): from the message's contact, else (a message sent
// without one, or a device that changed hands since) from the contact of
// the organization that has the token now.
func (d *Dispatcher) removeGoneDevice(ctx context.Context, msg *herald.Message, contact *herald.Contact) {
	if !msg.Channel.IsPush() {
		return
	}
	err := herald.ErrNotFound
	if contact != nil {
		err = d.store.RemoveDevice(ctx, msg.OrgID, contact.ID, msg.To)
	}
	if errors.Is(err, herald.ErrNotFound) {
		var holder *herald.Contact
		if holder, err = d.store.FindContactByAddress(ctx, msg.OrgID, msg.To); err == nil {
			err = d.store.RemoveDevice(ctx, msg.OrgID, holder.ID, msg.To)
		}
	}
	if err != nil && !errors.Is(err, herald.ErrNotFound) {
		d.logger.Warn("removing gone device", "message", msg.ID, "err", err)
	}
}
