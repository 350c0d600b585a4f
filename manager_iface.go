package herald

import (
	"context"
	"log/slog"
	"time"
)

// ServiceManager is an ordered set of hooks: code that runs before each send
// and on delivery reports, opt-outs, contact loads, vendor setup and the
// campaign lifecycle. Metadata is the only required method; each hook is its
// own interface below, and the dispatcher calls a hook only on managers that
// implement it, so an unimplemented hook costs nothing.
//
// Which managers run, and in which order, is one list per organization: the
// organization's FeatureServiceManagers when set (it replaces, never merges),
// else the dispatcher's EnabledManagers. The same list is used on every
// path. A manager keeps no globals: it reaches the store, its state, the
// vendor, the clock and the logger only through the Env in each event.
//
// Error rules: send hooks run in order and stop at the first error (an error
// wrapping ErrBlocked blocks the message, any other fails it); campaign start
// and unarchive hooks stop at the first error, which refuses the change;
// every other hook is after the fact, so every manager runs even when one
// fails and the failures are returned joined.
type ServiceManager interface {
	Metadata() ManagerMetadata
}

// ManagerMetadata describes a manager.
type ManagerMetadata struct {
	// Name is the key in enabled lists ("sticky-sender").
	Name        string
	DisplayName string
	Description string
	// SupportsOrgConfig / SupportsCampaignConfig say whether the manager
	// has organization or campaign settings (data and update hooks).
	SupportsOrgConfig      bool
	SupportsCampaignConfig bool
	// CanSpendMoney is true when some hook costs money (lookups, numbers);
	// MoneySpendingOperations names those hooks.
	CanSpendMoney           bool
	MoneySpendingOperations []string
	// RunsBefore and RunsAfter name managers this one must precede or
	// follow when both are enabled. The dispatcher refuses an enabled list
	// that breaks them (ErrConfig), so a wrong order is never silent.
	RunsBefore []string
	RunsAfter  []string
}

// Env is what a hook may reach, handed to it in every event.
type Env struct {
	// State is a key/value store namespaced to this manager and the
	// event's organization.
	State State
	// Vendor is the organization's resolved vendor for the event's channel
	// (for send hooks: the route's vendor or the default, re-resolved when
	// an earlier hook changed Route.Vendor). It may be nil on paths without
	// one. Managers type-assert capabilities on it.
	Vendor Vendor
	// Vendors resolves another registered vendor by name.
	Vendors func(name string) (Vendor, bool)
	// Store is the dispatcher's store, for managers that need contacts,
	// numbers or campaigns.
	Store Store
	Clock Clock
	// Logger is never nil; it carries the manager's name.
	Logger *slog.Logger
}

// State is a manager's key/value store, namespaced to one manager and one
// organization. Implementations are safe for concurrent use.
type State interface {
	// Get returns the value and whether it exists.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
	// CompareAndSwap sets key to value when its current value equals old
	// (nil old means "absent") and reports whether it did.
	CompareAndSwap(ctx context.Context, key string, old, value []byte) (bool, error)
}

// Clock tells the time; tests hand the dispatcher a fake one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// MessageSendHook runs just before a message is handed to its vendor, after
// the opt-out check. Hooks run in the enabled order and see what earlier
// ones changed in Route (and in Message, which they may edit: Body, Media).
// Returning an error wrapping ErrBlocked blocks the message (status blocked,
// the error text as its reason); a *DeferError (see Defer) holds it until a
// later time, when the hooks run again; any other error fails it. The chain
// stops at the first error.
type MessageSendHook interface {
	OnMessageSend(ctx context.Context, ev *MessageSendEvent) error
}

// MessageSendEvent is the argument of OnMessageSend.
type MessageSendEvent struct {
	Env          Env
	Message      *Message
	Contact      *Contact
	Organization *Organization
	// Campaign is nil outside a campaign.
	Campaign *Campaign
	// Route is mutable; later hooks and the vendor see the changes.
	Route *Route
	// Attempt is 1 for the first vendor call, 2 for the first retry, ...
	Attempt int
}

