package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// Sink takes the fake's delivery reports and inbound messages. The
// dispatcher implements exactly these two methods; a test may implement
// them to collect events.
type Sink interface {
	HandleReport(ctx context.Context, r *herald.DeliveryReport) error
	HandleInbound(ctx context.Context, m *herald.InboundMessage) error
}

// Connect makes s the receiver of every later delivery (including those
// already waiting for ReportDelay). Connect(nil) disconnects: events then go
// to the status callback URL, if any.
func (v *Vendor) Connect(s Sink) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sink = s
}

// delivery is the asynchronous aftermath of one accepted send.
type delivery struct {
	org         *herald.Organization
	callbackURL string
	report      *herald.DeliveryReport
	reply       *herald.InboundMessage
}

// startLocked runs d in the background after the report delay; v.mu must
// be held. The send's context values are kept, its cancellation is not:
// the send has returned by the time the report goes out.
func (v *Vendor) startLocked(ctx context.Context, d *delivery) {
	v.pending++
	ctx = context.WithoutCancel(ctx)
	go v.run(ctx, d)
}

func (v *Vendor) run(ctx context.Context, d *delivery) {
	defer v.finished()
	if v.delay > 0 {
		t := time.NewTimer(v.delay)
		<-t.C
	}
	if d.report != nil {
		r := *d.report
		v.mu.Lock()
		r.At = v.clock.Now()
		v.reports = append(v.reports, cloneReport(r))
		v.mu.Unlock()
		v.deliverAsync(ctx, d, &r, nil)
	}
	if d.reply != nil {
		m := *d.reply
		v.mu.Lock()
		m.ReceivedAt = v.clock.Now()
		v.inbound = append(v.inbound, cloneInbound(m))
		v.mu.Unlock()
		v.deliverAsync(ctx, d, nil, &m)
	}
}

// ErrNoDestination is returned by Report and Inbound when no sink is
// connected and the organization has no status callback URL. The fake's
// own asynchronous events are then only recorded, which is not an error.
var ErrNoDestination = errors.New("fake: no sink connected and no status callback URL")

// deliverAsync delivers one event of a background delivery and keeps its
// error.
func (v *Vendor) deliverAsync(ctx context.Context, d *delivery, r *herald.DeliveryReport, m *herald.InboundMessage) {
	err := v.deliver(ctx, d.org, d.callbackURL, r, m)
	switch {
	case errors.Is(err, ErrNoDestination):
		v.log.Debug("fake: no sink and no callback URL; event only recorded", "vendor", v.name)
	case err != nil:
		v.recordDeliveryError(err)
	}
}

func (v *Vendor) finished() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pending--
	if v.pending == 0 {
		v.idle.Broadcast()
	}
}

// Wait blocks until every asynchronous delivery started so far has
// finished, and any that those started in turn (a sink that sends again).
func (v *Vendor) Wait() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for v.pending > 0 {
		v.idle.Wait()
	}
}

func (v *Vendor) recordDeliveryError(err error) {
	v.log.Warn("fake: delivery failed", "vendor", v.name, "error", err)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.delivErrs = append(v.delivErrs, err)
}

// Report delivers r through the same path as the fake's own reports (the
// connected sink, else the organization's last status callback URL),
// synchronously, and returns the delivery's error (ErrNoDestination when
// there is neither). Empty Vendor, EventID
// and At are filled in. It is for tests that need a report the fake would
// not produce on its own (sent, engagement, stale, duplicate).
func (v *Vendor) Report(ctx context.Context, r *herald.DeliveryReport) error {
	if r == nil {
		return fmt.Errorf("fake: nil report: %w", herald.ErrInvalidInput)
	}
	c := cloneReport(*r)
	v.mu.Lock()
	if c.Vendor == "" {
		c.Vendor = v.name
	}
	if c.EventID == "" {
		c.EventID = v.nextIDLocked("EV")
	}
	if c.At.IsZero() {
		c.At = v.clock.Now()
	}
	v.reports = append(v.reports, cloneReport(c))
	org, cb := v.seenLocked(c.OrgID)
	v.mu.Unlock()
	return v.deliver(ctx, org, cb, &c, nil)
}

