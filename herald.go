// Package herald is the vocabulary of an embeddable multi-channel messaging
// SDK: SMS/MMS, email, web push, APNs and FCM.
//
// A host application registers vendors (channel drivers, [Vendor]) and service
// managers (ordered hooks, [ServiceManager]), brings its own storage through the
// [Store] interface, and hands messages to a dispatcher (package dispatch) that
// runs the hooks in order, sends through the vendor, records every status
// change and takes vendor webhooks, without ever sending a message twice.
//
// This root package holds only types and interfaces; it imports nothing else
// of the module. The pieces that do the work live in sub-packages:
//
//   - dispatch: the Dispatcher (send pipeline, hooks, webhooks, worker loop);
//   - vendors/...: channel drivers, vendors/fake for development and tests;
//   - managers/...: service managers, managers/example to copy from;
//   - stores/memstore: the in-memory Store; stores/storetest: its conformance suite;
//   - contacts: phone and email normalisation, contact loading.
package herald

import (
	"maps"
	"slices"
	"time"
)

// Channel names the medium a message travels on. The constants are the
// channels herald ships drivers for; a host may define its own, which must be
// non-empty lower-case tokens (see [Channel.Valid]).
type Channel string

// The channels herald knows.
const (
	ChannelSMS     Channel = "sms"
	ChannelMMS     Channel = "mms"
	ChannelEmail   Channel = "email"
	ChannelWebPush Channel = "webpush"
	ChannelAPNs    Channel = "apns"
	ChannelFCM     Channel = "fcm"
)

