package herald

import (
	"context"
	"net/http"
	"time"
)

// Vendor is a channel driver: it sends messages through one provider (Twilio,
// SendGrid, APNs, ...). Send is the only required method; everything else a
// vendor can do is an optional capability interface below, found by type
// assertion. A vendor must be safe for concurrent use.
type Vendor interface {
	// Metadata describes the vendor. It is called often and must be cheap.
	Metadata() VendorMetadata
	// Send hands one message to the provider. It must honour ctx (return
	// promptly with ctx.Err() wrapped when ctx ends) and return either a
	// result with the vendor's message ID or an error holding a
	// *VendorError whose Class says what the failure means. When ctx ended
	// before any request left, the class is ClassTemporary (nothing was
	// sent); once a request may have reached the provider, it is
	// ClassMaybeDelivered.
	Send(ctx context.Context, req *SendRequest) (*SendResult, error)
}

// VendorMetadata describes a vendor.
type VendorMetadata struct {
	// Name is the registry key ("twilio"): lower-case, stable, unique.
	Name        string
	DisplayName string
	// Channels the vendor sends on.
	Channels []Channel
	// SupportsOrgConfig is true when each organization may carry its own
	// configuration (credentials) for this vendor; see OrgConfigurer.
	SupportsOrgConfig bool
	// IdempotentSend is true when the provider deduplicates sends by
	// SendRequest.Message.IdempotencyKey, so a send whose outcome is unknown
	// (ClassMaybeDelivered, a worker that died mid-send) may be repeated.
	IdempotentSend bool
}

// SupportsChannel reports whether the vendor sends on c.
func (m VendorMetadata) SupportsChannel(c Channel) bool {
	for _, x := range m.Channels {
		if x == c {
			return true
		}
	}
	return false
}

// Route is what the service managers decided about how a message is sent.
// Send hooks change it in order; the vendor reads it.
type Route struct {
	// Vendor names the vendor to send through; empty means the
	// organization's or the dispatcher's default for the channel.
	Vendor string
	// From is the sending address (number, email, ...). Managers fill it
	// only when empty unless they mean to override (see stickysender).
	From string
	// MessagingServiceID sends through a vendor-side sender pool (Twilio
	// Messaging Service SID, Bandwidth application ID).
	MessagingServiceID string
	// ForceMMS asks an SMS/MMS vendor to send as MMS.
	ForceMMS bool
	// Credentials overrides the organization's vendor credentials for this
	// message (account switching). Never logged.
	Credentials map[string]string
	// Extra carries manager-to-vendor keys the core does not know.
	Extra map[string]string
}

// SendRequest is everything a vendor gets to send one message.
type SendRequest struct {
	// Message is the message; the vendor must not modify it.
	Message      *Message
	Contact      *Contact
	Organization *Organization
	// Campaign is nil for messages outside a campaign.
	Campaign *Campaign
	// Route is what the managers decided; never nil.
	Route *Route
	// Device is the push destination for push channels, nil otherwise.
	Device *Device
	// StatusCallbackURL is where the vendor should post delivery reports
	// for this message, when the dispatcher knows its public base URL.
	StatusCallbackURL string
}

// SendResult is a vendor's answer to an accepted send.
type SendResult struct {
	// VendorMessageID is the provider's ID for the message; reports are
	// matched by it. Required.
	VendorMessageID string
	// Status is StatusSent (the default when empty) or StatusDelivered for
	// providers that confirm delivery synchronously.
	Status Status
	// From is the address the provider sent from, when it chose one.
	From string
	// MessagingServiceID is the sender pool the provider used, if any.
	MessagingServiceID string
	// Segments is how many billable parts the provider counted, if known.
	Segments int
}

// BatchSender is implemented by vendors whose API sends many messages in
// one call (FCM multicast, SendGrid personalizations, bulk SMS APIs).
// Dispatcher.SendBatch groups the messages that reach their vendor call by
// vendor and hands each group to SendBatch in chunks of at most MaxBatch;
// without it, SendBatch calls Send once per message, concurrently. Send,
// Enqueue and Run always use Send.
type BatchSender interface {
	// MaxBatch is the most requests one SendBatch call takes.
	MaxBatch() int
	// SendBatch sends reqs and returns one outcome per request, in order,
	// each with Send's contract. An error for the whole call (the request
	// never reached the provider, the provider refused it all) applies to
	// every request, and its class decides each message's fate.
	SendBatch(ctx context.Context, reqs []*SendRequest) ([]BatchOutcome, error)
}

