package campaignservices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// Compile-time checks: the hooks the manager implements.
var (
	_ herald.ServiceManager        = (*Manager)(nil)
	_ herald.MessageSendHook       = (*Manager)(nil)
	_ herald.CampaignDataProvider  = (*Manager)(nil)
	_ herald.CampaignUpdateHandler = (*Manager)(nil)
	_ herald.CampaignStartHook     = (*Manager)(nil)
	_ herald.CampaignArchiveHook   = (*Manager)(nil)
	_ herald.CampaignUnarchiveHook = (*Manager)(nil)
	_ herald.VendorConfiguredHook  = (*Manager)(nil)
	_ herald.BuyNumbersHook        = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists (Spoke's name).
const Name = "per-campaign-messageservices"

// Organization features the manager reads.
const (
	// FeatureContactsPerNumber is the number of contacts per reserved
	// number, a positive integer.
	FeatureContactsPerNumber = "CONTACTS_PER_PHONE_NUMBER"
	// FeatureRetainServices set to "true" empties a campaign's messaging
	// service on release instead of deleting it.
	FeatureRetainServices = "CAMPAIGN_PHONES_RETAIN_MESSAGING_SERVICES"
	// FeatureReleaseOnArchive set to "true" releases a campaign's numbers
	// when it is archived; "false" keeps them until a releaseNumbers update.
	FeatureReleaseOnArchive = "CAMPAIGN_PHONES_RELEASE_ON_ARCHIVE"
)

// Keys of the OnCampaignUpdate map.
const (
	// UpdateReserve (true) reserves numbers per the contacts' area codes.
	UpdateReserve = "reserve"
	// UpdateAreaCodeCounts (an object of area code → count) reserves
	// exactly those counts.
	UpdateAreaCodeCounts = "areaCodeCounts"
	// UpdateReleaseNumbers (true) releases an archived campaign's numbers
	// and service.
	UpdateReleaseNumbers = "releaseNumbers"
)

// DataSkipOrgMessageService is the key the manager sets to "true" in
// VendorConfiguredEvent.Data and BuyNumbersParams.Options: campaigns bring
// their own services, so the vendor need not require, or add bought
// numbers to, an organization-wide one.
const DataSkipOrgMessageService = "skipOrgMessageService"

// Defaults of Options.
const (
	DefaultContactsPerNumber    = 200
	DefaultMaxNumbersPerService = 400
	DefaultCreatingTimeout      = 2 * time.Minute
)

// Options configures a Manager; the zero value uses the defaults.
type Options struct {
	// ContactsPerNumber is how many contacts one reserved number serves.
	// Default 200; the organization feature CONTACTS_PER_PHONE_NUMBER
	// overrides it.
	ContactsPerNumber int
	// MaxNumbersPerService caps a campaign's reservation. Default 400.
	MaxNumbersPerService int
	// RetainServices empties a campaign's service on release instead of
	// deleting it; the feature CAMPAIGN_PHONES_RETAIN_MESSAGING_SERVICES
	// overrides it.
	RetainServices bool
	// ReleaseOnArchive releases a campaign's numbers and service in
	// OnCampaignArchive; the feature CAMPAIGN_PHONES_RELEASE_ON_ARCHIVE
	// overrides it. Default false: release with an update.
	ReleaseOnArchive bool
	// CallbackURLs returns the status callback and inbound URLs a new
	// service is created with; nil leaves them empty (the vendor's or the
	// account's defaults apply).
	CallbackURLs func(org *herald.Organization, c *herald.Campaign) (statusCallback, inbound string)
	// CreatingTimeout is how long a service creation may stay unfinished
	// before another start takes over. Default 2m.
	CreatingTimeout time.Duration
}

// Manager is the per-campaign messaging services manager. It keeps no
// state of its own (everything is in State and the store) and is safe for
// concurrent use.
type Manager struct {
	opts Options
}

// New returns a manager with opts.
func New(opts Options) *Manager {
	if opts.ContactsPerNumber <= 0 {
		opts.ContactsPerNumber = DefaultContactsPerNumber
	}
	if opts.MaxNumbersPerService <= 0 {
		opts.MaxNumbersPerService = DefaultMaxNumbersPerService
	}
	if opts.CreatingTimeout <= 0 {
		opts.CreatingTimeout = DefaultCreatingTimeout
	}
	return &Manager{opts: opts}
}

// Metadata describes the manager: campaign settings; starting a campaign
// creates a vendor-side service.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:                    Name,
		DisplayName:             "Per-campaign messaging services",
		Description:             "Reserves numbers per area code for each campaign and sends the campaign through its own messaging service.",
		SupportsCampaignConfig:  true,
		CanSpendMoney:           true,
		MoneySpendingOperations: []string{"OnCampaignStart"},
	}
}

