package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// HandleReport records a vendor's delivery report: deduplicated by EventID,
// matched to its message by (OrgID, Vendor, VendorMessageID), applied
// forward only, then handed to the delivery-report hooks of the
// organization's enabled managers. A report for a message whose send has
// not recorded its vendor message ID yet is parked and applied when it has;
// if it opts its address out (To, for a vendor of one channel scope), the
// opt-out is recorded at once, since the message may never match. A
// report that would move the message backwards is recorded as an event
// and changes nothing.
//
// The error is nil for duplicates, parked and stale reports; hook failures
// are returned as joined *HookError values after the report was recorded.
// Any other error means the report was not (wholly) recorded: its EventID
// is forgotten, so the vendor's retry of it is applied, not dropped as a
// duplicate.
func (d *Dispatcher) HandleReport(ctx context.Context, r *herald.DeliveryReport) (err error) {
	if err := checkReport(r); err != nil {
		return err
	}
	if _, ok := d.vendors[r.Vendor]; !ok {
		return fmt.Errorf("%w: report from unknown vendor %q", herald.ErrInvalidInput, r.Vendor)
	}
	if r.At.IsZero() {
		c := *r
		c.At = d.clock.Now()
		r = &c
	}
	if r.EventID != "" {
		key := "report:" + r.EventID
		fresh, merr := d.store.MarkEventSeen(ctx, r.OrgID, r.Vendor, key, d.clock.Now())
		if merr != nil {
			return fmt.Errorf("dispatch: deduplicating report: %w", merr)
		}
		if !fresh {
			d.logger.Debug("duplicate report", "vendor", r.Vendor, "event", r.EventID)
			return nil
		}
		defer func() { d.forgetUnrecorded(ctx, r.OrgID, r.Vendor, key, err) }()
	}
	msg, err := d.store.FindMessageByVendorID(ctx, r.OrgID, r.Vendor, r.VendorMessageID)
	if errors.Is(err, herald.ErrNotFound) {
		if err := d.store.SavePendingReport(ctx, r); err != nil {
			return fmt.Errorf("dispatch: parking report: %w", err)
		}
		hookErr := d.optOutUnmatched(ctx, r)
		if !onlyHookErrors(hookErr) {
			return hookErr
		}
		// The send may have recorded its ID meanwhile: look once more so
		// the report is not parked forever.
		msg, err = d.store.FindMessageByVendorID(ctx, r.OrgID, r.Vendor, r.VendorMessageID)
		if err != nil {
			return hookErr
		}
		pending, err := d.store.TakePendingReports(ctx, r.OrgID, r.Vendor, r.VendorMessageID)
		if err != nil {
			return fmt.Errorf("dispatch: taking parked reports: %w", err)
		}
		errs := []error{hookErr}
		for _, p := range pending {
			errs = append(errs, d.applyReport(ctx, p, msg))
		}
		return errors.Join(errs...)
	}
	if err != nil {
		return fmt.Errorf("dispatch: finding message for report: %w", err)
	}
	return d.applyReport(ctx, r, msg)
}

// optOutUnmatched records the opt-out a report carries (an unsubscribe, a
// spam report) whose message is not found, without waiting for a message
// that may never match (mail herald did not send, a send whose vendor ID
// was lost): the address the vendor names (r.To) is opted out in the
// scope of the vendor's channels, when they share one. The parked report,
// if its message shows up, changes nothing more: a repeated opt-out keeps
// the first record. Hook failures are returned as *HookError values.
func (d *Dispatcher) optOutUnmatched(ctx context.Context, r *herald.DeliveryReport) error {
	if !r.OptedOut || r.To == "" {
		return nil
	}
	var scope herald.Channel
	for _, ch := range d.vendors[r.Vendor].Metadata().Channels {
		switch s := herald.OptOutScope(ch); {
		case scope == "":
			scope = s
		case s != scope:
			return nil // which channel the address is on is unknown
		}
	}
	if scope == "" {
		return nil
	}
	org, err := d.organization(ctx, r.OrgID)
	if err != nil {
		return err
	}
	addr, err := contacts.NormalizeAddress(scope, r.To, d.region(org))
	if err != nil {
		d.logger.Warn("opt-out report for an unknown message names a bad address", "vendor", r.Vendor, "err", err)
		return nil
	}
	reason := r.ErrorCode
	if reason == "" {
		reason = "vendor report"
	}
	o := &herald.OptOut{OrgID: r.OrgID, Address: addr, Channel: scope, Reason: reason, Source: "vendor", At: r.At}
	var contact *herald.Contact
	if c, err := d.store.FindContactByAddress(ctx, r.OrgID, addr); err == nil {
		contact, o.ContactID, o.CampaignID = c, c.ID, c.CampaignID
	}
	return d.recordOptOut(ctx, o, contact)
}

