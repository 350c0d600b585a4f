// Package example is the service manager to copy when you write one:
// Spoke's test-fake-example, done the Go way. It implements every hook
// herald has, and each hook
//
//   - records a Call (see Manager.Calls), so tests can see what ran, in
//     which order, with which IDs;
//   - counts its calls per hook in the manager's State (ev.Env.State), to
//     show how a manager keeps data without globals (see CallCount);
//   - logs through ev.Env.Logger, at debug level, without addresses;
//   - then does what its Options say: by default nothing (no error, every
//     data hook reports FullyConfigured and Unarchivable true).
//
// The doc comment of each hook says what its event holds, what a real
// manager would do there, and its error rule: whether an error blocks
// something (send, campaign start, unarchive, vendor setup, purchase) or
// is after the fact (the other managers still run, errors are joined).
//
// # Writing your own manager
//
// Copy this file into managers/<yours>/, rename the package and Name, and
// delete every hook you do not need together with its compile-time check:
// the dispatcher calls a hook only on managers that implement it, so an
// unimplemented hook costs nothing. Keep to the rules the example keeps:
//
//   - reach nothing but the event: ev.Env gives State (namespaced to your
//     manager and the event's organization), the organization's Vendor
//     (type-assert capabilities such as herald.MessagingServices on it,
//     never import a concrete vendor), other vendors by name, the Store,
//     the Clock and a Logger that already carries your manager's name;
//   - keep no package-level state, so one process can serve many
//     organizations and many dispatchers;
//   - never log a full phone number, address or secret;
//   - be safe for concurrent use: hooks run for many messages at once.
//
// Tests configure the example through Options: a hook func per hook
// (block a send, refuse a campaign start, fail a report hook) and switches
// for the data hooks (not fully configured, not unarchivable).
package example

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the example implements the manager interface and
// every hook. Keep the lines for the hooks your copy keeps.
var (
	_ herald.ServiceManager            = (*Manager)(nil)
	_ herald.MessageSendHook           = (*Manager)(nil)
	_ herald.DeliveryReportHook        = (*Manager)(nil)
	_ herald.OptOutHook                = (*Manager)(nil)
	_ herald.ContactLoadHook           = (*Manager)(nil)
	_ herald.VendorSetupHook           = (*Manager)(nil)
	_ herald.VendorConfiguredHook      = (*Manager)(nil)
	_ herald.BuyNumbersHook            = (*Manager)(nil)
	_ herald.CampaignStartHook         = (*Manager)(nil)
	_ herald.CampaignArchiveHook       = (*Manager)(nil)
	_ herald.CampaignUnarchiveHook     = (*Manager)(nil)
	_ herald.CampaignDataProvider      = (*Manager)(nil)
	_ herald.CampaignUpdateHandler     = (*Manager)(nil)
	_ herald.OrganizationDataProvider  = (*Manager)(nil)
	_ herald.OrganizationUpdateHandler = (*Manager)(nil)
)

// Name is the manager's default name, the key in enabled lists.
const Name = "example"

// Hook names, as recorded in Call.Hook: the Go method names.
const (
	HookMessageSend        = "OnMessageSend"
	HookDeliveryReport     = "OnDeliveryReport"
	HookOptOut             = "OnOptOut"
	HookContactLoad        = "OnCampaignContactLoad"
	HookVendorSetup        = "OnVendorSetup"
	HookVendorConfigured   = "OnVendorFullyConfigured"
	HookBuyNumbers         = "OnBuyNumbers"
	HookCampaignStart      = "OnCampaignStart"
	HookCampaignArchive    = "OnCampaignArchive"
	HookCampaignUnarchive  = "OnCampaignUnarchive"
	HookCampaignData       = "CampaignData"
	HookCampaignUpdate     = "OnCampaignUpdate"
	HookOrganizationData   = "OrganizationData"
	HookOrganizationUpdate = "OnOrganizationUpdate"
)

// Hooks lists every hook name, in the order of manager_iface.go.
func Hooks() []string {
	return []string{
		HookMessageSend, HookDeliveryReport, HookOptOut, HookContactLoad,
		HookVendorSetup, HookVendorConfigured, HookBuyNumbers,
		HookCampaignStart, HookCampaignArchive, HookCampaignUnarchive,
		HookCampaignData, HookCampaignUpdate, HookOrganizationData, HookOrganizationUpdate,
	}
}