// Phase is where a campaign's messaging service is.
type Phase string

// The phases of Record.Phase.
const (
	// PhaseNone: no service yet.
	PhaseNone Phase = ""
	// PhaseCreating: a start is creating the service (Token, At).
	PhaseCreating Phase = "creating"
	// PhaseCreated: the service exists (ServiceID); its numbers may not
	// be added yet.
	PhaseCreated Phase = "created"
	// PhaseReady: the service exists and holds the reserved numbers.
	PhaseReady Phase = "ready"
	// PhaseReleasing: a release began; the service may be gone.
	PhaseReleasing Phase = "releasing"
	// PhaseReleased: the numbers went back to the pool and the service was
	// deleted (or emptied).
	PhaseReleased Phase = "released"
)

// Record is a campaign's entry in the manager's State, under
// "campaign/" + the campaign ID.
type Record struct {
	Phase     Phase  `json:"phase,omitempty"`
	ServiceID string `json:"serviceId,omitempty"`
	// FriendlyName is the name the service was (or is being) created with.
	FriendlyName string `json:"friendlyName,omitempty"`
	// Token identifies the start working on the record, and At when it
	// claimed it.
	Token string    `json:"token,omitempty"`
	At    time.Time `json:"at,omitzero"`
}

func recordKey(campaignID string) string { return "campaign/" + campaignID }

// ReadRecord reads a campaign's record from the manager's State; a
// campaign without one has the zero Record.
func ReadRecord(ctx context.Context, s herald.State, campaignID string) (*Record, error) {
	r, _, err := readRecord(ctx, s, campaignID)
	return r, err
}

func readRecord(ctx context.Context, s herald.State, campaignID string) (*Record, []byte, error) {
	b, ok, err := s.Get(ctx, recordKey(campaignID))
	if err != nil {
		return nil, nil, fmt.Errorf("campaignservices: reading state: %w", err)
	}
	r := &Record{}
	if !ok {
		return r, nil, nil
	}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, nil, fmt.Errorf("campaignservices: record of campaign %s is corrupt: %w", campaignID, err)
	}
	return r, b, nil
}

// errNoChange makes updateRecord write nothing.
var errNoChange = errors.New("campaignservices: no change")

// updateRecord applies fn to the campaign's record with compare-and-swap;
// a nil record from fn deletes it.
func updateRecord(ctx context.Context, s herald.State, campaignID string, fn func(r *Record) (*Record, error)) (*Record, error) {
	for range 100 {
		r, old, err := readRecord(ctx, s, campaignID)
		if err != nil {
			return nil, err
		}
		next, err := fn(r)
		if errors.Is(err, errNoChange) {
			return r, nil
		}
		if err != nil {
			return r, err
		}
		var b []byte
		if next != nil && *next != (Record{}) {
			if b, err = json.Marshal(next); err != nil {
				return nil, err
			}
		}
		if b == nil {
			if old == nil {
				return &Record{}, nil
			}
			// Delete by swapping to an empty record, then removing it.
			ok, err := s.CompareAndSwap(ctx, recordKey(campaignID), old, []byte("{}"))
			if err != nil {
				return nil, fmt.Errorf("campaignservices: writing state: %w", err)
			}
			if !ok {
				continue
			}
			if err := s.Delete(ctx, recordKey(campaignID)); err != nil {
				return nil, fmt.Errorf("campaignservices: writing state: %w", err)
			}
			return &Record{}, nil
		}
		ok, err := s.CompareAndSwap(ctx, recordKey(campaignID), old, b)
		if err != nil {
			return nil, fmt.Errorf("campaignservices: writing state: %w", err)
		}
		if ok {
			return next, nil
		}
	}
	return nil, fmt.Errorf("%w: campaignservices: record of campaign %s keeps changing", herald.ErrConflict, campaignID)
}

func checkEnv(env herald.Env) error {
	if env.State == nil || env.Store == nil {
		return fmt.Errorf("%w: campaignservices needs Env.State and Env.Store", herald.ErrConfig)
	}
	return nil
}

func logger(env herald.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func now(env herald.Env) time.Time {
	if env.Clock != nil {
		return env.Clock.Now()
	}
	return time.Now()
}

func featureBool(org *herald.Organization, key string, def bool) bool {
	v, ok := org.Feature(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return def
	}
	return b
}

// contactsPerNumber is the organization's ratio.
func (m *Manager) contactsPerNumber(org *herald.Organization) int {
	if v, ok := org.Feature(FeatureContactsPerNumber); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n
		}
	}
	return m.opts.ContactsPerNumber
}

