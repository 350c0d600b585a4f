// Package carrierlookup is the carrier-lookup service manager (Spoke's
// carrier-lookup, registry name "carrier-lookup"): it fills a contact's
// carrier (Contact.Lookup) from what the vendor learns for free when it
// delivers a message.
//
// # What it does
//
// OnDeliveryReport (its only hook), for a report on an sms or mms message
// whose contact is known and has a Phone:
//
//  1. does nothing when the contact already has a Lookup for its Phone
//     with a Carrier: once per contact, never per message;
//  2. else uses the result cached for the number in its State (key
//     "number|" + E.164), so a number shared by several contacts (the same
//     person in several campaigns) is looked up once per organization;
//  3. else claims the number in State (compare-and-swap, so concurrent
//     reports for one number make one lookup; a claim left by a crashed
//     process expires after Options.ClaimTTL) and asks the report's vendor
//     (Env.Vendor): its herald.FreeContactLookup when it has one; when it
//     has none, the report's own Carrier field when the report carries
//     one; when it has neither, a paid herald.ContactLookup only if the
//     organization enabled CARRIER_LOOKUP_PAID; otherwise nothing happens
//     (and nothing is remembered, so a later change of vendor still
//     works);
//  4. caches the result for the number and stores it on the contact
//     (Env.Store: the contact is read again and written back with Lookup
//     set, fields the new result leaves empty kept from the old one).
//
// A failed lookup releases the claim and returns its error: the report
// stands (after-the-fact hook) and the next report tries again.
//
// # Configuration
//
// Organization features:
//
//   - CARRIER_LOOKUP_PAID ([FeaturePaid]): "true" lets the manager use the
//     vendor's paid ContactLookup when the vendor has no free lookup.
//     Default off: no money is spent.
//
// # Cost and order
//
// Free by default. With CARRIER_LOOKUP_PAID it pays for at most one lookup
// per number per organization (Metadata names OnDeliveryReport in
// MoneySpendingOperations). Order does not matter: it only reads the
// report and writes the contact.
package carrierlookup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the hooks carrier-lookup implements.
var (
	_ herald.ServiceManager     = (*Manager)(nil)
	_ herald.DeliveryReportHook = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists.
const Name = "carrier-lookup"

// FeaturePaid is the organization feature that allows paid lookups when the
// vendor has no free one ("true" to allow).
const FeaturePaid = "CARRIER_LOOKUP_PAID"

// DefaultClaimTTL is the default of Options.ClaimTTL.
const DefaultClaimTTL = 5 * time.Minute

// Options configures carrier-lookup. The zero value is the default.
type Options struct {
	// ClaimTTL is how long a claim on a number (a lookup in progress)
	// holds before another report may take it over; default
	// DefaultClaimTTL.
	ClaimTTL time.Duration
}

// Manager is the carrier-lookup manager. It keeps nothing in memory; it is
// safe for concurrent use.
type Manager struct {
	claimTTL time.Duration
}

// New returns a carrier-lookup manager.
func New(opts Options) *Manager {
	if opts.ClaimTTL <= 0 {
		opts.ClaimTTL = DefaultClaimTTL
	}
	return &Manager{claimTTL: opts.ClaimTTL}
}

// Metadata describes carrier-lookup: it can spend money (only with
// CARRIER_LOOKUP_PAID), in OnDeliveryReport.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:                    Name,
		DisplayName:             "Carrier lookup",
		Description:             "Fills a contact's carrier from the vendor's free lookup on delivery reports, once per contact.",
		CanSpendMoney:           true,
		MoneySpendingOperations: []string{"OnDeliveryReport"},
	}
}

// record is what the State holds per number: a result, or a claim.
type record struct {
	Result       *herald.LookupResult `json:"result,omitempty"`
	ClaimedUntil time.Time            `json:"claimed_until,omitzero"`
}

// NumberKey is the State key under which the result for an E.164 number
// is cached.
func NumberKey(e164 string) string { return "number|" + e164 }

