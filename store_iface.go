package herald

import (
	"context"
	"iter"
	"time"
)

// Store is the storage a host brings: every part the dispatcher and the
// managers use. It is composed of small interfaces so a host can see what
// each part needs. stores/memstore is the in-memory default;
// stores/storetest.Run checks any implementation against every rule below.
//
// Rules for every method: ctx comes first and is honoured; not-found is an
// error wrapping ErrNotFound; records are scoped to an organization, and a
// record of another organization is not found; values passed in and handed
// out are never shared with stored state (stores copy); timestamps passed in
// are kept and only zero ones are set to now; a canceled ctx makes a method
// fail without writing; every method is safe for concurrent use.
type Store interface {
	MessageStore
	WorkStore
	ContactStore
	OptOutStore
	CampaignStore
	OrganizationStore
	NumberStore
	StateStore
	WebhookStore
}

// MessageStore keeps messages and their status history.
type MessageStore interface {
	// CreateMessage stores m, which must have ID, OrgID, IdempotencyKey,
	// Channel and a Status (ErrInvalidInput otherwise), and returns the
	// stored copy with created true (m itself when it needed nothing filled
	// in: the store keeps a copy of its own either way). When a message with the same (OrgID,
	// IdempotencyKey) exists, it returns that one with created false and
	// stores nothing; exactly one of any number of concurrent creates with
	// one key is created. Message IDs are unique in the whole store: a
	// different message with the same ID, in any organization, is
	// ErrConflict. Zero CreatedAt/UpdatedAt are set to now. The initial
	// StatusEvent (m.Status at CreatedAt, m.Reason as its reason,
	// SourceDispatcher, Applied) is appended.
	CreateMessage(ctx context.Context, m *Message) (stored *Message, created bool, err error)
	GetMessage(ctx context.Context, orgID, id string) (*Message, error)
	GetMessageByKey(ctx context.Context, orgID, idempotencyKey string) (*Message, error)
	// FindMessageByVendorID finds the message a vendor knows as
	// vendorMessageID, within one organization.
	FindMessageByVendorID(ctx context.Context, orgID, vendor, vendorMessageID string) (*Message, error)
	// LatestMessageTo returns the most recently created message to the
	// address (Message.To), for routing replies.
	LatestMessageTo(ctx context.Context, orgID, to string) (*Message, error)
	// ListMessages returns the messages that match f, oldest CreatedAt
	// first.
	ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// UpdateMessage changes a message's status, forward only, as one
	// atomic compare-and-set; see MessageUpdate for the rules.
	UpdateMessage(ctx context.Context, u *MessageUpdate) (*Message, error)
	// AddMessageEvent appends an event that does not change the status
	// (engagement). The message must exist.
	AddMessageEvent(ctx context.Context, ev StatusEvent) error
	// MessageEvents returns a message's history, oldest first.
	MessageEvents(ctx context.Context, orgID, id string) ([]StatusEvent, error)
}

// MessageFilter selects messages. Zero fields match everything; OrgID is
// required.
type MessageFilter struct {
	OrgID      string
	CampaignID string
	ContactID  string
	Statuses   []Status
	// Limit caps the result; zero means no cap.
	Limit int
	// After, a message ID, starts the list after that message in the
	// list's order (CreatedAt, then creation order): pass the last ID of a
	// page to get the next. A message the organization does not have is
	// ErrNotFound.
	After string
}

// MessageUpdate is one status change of one message.
//
// The store applies it atomically:
//
//  1. If ExpectStatus is non-empty and the current status is not in it, or
//     ExpectLeaseOwner is non-empty and the message's LeaseOwner differs,
//     nothing changes and the error wraps ErrConflict.
//  2. If the current status may move to Status (Status.CanMoveTo), or
//     Status equals the current status and ExpectStatus names it (a
//     deliberate same-status update, such as a retry of a recovered send),
//     the status and every non-nil field are set (as Apply sets them),
//     UpdatedAt becomes Event.At, the event is appended with Applied true,
//     and the updated message is returned (or nil, with Discard).
//  3. Otherwise (a stale, duplicate or out-of-order change) the event is
//     appended with Applied false, nothing else changes, and the current
//     message is returned with an error wrapping ErrStaleStatus.
type MessageUpdate struct {
	OrgID string
	ID    string
	// Status is the new status (required).
	Status           Status
	ExpectStatus     []Status
	ExpectLeaseOwner string
	// Event describes the change; its Status, MessageID and OrgID are
	// filled by the store. A zero At means now.
	Event StatusEvent

	// Fields to set when the change applies; nil leaves a field as it is.
	Vendor             *string
	VendorMessageID    *string
	From               *string
	MessagingServiceID *string
	ErrorCode          *string
	Reason             *string
	Attempts           *int
	SendAt             *time.Time
	SentAt             *time.Time
	// Lease sets LeaseOwner and LeaseUntil; a zero Lease clears them.
	Lease *Lease

	// Discard says the caller keeps a copy of the message of its own and
	// brings it up to date with Apply: when the change applies, the store
	// may return nil instead of a copy. Stale changes (rule 3) still
	// return the current message.
	Discard bool
}

