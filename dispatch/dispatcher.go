package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/memstore"
)

// Dispatcher sends messages through vendors, running service managers'
// hooks in order, and records every status change in the Store. Create one
// with New and share it; it is safe for concurrent use.
type Dispatcher struct {
	cfg    Config
	store  herald.Store
	clock  herald.Clock
	logger *slog.Logger

	vendors         map[string]herald.Vendor
	vendorMeta      map[string]herald.VendorMetadata // read once: Metadata may allocate
	vendorOrder     []string
	managers        map[string]*manager
	managerRegistry map[string]herald.ServiceManager
	resolvedLists   sync.Map // list text → *resolved

	limiter     Limiter
	vendorRates map[string]vendorRate
	vendorsFn   func(string) (herald.Vendor, bool)

	statesMu sync.RWMutex
	states   map[stateViewKey]herald.State

	idPrefix string
	idSeq    atomic.Uint64

	optOutWords map[string]bool
	optInWords  map[string]bool

	// worker state (worker.go)
	queue    Queue
	runMu    sync.Mutex
	running  bool
	inflight sync.Map // message key → struct{}
}

// New builds a Dispatcher from cfg after applying defaults and validating.
func New(cfg Config) (*Dispatcher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		cfg.Store = memstore.New(memstore.WithClock(cfg.Clock))
	}
	d := &Dispatcher{
		cfg:             cfg,
		store:           cfg.Store,
		clock:           cfg.Clock,
		logger:          cfg.Logger,
		vendors:         map[string]herald.Vendor{},
		vendorMeta:      map[string]herald.VendorMetadata{},
		managers:        map[string]*manager{},
		managerRegistry: map[string]herald.ServiceManager{},
		vendorRates:     map[string]vendorRate{},
		states:          map[stateViewKey]herald.State{},
		optOutWords:     keywordSet(cfg.OptOutKeywords),
		optInWords:      keywordSet(cfg.OptInKeywords),
	}
	for _, v := range cfg.Vendors {
		md := v.Metadata()
		d.vendors[md.Name] = v
		d.vendorMeta[md.Name] = md
		name := md.Name
		d.vendorOrder = append(d.vendorOrder, name)
	}
	for _, m := range cfg.Managers {
		name := m.Metadata().Name
		d.managerRegistry[name] = m
		d.managers[name] = newManager(m, cfg.Logger)
	}
	for name, r := range cfg.RateLimits.Vendors {
		d.vendorRates[name] = vendorRate{key: "vendor:" + name, rate: r}
	}
	d.limiter = cfg.Limiter
	if d.limiter == nil {
		d.limiter = NewLocalLimiter()
	}
	d.queue = cfg.Queue
	if d.queue == nil {
		d.queue = newMemQueue(cfg.QueueSize, cfg.Clock)
	}
	d.vendorsFn = d.vendorByName // one method value, not one per hook call
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("dispatch: reading random bytes: %w", err)
	}
	d.idPrefix = hex.EncodeToString(b[:])
	if d.cfg.WorkerID == "" {
		d.cfg.WorkerID = "worker-" + d.idPrefix
	}
	return d, nil
}

// Store returns the dispatcher's store.
func (d *Dispatcher) Store() herald.Store { return d.store }

// WorkerID returns the name this dispatcher holds leases under.
func (d *Dispatcher) WorkerID() string { return d.cfg.WorkerID }

// Vendor returns a registered vendor by name.
func (d *Dispatcher) Vendor(name string) (herald.Vendor, bool) { return d.vendorByName(name) }

func (d *Dispatcher) vendorByName(name string) (herald.Vendor, bool) {
	v, ok := d.vendors[name]
	return v, ok
}

// newID returns a message ID unique across dispatchers: a random
// per-dispatcher prefix and a counter.
func (d *Dispatcher) newID() string {
	n := d.idSeq.Add(1)
	var arr [64]byte // the prefix is 12 hex digits: the ID fits, on the stack
	buf := append(arr[:0], "msg_"...)
	buf = append(buf, d.idPrefix...)
	buf = append(buf, '_')
	buf = strconv.AppendUint(buf, n, 10)
	return string(buf)
}

