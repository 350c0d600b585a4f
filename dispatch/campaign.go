package dispatch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// CreateCampaign stores a new campaign in the draft state. ID and OrgID are
// required; a campaign with that ID must not exist.
func (d *Dispatcher) CreateCampaign(ctx context.Context, c *herald.Campaign) (*herald.Campaign, error) {
	if c == nil || c.ID == "" || c.OrgID == "" {
		return nil, fmt.Errorf("%w: campaign needs ID and OrgID", herald.ErrInvalidInput)
	}
	if _, err := d.store.GetCampaign(ctx, c.OrgID, c.ID); err == nil {
		return nil, fmt.Errorf("%w: campaign %s exists", herald.ErrConflict, c.ID)
	} else if !errors.Is(err, herald.ErrNotFound) {
		return nil, err
	}
	n := c.Clone()
	n.State = herald.CampaignDraft
	now := d.clock.Now()
	n.CreatedAt, n.UpdatedAt = now, now
	return d.store.PutCampaign(ctx, n)
}

// LoadOptions tunes LoadContacts.
type LoadOptions struct {
	// MaxContacts caps the load; zero means the organization's
	// herald.FeatureMaxContacts, else no cap. Contacts past it are counted
	// in OverLimit.
	MaxContacts int
	// MaxRejected caps the sample of rejected rows kept in the stats;
	// zero means 20.
	MaxRejected int
	// LoaderName and LoaderDetail are recorded in the stats (LoadFrom fills
	// them from the loader's metadata).
	LoaderName   string
	LoaderDetail string
	// Progress, when set, is called every ProgressEvery rows read (zero
	// means 10,000) and once more when the stream ends.
	Progress      contacts.ProgressFunc
	ProgressEvery int
	// Fresh says the source yields new contacts it keeps no reference to:
	// LoadContacts then keeps them without copying them first. LoadFrom
	// sets it from the loader's metadata.
	Fresh bool
}

// LoadFrom is LoadContacts reading from a contacts.Loader (CSV, SQL, ...),
// with the loader's name and detail in the stats.
func (d *Dispatcher) LoadFrom(ctx context.Context, orgID, campaignID string, l contacts.Loader, opts LoadOptions) (*herald.LoadStats, error) {
	md := l.Metadata()
	if opts.LoaderName == "" {
		opts.LoaderName = md.Name
	}
	if opts.LoaderDetail == "" {
		opts.LoaderDetail = md.Detail
	}
	opts.Fresh = opts.Fresh || md.Fresh
	return d.LoadContacts(ctx, orgID, campaignID, l.Load(ctx), opts)
}

