package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/heraldmsg/herald"
)

// manager is a registered manager with its hooks looked up once.
type manager struct {
	name   string
	m      herald.ServiceManager
	logger *slog.Logger

	send        herald.MessageSendHook
	report      herald.DeliveryReportHook
	optOut      herald.OptOutHook
	contactLoad herald.ContactLoadHook
	vendorSetup herald.VendorSetupHook
	configured  herald.VendorConfiguredHook
	buyNumbers  herald.BuyNumbersHook
	start       herald.CampaignStartHook
	archive     herald.CampaignArchiveHook
	unarchive   herald.CampaignUnarchiveHook
	campData    herald.CampaignDataProvider
	campUpdate  herald.CampaignUpdateHandler
	orgData     herald.OrganizationDataProvider
	orgUpdate   herald.OrganizationUpdateHandler
}

func newManager(m herald.ServiceManager, logger *slog.Logger) *manager {
	name := m.Metadata().Name
	e := &manager{name: name, m: m, logger: logger.With("manager", name)}
	e.send, _ = m.(herald.MessageSendHook)
	e.report, _ = m.(herald.DeliveryReportHook)
	e.optOut, _ = m.(herald.OptOutHook)
	e.contactLoad, _ = m.(herald.ContactLoadHook)
	e.vendorSetup, _ = m.(herald.VendorSetupHook)
	e.configured, _ = m.(herald.VendorConfiguredHook)
	e.buyNumbers, _ = m.(herald.BuyNumbersHook)
	e.start, _ = m.(herald.CampaignStartHook)
	e.archive, _ = m.(herald.CampaignArchiveHook)
	e.unarchive, _ = m.(herald.CampaignUnarchiveHook)
	e.campData, _ = m.(herald.CampaignDataProvider)
	e.campUpdate, _ = m.(herald.CampaignUpdateHandler)
	e.orgData, _ = m.(herald.OrganizationDataProvider)
	e.orgUpdate, _ = m.(herald.OrganizationUpdateHandler)
	return e
}

// managerList is one resolved enabled list, in order, with the managers
// implementing the hot hooks picked out so a path without them costs nothing.
type managerList struct {
	all    []*manager
	send   []*manager
	report []*manager
	optOut []*manager
}

// orderManagers resolves an ordered list of names against the registry and
// checks RunsBefore/RunsAfter; it is the one place that decides "which
// managers, in which order".
func orderManagers(names []string, registry map[string]herald.ServiceManager) ([]string, error) {
	var out []string
	pos := map[string]int{}
	for _, raw := range names {
		name := strings.TrimSpace(raw)
		if name == "" {
			continue
		}
		if _, ok := registry[name]; !ok {
			return nil, fmt.Errorf("%w: service manager %q is enabled but not registered", herald.ErrConfig, name)
		}
		if _, dup := pos[name]; dup {
			return nil, fmt.Errorf("%w: service manager %q is enabled twice", herald.ErrConfig, name)
		}
		pos[name] = len(out)
		out = append(out, name)
	}
	for _, name := range out {
		md := registry[name].Metadata()
		for _, other := range md.RunsBefore {
			if p, ok := pos[other]; ok && p < pos[name] {
				return nil, fmt.Errorf("%w: service manager %q must run before %q; enabled order is %s",
					herald.ErrConfig, name, other, strings.Join(out, ","))
			}
		}
		for _, other := range md.RunsAfter {
			if p, ok := pos[other]; ok && p > pos[name] {
				return nil, fmt.Errorf("%w: service manager %q must run after %q; enabled order is %s",
					herald.ErrConfig, name, other, strings.Join(out, ","))
			}
		}
	}
	return out, nil
}

type resolved struct {
	list *managerList
	err  error
}