// forgetUnrecorded forgets the mark of a webhook event whose handling
// failed with err (other than hook failures, which come after the event
// was recorded), so the vendor's retry of it is handled instead of being
// dropped as a duplicate. It runs even when ctx has ended.
func (d *Dispatcher) forgetUnrecorded(ctx context.Context, orgID, vendor, key string, err error) {
	if onlyHookErrors(err) {
		return
	}
	if ferr := d.store.ForgetEvent(context.WithoutCancel(ctx), orgID, vendor, key); ferr != nil {
		d.logger.Error("webhook: forgetting an unrecorded event failed; the vendor's retry of it will be dropped",
			"vendor", vendor, "event", key, "err", ferr)
	}
}

func checkReport(r *herald.DeliveryReport) error {
	switch {
	case r == nil:
		return fmt.Errorf("%w: report is nil", herald.ErrInvalidInput)
	case r.OrgID == "" || r.Vendor == "" || r.VendorMessageID == "":
		return fmt.Errorf("%w: report needs OrgID, Vendor and VendorMessageID", herald.ErrInvalidInput)
	case r.Engagement == "" && r.Status != herald.StatusSent && r.Status != herald.StatusDelivered && r.Status != herald.StatusFailed:
		return fmt.Errorf("%w: report status %q is not sent, delivered or failed", herald.ErrInvalidInput, r.Status)
	}
	return nil
}

// applyReport records one report against its message and runs the hooks.
func (d *Dispatcher) applyReport(ctx context.Context, r *herald.DeliveryReport, msg *herald.Message) error {
	applied := false
	if r.Engagement != "" {
		err := d.store.AddMessageEvent(ctx, herald.StatusEvent{
			MessageID: msg.ID, OrgID: msg.OrgID, Status: msg.Status, Engagement: r.Engagement,
			At: r.At, Source: herald.SourceReport, VendorCode: r.ErrorCode,
		})
		if err != nil {
			return fmt.Errorf("dispatch: recording engagement: %w", err)
		}
	} else {
		u := &herald.MessageUpdate{
			OrgID: msg.OrgID, ID: msg.ID, Status: r.Status,
			Event: herald.StatusEvent{At: r.At, Source: herald.SourceReport, VendorCode: r.ErrorCode},
		}
		if r.ErrorCode != "" {
			u.ErrorCode = &r.ErrorCode
			u.Event.Reason = d.describe(r.Vendor, r.ErrorCode)
			u.Reason = &u.Event.Reason
		}
		updated, err := d.store.UpdateMessage(ctx, u)
		switch {
		case err == nil:
			applied = true
			msg = updated
		case errors.Is(err, herald.ErrStaleStatus):
			if updated != nil {
				msg = updated
			}
		default:
			return fmt.Errorf("dispatch: applying report to message %s: %w", msg.ID, err)
		}
	}
	org, err := d.organization(ctx, msg.OrgID)
	if err != nil {
		return err
	}
	managers, err := d.managersFor(org)
	if err != nil {
		return err
	}
	var contact *herald.Contact
	if msg.ContactID != "" {
		if c, err := d.store.GetContact(ctx, msg.OrgID, msg.ContactID); err == nil {
			contact = c
		}
	} else if r.Landline || r.OptedOut || len(managers.report) > 0 {
		// A message sent without a contact: the contact by its address.
		if c, err := d.store.FindContactByAddress(ctx, msg.OrgID, msg.To); err == nil {
			contact = c
		}
	}
	if r.OptedOut {
		reason := r.ErrorCode
		if reason == "" {
			reason = "vendor report"
		}
		o := &herald.OptOut{OrgID: msg.OrgID, Address: msg.To, Channel: herald.OptOutScope(msg.Channel), Reason: reason,
			Source: "vendor", CampaignID: msg.CampaignID, ContactID: msg.ContactID, At: r.At}
		if err := d.recordOptOut(ctx, o, contact); err != nil && !onlyHookErrors(err) {
			return err
		}
	}
	if r.Landline && contact != nil {
		contact.Lookup = &herald.LookupResult{Number: contact.Phone, LineType: "landline",
			StatusCode: herald.LookupLandline, ErrorCode: r.ErrorCode, Vendor: r.Vendor, LookedUpAt: r.At}
		if c, err := d.store.PutContact(ctx, contact); err == nil {
			contact = c
		} else {
			d.logger.Warn("marking landline", "contact", contact.ID, "err", err)
		}
	}
	if len(managers.report) == 0 {
		return nil
	}
	var campaign *herald.Campaign
	if msg.CampaignID != "" {
		campaign, _ = d.store.GetCampaign(ctx, msg.OrgID, msg.CampaignID)
	}
	vendor := d.vendors[r.Vendor]
	ev := &herald.DeliveryReportEvent{Report: r, Message: msg, Contact: contact, Organization: org, Campaign: campaign, Applied: applied}
	return runAll(managers.report, "OnDeliveryReport", func(m *manager) error {
		ev.Env = d.env(m, msg.OrgID, vendor)
		return m.report.OnDeliveryReport(ctx, ev)
	})
}