// LoadContacts replaces a draft campaign's contacts with those read from
// src: each phone normalised to E.164 (or rejected), duplicates by number
// dropped (the first wins), opted-out numbers removed, a missing Timezone
// filled from the zip or the phone where known, then stored
// atomically (a failed load leaves the old set), then the organization's
// contact-load hooks run. Contacts get OrgID, CampaignID and, when empty,
// an ID. The stats are returned even when hooks fail.
func (d *Dispatcher) LoadContacts(ctx context.Context, orgID, campaignID string, src iter.Seq2[*herald.Contact, error], opts LoadOptions) (*herald.LoadStats, error) {
	campaign, err := d.store.GetCampaign(ctx, orgID, campaignID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: loading campaign %s: %w", campaignID, err)
	}
	if campaign.State != herald.CampaignDraft {
		return nil, fmt.Errorf("%w: campaign %s is %s; contacts load only into a draft", herald.ErrInvalidInput, campaignID, campaign.State)
	}
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if opts.MaxContacts == 0 {
		if v, ok := org.Feature(herald.FeatureMaxContacts); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: organization %s: %s=%q is not a count", herald.ErrConfig, orgID, herald.FeatureMaxContacts, v)
			}
			opts.MaxContacts = n
		}
	}
	maxRejected := opts.MaxRejected
	if maxRejected == 0 {
		maxRejected = 20
	}
	stats := &herald.LoadStats{LoaderName: opts.LoaderName, LoaderDetail: opts.LoaderDetail}
	if opts.Progress != nil {
		src = contacts.WithProgress(src, opts.ProgressEvery, opts.Progress)
	}
	reject := func(row int, value, reason string) {
		if len(stats.Rejected) < maxRejected {
			stats.Rejected = append(stats.Rejected, herald.RejectedContact{Row: row, Value: value, Reason: reason})
		}
	}
	region := d.region(org)
	seen := map[string]bool{}
	var keep []*herald.Contact
	// Rows are read in batches; the costly per-row work (phone validation,
	// time zone) runs in parallel, then the batch is applied in row order so
	// that first-wins dedupe and the stats are exactly as if sequential.
	batch := make([]loadRow, 0, loadBatch)
	apply := func() error {
		normalizeRows(batch, region)
		for i := range batch {
			r := &batch[i]
			c := r.c
			stats.Loaded++
			if r.missing {
				stats.MissingCell++
				reject(r.row, "", "missing cell")
				continue
			}
			if r.err != nil {
				stats.InvalidCell++
				reject(r.row, lastDigits(c.Phone), r.err.Error())
				continue
			}
			if seen[r.phone] {
				stats.Duplicates++
				reject(r.row, lastDigits(r.phone), "duplicate cell")
				continue
			}
			seen[r.phone] = true
			if _, err := d.store.FindOptOut(ctx, orgID, herald.ChannelSMS, r.phone); err == nil {
				stats.OptedOut++
				continue
			} else if !errors.Is(err, herald.ErrNotFound) {
				return fmt.Errorf("dispatch: checking opt-outs: %w", err)
			}
			if opts.MaxContacts > 0 && len(keep) >= opts.MaxContacts {
				stats.OverLimit++
				continue
			}
			n := c
			if !opts.Fresh {
				n = c.Clone() // the caller may still hold c
			}
			n.Phone, n.OrgID, n.CampaignID = r.phone, orgID, campaignID
			if n.Timezone == "" {
				n.Timezone = r.tz
			}
			if n.ID == "" {
				n.ID = campaignID + "-" + strconv.Itoa(r.row)
			}
			now := d.clock.Now()
			n.CreatedAt, n.UpdatedAt = now, now
			keep = append(keep, n)
		}
		batch = batch[:0]
		return nil
	}
	row := 0
	for c, err := range src {
		row++
		if err != nil {
			return nil, fmt.Errorf("dispatch: reading contacts (row %d): %w", row, err)
		}
		if c == nil {
			continue
		}
		batch = append(batch, loadRow{c: c, row: row})
		if len(batch) == loadBatch {
			if err := apply(); err != nil {
				return nil, err
			}
		}
	}
	if err := apply(); err != nil {
		return nil, err
	}
	if err := d.store.ReplaceCampaignContacts(ctx, orgID, campaignID, keep); err != nil {
		return nil, fmt.Errorf("dispatch: storing contacts: %w", err)
	}
	stats.FinalCount = len(keep)
	stats.LoadedAt = d.clock.Now()

	managers, err := d.managersFor(org)
	if err != nil {
		return stats, err
	}
	ev := &herald.ContactLoadEvent{Organization: org, Campaign: campaign, Stats: *stats}
	err = runAll(managers.all, "OnCampaignContactLoad", func(m *manager) error {
		if m.contactLoad == nil {
			return nil
		}
		ev.Env = d.env(m, orgID, d.orgVendor(org))
		return m.contactLoad.OnCampaignContactLoad(ctx, ev)
	})
	return stats, err
}

// loadBatch is how many rows a load validates in parallel at a time.
const loadBatch = 1024

// loadRow is one row of a load with its costly derived values.
type loadRow struct {
	c       *herald.Contact
	row     int
	missing bool
	phone   string
	err     error
	tz      string
}

