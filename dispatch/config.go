package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// Config configures a Dispatcher. Only Vendors is required; every other
// field has a documented default, applied by New.
type Config struct {
	// Store keeps messages and everything else. Default: a new
	// stores/memstore (in-memory, lost on exit).
	Store herald.Store
	// Vendors are the channel drivers; names (Metadata().Name) must be
	// unique. At least one is required.
	Vendors []herald.Vendor
	// Managers are the registered service managers; names must be unique.
	// Registering a manager does not enable it.
	Managers []herald.ServiceManager
	// EnabledManagers is the process-wide ordered list of enabled manager
	// names. An organization's herald.FeatureServiceManagers replaces it.
	EnabledManagers []string
	// DefaultVendor is the vendor used when neither the route, the
	// organization nor ChannelVendors names one. Default: the only
	// registered vendor that supports the message's channel, when there is
	// exactly one.
	DefaultVendor string
	// ChannelVendors names the default vendor per channel; it wins over
	// DefaultVendor.
	ChannelVendors map[herald.Channel]string
	// DefaultRegion is the ISO 3166 region for national phone numbers when
	// the organization sets no herald.FeaturePhoneCountry. Default "US".
	DefaultRegion string
	// Retry is the retry policy for temporary failures.
	Retry RetryPolicy
	// RateLimits caps the send rate per vendor and per sending address.
	// Sends wait for their turn; they never fail for it.
	RateLimits RateLimits
	// Limiter enforces RateLimits. Default: NewLocalLimiter, which counts
	// this dispatcher's sends only. Dispatchers sharing a vendor account
	// share a Limiter (queues/jetstream.Limiter) to hold the limits in
	// aggregate.
	Limiter Limiter
	// Concurrency is the number of messages Run and SendBatch work on at
	// once. Default 8.
	Concurrency int
	// SendTimeout bounds each vendor call. Default 30s.
	SendTimeout time.Duration
	// LeaseDuration is how long a worker holds a message it works on; it
	// must exceed SendTimeout plus any rate-limit wait. A message whose
	// worker died is picked up again when the lease expires. Default
	// SendTimeout + 1m.
	LeaseDuration time.Duration
	// PollInterval is how often Run looks for due scheduled sends, retries
	// and expired leases. Default 1s.
	PollInterval time.Duration
	// Queue carries jobs to Run. Default: an in-process queue of QueueSize
	// jobs, seen only by this dispatcher. Dispatchers sharing a store share
	// work through the store's poll in any case; a shared Queue
	// (queues/jetstream) brings each job to one of them at once.
	Queue Queue
	// QueueSize is the capacity of the default in-process queue. Default
	// 1024.
	QueueSize int
	// MaxWebhookBody caps a webhook request body, in bytes. Default 1 MiB.
	MaxWebhookBody int64
	// WebhookRetention is how long the store remembers seen webhook events
	// (to drop the vendors' retries of them) and keeps reports parked for
	// a send that never recorded its vendor ID. Run prunes what is older
	// when it starts and every hour; see PruneWebhookState. It must exceed
	// the longest time a vendor retries a callback (SendGrid: 72 hours).
	// Default 7 days.
	WebhookRetention time.Duration
	// PublicBaseURL is the public URL at which Webhooks() is mounted, e.g.
	// "https://example.com/herald/hooks". It builds status callback URLs and
	// the URL signature schemes sign. Default: taken from each request
	// (scheme, Host and path), and no status callback URLs are sent.
	PublicBaseURL string
	// OptOutKeywords opt a contact out when an inbound message consists of
	// one of them (case-insensitive, surrounding spaces and punctuation
	// ignored). Default: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT.
	OptOutKeywords []string
	// OptInKeywords lift an opt-out the same way. Default: START, UNSTOP.
	OptInKeywords []string
	// OnInbound receives every inbound message after it was recorded,
	// routed to the contact's owner. Optional.
	OnInbound func(ctx context.Context, in *Inbound) error
	// Router picks an owner for an inbound message whose sender matches no
	// contact, or a contact without an owner (contacts.DefaultOwner,
	// RoundRobin, LeastLoaded, or the host's own). Optional: without it
	// such messages reach OnInbound with no Owner.
	Router contacts.Router
	// Logger receives the dispatcher's logs. Default: discard.
	Logger *slog.Logger
	// Clock tells the time. Default: herald.SystemClock.
	Clock herald.Clock
	// WorkerID names this dispatcher as a lease owner; it must be unique
	// among dispatchers sharing a store. Default: random.
	WorkerID string
}

// RetryPolicy says how temporary failures are retried: attempt n (n ≥ 1)
// that fails with a retryable class waits InitialBackoff × Multiplier^(n-1),
// capped at MaxBackoff, spread by ±Jitter, or the vendor's Retry-After when
// that is longer, before attempt n+1. After MaxAttempts attempts the
// message fails.
type RetryPolicy struct {
	// MaxAttempts is the number of vendor calls per message. Default 5;
	// 1 disables retries.
	MaxAttempts int
	// InitialBackoff default 1s.
	InitialBackoff time.Duration
	// MaxBackoff default 5m.
	MaxBackoff time.Duration
	// Multiplier default 2.
	Multiplier float64
	// Jitter is the fraction (0–1) by which a backoff is randomly spread.
	// Default 0.2; a negative value disables jitter.
	Jitter float64
}

// Rate is a token bucket: PerSecond sends per second with bursts of Burst.
type Rate struct {
	PerSecond float64
	// Burst defaults to 1.
	Burst int
}