// describe explains a vendor code through the vendor's ErrorDescriber.
func (d *Dispatcher) describe(vendor, code string) string {
	if v, ok := d.vendors[vendor].(herald.ErrorDescriber); ok {
		if desc := v.DescribeError(code); desc.Description != "" {
			return desc.Description
		}
	}
	return "vendor error " + code
}

// DescribeError explains a vendor's error code; vendors without an
// ErrorDescriber get a generic description.
func (d *Dispatcher) DescribeError(vendor, code string) herald.ErrorDescription {
	if v, ok := d.vendors[vendor].(herald.ErrorDescriber); ok {
		if desc := v.DescribeError(code); desc.Description != "" {
			return desc
		}
	}
	return herald.ErrorDescription{Code: code, Description: "vendor error " + code}
}

// Inbound is an inbound message after the dispatcher recorded it, routed
// to the contact's owner.
type Inbound struct {
	Message *herald.InboundMessage
	// Contact is the contact the reply comes from, when known.
	Contact *herald.Contact
	// Owner is the contact's owner, who should see the reply; empty when
	// the contact has none or is unknown.
	Owner string
	// InReplyTo is the latest message sent to the contact's address, when
	// there is one; its campaign is the conversation.
	InReplyTo *herald.Message
	Campaign  *herald.Campaign
	// Routed is true when Owner came from Config.Router rather than from
	// the contact.
	Routed bool
	// OptedOut / OptedIn are set when the message was an opt-out or
	// opt-in keyword and the dispatcher acted on it.
	OptedOut bool
	OptedIn  bool
}