// Apply sets on m what u sets when it applies (rule 2 above): the status,
// every non-nil field, and UpdatedAt, which becomes at, the event's time.
func (u *MessageUpdate) Apply(m *Message, at time.Time) {
	m.Status = u.Status
	m.UpdatedAt = at
	if u.Vendor != nil {
		m.Vendor = *u.Vendor
	}
	if u.VendorMessageID != nil {
		m.VendorMessageID = *u.VendorMessageID
	}
	if u.From != nil {
		m.From = *u.From
	}
	if u.MessagingServiceID != nil {
		m.MessagingServiceID = *u.MessagingServiceID
	}
	if u.ErrorCode != nil {
		m.ErrorCode = *u.ErrorCode
	}
	if u.Reason != nil {
		m.Reason = *u.Reason
	}
	if u.Attempts != nil {
		m.Attempts = *u.Attempts
	}
	if u.SendAt != nil {
		m.SendAt = *u.SendAt
	}
	if u.SentAt != nil {
		m.SentAt = *u.SentAt
	}
	if u.Lease != nil {
		m.LeaseOwner, m.LeaseUntil = u.Lease.Owner, u.Lease.Until
	}
}

// Lease is a worker's hold on a message.
type Lease struct {
	Owner string
	Until time.Time
}

// WorkStore hands due work to dispatcher workers. A message is due when it
// is queued or scheduled with SendAt at or before now and no live lease, or
// when it is sending and its lease expired (its worker died mid-send).
// Claiming sets a lease; many processes sharing one store never hold one
// message at once.
type WorkStore interface {
	// ClaimDue leases up to p.Limit due messages to p.Owner until
	// p.Now+p.LeaseFor and returns them, earliest SendAt (a zero SendAt
	// first, then CreatedAt) first, across organizations. Concurrent callers
	// never receive the same message while its lease lives. A sending
	// message without a lease is never due: the dispatcher always leases a
	// message before it moves it to sending.
	ClaimDue(ctx context.Context, p ClaimParams) ([]*Message, error)
	// ClaimMessage leases one message when it is claimable: pending or
	// sending, and its lease is free, expired or already p.Owner's. A
	// message that is not claimable is ErrConflict; the returned message
	// carries the new lease.
	ClaimMessage(ctx context.Context, orgID, id string, p ClaimParams) (*Message, error)
	// ReleaseLease drops owner's lease on the message, if owner holds it,
	// so another worker may take it at once.
	ReleaseLease(ctx context.Context, orgID, id, owner string) error
}

// ClaimParams describes a claim.
type ClaimParams struct {
	Owner    string
	Now      time.Time
	LeaseFor time.Duration
	// Limit caps ClaimDue; zero means 100.
	Limit int
}

// ContactStore keeps contacts and their devices.
type ContactStore interface {
	// PutContact inserts or replaces the contact (OrgID, ID required) and
	// returns the stored copy. CreatedAt is kept from the first put.
	PutContact(ctx context.Context, c *Contact) (*Contact, error)
	GetContact(ctx context.Context, orgID, id string) (*Contact, error)
	// FindContactByAddress returns the contact whose Phone, Email or a
	// device Token equals address; when several match, the one updated
	// most recently.
	FindContactByAddress(ctx context.Context, orgID, address string) (*Contact, error)
	DeleteContact(ctx context.Context, orgID, id string) error
	// ListContacts yields the organization's contacts ordered by ID; a
	// non-empty campaignID yields only that campaign's.
	ListContacts(ctx context.Context, orgID, campaignID string) iter.Seq2[*Contact, error]
	// ReplaceCampaignContacts atomically replaces every contact of the
	// campaign with contacts (each must carry that OrgID and CampaignID):
	// on error the old set is intact.
	ReplaceCampaignContacts(ctx context.Context, orgID, campaignID string, contacts []*Contact) error
	// PutDevice adds d to the contact's devices, first; a device with the
	// same Token is replaced (deduplicated, newest first). A token is one
	// device and belongs to one contact per organization: any other
	// contact of the organization that had it loses it (a device that
	// changed hands), and its UpdatedAt becomes now.
	PutDevice(ctx context.Context, orgID, contactID string, d Device) error
	// RemoveDevice removes the device with token from the contact.
	RemoveDevice(ctx context.Context, orgID, contactID, token string) error
}