// Valid reports whether c is a usable channel name: 1 to 32 characters of
// a-z, 0-9, '-' or '_', starting with a letter.
func (c Channel) Valid() bool {
	if len(c) == 0 || len(c) > 32 || c[0] < 'a' || c[0] > 'z' {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// IsPhone reports whether c addresses a phone number (sms or mms); such
// addresses are normalised to E.164 before anything is stored.
func (c Channel) IsPhone() bool { return c == ChannelSMS || c == ChannelMMS }

// IsPush reports whether c addresses a device token or subscription.
func (c Channel) IsPush() bool { return c == ChannelWebPush || c == ChannelAPNs || c == ChannelFCM }

// Urgency is how soon a message must reach its recipient, in RFC 8030 words.
// Each vendor maps it: the web push Urgency header, APNs priority 5 or 10,
// FCM normal or high priority. The zero value means [UrgencyNormal].
type Urgency string

// The urgencies, lowest first.
const (
	UrgencyVeryLow Urgency = "very-low"
	UrgencyLow     Urgency = "low"
	UrgencyNormal  Urgency = "normal"
	UrgencyHigh    Urgency = "high"
)

// Valid reports whether u is empty or one of the four urgencies.
func (u Urgency) Valid() bool {
	switch u {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
		return true
	}
	return false
}

// OrDefault returns u, or UrgencyNormal when u is empty.
func (u Urgency) OrDefault() Urgency {
	if u == "" {
		return UrgencyNormal
	}
	return u
}

// Message is one message to one address on one channel. Fan-out (a
// contact's devices, a campaign's contacts) creates one Message each.
//
// The host fills the addressing and content fields; the dispatcher fills ID
// (when empty), Status, Vendor, VendorMessageID, From (when a manager picks
// it), Attempts, ErrorCode and the timestamps.
type Message struct {
	// ID is unique within the store. The dispatcher assigns one when empty.
	ID string
	// IdempotencyKey makes creation idempotent per organization: a second
	// message with the same (OrgID, IdempotencyKey) is the first one. The
	// dispatcher derives one from ID when empty.
	IdempotencyKey string
	OrgID          string
	CampaignID     string
	ContactID      string
	Channel        Channel
	// To is the address: E.164 for sms/mms, an email address, a device
	// token or a web push subscription's endpoint.
	To string
	// From is the sending address; a service manager may choose it.
	From    string
	Subject string
	Body    string
	HTML    string
	// Media lists attachment URLs (MMS pictures, email attachments by URL).
	Media []string
	// Data is the push payload's custom data.
	Data    map[string]string
	Urgency Urgency
	// TTL is how long a push service keeps an undelivered message; zero
	// means the vendor's default.
	TTL time.Duration
	// SendAt delays the send; zero means now.
	SendAt time.Time
	// SendBefore is the deadline after which the message must not be sent;
	// zero means none. A message still unsent then ends canceled.
	SendBefore time.Time
	// Vendor is the name of the vendor that sent (or will send) it.
	Vendor string
	// VendorMessageID is the vendor's ID for it, used to match reports.
	VendorMessageID string
	// MessagingServiceID is the vendor-side sender pool it went through.
	MessagingServiceID string
	Status             Status
	// ErrorCode is the last vendor or herald error code.
	ErrorCode string
	// Reason says, in words, why the message was blocked, failed or canceled.
	Reason string
	// Attempts counts calls made to a vendor for this message.
	Attempts int
	// LeaseOwner and LeaseUntil are managed by the dispatcher and the store:
	// the worker that holds the message and until when (see WorkStore).
	LeaseOwner string
	LeaseUntil time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SentAt     time.Time
	// Meta carries host data through the pipeline untouched.
	Meta map[string]string
}

// Clone returns a deep copy of m. Stores hand out clones so that callers
// never share memory with stored state.
func (m *Message) Clone() *Message {
	if m == nil {
		return nil
	}
	c := new(Message)
	m.CopyTo(c)
	return c
}

// CopyTo sets *dst to a deep copy of m: Clone for a caller that keeps the
// copy inside memory of its own (a store's record, say).
func (m *Message) CopyTo(dst *Message) {
	*dst = *m
	dst.Media = slices.Clone(m.Media)
	dst.Data = maps.Clone(m.Data)
	dst.Meta = maps.Clone(m.Meta)
}

// Device is a push destination of a contact.
type Device struct {
	// Channel is apns, fcm or webpush.
	Channel Channel
	// Token is the APNs or FCM token, or the web push endpoint URL.
	Token string
	// Subscription is the web push subscription JSON from the browser
	// (endpoint and keys); empty for apns and fcm.
	Subscription string
	// Platform is free text the host may set (ios, android, chrome, ...).
	Platform  string
	CreatedAt time.Time
}

// WithDevice returns a new list of devices: d first, then devs without any
// other device of d's Token. It is the list a Store's PutDevice keeps
// (deduplicated, newest first).
func WithDevice(devs []Device, d Device) []Device {
	out := make([]Device, 1, len(devs)+1)
	out[0] = d
	for _, x := range devs {
		if x.Token != d.Token {
			out = append(out, x)
		}
	}
	return out
}

// WithoutDevice returns a new list of devices without the device of token,
// and whether devs had one.
func WithoutDevice(devs []Device, token string) ([]Device, bool) {
	out := make([]Device, 0, len(devs))
	for _, x := range devs {
		if x.Token != token {
			out = append(out, x)
		}
	}
	return out, len(out) < len(devs)
}

// Lookup status codes, Spoke's meaning: zero or more is textable.
const (
	LookupTextable    = 1
	LookupUnknown     = 0
	LookupLandline    = -1
	LookupNonexistent = -2
	LookupWrongRegion = -3
	LookupNotFound    = -4
)

// LookupResult is what a contact lookup (paid or free) learnt about a number.
type LookupResult struct {
	// Number is the E.164 number looked up.
	Number  string
	Carrier string
	// LineType is the vendor's word: mobile, landline, voip, ...
	LineType string
	// StatusCode: >= 0 textable (1 mobile/voip, 0 unknown), -1 landline,
	// -2 nonexistent, -3 wrong country, -4 not found.
	StatusCode int
	// ErrorCode is the vendor's error for the number, if any.
	ErrorCode  string
	CallerName string
	Vendor     string
	LookedUpAt time.Time
}

// Contact is a person the host messages. A contact loaded into a campaign
// carries that CampaignID.
type Contact struct {
	ID         string
	OrgID      string
	CampaignID string
	ExternalID string
	FirstName  string
	LastName   string
	// Phone is E.164.
	Phone string
	Email string
	Zip   string
	// Owner is the worker (texter, agent) who owns the conversation; replies
	// are routed to them.
	Owner        string
	CustomFields map[string]string
	Devices      []Device
	// Timezone is an IANA name such as "America/New_York".
	Timezone string
	// Lookup is the latest lookup result for Phone, if any.
	Lookup    *LookupResult
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a deep copy of c.
func (c *Contact) Clone() *Contact {
	if c == nil {
		return nil
	}
	d := *c
	d.CustomFields = maps.Clone(c.CustomFields)
	d.Devices = slices.Clone(c.Devices)
	if c.Lookup != nil {
		l := *c.Lookup
		d.Lookup = &l
	}
	return &d
}

// Organization is a tenant.
type Organization struct {
	ID   string
	Name string
	// Features overrides process-wide settings for this organization. An
	// override replaces the process-wide value; it never merges. Keys the
	// dispatcher reads: FeatureServiceManagers, FeatureDefaultVendor,
	// FeaturePhoneCountry, FeatureMaxContacts and FeatureVendorPrefix+channel.
	Features map[string]string
	// VendorConfig holds per-vendor configuration (credentials, ...) keyed
	// by vendor name, as saved through the vendor's OrgConfigurer.
	VendorConfig map[string]map[string]string
	CreatedAt    time.Time
}

// Feature keys the dispatcher reads from Organization.Features.
const (
	// FeatureServiceManagers is a comma-separated ordered list of enabled
	// service manager names; it replaces the dispatcher's list.
	FeatureServiceManagers = "SERVICE_MANAGERS"
	// FeatureDefaultVendor names the organization's default vendor.
	FeatureDefaultVendor = "DEFAULT_SERVICE"
	// FeatureVendorPrefix + a channel name ("VENDOR_email") names the
	// organization's vendor for that channel; it wins over
	// FeatureDefaultVendor.
	FeatureVendorPrefix = "VENDOR_"
	// FeaturePhoneCountry is the ISO 3166 region used to read national phone
	// numbers ("US", "GB").
	FeaturePhoneCountry = "PHONE_NUMBER_COUNTRY"
	// FeatureMaxContacts caps how many contacts one campaign load keeps
	// (a positive integer); a load's own limit wins over it.
	FeatureMaxContacts = "MAX_CONTACTS"
)

// Feature returns the organization's feature value for key and whether it
// is set to a non-empty value.
func (o *Organization) Feature(key string) (string, bool) {
	if o == nil {
		return "", false
	}
	v, ok := o.Features[key]
	return v, ok && v != ""
}

// Clone returns a deep copy of o.
func (o *Organization) Clone() *Organization {
	if o == nil {
		return nil
	}
	c := *o
	c.Features = maps.Clone(o.Features)
	if o.VendorConfig != nil {
		c.VendorConfig = make(map[string]map[string]string, len(o.VendorConfig))
		for k, v := range o.VendorConfig {
			c.VendorConfig[k] = maps.Clone(v)
		}
	}
	return &c
}

// CampaignState is where a campaign is in its life.
type CampaignState string

// Campaign states: draft → started → archived; unarchiving returns an
// archived campaign to started.
const (
	CampaignDraft    CampaignState = "draft"
	CampaignStarted  CampaignState = "started"
	CampaignArchived CampaignState = "archived"
)

// Campaign is a batch of messages to a loaded set of contacts.
type Campaign struct {
	ID    string
	OrgID string
	Title string
	State CampaignState
	// MessagingServiceID is the campaign's own vendor-side sender pool, if a
	// manager created one.
	MessagingServiceID string
	// Features are campaign-level settings; managers keep campaign flags here.
	Features  map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Clone returns a deep copy of c.
func (c *Campaign) Clone() *Campaign {
	if c == nil {
		return nil
	}
	d := *c
	d.Features = maps.Clone(c.Features)
	return &d
}

// DeliveryReport is a vendor's word about a message it accepted.
type DeliveryReport struct {
	OrgID  string
	Vendor string
	// EventID identifies this report at the vendor, for deduplication. When
	// the vendor has none, the parser derives one (for example message ID
	// plus status).
	EventID         string
	VendorMessageID string
	// Status is the herald status the report maps to: sent, delivered or
	// failed. Engagement reports (opened, clicked) set Engagement instead.
	Status     Status
	Engagement Engagement
	// ErrorCode is the vendor's error code, if any.
	ErrorCode string
	// From and To are the addresses the vendor reports, when it does.
	From               string
	To                 string
	MessagingServiceID string
	// Carrier is free carrier information some vendors include.
	Carrier string
	// Landline is set when the vendor says the number cannot take texts.
	Landline bool
	// OptedOut is set when the report says the recipient opted out
	// (unsubscribe, spam report, carrier-level STOP): the dispatcher records
	// an opt-out for the message's address on its channel's scope.
	OptedOut bool
	At       time.Time
	// Raw is the vendor's fields, for managers that need more.
	Raw map[string]string
}

// Engagement is something a recipient did with a delivered message.
type Engagement string

// Engagement kinds. They are recorded as events; they never change Status.
const (
	EngagementOpened  Engagement = "opened"
	EngagementClicked Engagement = "clicked"
	EngagementReplied Engagement = "replied"
)

// InboundMessage is a message a contact sent to one of the organization's
// addresses.
type InboundMessage struct {
	OrgID  string
	Vendor string
	// EventID identifies the message at the vendor, for deduplication.
	EventID            string
	Channel            Channel
	From               string
	To                 string
	MessagingServiceID string
	Body               string
	Media              []string
	ReceivedAt         time.Time
	Raw                map[string]string
}

// OptOut records that an address must receive no more messages from an
// organization on a channel scope.
type OptOut struct {
	OrgID string
	// Address is E.164 for phones, a lower-cased email address for email.
	Address string
	// Channel scopes the opt-out: ChannelSMS covers sms and mms (the
	// phone), ChannelEmail covers email. Empty means every channel.
	Channel Channel
	// Reason is a keyword ("stop"), a vendor code ("21610") or free text.
	Reason string
	// Source says who opted the address out: "inbound", "vendor", "host", ...
	Source     string
	CampaignID string
	ContactID  string
	At         time.Time
}

// OptOutScope returns the channel an opt-out for channel c is recorded under:
// sms and mms share the phone's scope (sms); other channels are their own.
func OptOutScope(c Channel) Channel {
	if c == ChannelMMS {
		return ChannelSMS
	}
	return c
}

// OwnedNumber is a sending number the organization owns at a vendor.
type OwnedNumber struct {
	OrgID  string
	Vendor string
	// VendorID is the vendor's ID for the number (Twilio's PN SID).
	VendorID string
	// Number is E.164.
	Number   string
	AreaCode string
	Country  string
	// AllocatedTo is empty when the number is free for general use, else
	// AllocationCampaign or AllocationMessagingService.
	AllocatedTo   string
	AllocatedToID string
	AllocatedAt   time.Time
	CreatedAt     time.Time
}

// Allocation kinds for OwnedNumber.AllocatedTo.
const (
	AllocationCampaign         = "campaign"
	AllocationMessagingService = "messaging_service"
)