// HandleInbound records a message a contact sent: deduplicated by
// EventID; a reply-engagement event on the latest message sent to the
// contact; opt-out keywords (STOP, ...) opt the address out and opt-in
// keywords (START, ...) lift it; then Config.OnInbound gets it, routed to
// the contact's owner. As with HandleReport, an error other than hook
// failures forgets the EventID, so the vendor's retry is processed.
func (d *Dispatcher) HandleInbound(ctx context.Context, in *herald.InboundMessage) (err error) {
	if in == nil || in.OrgID == "" || in.From == "" {
		return fmt.Errorf("%w: inbound message needs OrgID and From", herald.ErrInvalidInput)
	}
	ch := in.Channel
	if ch == "" {
		ch = herald.ChannelSMS
	}
	if !ch.Valid() {
		return fmt.Errorf("%w: unknown channel %q", herald.ErrInvalidInput, ch)
	}
	org, err := d.organization(ctx, in.OrgID)
	if err != nil {
		return err
	}
	from, err := contacts.NormalizeAddress(ch, in.From, d.region(org))
	if err != nil {
		return fmt.Errorf("inbound From: %w", err)
	}
	if in.EventID != "" {
		key := "inbound:" + in.EventID
		fresh, merr := d.store.MarkEventSeen(ctx, in.OrgID, in.Vendor, key, d.clock.Now())
		if merr != nil {
			return fmt.Errorf("dispatch: deduplicating inbound: %w", merr)
		}
		if !fresh {
			d.logger.Debug("duplicate inbound", "vendor", in.Vendor, "event", in.EventID)
			return nil
		}
		defer func() { d.forgetUnrecorded(ctx, in.OrgID, in.Vendor, key, err) }()
	}
	c := *in
	c.Channel, c.From = ch, from
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = d.clock.Now()
	}
	out := &Inbound{Message: &c}
	if last, err := d.store.LatestMessageTo(ctx, in.OrgID, from); err == nil {
		out.InReplyTo = last
		if err := d.store.AddMessageEvent(ctx, herald.StatusEvent{MessageID: last.ID, OrgID: last.OrgID,
			Status: last.Status, Engagement: herald.EngagementReplied, At: c.ReceivedAt, Source: herald.SourceReport}); err != nil {
			return fmt.Errorf("dispatch: recording reply: %w", err)
		}
		if last.ContactID != "" {
			if ct, err := d.store.GetContact(ctx, in.OrgID, last.ContactID); err == nil {
				out.Contact = ct
			}
		}
		if last.CampaignID != "" {
			out.Campaign, _ = d.store.GetCampaign(ctx, in.OrgID, last.CampaignID)
		}
	} else if !errors.Is(err, herald.ErrNotFound) {
		return fmt.Errorf("dispatch: routing inbound: %w", err)
	}
	if out.Contact == nil {
		if ct, err := d.store.FindContactByAddress(ctx, in.OrgID, from); err == nil {
			out.Contact = ct
		}
	}
	if out.Contact != nil {
		out.Owner = out.Contact.Owner
	}
	if out.Owner == "" && d.cfg.Router != nil {
		owner, err := d.cfg.Router.Route(ctx, &c)
		switch {
		case err == nil:
			out.Owner, out.Routed = owner, true
		case errors.Is(err, contacts.ErrNoOwner):
		default:
			return fmt.Errorf("dispatch: routing inbound: %w", err)
		}
	}

	var errs []error
	word := keyword(c.Body)
	scope := herald.OptOutScope(ch)
	switch {
	case d.optOutWords[word]:
		o := &herald.OptOut{OrgID: in.OrgID, Address: from, Channel: scope, Reason: strings.ToLower(word), Source: "inbound", At: c.ReceivedAt}
		if out.Contact != nil {
			o.ContactID, o.CampaignID = out.Contact.ID, out.Contact.CampaignID
		}
		if err := d.recordOptOut(ctx, o, out.Contact); err != nil {
			if !onlyHookErrors(err) {
				return err
			}
			errs = append(errs, err)
		}
		out.OptedOut = true
	case d.optInWords[word]:
		if err := d.undoOptOut(ctx, org, scope, from, out.Contact, strings.ToLower(word)); err != nil {
			if !onlyHookErrors(err) {
				return err
			}
			errs = append(errs, err)
		}
		out.OptedIn = true
	}
	if d.cfg.OnInbound != nil {
		if err := d.cfg.OnInbound(ctx, out); err != nil {
			errs = append(errs, fmt.Errorf("dispatch: OnInbound: %w", err))
		}
	}
	return errors.Join(errs...)
}

// keyword returns the message upper-cased when it is a single word with
// surrounding spaces and punctuation removed, else "".
func keyword(body string) string {
	w := strings.TrimFunc(body, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	if w == "" || len(w) > 16 || strings.IndexFunc(w, unicode.IsSpace) >= 0 {
		return ""
	}
	return strings.ToUpper(w)
}

func keywordSet(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[strings.ToUpper(strings.TrimSpace(w))] = true
	}
	return m
}

