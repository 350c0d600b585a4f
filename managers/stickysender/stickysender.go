// Package stickysender is the sticky-sender service manager (Spoke's
// sticky-sender, registry name "sticky-sender"): a contact keeps hearing
// from the number it was last delivered from, so a conversation stays on
// one thread on the contact's phone.
//
// # What it does
//
//   - OnDeliveryReport learns: on a report with status delivered and no
//     error code, for an sms or mms message with a known sending number
//     (Message.From as the dispatcher recorded it, else DeliveryReport.From), it records that number for
//     (vendor, contact address) in its State, with a compare-and-swap
//     against "absent": an existing sticky number is never overwritten, so
//     concurrent reports cannot flip it.
//   - OnMessageSend reuses: when Route.From is still empty it sets it to
//     the sticky number of (route vendor, Message.To), if one was learnt.
//     It leaves the route alone when Route.From is already set (the host
//     chose), when Route.MessagingServiceID is set (the vendor's sender
//     pool has its own sticky sender, Spoke#2038) and for channels other
//     than sms and mms.
//
// Sticky numbers are kept per vendor: a number learnt at one vendor is not
// used to send through another. The State key is [Key]; hosts that
// migrate Spoke's organization_contact.user_number can seed it with
// [SetStickyNumber], and read it with [StickyNumber].
//
// # Configuration
//
// None: no organization or campaign features. A sticky number stays until
// it is removed with [Forget] (for example when the number is released).
//
// # Cost and order
//
// It spends no money: one State read per SMS/MMS send whose sender is
// still open, one compare-and-swap per delivered report. It must run
// before the number picker: its Metadata declares RunsBefore
// "numpicker-basic", and the dispatcher refuses an enabled list that puts
// the picker first (herald.ErrConfig naming both), since the picker would
// fill Route.From and the sticky number would never be used.
package stickysender

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the hooks sticky-sender implements.
var (
	_ herald.ServiceManager     = (*Manager)(nil)
	_ herald.MessageSendHook    = (*Manager)(nil)
	_ herald.DeliveryReportHook = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists.
const Name = "sticky-sender"

// NumberPickerName is the number picker's name (managers/numpicker.Name),
// which sticky-sender must run before.
const NumberPickerName = "numpicker-basic"

// Options configures sticky-sender. The zero value is the default.
type Options struct {
	// RunsBefore adds manager names sticky-sender must run before, besides
	// NumberPickerName (for example a host's own number picker).
	RunsBefore []string
}

// Manager is the sticky-sender manager. Every sticky number is in its
// State; in memory it keeps only vendors' names. It is safe for concurrent use.
type Manager struct {
	runsBefore []string
	names      vendorNames
}

// New returns a sticky-sender manager.
func New(opts Options) *Manager {
	rb := []string{NumberPickerName}
	for _, n := range opts.RunsBefore {
		if n != "" && n != NumberPickerName {
			rb = append(rb, n)
		}
	}
	return &Manager{runsBefore: rb}
}

// Metadata describes sticky-sender: no settings, no money spent, runs
// before the number picker.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:        Name,
		DisplayName: "Sticky sender",
		Description: "Sends to a contact from the number it was last delivered from.",
		RunsBefore:  append([]string(nil), m.runsBefore...),
	}
}

// Key is the State key of the sticky number for an address at a vendor.
func Key(vendor, address string) string { return vendor + "|" + address }

// stateKey addresses the sticky number in a StateStore.
func stateKey(orgID, vendor, address string) herald.StateKey {
	return herald.StateKey{OrgID: orgID, Namespace: Name, Key: Key(vendor, address)}
}

// StickyNumber reads the sticky number of address at vendor from a store's
// manager state (the store the dispatcher uses), for hosts and tests.
func StickyNumber(ctx context.Context, s herald.StateStore, orgID, vendor, address string) (string, bool, error) {
	v, err := s.GetState(ctx, stateKey(orgID, vendor, address))
	if errors.Is(err, herald.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(v), len(v) > 0, nil
}

// SetStickyNumber records from as the sticky number of address at vendor
// unless one exists, and reports whether it did; sticky numbers are never
// overwritten (Forget first to replace one).
func SetStickyNumber(ctx context.Context, s herald.StateStore, orgID, vendor, address, from string) (bool, error) {
	if from == "" {
		return false, fmt.Errorf("stickysender: empty number: %w", herald.ErrInvalidInput)
	}
	return s.CompareAndSwapState(ctx, stateKey(orgID, vendor, address), nil, []byte(from))
}

// Forget removes the sticky number of address at vendor; absent is not an
// error.
func Forget(ctx context.Context, s herald.StateStore, orgID, vendor, address string) error {
	err := s.DeleteState(ctx, stateKey(orgID, vendor, address))
	if errors.Is(err, herald.ErrNotFound) {
		return nil
	}
	return err
}

// OnMessageSend sets Route.From to the contact's sticky number when it is
// still empty; see the package doc. A State failure fails the message:
// sending from another number would break the thread silently.
func (m *Manager) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	r := ev.Route
	if r == nil || r.From != "" || r.MessagingServiceID != "" || ev.Message == nil ||
		!ev.Message.Channel.IsPhone() || ev.Env.State == nil {
		return nil
	}
	vendor := r.Vendor
	if vendor == "" {
		vendor = m.names.of(ev.Env.Vendor)
	}
	if vendor == "" {
		return nil
	}
	v, ok, err := ev.Env.State.Get(ctx, Key(vendor, ev.Message.To))
	if err != nil {
		return fmt.Errorf("stickysender: reading sticky number: %w", err)
	}
	if ok && len(v) > 0 {
		r.From = string(v)
	}
	return nil
}

// OnDeliveryReport learns the sticky number from a delivered report; see
// the package doc. Its error (a State failure) is after the fact: the
// report stands and the number is learnt from a later report.
func (m *Manager) OnDeliveryReport(ctx context.Context, ev *herald.DeliveryReportEvent) error {
	rep, msg := ev.Report, ev.Message
	if rep == nil || msg == nil || ev.Env.State == nil || rep.Engagement != "" ||
		rep.Status != herald.StatusDelivered || rep.ErrorCode != "" || !msg.Channel.IsPhone() || msg.To == "" {
		return nil
	}
	from := msg.From
	if from == "" {
		from = rep.From
	}
	if from == "" {
		return nil
	}
	vendor := rep.Vendor
	if vendor == "" {
		vendor = msg.Vendor
	}
	set, err := ev.Env.State.CompareAndSwap(ctx, Key(vendor, msg.To), nil, []byte(from))
	if err != nil {
		return fmt.Errorf("stickysender: recording sticky number: %w", err)
	}
	if set && ev.Env.Logger != nil {
		ev.Env.Logger.DebugContext(ctx, "stickysender: learnt sticky number", "org", msg.OrgID, "message", msg.ID, "contact", msg.ContactID)
	}
	return nil
}

// vendorNames caches vendors' names: Metadata may allocate (the contract
// only asks it to be cheap) and the send hook runs for every message.
type vendorNames struct{ m sync.Map } // herald.Vendor → string

// of returns v's name ("" for nil), from the cache when v's dynamic type
// can be a map key.
func (c *vendorNames) of(v herald.Vendor) string {
	if v == nil {
		return ""
	}
	if !reflect.TypeOf(v).Comparable() {
		return v.Metadata().Name
	}
	if n, ok := c.m.Load(v); ok {
		return n.(string)
	}
	n := v.Metadata().Name
	c.m.Store(v, n)
	return n
}