// Options configures the example. Every field is optional; the zero value
// is the no-op manager named "example".
type Options struct {
	// Name replaces the manager's name, so a test can enable two
	// examples (say "first" and "second") and see their order.
	Name string
	// RunsBefore and RunsAfter go into Metadata, for ordering tests.
	RunsBefore []string
	RunsAfter  []string

	// A hook func runs after the hook recorded its call; its error is the
	// hook's error. A data func replaces the default answer.
	OnSend              func(ctx context.Context, ev *herald.MessageSendEvent) error
	OnDeliveryReport    func(ctx context.Context, ev *herald.DeliveryReportEvent) error
	OnOptOut            func(ctx context.Context, ev *herald.OptOutEvent) error
	OnContactLoad       func(ctx context.Context, ev *herald.ContactLoadEvent) error
	OnVendorSetup       func(ctx context.Context, ev *herald.VendorSetupEvent) error
	OnVendorConfigured  func(ctx context.Context, ev *herald.VendorConfiguredEvent) error
	OnBuyNumbers        func(ctx context.Context, ev *herald.BuyNumbersEvent) error
	OnCampaignStart     func(ctx context.Context, ev *herald.CampaignEvent) error
	OnCampaignArchive   func(ctx context.Context, ev *herald.CampaignEvent) error
	OnCampaignUnarchive func(ctx context.Context, ev *herald.CampaignEvent) error
	CampaignData        func(ctx context.Context, ev *herald.CampaignDataEvent) (*herald.ManagerData, error)
	CampaignUpdate      func(ctx context.Context, ev *herald.CampaignUpdateEvent) (*herald.ManagerData, error)
	OrganizationData    func(ctx context.Context, ev *herald.OrganizationDataEvent) (*herald.ManagerData, error)
	OrganizationUpdate  func(ctx context.Context, ev *herald.OrganizationUpdateEvent) (*herald.ManagerData, error)

	// NotFullyConfigured makes the default data answers report
	// FullyConfigured false, which blocks campaign starts.
	NotFullyConfigured bool
	// NotUnarchivable makes the default campaign data answers report
	// Unarchivable false, which blocks unarchiving.
	NotUnarchivable bool
}

// Call is one hook call the example saw.
type Call struct {
	// Hook is the method name (HookMessageSend, ...).
	Hook  string
	OrgID string
	// CampaignID, MessageID and ContactID are set when the event has them.
	CampaignID string
	MessageID  string
	ContactID  string
	// VendorName is the event's vendor: the route's or Env.Vendor's for a
	// send, the report's, or the vendor being set up or buying numbers.
	VendorName string
	// Attempt is the send attempt (send hook only).
	Attempt int
	// At is the Env's clock time of the call (time.Now without a clock).
	At time.Time
	// Err is what the hook returned.
	Err error
}

// Manager is the example manager. It is safe for concurrent use.
type Manager struct {
	opts  Options
	mu    sync.Mutex
	calls []Call
}

// New returns the no-op example manager, named "example".
func New() *Manager { return NewWithOptions(Options{}) }

// NewWithOptions returns an example manager configured by opts.
func NewWithOptions(opts Options) *Manager {
	if opts.Name == "" {
		opts.Name = Name
	}
	opts.RunsBefore = slices.Clone(opts.RunsBefore)
	opts.RunsAfter = slices.Clone(opts.RunsAfter)
	return &Manager{opts: opts}
}

// Metadata describes the example: organization and campaign settings
// (its data hooks), no money spent.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:                   m.opts.Name,
		DisplayName:            "Example manager",
		Description:            "Records and logs every hook call; the manager to copy when writing one.",
		SupportsOrgConfig:      true,
		SupportsCampaignConfig: true,
		RunsBefore:             slices.Clone(m.opts.RunsBefore),
		RunsAfter:              slices.Clone(m.opts.RunsAfter),
	}
}

// Calls returns every call recorded since New or Reset, in order.
func (m *Manager) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