// OnDeliveryReport fills the contact's carrier; see the package doc.
func (m *Manager) OnDeliveryReport(ctx context.Context, ev *herald.DeliveryReportEvent) error {
	c, msg, rep := ev.Contact, ev.Message, ev.Report
	if c == nil || c.Phone == "" || msg == nil || rep == nil || !msg.Channel.IsPhone() ||
		ev.Env.State == nil || ev.Env.Store == nil {
		return nil
	}
	if c.Lookup != nil && c.Lookup.Number == c.Phone && c.Lookup.Carrier != "" {
		return nil
	}
	key := NumberKey(c.Phone)
	raw, ok, err := ev.Env.State.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("carrierlookup: reading cache: %w", err)
	}
	var cur record
	if ok {
		if err := json.Unmarshal(raw, &cur); err != nil {
			cur = record{} // unreadable: treat as absent, overwrite below
		}
	}
	if cur.Result != nil {
		if c.Lookup != nil && c.Lookup.Number == c.Phone && c.Lookup.Carrier == cur.Result.Carrier {
			return nil // known, and the contact already holds it
		}
		return m.fill(ctx, ev, cur.Result)
	}
	now := clockNow(ev.Env)
	if now.Before(cur.ClaimedUntil) {
		return nil // another report is looking this number up
	}
	var old []byte
	if ok {
		old = raw
	}
	claim, _ := json.Marshal(record{ClaimedUntil: now.Add(m.claimTTL)})
	won, err := ev.Env.State.CompareAndSwap(ctx, key, old, claim)
	if err != nil {
		return fmt.Errorf("carrierlookup: claiming number: %w", err)
	}
	if !won {
		return nil
	}
	res, err := m.lookup(ctx, ev)
	if err != nil || res == nil {
		if derr := release(ctx, ev.Env.State, key, claim); derr != nil {
			err = errors.Join(err, derr)
		}
		if err != nil {
			return fmt.Errorf("carrierlookup: %w", err)
		}
		return nil
	}
	if res.Number == "" {
		res.Number = c.Phone
	}
	if res.LookedUpAt.IsZero() {
		res.LookedUpAt = now
	}
	done, _ := json.Marshal(record{Result: res})
	if _, err := ev.Env.State.CompareAndSwap(ctx, key, claim, done); err != nil {
		return fmt.Errorf("carrierlookup: caching result: %w", err)
	}
	if ev.Env.Logger != nil {
		ev.Env.Logger.DebugContext(ctx, "carrierlookup: looked up", "org", msg.OrgID, "contact", c.ID, "vendor", res.Vendor)
	}
	return m.fill(ctx, ev, res)
}

// release removes our claim on key, unless another report took it over.
func release(ctx context.Context, s herald.State, key string, claim []byte) error {
	v, ok, err := s.Get(ctx, key)
	if err != nil || !ok || !bytes.Equal(v, claim) {
		return err
	}
	return s.Delete(ctx, key)
}

// lookup asks the vendor, as the package doc says: free lookup, the
// report's carrier, then (when allowed) the paid lookup. A nil result and
// nil error mean there is no way to learn the carrier.
func (m *Manager) lookup(ctx context.Context, ev *herald.DeliveryReportEvent) (*herald.LookupResult, error) {
	v, rep, c := ev.Env.Vendor, ev.Report, ev.Contact
	vendorName := rep.Vendor
	if free, ok := v.(herald.FreeContactLookup); ok {
		return free.FreeLookup(ctx, herald.FreeLookupParams{
			Organization: ev.Organization, Number: c.Phone,
			VendorMessageID: rep.VendorMessageID, MessagingServiceID: rep.MessagingServiceID,
		})
	}
	if rep.Carrier != "" {
		return &herald.LookupResult{Number: c.Phone, Carrier: rep.Carrier, Vendor: vendorName}, nil
	}
	if paid, ok := v.(herald.ContactLookup); ok {
		if f, _ := ev.Organization.Feature(FeaturePaid); f == "true" {
			return paid.LookupContact(ctx, herald.LookupParams{Organization: ev.Organization, Number: c.Phone})
		}
	}
	return nil, nil
}

// fill stores res on the contact, keeping what res leaves empty.
func (m *Manager) fill(ctx context.Context, ev *herald.DeliveryReportEvent, res *herald.LookupResult) error {
	c, err := ev.Env.Store.GetContact(ctx, ev.Contact.OrgID, ev.Contact.ID)
	if err != nil {
		return fmt.Errorf("carrierlookup: loading contact: %w", err)
	}
	if c.Phone != res.Number {
		return nil // the contact's number changed meanwhile
	}
	merged := *res
	if old := c.Lookup; old != nil && old.Number == c.Phone {
		if merged.LineType == "" {
			merged.LineType = old.LineType
		}
		if merged.StatusCode == herald.LookupUnknown {
			merged.StatusCode = old.StatusCode
		}
		if merged.ErrorCode == "" {
			merged.ErrorCode = old.ErrorCode
		}
		if merged.CallerName == "" {
			merged.CallerName = old.CallerName
		}
	}
	c.Lookup = &merged
	c.UpdatedAt = time.Time{}
	if _, err := ev.Env.Store.PutContact(ctx, c); err != nil {
		return fmt.Errorf("carrierlookup: saving contact: %w", err)
	}
	return nil
}

func clockNow(env herald.Env) time.Time {
	if env.Clock != nil {
		return env.Clock.Now()
	}
	return time.Now()
}