// normalizeRows validates the rows' phones (and finds time zones for rows
// without one) on every CPU; each row is written by one goroutine only.
func normalizeRows(rows []loadRow, region string) {
	workers := min(runtime.GOMAXPROCS(0), max(len(rows)/64, 1))
	per := (len(rows) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(rows); lo += per {
		part := rows[lo:min(lo+per, len(rows))]
		wg.Go(func() {
			for i := range part {
				r := &part[i]
				if strings.TrimSpace(r.c.Phone) == "" {
					r.missing = true
					continue
				}
				if r.phone, r.err = contacts.NormalizePhone(r.c.Phone, region); r.err == nil && r.c.Timezone == "" {
					r.tz, _ = contacts.TimezoneFor(r.c.Zip, r.phone)
				}
			}
		})
	}
	wg.Wait()
}

// lastDigits keeps only the last four characters of a number for reports.
func lastDigits(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= 4 {
		return s
	}
	return "…" + s[len(s)-4:]
}

// orgVendor is the organization's default SMS vendor, else its default
// vendor for any channel, else nil: what campaign hooks see as Env.Vendor.
func (d *Dispatcher) orgVendor(org *herald.Organization) herald.Vendor {
	if v, _, err := d.resolveVendor(org, "", herald.ChannelSMS); err == nil {
		return v
	}
	if name, ok := org.Feature(herald.FeatureDefaultVendor); ok {
		return d.vendors[name]
	}
	if d.cfg.DefaultVendor != "" {
		return d.vendors[d.cfg.DefaultVendor]
	}
	return nil
}

// CampaignData asks every enabled manager that provides campaign data, in
// order, and returns their answers (Name filled).
func (d *Dispatcher) CampaignData(ctx context.Context, orgID, campaignID string, forStats bool) ([]*herald.ManagerData, error) {
	org, campaign, managers, err := d.campaignContext(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	return d.campaignData(ctx, org, campaign, managers, forStats)
}

func (d *Dispatcher) campaignData(ctx context.Context, org *herald.Organization, campaign *herald.Campaign, managers *managerList, forStats bool) ([]*herald.ManagerData, error) {
	var out []*herald.ManagerData
	vendor := d.orgVendor(org)
	for _, m := range managers.all {
		if m.campData == nil {
			continue
		}
		md, err := m.campData.CampaignData(ctx, &herald.CampaignDataEvent{
			Env: d.env(m, org.ID, vendor), Organization: org, Campaign: campaign.Clone(), ForStats: forStats,
		})
		if md, err = named(m, "CampaignData", md, err); err != nil {
			return nil, err
		}
		out = append(out, md)
	}
	return out, nil
}

// named finishes a data hook's answer: a failure becomes a *HookError, a
// nil answer an empty one, and Name is filled.
func named(m *manager, hook string, md *herald.ManagerData, err error) (*herald.ManagerData, error) {
	if err != nil {
		return nil, &HookError{Manager: m.name, Hook: hook, Err: err}
	}
	if md == nil {
		md = &herald.ManagerData{}
	}
	md.Name = m.name
	return md, nil
}

func (d *Dispatcher) campaignContext(ctx context.Context, orgID, campaignID string) (*herald.Organization, *herald.Campaign, *managerList, error) {
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return nil, nil, nil, err
	}
	campaign, err := d.store.GetCampaign(ctx, orgID, campaignID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dispatch: loading campaign %s: %w", campaignID, err)
	}
	managers, err := d.managersFor(org)
	if err != nil {
		return nil, nil, nil, err
	}
	return org, campaign, managers, nil
}

// CampaignUpdate is a change a user made to one manager's campaign settings.
type CampaignUpdate struct {
	OrgID      string
	CampaignID string
	// Manager is the enabled manager the update is for.
	Manager  string
	Update   map[string]any
	ForStats bool
	Actor    string
}

// UpdateCampaign hands a campaign settings change to one enabled manager
// and returns its new data.
func (d *Dispatcher) UpdateCampaign(ctx context.Context, u CampaignUpdate) (*herald.ManagerData, error) {
	org, campaign, _, err := d.campaignContext(ctx, u.OrgID, u.CampaignID)
	if err != nil {
		return nil, err
	}
	m, err := d.enabledManager(org, u.Manager)
	if err != nil {
		return nil, err
	}
	if m.campUpdate == nil {
		return nil, fmt.Errorf("%w: service manager %q takes no campaign updates", herald.ErrUnsupported, u.Manager)
	}
	md, err := m.campUpdate.OnCampaignUpdate(ctx, &herald.CampaignUpdateEvent{
		Env: d.env(m, org.ID, d.orgVendor(org)), Organization: org, Campaign: campaign,
		Update: u.Update, ForStats: u.ForStats, Actor: u.Actor,
	})
	return named(m, "OnCampaignUpdate", md, err)
}

// OrganizationData asks every enabled manager that provides organization
// data, in order.
func (d *Dispatcher) OrganizationData(ctx context.Context, orgID string) ([]*herald.ManagerData, error) {
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	managers, err := d.managersFor(org)
	if err != nil {
		return nil, err
	}
	var out []*herald.ManagerData
	vendor := d.orgVendor(org)
	for _, m := range managers.all {
		if m.orgData == nil {
			continue
		}
		md, err := m.orgData.OrganizationData(ctx, &herald.OrganizationDataEvent{Env: d.env(m, orgID, vendor), Organization: org})
		if md, err = named(m, "OrganizationData", md, err); err != nil {
			return nil, err
		}
		out = append(out, md)
	}
	return out, nil
}

// UpdateOrganization hands an organization settings change to one enabled
// manager and returns its new data.
func (d *Dispatcher) UpdateOrganization(ctx context.Context, orgID, managerName string, update map[string]any, actor string) (*herald.ManagerData, error) {
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	m, err := d.enabledManager(org, managerName)
	if err != nil {
		return nil, err
	}
	if m.orgUpdate == nil {
		return nil, fmt.Errorf("%w: service manager %q takes no organization updates", herald.ErrUnsupported, managerName)
	}
	md, err := m.orgUpdate.OnOrganizationUpdate(ctx, &herald.OrganizationUpdateEvent{
		Env: d.env(m, orgID, d.orgVendor(org)), Organization: org, Update: update, Actor: actor,
	})
	return named(m, "OnOrganizationUpdate", md, err)
}

// StartCampaign starts a draft campaign. It refuses (an error wrapping
// herald.ErrBlocked) while any enabled manager reports the campaign not
// fully configured, or when a start hook fails; hooks run in order and may
// set the campaign's MessagingServiceID and Features, saved with the
// started state. Two concurrent starts: one wins, the other gets
// herald.ErrConflict.
func (d *Dispatcher) StartCampaign(ctx context.Context, orgID, campaignID, actor string) (*herald.Campaign, error) {
	return d.moveCampaign(ctx, orgID, campaignID, actor, campaignMove{
		verb: "start", from: herald.CampaignDraft, to: herald.CampaignStarted,
		refuses: func(md *herald.ManagerData) bool { return md.FullyConfigured != nil && !*md.FullyConfigured },
		refusal: "not fully configured for",
		hook:    "OnCampaignStart",
		call: func(m *manager, ctx context.Context, ev *herald.CampaignEvent) error {
			if m.start == nil {
				return nil
			}
			return m.start.OnCampaignStart(ctx, ev)
		},
	})
}

// ArchiveCampaign archives a started campaign, then runs every archive
// hook; hook failures are returned joined after the campaign is archived.
func (d *Dispatcher) ArchiveCampaign(ctx context.Context, orgID, campaignID, actor string) (*herald.Campaign, error) {
	org, campaign, managers, err := d.campaignContext(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	if campaign.State != herald.CampaignStarted {
		return nil, fmt.Errorf("%w: campaign %s is %s, not started", herald.ErrConflict, campaignID, campaign.State)
	}
	archived := campaign.Clone()
	archived.State = herald.CampaignArchived
	archived.UpdatedAt = d.clock.Now()
	archived, err = d.store.UpdateCampaign(ctx, archived, herald.CampaignStarted)
	if err != nil {
		return nil, err
	}
	vendor := d.orgVendor(org)
	err = runAll(managers.all, "OnCampaignArchive", func(m *manager) error {
		if m.archive == nil {
			return nil
		}
		return m.archive.OnCampaignArchive(ctx, &herald.CampaignEvent{Env: d.env(m, orgID, vendor), Organization: org, Campaign: archived.Clone(), Actor: actor})
	})
	return archived, err
}

// UnarchiveCampaign returns an archived campaign to started. It refuses
// (herald.ErrBlocked) while any enabled manager reports it not unarchivable
// or an unarchive hook fails.
func (d *Dispatcher) UnarchiveCampaign(ctx context.Context, orgID, campaignID, actor string) (*herald.Campaign, error) {
	return d.moveCampaign(ctx, orgID, campaignID, actor, campaignMove{
		verb: "unarchive", from: herald.CampaignArchived, to: herald.CampaignStarted, forStats: true,
		refuses: func(md *herald.ManagerData) bool { return md.Unarchivable != nil && !*md.Unarchivable },
		refusal: "not unarchivable for",
		hook:    "OnCampaignUnarchive",
		call: func(m *manager, ctx context.Context, ev *herald.CampaignEvent) error {
			if m.unarchive == nil {
				return nil
			}
			return m.unarchive.OnCampaignUnarchive(ctx, ev)
		},
	})
}

// campaignMove is a lifecycle change that managers may refuse: first
// through their campaign data, then through a blocking hook.
type campaignMove struct {
	verb     string
	from, to herald.CampaignState
	// forStats selects the data view that vets the move.
	forStats bool
	refuses  func(*herald.ManagerData) bool
	refusal  string
	hook     string
	// call runs the manager's hook, if it has one.
	call func(m *manager, ctx context.Context, ev *herald.CampaignEvent) error
}

// moveCampaign vets and applies a campaign move: the state must be
// mv.from; no manager's data may refuse it; the hooks run in order and the
// first failure refuses it; then the state changes by compare-and-set, with
// what the hooks changed on the campaign.
func (d *Dispatcher) moveCampaign(ctx context.Context, orgID, campaignID, actor string, mv campaignMove) (*herald.Campaign, error) {
	org, campaign, managers, err := d.campaignContext(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	if campaign.State != mv.from {
		return nil, fmt.Errorf("%w: campaign %s is %s, not %s", herald.ErrConflict, campaignID, campaign.State, mv.from)
	}
	data, err := d.campaignData(ctx, org, campaign, managers, mv.forStats)
	if err != nil {
		return nil, err
	}
	var refusing []string
	for _, md := range data {
		if mv.refuses(md) {
			refusing = append(refusing, md.Name)
		}
	}
	if len(refusing) > 0 {
		return nil, fmt.Errorf("%w: campaign %s cannot %s: %s %s", herald.ErrBlocked, campaignID, mv.verb, mv.refusal, strings.Join(refusing, ", "))
	}
	moved := campaign.Clone()
	vendor := d.orgVendor(org)
	err = runChain(managers.all, mv.hook, func(m *manager) error {
		return mv.call(m, ctx, &herald.CampaignEvent{Env: d.env(m, orgID, vendor), Organization: org, Campaign: moved, Actor: actor})
	})
	if err != nil {
		return nil, fmt.Errorf("%w: campaign %s %s refused: %w", herald.ErrBlocked, campaignID, mv.verb, err)
	}
	moved.ID, moved.OrgID = campaign.ID, campaign.OrgID
	moved.State = mv.to
	moved.UpdatedAt = d.clock.Now()
	return d.store.UpdateCampaign(ctx, moved, mv.from)
}

// UpdateVendorConfig saves an organization's configuration for a vendor:
// the vendor-setup hooks run in order (their shared Data goes to the
// vendor), the vendor validates and returns what to save, and the
// organization is stored with it. The vendor must implement
// herald.OrgConfigurer.
func (d *Dispatcher) UpdateVendorConfig(ctx context.Context, orgID, vendorName string, config map[string]string) (map[string]string, error) {
	v, org, managers, err := d.vendorContext(ctx, orgID, vendorName)
	if err != nil {
		return nil, err
	}
	oc, ok := v.(herald.OrgConfigurer)
	if !ok {
		return nil, fmt.Errorf("%w: vendor %q has no organization configuration", herald.ErrUnsupported, vendorName)
	}
	old := maps.Clone(org.VendorConfig[vendorName])
	ev := &herald.VendorSetupEvent{Organization: org, VendorName: vendorName, OldConfig: old, NewConfig: maps.Clone(config), Data: map[string]string{}}
	err = runChain(managers.all, "OnVendorSetup", func(m *manager) error {
		if m.vendorSetup == nil {
			return nil
		}
		ev.Env = d.env(m, orgID, v)
		return m.vendorSetup.OnVendorSetup(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	saved, err := oc.UpdateOrgConfig(ctx, herald.UpdateOrgConfigParams{Organization: org, Old: old, New: ev.NewConfig, ManagerData: ev.Data})
	if err != nil {
		return nil, err
	}
	updated := org.Clone()
	if updated.VendorConfig == nil {
		updated.VendorConfig = map[string]map[string]string{}
	}
	updated.VendorConfig[vendorName] = saved
	if _, err := d.store.PutOrganization(ctx, updated); err != nil {
		return nil, fmt.Errorf("dispatch: saving organization: %w", err)
	}
	return oc.OrgConfig(ctx, updated, true)
}

// VendorFullyConfigured reports whether the organization can send through
// the vendor: the vendor-configured hooks run in order (their shared Data
// goes to the vendor), then the vendor decides. A vendor without
// herald.OrgConfigurer is fully configured.
func (d *Dispatcher) VendorFullyConfigured(ctx context.Context, orgID, vendorName string) (bool, error) {
	v, org, managers, err := d.vendorContext(ctx, orgID, vendorName)
	if err != nil {
		return false, err
	}
	ev := &herald.VendorConfiguredEvent{Organization: org, VendorName: vendorName, Data: map[string]string{}}
	err = runChain(managers.all, "OnVendorFullyConfigured", func(m *manager) error {
		if m.configured == nil {
			return nil
		}
		ev.Env = d.env(m, orgID, v)
		return m.configured.OnVendorFullyConfigured(ctx, ev)
	})
	if err != nil {
		return false, err
	}
	oc, ok := v.(herald.OrgConfigurer)
	if !ok {
		return true, nil
	}
	return oc.FullyConfigured(ctx, org, ev.Data)
}

// BuyNumbers buys sending numbers from a vendor for the organization: the
// buy-numbers hooks run in order and may change the request, the vendor
// buys, and the numbers are added to the store's inventory. The vendor must
// implement herald.NumberInventory. Numbers bought before an error are
// stored and returned with it.
func (d *Dispatcher) BuyNumbers(ctx context.Context, orgID, vendorName string, p herald.BuyNumbersParams) ([]herald.OwnedNumber, error) {
	v, org, managers, err := d.vendorContext(ctx, orgID, vendorName)
	if err != nil {
		return nil, err
	}
	inv, ok := v.(herald.NumberInventory)
	if !ok {
		return nil, fmt.Errorf("%w: vendor %q cannot buy numbers", herald.ErrUnsupported, vendorName)
	}
	if p.Limit <= 0 {
		return nil, fmt.Errorf("%w: limit must be positive", herald.ErrInvalidInput)
	}
	p.Organization = org
	if p.Country == "" {
		p.Country = d.region(org)
	}
	ev := &herald.BuyNumbersEvent{Organization: org, VendorName: vendorName, Params: &p}
	err = runChain(managers.all, "OnBuyNumbers", func(m *manager) error {
		if m.buyNumbers == nil {
			return nil
		}
		ev.Env = d.env(m, orgID, v)
		return m.buyNumbers.OnBuyNumbers(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	bought, buyErr := inv.BuyNumbers(ctx, p)
	for i := range bought {
		bought[i].OrgID, bought[i].Vendor = orgID, vendorName
		if bought[i].CreatedAt.IsZero() {
			bought[i].CreatedAt = d.clock.Now()
		}
	}
	if len(bought) > 0 {
		if err := d.store.AddNumbers(ctx, bought); err != nil {
			return bought, errors.Join(buyErr, fmt.Errorf("dispatch: storing bought numbers: %w", err))
		}
	}
	return bought, buyErr
}

// vendorContext resolves a vendor by name, the organization and its
// enabled managers: what the vendor configuration paths start from.
func (d *Dispatcher) vendorContext(ctx context.Context, orgID, vendorName string) (herald.Vendor, *herald.Organization, *managerList, error) {
	v, ok := d.vendors[vendorName]
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: unknown vendor %q", herald.ErrInvalidInput, vendorName)
	}
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return nil, nil, nil, err
	}
	managers, err := d.managersFor(org)
	if err != nil {
		return nil, nil, nil, err
	}
	return v, org, managers, nil
}