func services(env herald.Env) (herald.MessagingServices, error) {
	if env.Vendor == nil {
		return nil, fmt.Errorf("%w: campaignservices: the organization has no vendor", herald.ErrUnsupported)
	}
	ms, ok := env.Vendor.(herald.MessagingServices)
	if !ok {
		return nil, fmt.Errorf("%w: campaignservices: vendor %q cannot create messaging services (no herald.MessagingServices)",
			herald.ErrUnsupported, env.Vendor.Metadata().Name)
	}
	return ms, nil
}

func vendorName(env herald.Env) string {
	if env.Vendor == nil {
		return ""
	}
	return env.Vendor.Metadata().Name
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// areaContacts counts the campaign's contacts per area code. Contacts
// whose number has no area code (or cannot be read) count under "".
func areaContacts(ctx context.Context, env herald.Env, orgID, campaignID string) (map[string]int, int, error) {
	counts := map[string]int{}
	// Numbers that differ only in their last four digits share country and
	// area code, so each such prefix is parsed once: parsing costs tens of
	// microseconds, and campaigns have thousands of contacts in few areas.
	memo := map[string]string{}
	total := 0
	for c, err := range env.Store.ListContacts(ctx, orgID, campaignID) {
		if err != nil {
			return nil, 0, fmt.Errorf("campaignservices: listing contacts: %w", err)
		}
		if c.Phone == "" {
			continue
		}
		var area string
		prefix := c.Phone
		if len(prefix) > 8 {
			prefix = prefix[:len(prefix)-4]
		}
		if a, ok := memo[prefix]; ok && prefix != c.Phone {
			area = a
		} else {
			area, _ = contacts.AreaCode(c.Phone)
			memo[prefix] = area
		}
		counts[area]++
		total++
	}
	return counts, total, nil
}

// reserved lists the numbers allocated to the campaign.
func reserved(ctx context.Context, env herald.Env, orgID, campaignID string) ([]herald.OwnedNumber, error) {
	nums, err := env.Store.ListNumbers(ctx, herald.NumberFilter{OrgID: orgID, AllocatedTo: herald.AllocationCampaign, AllocatedToID: campaignID})
	if err != nil {
		return nil, fmt.Errorf("campaignservices: listing reserved numbers: %w", err)
	}
	return nums, nil
}

func byArea(nums []herald.OwnedNumber) map[string]int {
	out := map[string]int{}
	for _, n := range nums {
		out[n.AreaCode]++
	}
	return out
}

// AreaCodeCount is one row of CampaignData's "areaCodes".
type AreaCodeCount struct {
	AreaCode string `json:"areaCode"`
	// Contacts is the campaign's contacts in the area; Needed the numbers
	// they need; Reserved the numbers reserved there; Available the free
	// numbers of the vendor there.
	Contacts  int `json:"contacts"`
	Needed    int `json:"needed"`
	Reserved  int `json:"reserved"`
	Available int `json:"available"`
}

// CampaignData reports the campaign's numbers and service. The Data keys:
// "contacts", "contactsPerNumber", "needed", "reserved", "areaCodes"
// ([]AreaCodeCount, edit view only), "messagingServiceId", "phase",
// "released", "servicesSupported" and, when something is wrong, "error".
func (m *Manager) CampaignData(ctx context.Context, ev *herald.CampaignDataEvent) (*herald.ManagerData, error) {
	if err := checkEnv(ev.Env); err != nil {
		return nil, err
	}
	return m.data(ctx, ev.Env, ev.Organization, ev.Campaign, ev.ForStats)
}

func (m *Manager) data(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign, forStats bool) (*herald.ManagerData, error) {
	rec, err := ReadRecord(ctx, env.State, c.ID)
	if err != nil {
		return nil, err
	}
	released := rec.Phase == PhaseReleasing || rec.Phase == PhaseReleased
	serviceID := c.MessagingServiceID
	if serviceID == "" && rec.Phase == PhaseReady {
		serviceID = rec.ServiceID
	}
	per := m.contactsPerNumber(org)
	d := map[string]any{
		"contactsPerNumber":  per,
		"messagingServiceId": serviceID,
		"phase":              string(rec.Phase),
		"released":           released,
		"servicesSupported":  true,
	}
	md := &herald.ManagerData{Data: d, Unarchivable: herald.Bool(!released)}
	_, svcErr := services(env)
	if svcErr != nil {
		d["servicesSupported"] = false
		d["error"] = svcErr.Error()
	}
	nums, err := reserved(ctx, env, org.ID, c.ID)
	if err != nil {
		return nil, err
	}
	d["reserved"] = len(nums)
	if forStats {
		return md, nil
	}
	areas, total, err := areaContacts(ctx, env, org.ID, c.ID)
	if err != nil {
		return nil, err
	}
	needed := ceilDiv(total, per)
	d["contacts"] = total
	d["needed"] = needed

	free, err := env.Store.ListNumbers(ctx, herald.NumberFilter{OrgID: org.ID, Vendor: vendorName(env), Unallocated: true})
	if err != nil {
		return nil, fmt.Errorf("campaignservices: listing free numbers: %w", err)
	}
	have, avail := byArea(nums), byArea(free)
	keys := slices.Sorted(maps.Keys(areas))
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := areas[k]; !ok {
			keys = append(keys, k)
		}
	}
	rows := make([]AreaCodeCount, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, AreaCodeCount{AreaCode: k, Contacts: areas[k], Needed: ceilDiv(areas[k], per), Reserved: have[k], Available: avail[k]})
	}
	d["areaCodes"] = rows
	ready := rec.Phase == PhaseReady && serviceID != ""
	md.FullyConfigured = herald.Bool(svcErr == nil && !released && (ready || len(nums) >= needed))
	return md, nil
}