// RateLimits caps send rates. Whether a limit counts one dispatcher's
// sends or all dispatchers' depends on Config.Limiter.
type RateLimits struct {
	// Vendors limits each vendor by name.
	Vendors map[string]Rate
	// Senders limits specific sending addresses (E.164 numbers, emails).
	Senders map[string]Rate
	// PerSender limits every other sending address on its own; zero means
	// no per-address limit.
	PerSender Rate
}

func (c *Config) setDefaults() {
	if c.DefaultRegion == "" {
		c.DefaultRegion = "US"
	}
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = 5
	}
	if c.Retry.InitialBackoff == 0 {
		c.Retry.InitialBackoff = time.Second
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = 5 * time.Minute
	}
	if c.Retry.Multiplier == 0 {
		c.Retry.Multiplier = 2
	}
	if c.Retry.Jitter == 0 {
		c.Retry.Jitter = 0.2
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = c.SendTimeout + time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.QueueSize == 0 {
		c.QueueSize = 1024
	}
	if c.MaxWebhookBody == 0 {
		c.MaxWebhookBody = 1 << 20
	}
	if c.WebhookRetention == 0 {
		c.WebhookRetention = 7 * 24 * time.Hour
	}
	if c.OptOutKeywords == nil {
		c.OptOutKeywords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
	}
	if c.OptInKeywords == nil {
		c.OptInKeywords = []string{"START", "UNSTOP"}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = herald.SystemClock{}
	}
}

// Validate reports every problem with the configuration, joined, each
// wrapping herald.ErrConfig. It checks the configuration as given; New
// applies defaults first and then validates.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", herald.ErrConfig, fmt.Sprintf(format, args...)))
	}
	if len(c.Vendors) == 0 {
		bad("no vendors registered")
	}
	vendors := map[string]herald.Vendor{}
	for i, v := range c.Vendors {
		if v == nil {
			bad("vendor %d is nil", i)
			continue
		}
		md := v.Metadata()
		if md.Name == "" {
			bad("vendor %d has no name", i)
			continue
		}
		if _, dup := vendors[md.Name]; dup {
			bad("vendor %q registered twice", md.Name)
		}
		if len(md.Channels) == 0 {
			bad("vendor %q supports no channel", md.Name)
		}
		for _, ch := range md.Channels {
			if !ch.Valid() {
				bad("vendor %q lists invalid channel %q", md.Name, ch)
			}
		}
		vendors[md.Name] = v
	}
	if c.DefaultVendor != "" && vendors[c.DefaultVendor] == nil {
		bad("DefaultVendor %q is not registered", c.DefaultVendor)
	}
	for ch, name := range c.ChannelVendors {
		v := vendors[name]
		switch {
		case v == nil:
			bad("ChannelVendors[%s] = %q is not registered", ch, name)
		case !v.Metadata().SupportsChannel(ch):
			bad("ChannelVendors[%s] = %q does not support that channel", ch, name)
		}
	}
	managers := map[string]herald.ServiceManager{}
	for i, m := range c.Managers {
		if m == nil {
			bad("manager %d is nil", i)
			continue
		}
		name := m.Metadata().Name
		if name == "" {
			bad("manager %d has no name", i)
			continue
		}
		if _, dup := managers[name]; dup {
			bad("manager %q registered twice", name)
		}
		managers[name] = m
	}
	if _, err := orderManagers(c.EnabledManagers, managers); err != nil {
		errs = append(errs, err)
	}
	for name := range c.RateLimits.Vendors {
		if vendors[name] == nil {
			bad("RateLimits.Vendors names unregistered vendor %q", name)
		}
	}
	checkRate := func(what string, r Rate) {
		if r.PerSecond < 0 || r.Burst < 0 {
			bad("%s: negative rate", what)
		}
	}
	for name, r := range c.RateLimits.Vendors {
		checkRate("RateLimits.Vendors["+name+"]", r)
	}
	for addr, r := range c.RateLimits.Senders {
		checkRate("RateLimits.Senders["+addr+"]", r)
	}
	checkRate("RateLimits.PerSender", c.RateLimits.PerSender)
	if c.Retry.MaxAttempts < 0 {
		bad("Retry.MaxAttempts is negative")
	}
	if c.Retry.Multiplier != 0 && c.Retry.Multiplier < 1 {
		bad("Retry.Multiplier %v is below 1", c.Retry.Multiplier)
	}
	if c.Retry.Jitter > 1 {
		bad("Retry.Jitter %v is above 1", c.Retry.Jitter)
	}
	if c.Retry.InitialBackoff < 0 || c.Retry.MaxBackoff < 0 {
		bad("negative retry backoff")
	}
	if c.Concurrency < 0 || c.QueueSize < 0 || c.MaxWebhookBody < 0 {
		bad("Concurrency, QueueSize and MaxWebhookBody must not be negative")
	}
	if c.WebhookRetention < 0 {
		bad("WebhookRetention must not be negative")
	}
	if c.SendTimeout < 0 || c.PollInterval < 0 || c.LeaseDuration < 0 {
		bad("SendTimeout, PollInterval and LeaseDuration must not be negative")
	}
	if c.SendTimeout > 0 && c.LeaseDuration > 0 && c.LeaseDuration <= c.SendTimeout {
		bad("LeaseDuration %v must exceed SendTimeout %v", c.LeaseDuration, c.SendTimeout)
	}
	if c.PublicBaseURL != "" && !strings.HasPrefix(c.PublicBaseURL, "http://") && !strings.HasPrefix(c.PublicBaseURL, "https://") {
		bad("PublicBaseURL %q is not an http(s) URL", c.PublicBaseURL)
	}
	return errors.Join(errs...)
}