// organization loads an organization; one the store does not know is an
// organization with no features (hosts need not store organizations).
func (d *Dispatcher) organization(ctx context.Context, orgID string) (*herald.Organization, error) {
	if orgID == "" {
		return nil, fmt.Errorf("%w: organization ID is empty", herald.ErrInvalidInput)
	}
	org, err := d.store.GetOrganization(ctx, orgID)
	if errors.Is(err, herald.ErrNotFound) {
		return &herald.Organization{ID: orgID}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: loading organization: %w", err)
	}
	return org, nil
}

// region is the ISO region national phone numbers are read in.
func (d *Dispatcher) region(org *herald.Organization) string {
	if r, ok := org.Feature(herald.FeaturePhoneCountry); ok {
		return r
	}
	return d.cfg.DefaultRegion
}

// defaultVendorName resolves the vendor for a channel when the route names
// none: the organization's per-channel vendor, its default vendor, the
// dispatcher's per-channel vendor, its default vendor, else the only vendor
// supporting the channel.
func (d *Dispatcher) defaultVendorName(org *herald.Organization, ch herald.Channel) (string, error) {
	if org != nil && len(org.Features) > 0 { // the key is built only when there are features
		if name, ok := org.Feature(herald.FeatureVendorPrefix + string(ch)); ok {
			return name, nil
		}
	}
	if name, ok := org.Feature(herald.FeatureDefaultVendor); ok {
		if d.supports(name, ch) {
			return name, nil
		}
	}
	if name, ok := d.cfg.ChannelVendors[ch]; ok {
		return name, nil
	}
	if d.cfg.DefaultVendor != "" && d.supports(d.cfg.DefaultVendor, ch) {
		return d.cfg.DefaultVendor, nil
	}
	found := ""
	for _, name := range d.vendorOrder {
		if d.supports(name, ch) {
			if found != "" {
				return "", fmt.Errorf("%w: several vendors support channel %q and none is the default; set Config.ChannelVendors or the organization's %s", herald.ErrConfig, ch, herald.FeatureDefaultVendor)
			}
			found = name
		}
	}
	if found == "" {
		return "", fmt.Errorf("%w: no registered vendor supports channel %q", herald.ErrInvalidInput, ch)
	}
	return found, nil
}

// resolveVendor returns the vendor named (or the default for the channel)
// after checking that it exists and supports the channel.
func (d *Dispatcher) resolveVendor(org *herald.Organization, name string, ch herald.Channel) (herald.Vendor, string, error) {
	if name == "" {
		var err error
		if name, err = d.defaultVendorName(org, ch); err != nil {
			return nil, "", err
		}
	}
	v, ok := d.vendors[name]
	if !ok {
		return nil, "", fmt.Errorf("%w: unknown vendor %q", herald.ErrInvalidInput, name)
	}
	if !d.supports(name, ch) {
		return nil, "", fmt.Errorf("%w: vendor %q does not send on channel %q", herald.ErrInvalidInput, name, ch)
	}
	return v, name, nil
}

// supports reports whether the named vendor is registered and sends on ch.
func (d *Dispatcher) supports(name string, ch herald.Channel) bool {
	md, ok := d.vendorMeta[name]
	return ok && md.SupportsChannel(ch)
}

// vendorRate is a vendor's limit under its limiter key.
type vendorRate struct {
	key  string
	rate Rate
}

// waitRate waits for the vendor's and the sending address's rate limits.
func (d *Dispatcher) waitRate(ctx context.Context, vendor, from string) error {
	if vr, ok := d.vendorRates[vendor]; ok {
		if err := d.limiter.Wait(ctx, vr.key, vr.rate); err != nil {
			return err
		}
	}
	if from == "" {
		return nil
	}
	r, listed := d.cfg.RateLimits.Senders[from]
	if !listed {
		if d.cfg.RateLimits.PerSender.PerSecond <= 0 {
			return nil
		}
		r = d.cfg.RateLimits.PerSender
	}
	return d.limiter.Wait(ctx, "sender:"+from, r)
}