// OnCampaignUpdate takes {"reserve": true}, {"areaCodeCounts": {...}} (a
// draft campaign) or {"releaseNumbers": true} (an archived one) and
// returns the new data. Errors wrap herald.ErrInvalidInput for a bad
// update and herald.ErrConflict when too few numbers are free.
func (m *Manager) OnCampaignUpdate(ctx context.Context, ev *herald.CampaignUpdateEvent) (*herald.ManagerData, error) {
	if err := checkEnv(ev.Env); err != nil {
		return nil, err
	}
	c := ev.Campaign
	for k, v := range ev.Update {
		switch k {
		case UpdateReserve:
			if v != true && v != "true" {
				continue
			}
			areas, _, err := areaContacts(ctx, ev.Env, ev.Organization.ID, c.ID)
			if err != nil {
				return nil, err
			}
			per := m.contactsPerNumber(ev.Organization)
			counts := map[string]int{}
			for a, n := range areas {
				counts[a] = ceilDiv(n, per)
			}
			if err := m.reserve(ctx, ev.Env, ev.Organization, c, counts); err != nil {
				return nil, err
			}
		case UpdateAreaCodeCounts:
			counts, err := parseCounts(v)
			if err != nil {
				return nil, err
			}
			if err := m.reserve(ctx, ev.Env, ev.Organization, c, counts); err != nil {
				return nil, err
			}
		case UpdateReleaseNumbers:
			if v != true && v != "true" {
				continue
			}
			if c.State != herald.CampaignArchived {
				return nil, fmt.Errorf("%w: campaignservices: campaign %s is %s; numbers are released after archiving", herald.ErrInvalidInput, c.ID, c.State)
			}
			if err := m.release(ctx, ev.Env, ev.Organization, c); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: campaignservices: unknown update key %q", herald.ErrInvalidInput, k)
		}
	}
	cur, err := ev.Env.Store.GetCampaign(ctx, ev.Organization.ID, c.ID)
	if err != nil {
		cur = c
	}
	return m.data(ctx, ev.Env, ev.Organization, cur, ev.ForStats)
}

// parseCounts reads {"415": 3, ...} as decoded from JSON (float64 values)
// or built in Go (int values, map[string]int).
func parseCounts(v any) (map[string]int, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: campaignservices: %s: %s", herald.ErrInvalidInput, UpdateAreaCodeCounts, why)
	}
	out := map[string]int{}
	switch x := v.(type) {
	case map[string]int:
		maps.Copy(out, x)
	case map[string]any:
		for k, val := range x {
			switch n := val.(type) {
			case int:
				out[k] = n
			case float64:
				if n != math.Trunc(n) {
					return nil, bad("count of " + k + " is not a whole number")
				}
				out[k] = int(n)
			default:
				return nil, bad("count of " + k + " is not a number")
			}
		}
	default:
		return nil, bad("want an object of area code to count")
	}
	for k, n := range out {
		if n < 0 {
			return nil, bad("count of " + k + " is negative")
		}
		if n == 0 {
			delete(out, k)
		}
	}
	return out, nil
}