// OptOut records that an address must receive nothing more from the
// organization on the opt-out's channel scope (sms covers mms; empty
// covers every channel), then runs the opt-out hooks. The address is
// normalised like a message's. Messages to it end blocked.
func (d *Dispatcher) OptOut(ctx context.Context, o *herald.OptOut) error {
	if o == nil || o.OrgID == "" || o.Address == "" {
		return fmt.Errorf("%w: opt-out needs OrgID and Address", herald.ErrInvalidInput)
	}
	if o.Channel != "" && !o.Channel.Valid() {
		return fmt.Errorf("%w: unknown channel %q", herald.ErrInvalidInput, o.Channel)
	}
	org, err := d.organization(ctx, o.OrgID)
	if err != nil {
		return err
	}
	c := *o
	c.Channel = herald.OptOutScope(o.Channel)
	if c.Address, err = normalizeOptOutAddress(c.Channel, c.Address, d.region(org)); err != nil {
		return err
	}
	if c.At.IsZero() {
		c.At = d.clock.Now()
	}
	if c.Source == "" {
		c.Source = "host"
	}
	var contact *herald.Contact
	if c.ContactID != "" {
		contact, _ = d.store.GetContact(ctx, c.OrgID, c.ContactID)
	} else if ct, err := d.store.FindContactByAddress(ctx, c.OrgID, c.Address); err == nil {
		contact = ct
	}
	return d.recordOptOut(ctx, &c, contact)
}

// UndoOptOut lifts the opt-out recorded for the address on the channel's
// scope and runs the opt-out hooks with Undo set. Lifting an opt-out that
// does not exist is not an error.
func (d *Dispatcher) UndoOptOut(ctx context.Context, orgID string, ch herald.Channel, address string) error {
	if ch != "" && !ch.Valid() {
		return fmt.Errorf("%w: unknown channel %q", herald.ErrInvalidInput, ch)
	}
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return err
	}
	scope := herald.OptOutScope(ch)
	addr, err := normalizeOptOutAddress(scope, address, d.region(org))
	if err != nil {
		return err
	}
	contact, _ := d.store.FindContactByAddress(ctx, orgID, addr)
	return d.undoOptOut(ctx, org, scope, addr, contact, "host")
}

func normalizeOptOutAddress(ch herald.Channel, addr, region string) (string, error) {
	if ch == "" {
		// Every channel: normalise what the address looks like.
		if strings.Contains(addr, "@") {
			ch = herald.ChannelEmail
		} else {
			ch = herald.ChannelSMS
		}
	}
	a, err := contacts.NormalizeAddress(ch, addr, region)
	if err != nil {
		return "", fmt.Errorf("opt-out address: %w", err)
	}
	return a, nil
}

// recordOptOut stores an opt-out and, when it is new, runs the hooks.
func (d *Dispatcher) recordOptOut(ctx context.Context, o *herald.OptOut, contact *herald.Contact) error {
	created, err := d.store.PutOptOut(ctx, o)
	if err != nil {
		return fmt.Errorf("dispatch: recording opt-out: %w", err)
	}
	if !created {
		return nil
	}
	org, err := d.organization(ctx, o.OrgID)
	if err != nil {
		return err
	}
	return d.runOptOutHooks(ctx, org, o, contact, false)
}

func (d *Dispatcher) undoOptOut(ctx context.Context, org *herald.Organization, scope herald.Channel, addr string, contact *herald.Contact, reason string) error {
	existed, err := d.store.DeleteOptOut(ctx, org.ID, scope, addr)
	if err != nil {
		return fmt.Errorf("dispatch: lifting opt-out: %w", err)
	}
	if !existed {
		return nil
	}
	o := &herald.OptOut{OrgID: org.ID, Address: addr, Channel: scope, Reason: reason, Source: "undo", At: d.clock.Now()}
	if contact != nil {
		o.ContactID, o.CampaignID = contact.ID, contact.CampaignID
	}
	return d.runOptOutHooks(ctx, org, o, contact, true)
}

func (d *Dispatcher) runOptOutHooks(ctx context.Context, org *herald.Organization, o *herald.OptOut, contact *herald.Contact, undo bool) error {
	managers, err := d.managersFor(org)
	if err != nil {
		return err
	}
	if len(managers.optOut) == 0 {
		return nil
	}
	var campaign *herald.Campaign
	if o.CampaignID != "" {
		campaign, _ = d.store.GetCampaign(ctx, o.OrgID, o.CampaignID)
	}
	ev := &herald.OptOutEvent{OptOut: o, Undo: undo, Contact: contact, Organization: org, Campaign: campaign}
	return runAll(managers.optOut, "OnOptOut", func(m *manager) error {
		ev.Env = d.env(m, o.OrgID, nil)
		return m.optOut.OnOptOut(ctx, ev)
	})
}