// OptOutStore keeps opt-outs. An opt-out is scoped to (OrgID,
// OptOutScope(Channel), Address); one with an empty Channel covers every
// channel.
type OptOutStore interface {
	// PutOptOut records o and reports whether it was new; a repeat keeps
	// the first record.
	PutOptOut(ctx context.Context, o *OptOut) (created bool, err error)
	// DeleteOptOut lifts the opt-out recorded for exactly this scope and
	// reports whether there was one.
	DeleteOptOut(ctx context.Context, orgID string, channel Channel, address string) (bool, error)
	// FindOptOut returns the opt-out that stops a message on channel to
	// address (recorded for OptOutScope(channel) or for every channel),
	// or ErrNotFound.
	FindOptOut(ctx context.Context, orgID string, channel Channel, address string) (*OptOut, error)
	ListOptOuts(ctx context.Context, orgID string) ([]*OptOut, error)
}

// CampaignStore keeps campaigns.
type CampaignStore interface {
	// PutCampaign inserts or replaces the campaign and returns the copy.
	PutCampaign(ctx context.Context, c *Campaign) (*Campaign, error)
	GetCampaign(ctx context.Context, orgID, id string) (*Campaign, error)
	// UpdateCampaign replaces the campaign only while its stored State is
	// expect (ErrConflict otherwise): the lifecycle's compare-and-set.
	UpdateCampaign(ctx context.Context, c *Campaign, expect CampaignState) (*Campaign, error)
}

// OrganizationStore keeps organizations.
type OrganizationStore interface {
	PutOrganization(ctx context.Context, o *Organization) (*Organization, error)
	GetOrganization(ctx context.Context, id string) (*Organization, error)
}

// NumberStore keeps the sending numbers organizations own.
type NumberStore interface {
	// AddNumbers inserts numbers; one already stored (same OrgID, Vendor,
	// Number) is left as it is.
	AddNumbers(ctx context.Context, numbers []OwnedNumber) error
	// ListNumbers returns the matching numbers ordered by Number.
	ListNumbers(ctx context.Context, f NumberFilter) ([]OwnedNumber, error)
	// AllocateNumbers atomically allocates Count unallocated numbers to
	// p.AllocatedTo/p.AllocatedToID and returns them; when fewer are free,
	// it allocates none and returns ErrConflict.
	AllocateNumbers(ctx context.Context, p AllocateParams) ([]OwnedNumber, error)
	// ReleaseNumbers returns every number allocated to (allocatedTo,
	// allocatedToID) to the free pool and reports how many.
	ReleaseNumbers(ctx context.Context, orgID, allocatedTo, allocatedToID string) (int, error)
	// DeleteNumbers removes numbers and reports how many existed.
	DeleteNumbers(ctx context.Context, orgID, vendor string, numbers []string) (int, error)
}

// NumberFilter selects owned numbers; OrgID is required, empty fields
// match everything.
type NumberFilter struct {
	OrgID         string
	Vendor        string
	AreaCode      string
	AllocatedTo   string
	AllocatedToID string
	// Unallocated selects only free numbers.
	Unallocated bool
}

// AllocateParams asks for free numbers.
type AllocateParams struct {
	OrgID         string
	Vendor        string
	AreaCode      string
	Count         int
	AllocatedTo   string
	AllocatedToID string
	At            time.Time
}

// StateStore is the key/value store behind managers' State.
type StateStore interface {
	GetState(ctx context.Context, k StateKey) ([]byte, error)
	PutState(ctx context.Context, k StateKey, value []byte) error
	DeleteState(ctx context.Context, k StateKey) error
	// CompareAndSwapState sets k to value when its current value equals old
	// (nil old means absent) and reports whether it did.
	CompareAndSwapState(ctx context.Context, k StateKey, old, value []byte) (bool, error)
}

// StateKey addresses one manager state value.
type StateKey struct {
	OrgID     string
	Namespace string
	Key       string
}

// WebhookStore deduplicates vendor events and parks reports that arrive
// before the send they report on has recorded its vendor message ID.
type WebhookStore interface {
	// MarkEventSeen records (orgID, vendor, eventID) and reports whether
	// it was new; concurrent calls with one event see exactly one true.
	MarkEventSeen(ctx context.Context, orgID, vendor, eventID string, at time.Time) (bool, error)
	// ForgetEvent removes the mark of (orgID, vendor, eventID), so the
	// event is new again; forgetting an unmarked event is not an error.
	// The dispatcher forgets an event it could not record, so the
	// vendor's retry of it is not dropped as a duplicate.
	ForgetEvent(ctx context.Context, orgID, vendor, eventID string) error
	// SavePendingReport parks a report whose message is not found yet.
	SavePendingReport(ctx context.Context, r *DeliveryReport) error
	// TakePendingReports removes and returns the parked reports for one
	// vendor message ID, oldest At first.
	TakePendingReports(ctx context.Context, orgID, vendor, vendorMessageID string) ([]*DeliveryReport, error)
	// PruneWebhookState forgets the seen events marked (their at) and the
	// parked reports (their At, else when they were parked) before before,
	// in every organization, and reports how many of each it removed. An
	// event forgotten is new again to MarkEventSeen.
	PruneWebhookState(ctx context.Context, before time.Time) (events, reports int, err error)
}