// DeliveryReportHook runs after a delivery report was recorded. Every
// enabled manager runs; errors are joined, logged and returned to the
// caller of HandleReport, but never undo the recorded status.
type DeliveryReportHook interface {
	OnDeliveryReport(ctx context.Context, ev *DeliveryReportEvent) error
}

// DeliveryReportEvent is the argument of OnDeliveryReport.
type DeliveryReportEvent struct {
	Env    Env
	Report *DeliveryReport
	// Message is the message after the report was applied.
	Message      *Message
	Contact      *Contact
	Organization *Organization
	Campaign     *Campaign
	// Applied is false when the report was stale and changed nothing.
	Applied bool
}

// OptOutHook runs after an opt-out (or its undo) was recorded; every
// enabled manager runs, errors are joined.
type OptOutHook interface {
	OnOptOut(ctx context.Context, ev *OptOutEvent) error
}

// OptOutEvent is the argument of OnOptOut.
type OptOutEvent struct {
	Env    Env
	OptOut *OptOut
	// Undo is true when the opt-out was lifted (START, UNSTOP, host call).
	Undo         bool
	Contact      *Contact
	Organization *Organization
	Campaign     *Campaign
}

// ContactLoadHook runs after a campaign's contacts were replaced (opted-out
// and duplicate numbers already removed). Managers may remove or add
// contacts through Env.Store. Every manager runs; errors are joined and
// returned by LoadContacts, the load itself stands.
type ContactLoadHook interface {
	OnCampaignContactLoad(ctx context.Context, ev *ContactLoadEvent) error
}

// ContactLoadEvent is the argument of OnCampaignContactLoad.
type ContactLoadEvent struct {
	Env          Env
	Organization *Organization
	Campaign     *Campaign
	// Stats describes the load.
	Stats LoadStats
}

// LoadStats counts what a contact load did.
type LoadStats struct {
	Loaded       int
	MissingCell  int
	InvalidCell  int
	Duplicates   int
	OptedOut     int
	OverLimit    int
	Removed      int
	Rejected     []RejectedContact
	FinalCount   int
	LoadedAt     time.Time
	LoaderName   string
	LoaderDetail string
}

// RejectedContact is a sample row a load refused, with the reason.
type RejectedContact struct {
	Row    int
	Value  string
	Reason string
}

// VendorSetupHook runs before a vendor's organization configuration is
// saved. Data is shared by the hooks in order and handed to the vendor's
// UpdateOrgConfig as ManagerData. An error aborts the save.
type VendorSetupHook interface {
	OnVendorSetup(ctx context.Context, ev *VendorSetupEvent) error
}

// VendorSetupEvent is the argument of OnVendorSetup.
type VendorSetupEvent struct {
	Env          Env
	Organization *Organization
	VendorName   string
	OldConfig    map[string]string
	NewConfig    map[string]string
	// Data is mutable and shared by the hooks in order.
	Data map[string]string
}

// VendorConfiguredHook runs when the dispatcher asks whether an
// organization's vendor is fully configured. Data is shared in order and
// handed to the vendor's FullyConfigured. An error is returned to the caller.
type VendorConfiguredHook interface {
	OnVendorFullyConfigured(ctx context.Context, ev *VendorConfiguredEvent) error
}

// VendorConfiguredEvent is the argument of OnVendorFullyConfigured.
type VendorConfiguredEvent struct {
	Env          Env
	Organization *Organization
	VendorName   string
	Data         map[string]string
}

// BuyNumbersHook runs before numbers are bought; it may change the request
// (area code, limit, options). An error refuses the purchase.
type BuyNumbersHook interface {
	OnBuyNumbers(ctx context.Context, ev *BuyNumbersEvent) error
}