// CallsOf returns the recorded calls of one hook, in order.
func (m *Manager) CallsOf(hook string) []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Call
	for _, c := range m.calls {
		if c.Hook == hook {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls. Counts in State are not touched.
func (m *Manager) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = nil
}

// StateKey is the State key under which the example counts a hook's calls;
// the value is the count in decimal.
func StateKey(hook string) string { return "calls/" + hook }

// CallCount reads a hook's call count from a manager State (the one the
// dispatcher hands the example for an organization); zero when absent.
func CallCount(ctx context.Context, s herald.State, hook string) (int, error) {
	b, ok, err := s.Get(ctx, StateKey(hook))
	if err != nil || !ok {
		return 0, err
	}
	return strconv.Atoi(string(b))
}

// increment adds one to a hook's count with compare-and-swap, so
// concurrent hooks (and several dispatcher processes sharing one store)
// never lose a count.
func increment(ctx context.Context, s herald.State, hook string) (int, error) {
	key := StateKey(hook)
	for range maxSwaps {
		old, ok, err := s.Get(ctx, key)
		if err != nil {
			return 0, err
		}
		n := 0
		if ok {
			if n, err = strconv.Atoi(string(old)); err != nil {
				return 0, err
			}
		} else {
			old = nil
		}
		next := []byte(strconv.Itoa(n + 1))
		swapped, err := s.CompareAndSwap(ctx, key, old, next)
		if err != nil {
			return 0, err
		}
		if swapped {
			return n + 1, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("example: %s: %d compare-and-swap attempts lost: %w", key, maxSwaps, herald.ErrConflict)
}

// maxSwaps bounds increment's retries.
const maxSwaps = 1000

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// record stamps, stores, counts and logs one call. A State failure is
// logged, not returned: the count is illustration, and must not fail a
// send. A manager whose State is essential returns the error instead.
func (m *Manager) record(ctx context.Context, env herald.Env, c Call) {
	if env.Clock != nil {
		c.At = env.Clock.Now()
	} else {
		c.At = time.Now()
	}
	m.mu.Lock()
	m.calls = append(m.calls, c)
	m.mu.Unlock()

	log := env.Logger
	if log == nil {
		log = discard
	}
	attrs := []any{"hook", c.Hook, "org", c.OrgID}
	if c.CampaignID != "" {
		attrs = append(attrs, "campaign", c.CampaignID)
	}
	if c.MessageID != "" {
		attrs = append(attrs, "message", c.MessageID)
	}
	if env.State != nil {
		n, err := increment(ctx, env.State, c.Hook)
		if err != nil {
			log.WarnContext(ctx, "example: counting the call in State failed", append(attrs, "error", err)...)
		} else {
			attrs = append(attrs, "calls", n)
		}
	}
	if c.Err != nil {
		log.InfoContext(ctx, "example: hook returned an error", append(attrs, "error", c.Err)...)
		return
	}
	log.DebugContext(ctx, "example: hook called", attrs...)
}

func orgID(o *herald.Organization) string {
	if o == nil {
		return ""
	}
	return o.ID
}

func campaignID(c *herald.Campaign) string {
	if c == nil {
		return ""
	}
	return c.ID
}

func contactID(c *herald.Contact) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// campaignData is the default answer of the campaign data hooks.
func (m *Manager) campaignData(data map[string]any) *herald.ManagerData {
	return &herald.ManagerData{
		Data:            data,
		FullyConfigured: herald.Bool(!m.opts.NotFullyConfigured),
		Unarchivable:    herald.Bool(!m.opts.NotUnarchivable),
	}
}

// OnMessageSend runs just before a message goes to its vendor, after the
// opt-out check, once per attempt.
//
// The event: Message (the message; a hook may edit Body and Media), Contact,
// Organization, Campaign (nil outside a campaign), Route (mutable: Vendor,
// From, MessagingServiceID, ForceMMS, Credentials, Extra; later managers
// and the vendor see what earlier ones set), Attempt (1 for the first
// vendor call) and Env (Env.Vendor is the route's or the default vendor).
//
// A real manager chooses how the message goes: sticky-sender sets
// Route.From to the number the contact last heard from; a number picker
// fills Route.From only when it is still empty; per-campaign messaging
// services set Route.MessagingServiceID from the campaign; MMS-when-cheaper
// sets Route.ForceMMS. This is the hot path: keep it cheap, and never spend
// money here without caching (State).
//
// Errors: hooks run in the enabled order and the chain stops at the first
// error. An error wrapping herald.ErrBlocked blocks the message (status
// blocked, the error text its reason); any other error fails it.
func (m *Manager) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	c := Call{Hook: HookMessageSend, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign),
		ContactID: contactID(ev.Contact), Attempt: ev.Attempt}
	if ev.Message != nil {
		c.MessageID = ev.Message.ID
		if c.OrgID == "" {
			c.OrgID = ev.Message.OrgID
		}
	}
	if ev.Route != nil {
		c.VendorName = ev.Route.Vendor
	}
	if c.VendorName == "" && ev.Env.Vendor != nil {
		c.VendorName = ev.Env.Vendor.Metadata().Name
	}
	if f := m.opts.OnSend; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnDeliveryReport runs after a delivery report was recorded.
//
// The event: Report (the vendor's report: status or engagement, error
// code, carrier, Landline, Raw fields), Message (after the report was
// applied), Contact, Organization, Campaign, Applied (false when the
// report was stale and changed nothing) and Env.
//
// A real manager learns from reports for free: carrier-lookup stores the
// carrier and marks landlines (Report.Landline, code 30006) on the contact
// through Env.Store; a number picker retires a sending number that keeps
// failing. Check Applied before acting on a status.
//
// Errors: after the fact. Every enabled manager runs even when one fails;
// the errors are joined, logged and returned to HandleReport's caller, and
// never undo the recorded status.
func (m *Manager) OnDeliveryReport(ctx context.Context, ev *herald.DeliveryReportEvent) error {
	c := Call{Hook: HookDeliveryReport, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign),
		ContactID: contactID(ev.Contact)}
	if ev.Message != nil {
		c.MessageID = ev.Message.ID
	}
	if ev.Report != nil {
		c.VendorName = ev.Report.Vendor
		if c.OrgID == "" {
			c.OrgID = ev.Report.OrgID
		}
	}
	if f := m.opts.OnDeliveryReport; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnOptOut runs after an opt-out, or its undo, was recorded.
//
// The event: OptOut (organization, address, channel scope, reason such as
// "stop" or "21610", source, campaign and contact), Undo (true when the
// opt-out was lifted: START, UNSTOP, a host call), Contact (may be nil when
// the address matches no contact), Organization, Campaign and Env.
//
// A real manager propagates the choice: it tells a CRM, releases the
// contact's sticky number, or cancels the contact's scheduled messages.
//
// Errors: after the fact. Every manager runs; errors are joined and
// returned, the opt-out stands.
func (m *Manager) OnOptOut(ctx context.Context, ev *herald.OptOutEvent) error {
	c := Call{Hook: HookOptOut, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign),
		ContactID: contactID(ev.Contact)}
	if ev.OptOut != nil {
		if c.OrgID == "" {
			c.OrgID = ev.OptOut.OrgID
		}
		if c.CampaignID == "" {
			c.CampaignID = ev.OptOut.CampaignID
		}
		if c.ContactID == "" {
			c.ContactID = ev.OptOut.ContactID
		}
	}
	if f := m.opts.OnOptOut; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnCampaignContactLoad runs after a campaign's contacts were replaced,
// with opted-out and duplicate numbers already removed.
//
// The event: Organization, Campaign, Stats (loaded, missing or invalid
// cells, duplicates, opted out, over the limit, removed, sample rejected
// rows, final count, when and by which loader) and Env.
//
// A real manager works on the new contact set through Env.Store: scrub
// looks numbers up (paid, so it counts and caches) and removes landlines;
// a number manager counts contacts per area code to size the campaign's
// numbers.
//
// Errors: after the fact. Every manager runs; errors are joined and
// returned by LoadContacts, and the load itself stands.
func (m *Manager) OnCampaignContactLoad(ctx context.Context, ev *herald.ContactLoadEvent) error {
	c := Call{Hook: HookContactLoad, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign)}
	if f := m.opts.OnContactLoad; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnVendorSetup runs before a vendor's organization configuration is
// saved.
//
// The event: Organization, VendorName, OldConfig and NewConfig (the
// vendor's keys; secrets may be herald.ObscuredSecret, meaning unchanged),
// Data (mutable, shared by the hooks in order, handed to the vendor's
// UpdateOrgConfig as ManagerData) and Env.
//
// A real manager prepares the vendor: it creates the organization's
// messaging service and puts its ID in Data, or refuses a configuration
// its own features cannot work with. Never log the configs: they hold
// secrets.
//
// Errors: any error aborts the save; the chain stops.
func (m *Manager) OnVendorSetup(ctx context.Context, ev *herald.VendorSetupEvent) error {
	c := Call{Hook: HookVendorSetup, OrgID: orgID(ev.Organization), VendorName: ev.VendorName}
	if f := m.opts.OnVendorSetup; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnVendorFullyConfigured runs when the dispatcher asks whether an
// organization's vendor is fully configured.
//
// The event: Organization, VendorName, Data (mutable, shared in order,
// handed to the vendor's FullyConfigured) and Env.
//
// A real manager tells the vendor what it takes care of, for example that
// it supplies messaging services per campaign so the vendor need not
// insist on an organization-wide one (Spoke's skipOrgMessageService).
//
// Errors: an error is returned to the caller and the question has no
// answer; the chain stops.
func (m *Manager) OnVendorFullyConfigured(ctx context.Context, ev *herald.VendorConfiguredEvent) error {
	c := Call{Hook: HookVendorConfigured, OrgID: orgID(ev.Organization), VendorName: ev.VendorName}
	if f := m.opts.OnVendorConfigured; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnBuyNumbers runs before numbers are bought.
//
// The event: Organization, VendorName, Params (mutable: Country, AreaCode,
// Limit, Options; the purchase uses what the hooks leave) and Env.
//
// A real manager adjusts or polices the purchase: it caps Limit by a
// budget kept in State, moves a toll-free request to the vendor's
// toll-free area, or adds options the vendor understands.
//
// Errors: any error refuses the purchase; the chain stops.
func (m *Manager) OnBuyNumbers(ctx context.Context, ev *herald.BuyNumbersEvent) error {
	c := Call{Hook: HookBuyNumbers, OrgID: orgID(ev.Organization), VendorName: ev.VendorName}
	if f := m.opts.OnBuyNumbers; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnCampaignStart runs when a campaign starts, after every enabled manager
// reported it fully configured (CampaignData).
//
// The event: Organization, Campaign (the store's copy; the hook may set
// MessagingServiceID and Features, which the dispatcher saves with the new
// state), Actor (who asked) and Env.
//
// A real manager provisions what the campaign needs: per-campaign
// messaging services create one through Env.Vendor (type-assert
// herald.MessagingServices), add the campaign's reserved numbers and set
// Campaign.MessagingServiceID. That can spend money: say so in Metadata.
//
// Errors: the first error stops the chain and the campaign stays
// unstarted; wrap herald.ErrBlocked to refuse deliberately.
func (m *Manager) OnCampaignStart(ctx context.Context, ev *herald.CampaignEvent) error {
	c := Call{Hook: HookCampaignStart, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign)}
	if f := m.opts.OnCampaignStart; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnCampaignArchive runs after a campaign was archived.
//
// The event: Organization, Campaign (now archived), Actor and Env.
//
// A real manager releases what the campaign held: it deletes the
// campaign's messaging service and returns its numbers to the pool, so
// that they stop costing money.
//
// Errors: after the fact. Every manager runs; errors are joined and
// returned, the campaign stays archived.
func (m *Manager) OnCampaignArchive(ctx context.Context, ev *herald.CampaignEvent) error {
	c := Call{Hook: HookCampaignArchive, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign)}
	if f := m.opts.OnCampaignArchive; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// OnCampaignUnarchive runs before a campaign is unarchived, after every
// manager reported it unarchivable (CampaignData).
//
// The event: Organization, Campaign (still archived), Actor and Env.
//
// A real manager restores what archiving released, or refuses when it
// cannot (the campaign's numbers were sold).
//
// Errors: the first error refuses the unarchive; the chain stops. This is
// Spoke's "throw to block".
func (m *Manager) OnCampaignUnarchive(ctx context.Context, ev *herald.CampaignEvent) error {
	c := Call{Hook: HookCampaignUnarchive, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign)}
	if f := m.opts.OnCampaignUnarchive; f != nil {
		c.Err = f(ctx, ev)
	}
	m.record(ctx, ev.Env, c)
	return c.Err
}

// CampaignData reports the example's view of a campaign.
//
// The event: Organization, Campaign, ForStats (true for the statistics
// view after start, false for the edit view) and Env.
//
// The answer: Data for the host's screen (the example returns forStats),
// FullyConfigured (false blocks the campaign's start; nil means no
// objection; the example says true unless Options.NotFullyConfigured),
// Unarchivable (false blocks unarchiving; nil no objection; true unless
// Options.NotUnarchivable) and StartPolling (ask the screen to poll while
// a job of yours runs). The dispatcher fills Name.
//
// A real manager reports what it needs before a start: per-campaign
// messaging services count the numbers reserved against the contacts'
// area codes and say FullyConfigured only when there are enough.
//
// Errors: providers run in order and the first error is returned; the
// start or unarchive that asked is refused.
func (m *Manager) CampaignData(ctx context.Context, ev *herald.CampaignDataEvent) (*herald.ManagerData, error) {
	c := Call{Hook: HookCampaignData, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign)}
	var (
		d   *herald.ManagerData
		err error
	)
	if f := m.opts.CampaignData; f != nil {
		d, err = f(ctx, ev)
	} else {
		d = m.campaignData(map[string]any{"forStats": ev.ForStats})
	}
	c.Err = err
	m.record(ctx, ev.Env, c)
	return d, err
}

// OnCampaignUpdate takes a change a user made to the example's campaign
// settings (the counterpart of CampaignData) and returns the new data.
//
// The event: Organization, Campaign, Update (the screen's fields),
// ForStats, Actor and Env.
//
// A real manager validates and stores the settings (in Campaign.Features
// through Env.Store, or in State) and may start a job, answering
// StartPolling true. The example echoes Update back as Data["update"].
//
// Errors: the error is returned to the user and nothing is saved.
func (m *Manager) OnCampaignUpdate(ctx context.Context, ev *herald.CampaignUpdateEvent) (*herald.ManagerData, error) {
	c := Call{Hook: HookCampaignUpdate, OrgID: orgID(ev.Organization), CampaignID: campaignID(ev.Campaign)}
	var (
		d   *herald.ManagerData
		err error
	)
	if f := m.opts.CampaignUpdate; f != nil {
		d, err = f(ctx, ev)
	} else {
		d = m.campaignData(map[string]any{"forStats": ev.ForStats, "update": maps.Clone(ev.Update)})
	}
	c.Err = err
	m.record(ctx, ev.Env, c)
	return d, err
}

// OrganizationData reports the example's organization settings.
//
// The event: Organization and Env.
//
// The answer: Data for the host's settings screen and FullyConfigured
// (true unless Options.NotFullyConfigured). A real manager returns its
// settings from State or Organization.Features, never secrets.
//
// Errors: the error is returned to the caller.
func (m *Manager) OrganizationData(ctx context.Context, ev *herald.OrganizationDataEvent) (*herald.ManagerData, error) {
	c := Call{Hook: HookOrganizationData, OrgID: orgID(ev.Organization)}
	var (
		d   *herald.ManagerData
		err error
	)
	if f := m.opts.OrganizationData; f != nil {
		d, err = f(ctx, ev)
	} else {
		d = &herald.ManagerData{Data: map[string]any{}, FullyConfigured: herald.Bool(!m.opts.NotFullyConfigured)}
	}
	c.Err = err
	m.record(ctx, ev.Env, c)
	return d, err
}

// OnOrganizationUpdate takes a change to the example's organization
// settings and returns the new data.
//
// The event: Organization, Update (the screen's fields), Actor and Env.
//
// A real manager validates the fields and keeps them in State (or asks the
// host to save Organization.Features). The example echoes Update back as
// Data["update"].
//
// Errors: the error is returned to the user and nothing is saved.
func (m *Manager) OnOrganizationUpdate(ctx context.Context, ev *herald.OrganizationUpdateEvent) (*herald.ManagerData, error) {
	c := Call{Hook: HookOrganizationUpdate, OrgID: orgID(ev.Organization)}
	var (
		d   *herald.ManagerData
		err error
	)
	if f := m.opts.OrganizationUpdate; f != nil {
		d, err = f(ctx, ev)
	} else {
		d = &herald.ManagerData{Data: map[string]any{"update": maps.Clone(ev.Update)},
			FullyConfigured: herald.Bool(!m.opts.NotFullyConfigured)}
	}
	c.Err = err
	m.record(ctx, ev.Env, c)
	return d, err
}