// BatchOutcome is the outcome of one request of a batch: a result or an
// error, as Send would return them.
type BatchOutcome struct {
	Result *SendResult
	Err    error
}

// WebhookHandler is implemented by vendors that take callbacks (delivery
// reports, inbound messages, engagement). The dispatcher mounts it at
// /{org}/{vendor}/... under Dispatcher.Webhooks(); without it the vendor has
// no webhook route and requests there get 404.
type WebhookHandler interface {
	// ParseWebhook verifies the request (signature, basic auth, ...) with
	// the organization's secrets and turns it into events. A request that
	// fails verification returns an error wrapping ErrUnauthorized and no
	// events; a malformed one an error wrapping ErrInvalidInput. It must not
	// have side effects: the dispatcher records the events.
	ParseWebhook(ctx context.Context, req *WebhookRequest) (*WebhookResult, error)
}

// WebhookRequest is one webhook call, read and size-capped by the dispatcher.
type WebhookRequest struct {
	Organization *Organization
	Method       string
	// URL is the full public URL the vendor called (the dispatcher's
	// PublicBaseURL joined with the request path and query), which
	// signature schemes such as Twilio's sign.
	URL string
	// Path is the part of the path after /{org}/{vendor}, e.g. "/status".
	Path   string
	Header http.Header
	Body   []byte
}

// WebhookResult is what a webhook request said and how to answer it.
type WebhookResult struct {
	Reports []DeliveryReport
	Inbound []InboundMessage
	// StatusCode, ContentType and Body are the answer the vendor expects;
	// zero StatusCode means 200 with an empty body.
	StatusCode  int
	ContentType string
	Body        []byte
}

// ContactLookup is implemented by vendors that can look numbers up, usually
// for a fee. Without it, managers that need lookups (scrub) report that the
// organization's vendor cannot look numbers up and do nothing.
type ContactLookup interface {
	LookupContact(ctx context.Context, p LookupParams) (*LookupResult, error)
}

// LookupParams asks for one number.
type LookupParams struct {
	Organization *Organization
	// Number is E.164.
	Number string
	// WithCallerName asks for the caller name too (costs more).
	WithCallerName bool
}

// FreeContactLookup is implemented by vendors that learn about a number for
// free (carrier information on delivery reports). Without it, managers fall
// back to ContactLookup only when configured to spend money.
type FreeContactLookup interface {
	FreeLookup(ctx context.Context, p FreeLookupParams) (*LookupResult, error)
}

// FreeLookupParams identifies what the vendor already knows about a number.
type FreeLookupParams struct {
	Organization       *Organization
	Number             string
	VendorMessageID    string
	MessagingServiceID string
}

// NumberInventory is implemented by vendors that sell sending numbers.
// Without it, Dispatcher.BuyNumbers returns ErrUnsupported.
type NumberInventory interface {
	// BuyNumbers buys up to Limit numbers in the area and returns those it
	// bought (possibly fewer, with an error saying why it stopped).
	BuyNumbers(ctx context.Context, p BuyNumbersParams) ([]OwnedNumber, error)
	// ReleaseNumbers gives numbers back to the vendor and returns how many.
	ReleaseNumbers(ctx context.Context, p ReleaseNumbersParams) (int, error)
	// ListNumbers lists the numbers the account owns at the vendor.
	ListNumbers(ctx context.Context, p ListNumbersParams) ([]OwnedNumber, error)
}

// BuyNumbersParams asks for numbers in one area.
type BuyNumbersParams struct {
	Organization *Organization
	// Country is the ISO 3166 region ("US"); empty means the organization's.
	Country string
	// AreaCode (or a national destination code) to buy in.
	AreaCode string
	Limit    int
	// Options carries manager or host flags through (Spoke's opts).
	Options map[string]string
}

// ReleaseNumbersParams names the numbers to release: Numbers, or every
// unallocated number in AreaCode when Numbers is empty.
type ReleaseNumbersParams struct {
	Organization *Organization
	AreaCode     string
	Numbers      []OwnedNumber
}

// ListNumbersParams filters ListNumbers.
type ListNumbersParams struct {
	Organization       *Organization
	AreaCode           string
	MessagingServiceID string
}