// managersFor returns the organization's enabled managers, in order: the
// organization's FeatureServiceManagers when set (replacing the global
// list), else Config.EnabledManagers. Results are cached per list text.
func (d *Dispatcher) managersFor(org *herald.Organization) (*managerList, error) {
	key := "\x00global"
	if v, ok := org.Features[herald.FeatureServiceManagers]; ok {
		key = v
	}
	if r, ok := d.resolvedLists.Load(key); ok {
		r := r.(*resolved)
		return r.list, r.err
	}
	names := d.cfg.EnabledManagers
	if key != "\x00global" {
		names = strings.Split(key, ",")
	}
	r := &resolved{}
	ordered, err := orderManagers(names, d.managerRegistry)
	if err != nil {
		if key != "\x00global" {
			err = fmt.Errorf("organization %s: %w", org.ID, err)
		}
		r.err = err
	} else {
		l := &managerList{}
		for _, name := range ordered {
			m := d.managers[name]
			l.all = append(l.all, m)
			if m.send != nil {
				l.send = append(l.send, m)
			}
			if m.report != nil {
				l.report = append(l.report, m)
			}
			if m.optOut != nil {
				l.optOut = append(l.optOut, m)
			}
		}
		r.list = l
	}
	d.resolvedLists.Store(key, r)
	return r.list, r.err
}

// EnabledManagers returns the names of the managers enabled for the
// organization, in the order their hooks run.
func (d *Dispatcher) EnabledManagers(ctx context.Context, orgID string) ([]string, error) {
	org, err := d.organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	l, err := d.managersFor(org)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(l.all))
	for i, m := range l.all {
		names[i] = m.name
	}
	return names, nil
}

// enabledManager returns one enabled manager by name.
func (d *Dispatcher) enabledManager(org *herald.Organization, name string) (*manager, error) {
	l, err := d.managersFor(org)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(l.all, func(m *manager) bool { return m.name == name })
	if i < 0 {
		return nil, fmt.Errorf("%w: service manager %q is not enabled for organization %s", herald.ErrInvalidInput, name, org.ID)
	}
	return l.all[i], nil
}

// env builds the Env a manager's hook receives.
func (d *Dispatcher) env(m *manager, orgID string, vendor herald.Vendor) herald.Env {
	return herald.Env{
		State:   d.stateFor(orgID, m.name),
		Vendor:  vendor,
		Vendors: d.vendorsFn,
		Store:   d.store,
		Clock:   d.clock,
		Logger:  m.logger,
	}
}

// HookError is a service manager hook's failure. Errors from after-the-fact
// hooks are returned joined, each a *HookError.
type HookError struct {
	Manager string
	Hook    string
	Err     error
}

// Error names the manager and the hook.
func (e *HookError) Error() string {
	return fmt.Sprintf("service manager %s: %s: %v", e.Manager, e.Hook, e.Err)
}

// Unwrap returns the hook's error.
func (e *HookError) Unwrap() error { return e.Err }

// onlyHookErrors reports whether err is made only of *HookError values, so
// that what it reports already happened.
func onlyHookErrors(err error) bool {
	if err == nil {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyHookErrors(e) {
				return false
			}
		}
		return true
	}
	_, ok := err.(*HookError)
	return ok
}

// runAll runs an after-the-fact hook on every manager, collecting failures.
func runAll(ms []*manager, hook string, call func(m *manager) error) error {
	var errs []error
	for _, m := range ms {
		if err := call(m); err != nil {
			m.logger.Warn("hook failed", "hook", hook, "err", err)
			errs = append(errs, &HookError{Manager: m.name, Hook: hook, Err: err})
		}
	}
	return errors.Join(errs...)
}

// runChain runs a blocking hook in order and stops at the first failure.
func runChain(ms []*manager, hook string, call func(m *manager) error) error {
	for _, m := range ms {
		if err := call(m); err != nil {
			return &HookError{Manager: m.name, Hook: hook, Err: err}
		}
	}
	return nil
}

// stateFor returns the (cached) State of one manager in one organization,
// so that running a hook allocates nothing for it.
func (d *Dispatcher) stateFor(orgID, manager string) herald.State {
	k := stateViewKey{orgID, manager}
	d.statesMu.RLock()
	s := d.states[k]
	d.statesMu.RUnlock()
	if s != nil {
		return s
	}
	d.statesMu.Lock()
	defer d.statesMu.Unlock()
	if s = d.states[k]; s == nil {
		if len(d.states) >= maxCachedStates {
			clear(d.states)
		}
		s = herald.NamespacedState(d.store, orgID, manager)
		d.states[k] = s
	}
	return s
}

type stateViewKey struct{ org, manager string }

// maxCachedStates bounds the State cache; past it the cache starts over.
const maxCachedStates = 1 << 16