// Inbound delivers m as Report delivers a report: to the sink, else over
// HTTP to the organization's inbound URL. Empty Vendor, EventID, Channel
// (sms) and ReceivedAt are filled in.
func (v *Vendor) Inbound(ctx context.Context, m *herald.InboundMessage) error {
	if m == nil {
		return fmt.Errorf("fake: nil inbound message: %w", herald.ErrInvalidInput)
	}
	c := cloneInbound(*m)
	v.mu.Lock()
	if c.Vendor == "" {
		c.Vendor = v.name
	}
	if c.EventID == "" {
		c.EventID = v.nextIDLocked("IN")
	}
	if c.Channel == "" {
		c.Channel = herald.ChannelSMS
	}
	if c.ReceivedAt.IsZero() {
		c.ReceivedAt = v.clock.Now()
	}
	v.inbound = append(v.inbound, cloneInbound(c))
	org, cb := v.seenLocked(c.OrgID)
	v.mu.Unlock()
	return v.deliver(ctx, org, cb, nil, &c)
}

// seenLocked returns what the fake remembers of an organization; v.mu must
// be held.
func (v *Vendor) seenLocked(orgID string) (*herald.Organization, string) {
	s := v.orgs[orgID]
	if s == nil {
		return nil, ""
	}
	return s.org.Clone(), s.callbackURL
}

// deliver hands one event (r or m) to the sink, or posts it to the
// callback URL. With neither, the event is only recorded.
func (v *Vendor) deliver(ctx context.Context, org *herald.Organization, callbackURL string, r *herald.DeliveryReport, m *herald.InboundMessage) error {
	v.mu.Lock()
	sink := v.sink
	v.mu.Unlock()
	if sink != nil {
		if r != nil {
			if err := sink.HandleReport(ctx, r); err != nil {
				return fmt.Errorf("fake: report %s for %s: %w", r.EventID, r.VendorMessageID, err)
			}
			return nil
		}
		if err := sink.HandleInbound(ctx, m); err != nil {
			return fmt.Errorf("fake: inbound %s: %w", m.EventID, err)
		}
		return nil
	}
	if callbackURL == "" {
		return ErrNoDestination
	}
	var (
		body   []byte
		err    error
		target = callbackURL
		what   string
	)
	if r != nil {
		body, err = EncodeWebhook([]herald.DeliveryReport{*r}, nil)
		what = "report " + r.EventID
	} else {
		body, err = EncodeWebhook(nil, []herald.InboundMessage{*m})
		target = InboundURL(callbackURL)
		what = "inbound " + m.EventID
	}
	if err != nil {
		return fmt.Errorf("fake: %s: %w", what, err)
	}
	if err := v.post(ctx, target, v.secretFor(org), body); err != nil {
		return fmt.Errorf("fake: %s: %w", what, err)
	}
	return nil
}

// post sends a signed webhook body.
func (v *Vendor) post(ctx context.Context, target, secret string, body []byte) error {
	if secret == "" {
		return errNoSecret
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(secret, body))
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// InboundURL returns where the fake posts inbound messages for a status
// callback URL: the last path element "status" replaced by "inbound"; the
// URL itself when its last element is something else or it does not parse.
func InboundURL(statusURL string) string {
	u, err := url.Parse(statusURL)
	if err != nil {
		return statusURL
	}
	if strings.HasSuffix(u.Path, "/status") || u.Path == "status" {
		u.Path = strings.TrimSuffix(u.Path, "status") + "inbound"
		u.RawPath = ""
		return u.String()
	}
	return statusURL
}

// secretFor returns the organization's webhook secret, else the fake's.
func (v *Vendor) secretFor(org *herald.Organization) string {
	if s := v.orgConfig(org)["secret"]; s != "" {
		return s
	}
	return v.secret
}

func cloneReport(r herald.DeliveryReport) herald.DeliveryReport {
	r.Raw = maps.Clone(r.Raw)
	return r
}

func cloneInbound(m herald.InboundMessage) herald.InboundMessage {
	m.Media = slices.Clone(m.Media)
	m.Raw = maps.Clone(m.Raw)
	return m
}