// reserve replaces the campaign's reservation with counts, all or nothing.
func (m *Manager) reserve(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign, counts map[string]int) error {
	if c.State != herald.CampaignDraft {
		return fmt.Errorf("%w: campaignservices: campaign %s is %s; numbers are reserved before the start", herald.ErrInvalidInput, c.ID, c.State)
	}
	vendor := vendorName(env)
	if vendor == "" {
		return fmt.Errorf("%w: campaignservices: the organization has no vendor", herald.ErrUnsupported)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total > m.opts.MaxNumbersPerService {
		return fmt.Errorf("%w: campaignservices: %d numbers asked, a service holds at most %d", herald.ErrInvalidInput, total, m.opts.MaxNumbersPerService)
	}
	current, err := reserved(ctx, env, org.ID, c.ID)
	if err != nil {
		return err
	}
	prev := byArea(current)
	if maps.Equal(prev, counts) {
		return nil
	}
	// Check first, so that a short area changes nothing.
	free, err := env.Store.ListNumbers(ctx, herald.NumberFilter{OrgID: org.ID, Vendor: vendor, Unallocated: true})
	if err != nil {
		return fmt.Errorf("campaignservices: listing free numbers: %w", err)
	}
	avail := byArea(free)
	var short []string
	for _, a := range slices.Sorted(maps.Keys(counts)) {
		// An empty area code takes any free number.
		have := avail[a] + prev[a]
		if a == "" {
			have = len(free) + len(current)
		}
		if have < counts[a] {
			short = append(short, fmt.Sprintf("%s: %d asked, %d free", areaName(a), counts[a], have))
		}
	}
	if len(short) > 0 {
		return fmt.Errorf("%w: campaignservices: not enough free numbers (%s); buy more first", herald.ErrConflict, strings.Join(short, "; "))
	}
	if err := m.allocate(ctx, env, org, c, vendor, counts); err != nil {
		// Put the previous reservation back (the same counts; the numbers
		// may differ) so a failure leaves the campaign as it was.
		if rerr := m.allocate(ctx, env, org, c, vendor, prev); rerr != nil {
			err = errors.Join(err, fmt.Errorf("campaignservices: restoring the previous reservation: %w", rerr))
		}
		return err
	}
	logger(env).InfoContext(ctx, "campaignservices: numbers reserved", "campaign", c.ID, "numbers", total, "areas", len(counts))
	return nil
}

func areaName(a string) string {
	if a == "" {
		return "any area"
	}
	return "area " + a
}

// allocate releases the campaign's numbers and allocates counts; on
// failure nothing stays allocated.
func (m *Manager) allocate(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign, vendor string, counts map[string]int) error {
	if _, err := env.Store.ReleaseNumbers(ctx, org.ID, herald.AllocationCampaign, c.ID); err != nil {
		return fmt.Errorf("campaignservices: releasing the previous reservation: %w", err)
	}
	// Specific area codes first, "any area" last.
	keys := slices.Sorted(maps.Keys(counts))
	if len(keys) > 0 && keys[0] == "" {
		keys = append(keys[1:], "")
	}
	for _, a := range keys {
		_, err := env.Store.AllocateNumbers(ctx, herald.AllocateParams{
			OrgID: org.ID, Vendor: vendor, AreaCode: a, Count: counts[a],
			AllocatedTo: herald.AllocationCampaign, AllocatedToID: c.ID, At: now(env),
		})
		if err != nil {
			if _, rerr := env.Store.ReleaseNumbers(ctx, org.ID, herald.AllocationCampaign, c.ID); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return fmt.Errorf("campaignservices: reserving %d numbers in %s: %w", counts[a], areaName(a), err)
		}
	}
	return nil
}

// friendlyName names a campaign's service (at most 64 characters, Twilio's
// limit).
func friendlyName(org *herald.Organization, c *herald.Campaign) string {
	s := "Campaign " + c.ID + ": " + org.ID
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// adopt looks for the service an earlier, dead start may have created
// under name, when the vendor can find services by name, and records it
// as the campaign's. It returns "" when there is none (or the vendor
// cannot tell), for the caller to create one.
func (m *Manager) adopt(ctx context.Context, env herald.Env, ms herald.MessagingServices, org *herald.Organization, c *herald.Campaign, name, token string, t time.Time) (string, error) {
	log := logger(env)
	finder, ok := ms.(herald.MessagingServiceFinder)
	if !ok {
		log.WarnContext(ctx, "campaignservices: an earlier start died while creating the campaign's messaging service; one may be left at the vendor",
			"campaign", c.ID, "friendly_name", name)
		return "", nil
	}
	svc, err := finder.FindMessagingService(ctx, org, name)
	switch {
	case errors.Is(err, herald.ErrNotFound):
		return "", nil
	case err == nil && (svc == nil || svc.ID == ""):
		err = fmt.Errorf("%w: the vendor found a messaging service without an ID", herald.ErrInvalidInput)
	}
	if err != nil {
		_, uerr := updateRecord(context.WithoutCancel(ctx), env.State, c.ID, func(r *Record) (*Record, error) {
			if r.Token != token {
				return nil, errNoChange
			}
			return &Record{Phase: PhaseCreating, FriendlyName: r.FriendlyName}, nil // still possibly at the vendor
		})
		return "", errors.Join(fmt.Errorf("campaignservices: looking for the messaging service %q an earlier start created: %w", name, err), uerr)
	}
	_, err = updateRecord(context.WithoutCancel(ctx), env.State, c.ID, func(r *Record) (*Record, error) {
		return &Record{Phase: PhaseCreated, ServiceID: svc.ID, FriendlyName: name, Token: token, At: t}, nil
	})
	if err != nil {
		return "", fmt.Errorf("campaignservices: saving the adopted service ID: %w", err)
	}
	log.InfoContext(ctx, "campaignservices: adopted the messaging service an earlier start created", "campaign", c.ID, "service", svc.ID)
	return svc.ID, nil
}

// OnCampaignStart creates (or reuses) the campaign's messaging service,
// adds the reserved numbers and sets Campaign.MessagingServiceID. See the
// package doc for the idempotency and rollback rules.
func (m *Manager) OnCampaignStart(ctx context.Context, ev *herald.CampaignEvent) (err error) {
	if err := checkEnv(ev.Env); err != nil {
		return err
	}
	env, org, c := ev.Env, ev.Organization, ev.Campaign
	ms, err := services(env)
	if err != nil {
		return err
	}
	log := logger(env)
	numbers, err := reserved(ctx, env, org.ID, c.ID)
	if err != nil {
		return err
	}
	name := friendlyName(org, c)
	token := newToken()
	t := now(env)
	var serviceID, orphan string
	rec, err := updateRecord(ctx, env.State, c.ID, func(r *Record) (*Record, error) {
		orphan = ""
		busy := r.Token != "" && t.Sub(r.At) < m.opts.CreatingTimeout
		switch r.Phase {
		case PhaseReleasing, PhaseReleased:
			return nil, fmt.Errorf("%w: campaignservices: campaign %s released its numbers", herald.ErrBlocked, c.ID)
		case PhaseCreating:
			if busy {
				return nil, fmt.Errorf("%w: campaignservices: another start of campaign %s is creating its messaging service", herald.ErrConflict, c.ID)
			}
			// An earlier start died while creating the service: the
			// vendor may have it. Look for it by name below.
			orphan = r.FriendlyName
			return &Record{Phase: PhaseCreating, FriendlyName: name, Token: token, At: t}, nil
		case PhaseCreated, PhaseReady:
			if busy {
				return nil, fmt.Errorf("%w: campaignservices: another start of campaign %s is setting up its messaging service", herald.ErrConflict, c.ID)
			}
			serviceID = r.ServiceID
			return &Record{Phase: PhaseCreated, ServiceID: r.ServiceID, FriendlyName: r.FriendlyName, Token: token, At: t}, nil
		default:
			return &Record{Phase: PhaseCreating, FriendlyName: name, Token: token, At: t}, nil
		}
	})
	if err != nil {
		return err
	}
	if serviceID == "" && orphan != "" {
		if serviceID, err = m.adopt(ctx, env, ms, org, c, orphan, token, t); err != nil {
			return err
		}
	}
	created := false
	if serviceID == "" {
		var status, inbound string
		if m.opts.CallbackURLs != nil {
			status, inbound = m.opts.CallbackURLs(org, c)
		}
		svc, err := ms.CreateMessagingService(ctx, herald.CreateMessagingServiceParams{
			Organization: org, FriendlyName: rec.FriendlyName, StatusCallbackURL: status, InboundURL: inbound,
		})
		if err == nil && (svc == nil || svc.ID == "") {
			err = fmt.Errorf("%w: the vendor returned no messaging service ID", herald.ErrInvalidInput)
		}
		if err != nil {
			_, uerr := updateRecord(context.WithoutCancel(ctx), env.State, c.ID, func(r *Record) (*Record, error) {
				if r.Token != token {
					return nil, errNoChange
				}
				return nil, nil
			})
			return errors.Join(fmt.Errorf("campaignservices: creating the messaging service: %w", err), uerr)
		}
		serviceID, created = svc.ID, true
		// Remember the ID before anything else can fail.
		_, err = updateRecord(context.WithoutCancel(ctx), env.State, c.ID, func(r *Record) (*Record, error) {
			return &Record{Phase: PhaseCreated, ServiceID: serviceID, FriendlyName: rec.FriendlyName, Token: token, At: t}, nil
		})
		if err != nil {
			return m.rollback(ctx, env, ms, org, c, serviceID, token, fmt.Errorf("campaignservices: saving the service ID: %w", err))
		}
		log.InfoContext(ctx, "campaignservices: messaging service created", "campaign", c.ID, "service", serviceID)
	} else {
		// A service from an earlier start: make it hold exactly the
		// current reservation.
		if err := ms.ClearMessagingServiceNumbers(ctx, org, serviceID); err != nil {
			gone := errors.Is(err, herald.ErrNotFound)
			_, uerr := updateRecord(context.WithoutCancel(ctx), env.State, c.ID, func(r *Record) (*Record, error) {
				switch {
				case r.Token != token:
					return nil, errNoChange
				case gone:
					return nil, nil // deleted at the vendor meanwhile: start afresh next time
				}
				return &Record{Phase: PhaseCreated, ServiceID: r.ServiceID, FriendlyName: r.FriendlyName}, nil
			})
			return errors.Join(fmt.Errorf("campaignservices: reusing messaging service %s: %w", serviceID, err), uerr)
		}
	}
	if len(numbers) > 0 {
		if err := ms.AddNumbersToMessagingService(ctx, org, serviceID, numbers); err != nil {
			return m.rollback(ctx, env, ms, org, c, serviceID, token, fmt.Errorf("campaignservices: adding %d numbers to messaging service %s: %w", len(numbers), serviceID, err))
		}
	}
	_, err = updateRecord(context.WithoutCancel(ctx), env.State, c.ID, func(r *Record) (*Record, error) {
		return &Record{Phase: PhaseReady, ServiceID: serviceID, FriendlyName: r.FriendlyName}, nil
	})
	if err != nil {
		return m.rollback(ctx, env, ms, org, c, serviceID, token, fmt.Errorf("campaignservices: saving state: %w", err))
	}
	c.MessagingServiceID = serviceID
	log.InfoContext(ctx, "campaignservices: campaign routed through its messaging service", "campaign", c.ID,
		"service", serviceID, "numbers", len(numbers), "created", created)
	return nil
}

// rollback deletes the service a failed start set up. When the deletion
// fails too, the record keeps the service ID so the next start reuses it
// instead of creating another.
func (m *Manager) rollback(ctx context.Context, env herald.Env, ms herald.MessagingServices, org *herald.Organization, c *herald.Campaign, serviceID, token string, cause error) error {
	dctx := context.WithoutCancel(ctx)
	derr := ms.DeleteMessagingService(dctx, org, serviceID)
	if derr != nil && !errors.Is(derr, herald.ErrNotFound) {
		logger(env).ErrorContext(ctx, "campaignservices: deleting the messaging service of a failed start failed", "campaign", c.ID, "service", serviceID, "error", derr)
		_, uerr := updateRecord(dctx, env.State, c.ID, func(r *Record) (*Record, error) {
			return &Record{Phase: PhaseCreated, ServiceID: serviceID, FriendlyName: r.FriendlyName}, nil
		})
		return errors.Join(cause, fmt.Errorf("campaignservices: rolling back: %w", derr), uerr)
	}
	_, uerr := updateRecord(dctx, env.State, c.ID, func(r *Record) (*Record, error) {
		if r.Token != token && r.ServiceID != serviceID {
			return nil, errNoChange
		}
		return nil, nil
	})
	logger(env).WarnContext(ctx, "campaignservices: start failed; messaging service deleted", "campaign", c.ID, "service", serviceID, "error", cause)
	return errors.Join(cause, uerr)
}

// OnMessageSend routes a campaign's message through the campaign's
// messaging service, unless the route already names one.
func (m *Manager) OnMessageSend(_ context.Context, ev *herald.MessageSendEvent) error {
	if ev.Campaign != nil && ev.Campaign.MessagingServiceID != "" && ev.Route != nil && ev.Route.MessagingServiceID == "" {
		ev.Route.MessagingServiceID = ev.Campaign.MessagingServiceID
	}
	return nil
}

// OnCampaignArchive releases the campaign's numbers and service when
// release on archive is configured; otherwise it does nothing.
func (m *Manager) OnCampaignArchive(ctx context.Context, ev *herald.CampaignEvent) error {
	if !featureBool(ev.Organization, FeatureReleaseOnArchive, m.opts.ReleaseOnArchive) {
		return nil
	}
	if err := checkEnv(ev.Env); err != nil {
		return err
	}
	return m.release(ctx, ev.Env, ev.Organization, ev.Campaign)
}

// OnCampaignUnarchive refuses (herald.ErrBlocked) once the campaign's
// numbers were released.
func (m *Manager) OnCampaignUnarchive(ctx context.Context, ev *herald.CampaignEvent) error {
	if err := checkEnv(ev.Env); err != nil {
		return err
	}
	rec, err := ReadRecord(ctx, ev.Env.State, ev.Campaign.ID)
	if err != nil {
		return err
	}
	if rec.Phase == PhaseReleasing || rec.Phase == PhaseReleased {
		return fmt.Errorf("%w: campaignservices: campaign %s released its numbers and messaging service", herald.ErrBlocked, ev.Campaign.ID)
	}
	return nil
}

// release deletes (or empties) the campaign's service, returns its numbers
// to the pool and clears the campaign's MessagingServiceID. It is
// idempotent; after its first step the campaign is no longer unarchivable.
func (m *Manager) release(ctx context.Context, env herald.Env, org *herald.Organization, c *herald.Campaign) error {
	t := now(env)
	rec, err := updateRecord(ctx, env.State, c.ID, func(r *Record) (*Record, error) {
		if r.Phase == PhaseReleased {
			return nil, errNoChange
		}
		id := r.ServiceID
		if id == "" {
			id = c.MessagingServiceID
		}
		return &Record{Phase: PhaseReleasing, ServiceID: id, FriendlyName: r.FriendlyName, At: t}, nil
	})
	if err != nil {
		return err
	}
	if rec.Phase == PhaseReleased {
		return nil
	}
	if rec.ServiceID != "" {
		ms, err := services(env)
		if err != nil {
			return err
		}
		if featureBool(org, FeatureRetainServices, m.opts.RetainServices) {
			err = ms.ClearMessagingServiceNumbers(ctx, org, rec.ServiceID)
		} else {
			err = ms.DeleteMessagingService(ctx, org, rec.ServiceID)
		}
		if err != nil && !errors.Is(err, herald.ErrNotFound) {
			return fmt.Errorf("campaignservices: releasing messaging service %s: %w", rec.ServiceID, err)
		}
	}
	n, err := env.Store.ReleaseNumbers(ctx, org.ID, herald.AllocationCampaign, c.ID)
	if err != nil {
		return fmt.Errorf("campaignservices: returning numbers to the pool: %w", err)
	}
	cur, err := env.Store.GetCampaign(ctx, org.ID, c.ID)
	if err != nil {
		return fmt.Errorf("campaignservices: loading campaign: %w", err)
	}
	if cur.MessagingServiceID != "" && cur.MessagingServiceID == rec.ServiceID {
		cur.MessagingServiceID = ""
		cur.UpdatedAt = t
		if _, err := env.Store.UpdateCampaign(ctx, cur, cur.State); err != nil {
			return fmt.Errorf("campaignservices: clearing the campaign's messaging service: %w", err)
		}
	}
	c.MessagingServiceID = ""
	if _, err := updateRecord(ctx, env.State, c.ID, func(r *Record) (*Record, error) {
		return &Record{Phase: PhaseReleased, ServiceID: r.ServiceID, FriendlyName: r.FriendlyName, At: t}, nil
	}); err != nil {
		return err
	}
	logger(env).InfoContext(ctx, "campaignservices: numbers released", "campaign", c.ID, "numbers", n, "service", rec.ServiceID)
	return nil
}

// OnVendorFullyConfigured tells the vendor that campaigns bring their own
// messaging services (Data["skipOrgMessageService"] = "true").
func (m *Manager) OnVendorFullyConfigured(_ context.Context, ev *herald.VendorConfiguredEvent) error {
	if ev.Data != nil {
		ev.Data[DataSkipOrgMessageService] = "true"
	}
	return nil
}

// OnBuyNumbers asks the vendor not to add bought numbers to an
// organization-wide messaging service (Options["skipOrgMessageService"]).
func (m *Manager) OnBuyNumbers(_ context.Context, ev *herald.BuyNumbersEvent) error {
	if ev.Params == nil {
		return nil
	}
	if ev.Params.Options == nil {
		ev.Params.Options = map[string]string{}
	}
	ev.Params.Options[DataSkipOrgMessageService] = "true"
	return nil
}