// MessagingServices is implemented by vendors with sender pools (Twilio
// Messaging Services, Bandwidth applications). Without it, managers that
// need one (campaignservices) refuse to start campaigns on that vendor.
type MessagingServices interface {
	CreateMessagingService(ctx context.Context, p CreateMessagingServiceParams) (*MessagingService, error)
	DeleteMessagingService(ctx context.Context, org *Organization, id string) error
	// AddNumbersToMessagingService adds owned numbers (by VendorID).
	AddNumbersToMessagingService(ctx context.Context, org *Organization, id string, numbers []OwnedNumber) error
	// ClearMessagingServiceNumbers removes every number from the pool.
	ClearMessagingServiceNumbers(ctx context.Context, org *Organization, id string) error
}

// MessagingServiceFinder is implemented by vendors with MessagingServices
// that can look a sender pool up by its friendly name, so that a manager
// can adopt a service that a start which died before recording it had
// created, rather than create a second.
type MessagingServiceFinder interface {
	// FindMessagingService returns the organization's service named
	// friendlyName (the first, when several are); ErrNotFound when there
	// is none.
	FindMessagingService(ctx context.Context, org *Organization, friendlyName string) (*MessagingService, error)
}

// CreateMessagingServiceParams describes a new sender pool.
type CreateMessagingServiceParams struct {
	Organization *Organization
	FriendlyName string
	// StatusCallbackURL and InboundURL are the webhook URLs to configure.
	StatusCallbackURL string
	InboundURL        string
}

// MessagingService is a vendor-side sender pool.
type MessagingService struct {
	ID           string
	FriendlyName string
	// ConsoleURL links to the vendor's console page for it, if any.
	ConsoleURL string
}

// CostReporter is implemented by vendors that know their prices. Without
// it, mmswhencheaper needs the MMS/SMS ratio from the organization.
type CostReporter interface {
	CostData(ctx context.Context, org *Organization, from string) (*CostData, error)
}

// CostData is a vendor's price list for a sending number.
type CostData struct {
	SMSSegment float64
	MMSMessage float64
	Currency   string
	// Source says where the prices came from ("list price", "account").
	Source    string
	CheckedAt time.Time
}

// ErrorDescriber is implemented by vendors that can explain their codes.
// Without it, the dispatcher describes a code as "vendor error <code>".
type ErrorDescriber interface {
	DescribeError(code string) ErrorDescription
}

// ErrorDescription explains an error code.
type ErrorDescription struct {
	Code        string
	Description string
	// Link is the vendor's documentation page, if any.
	Link string
}

// OrgConfigurer is implemented by vendors that keep per-organization
// configuration (VendorMetadata.SupportsOrgConfig). Without it, the vendor
// is configured once for the process and counts as fully configured.
type OrgConfigurer interface {
	// OrgConfig returns the organization's configuration; with obscure set,
	// secrets are replaced by ObscuredSecret.
	OrgConfig(ctx context.Context, org *Organization, obscure bool) (map[string]string, error)
	// UpdateOrgConfig validates the new configuration (a value of
	// ObscuredSecret means unchanged) and returns what to save.
	UpdateOrgConfig(ctx context.Context, p UpdateOrgConfigParams) (map[string]string, error)
	// FullyConfigured reports whether the organization can send.
	FullyConfigured(ctx context.Context, org *Organization, managerData map[string]string) (bool, error)
}

// ObscuredSecret stands for a secret that OrgConfig hid; sent back in an
// update it means "unchanged".
const ObscuredSecret = "<obscured>"

// CopyConfig returns a copy of a vendor configuration (an empty map for
// nil), with the non-empty values of secretKeys replaced by ObscuredSecret
// when obscure is set: what an OrgConfigurer's OrgConfig returns.
func CopyConfig(cfg map[string]string, obscure bool, secretKeys ...string) map[string]string {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		out[k] = v
	}
	if obscure {
		for _, k := range secretKeys {
			if out[k] != "" {
				out[k] = ObscuredSecret
			}
		}
	}
	return out
}

// UpdateOrgConfigParams is a configuration change.
type UpdateOrgConfigParams struct {
	Organization *Organization
	Old          map[string]string
	New          map[string]string
	// ManagerData is what the vendor-setup hooks returned, merged in order.
	ManagerData map[string]string
}