// BuyNumbersEvent is the argument of OnBuyNumbers.
type BuyNumbersEvent struct {
	Env          Env
	Organization *Organization
	VendorName   string
	// Params is mutable.
	Params *BuyNumbersParams
}

// CampaignStartHook runs when a campaign starts, after every manager
// reported it fully configured. The first error (wrap ErrBlocked to block
// deliberately) stops the chain and the campaign stays unstarted.
type CampaignStartHook interface {
	OnCampaignStart(ctx context.Context, ev *CampaignEvent) error
}

// CampaignArchiveHook runs after a campaign was archived; every manager
// runs, errors are joined.
type CampaignArchiveHook interface {
	OnCampaignArchive(ctx context.Context, ev *CampaignEvent) error
}

// CampaignUnarchiveHook runs before a campaign is unarchived, after every
// manager reported it unarchivable. The first error refuses the unarchive.
type CampaignUnarchiveHook interface {
	OnCampaignUnarchive(ctx context.Context, ev *CampaignEvent) error
}

// CampaignEvent is the argument of the campaign lifecycle hooks. Campaign
// is the store's copy; a start hook may change MessagingServiceID and
// Features, which the dispatcher saves with the new state.
type CampaignEvent struct {
	Env          Env
	Organization *Organization
	Campaign     *Campaign
	// Actor identifies who asked (a user ID), for the record.
	Actor string
}

// CampaignDataProvider reports a manager's view of a campaign: data for an
// admin screen and whether the campaign may start or be unarchived.
// Providers run in order; the first error is returned.
type CampaignDataProvider interface {
	CampaignData(ctx context.Context, ev *CampaignDataEvent) (*ManagerData, error)
}

// CampaignDataEvent is the argument of CampaignData.
type CampaignDataEvent struct {
	Env          Env
	Organization *Organization
	Campaign     *Campaign
	// ForStats is true for a statistics view (after start), false for the
	// edit view.
	ForStats bool
}

// CampaignUpdateHandler takes a change a user made to the manager's campaign
// settings (the counterpart of CampaignData) and returns the new data.
type CampaignUpdateHandler interface {
	OnCampaignUpdate(ctx context.Context, ev *CampaignUpdateEvent) (*ManagerData, error)
}

// CampaignUpdateEvent is the argument of OnCampaignUpdate.
type CampaignUpdateEvent struct {
	Env          Env
	Organization *Organization
	Campaign     *Campaign
	Update       map[string]any
	ForStats     bool
	Actor        string
}

// OrganizationDataProvider reports a manager's organization settings.
type OrganizationDataProvider interface {
	OrganizationData(ctx context.Context, ev *OrganizationDataEvent) (*ManagerData, error)
}

// OrganizationDataEvent is the argument of OrganizationData.
type OrganizationDataEvent struct {
	Env          Env
	Organization *Organization
}

// OrganizationUpdateHandler takes a change to the manager's organization
// settings and returns the new data.
type OrganizationUpdateHandler interface {
	OnOrganizationUpdate(ctx context.Context, ev *OrganizationUpdateEvent) (*ManagerData, error)
}

// OrganizationUpdateEvent is the argument of OnOrganizationUpdate.
type OrganizationUpdateEvent struct {
	Env          Env
	Organization *Organization
	Update       map[string]any
	Actor        string
}

// ManagerData is a data hook's answer.
type ManagerData struct {
	// Name is filled by the dispatcher with the manager's name.
	Name string
	// Data is for the host's screens.
	Data map[string]any
	// FullyConfigured false blocks campaign start; nil means no objection.
	FullyConfigured *bool
	// Unarchivable false blocks unarchiving; nil means no objection.
	Unarchivable *bool
	// StartPolling asks the host's screen to poll (a job is running).
	StartPolling bool
}

// Bool returns a pointer to v, for ManagerData's tri-state fields.
func Bool(v bool) *bool { return &v }
