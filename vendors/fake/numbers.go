package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/heraldmsg/herald"
)

// callingCodes are the countries BuyNumbers knows, by ISO 3166 region.
var callingCodes = map[string]string{
	"US": "1", "CA": "1",
	"GB": "44", "DE": "49", "FR": "33", "ES": "34", "IT": "39", "NL": "31",
	"AU": "61", "MX": "52", "BR": "55", "IN": "91",
}

// BuyNumbers invents up to p.Limit numbers in the area and adds them to the
// organization's inventory at the fake. Numbers are distinct for the life
// of the Vendor (released numbers are not sold again) and valid-looking
// E.164:
//
//   - US and CA (and an empty Country, unless the organization's
//     PHONE_NUMBER_COUNTRY names another country): AreaCode must be three
//     digits starting 2–9; numbers are "+1" + area code + a seven-digit
//     subscriber number whose exchange starts 2–9.
//   - GB, DE, FR, ES, IT, NL, AU, MX, BR, IN: AreaCode is 1–5 digits
//     (a leading trunk 0 is dropped); numbers are "+" + the calling code +
//     area code + seven digits.
//
// An empty AreaCode, a malformed one, an unknown country or a Limit below
// 1 is an error wrapping herald.ErrInvalidInput. VendorIDs are "PN" + 32
// hex digits. When ctx ends part-way, the numbers bought so far are
// returned with ctx's error.
func (v *Vendor) BuyNumbers(ctx context.Context, p herald.BuyNumbersParams) ([]herald.OwnedNumber, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: buy numbers: %w", err)
	}
	if p.Organization == nil {
		return nil, fmt.Errorf("fake: buy numbers without an organization: %w", herald.ErrInvalidInput)
	}
	if p.Limit < 1 {
		return nil, fmt.Errorf("fake: buy numbers: limit %d: %w", p.Limit, herald.ErrInvalidInput)
	}
	country := strings.ToUpper(p.Country)
	if country == "" {
		country, _ = p.Organization.Feature(herald.FeaturePhoneCountry)
		country = strings.ToUpper(country)
	}
	if country == "" {
		country = "US"
	}
	cc, ok := callingCodes[country]
	if !ok {
		return nil, fmt.Errorf("fake: buy numbers: country %q not sold: %w", country, herald.ErrInvalidInput)
	}
	area := p.AreaCode
	if cc == "1" {
		if len(area) != 3 || !allDigits(area) || area[0] < '2' {
			return nil, fmt.Errorf("fake: buy numbers: area code %q is not a NANP area code: %w", area, herald.ErrInvalidInput)
		}
	} else {
		area = strings.TrimPrefix(area, "0")
		if area == "" || len(area) > 5 || !allDigits(area) {
			return nil, fmt.Errorf("fake: buy numbers: area code %q: %w", p.AreaCode, herald.ErrInvalidInput)
		}
	}

	var bought []herald.OwnedNumber
	for range p.Limit {
		if err := ctx.Err(); err != nil {
			return bought, fmt.Errorf("fake: buy numbers: stopped after %d: %w", len(bought), err)
		}
		v.mu.Lock()
		seqKey := "+" + cc + area
		n := v.areaSeq[seqKey]
		v.areaSeq[seqKey] = n + 1
		var sub string
		if cc == "1" {
			sub = fmt.Sprintf("%03d%04d", 200+(n/10000)%800, n%10000)
		} else {
			sub = fmt.Sprintf("%07d", n%10000000)
		}
		v.seq++
		num := herald.OwnedNumber{
			OrgID:     p.Organization.ID,
			Vendor:    v.name,
			VendorID:  fmt.Sprintf("PN%s%024x", v.tag, v.seq),
			Number:    "+" + cc + area + sub,
			AreaCode:  p.AreaCode,
			Country:   country,
			CreatedAt: v.clock.Now(),
		}
		inv := v.numbers[num.OrgID]
		if inv == nil {
			inv = map[string]*herald.OwnedNumber{}
			v.numbers[num.OrgID] = inv
		}
		stored := num
		inv[num.VendorID] = &stored
		v.mu.Unlock()
		bought = append(bought, num)
	}
	return bought, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ReleaseNumbers removes numbers from the organization's inventory (and
// from their messaging service) and returns how many it removed. With
// p.Numbers set, those numbers (matched by VendorID, else by Number; others
// are ignored); otherwise every number in p.AreaCode that is in no
// messaging service (the fake's idea of unallocated). Neither is an error
// wrapping herald.ErrInvalidInput.
func (v *Vendor) ReleaseNumbers(ctx context.Context, p herald.ReleaseNumbersParams) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("fake: release numbers: %w", err)
	}
	if p.Organization == nil {
		return 0, fmt.Errorf("fake: release numbers without an organization: %w", herald.ErrInvalidInput)
	}
	if len(p.Numbers) == 0 && p.AreaCode == "" {
		return 0, fmt.Errorf("fake: release numbers: neither numbers nor an area code: %w", herald.ErrInvalidInput)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	inv := v.numbers[p.Organization.ID]
	released := 0
	remove := func(id string) {
		if sid, ok := v.numService[id]; ok {
			if s := v.services[p.Organization.ID][sid]; s != nil {
				delete(s.numbers, id)
			}
			delete(v.numService, id)
		}
		delete(inv, id)
		released++
	}
	if len(p.Numbers) > 0 {
		for _, want := range p.Numbers {
			if id := v.findNumberLocked(inv, want); id != "" {
				remove(id)
			}
		}
		return released, nil
	}
	for id, n := range inv {
		if n.AreaCode == p.AreaCode {
			if _, inService := v.numService[id]; !inService {
				remove(id)
			}
		}
	}
	return released, nil
}

// findNumberLocked returns the VendorID of want in inv, matched by
// VendorID, else by Number; "" when it is not there.
func (v *Vendor) findNumberLocked(inv map[string]*herald.OwnedNumber, want herald.OwnedNumber) string {
	if want.VendorID != "" {
		if _, ok := inv[want.VendorID]; ok {
			return want.VendorID
		}
		return ""
	}
	for id, n := range inv {
		if n.Number == want.Number && want.Number != "" {
			return id
		}
	}
	return ""
}

// ListNumbers lists the organization's numbers at the fake, ordered by
// Number, filtered by AreaCode and MessagingServiceID when set. A number
// in a messaging service has AllocatedTo herald.AllocationMessagingService
// and AllocatedToID the service's ID.
func (v *Vendor) ListNumbers(ctx context.Context, p herald.ListNumbersParams) ([]herald.OwnedNumber, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: list numbers: %w", err)
	}
	if p.Organization == nil {
		return nil, fmt.Errorf("fake: list numbers without an organization: %w", herald.ErrInvalidInput)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []herald.OwnedNumber
	for id, n := range v.numbers[p.Organization.ID] {
		if p.AreaCode != "" && n.AreaCode != p.AreaCode {
			continue
		}
		sid := v.numService[id]
		if p.MessagingServiceID != "" && sid != p.MessagingServiceID {
			continue
		}
		c := *n
		if sid != "" {
			c.AllocatedTo, c.AllocatedToID = herald.AllocationMessagingService, sid
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b herald.OwnedNumber) int { return strings.Compare(a.Number, b.Number) })
	return out, nil
}

// service is a messaging service at the fake.
type service struct {
	herald.MessagingService
	numbers map[string]bool // member VendorIDs
}

// CreateMessagingService creates a sender pool with ID "MG" + 32 hex
// digits. FriendlyName is required (ErrInvalidInput).
func (v *Vendor) CreateMessagingService(ctx context.Context, p herald.CreateMessagingServiceParams) (*herald.MessagingService, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: create messaging service: %w", err)
	}
	if p.Organization == nil || p.FriendlyName == "" {
		return nil, fmt.Errorf("fake: create messaging service needs an organization and a friendly name: %w", herald.ErrInvalidInput)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seq++
	id := fmt.Sprintf("MG%s%024x", v.tag, v.seq)
	s := &service{
		MessagingService: herald.MessagingService{
			ID:           id,
			FriendlyName: p.FriendlyName,
			ConsoleURL:   "https://fake.example.com/console/services/" + id,
		},
		numbers: map[string]bool{},
	}
	org := p.Organization.ID
	if v.services[org] == nil {
		v.services[org] = map[string]*service{}
	}
	v.services[org][id] = s
	ms := s.MessagingService
	return &ms, nil
}

// FindMessagingService returns the organization's service named
// friendlyName, the oldest when several are; herald.ErrNotFound when none.
func (v *Vendor) FindMessagingService(ctx context.Context, org *herald.Organization, friendlyName string) (*herald.MessagingService, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake: find messaging service: %w", err)
	}
	if org == nil || friendlyName == "" {
		return nil, fmt.Errorf("fake: find messaging service needs an organization and a friendly name: %w", herald.ErrInvalidInput)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var found *service
	for _, s := range v.services[org.ID] {
		if s.FriendlyName == friendlyName && (found == nil || s.ID < found.ID) {
			found = s
		}
	}
	if found == nil {
		return nil, fmt.Errorf("fake: no messaging service named %q: %w", friendlyName, herald.ErrNotFound)
	}
	ms := found.MessagingService
	return &ms, nil
}

// notFound is the VendorError for an unknown service or number.
func (v *Vendor) notFound(what string) error {
	return &herald.VendorError{
		Vendor: v.name, Class: herald.ClassPermanent, Code: CodeNotFound,
		Message: what + " not found", HTTPStatus: 404,
		Err: fmt.Errorf("fake: %s: %w", what, herald.ErrNotFound),
	}
}

// serviceLocked returns the organization's service, or a not-found
// VendorError; v.mu must be held.
func (v *Vendor) serviceLocked(org *herald.Organization, id string) (*service, error) {
	if org == nil {
		return nil, fmt.Errorf("fake: messaging service without an organization: %w", herald.ErrInvalidInput)
	}
	s := v.services[org.ID][id]
	if s == nil {
		return nil, v.notFound("messaging service " + id)
	}
	return s, nil
}

// DeleteMessagingService deletes the service; its numbers stay in the
// inventory, free. An unknown ID is a permanent *herald.VendorError (code
// 404) wrapping herald.ErrNotFound.
func (v *Vendor) DeleteMessagingService(ctx context.Context, org *herald.Organization, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake: delete messaging service: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s, err := v.serviceLocked(org, id)
	if err != nil {
		return err
	}
	for n := range s.numbers {
		delete(v.numService, n)
	}
	delete(v.services[org.ID], id)
	return nil
}

// AddNumbersToMessagingService adds owned numbers (matched by VendorID,
// else Number) to the service, all or none. An unknown service or number
// is a permanent VendorError wrapping herald.ErrNotFound; a number in
// another service one (code 409) wrapping herald.ErrConflict. Adding a
// member again is a no-op.
func (v *Vendor) AddNumbersToMessagingService(ctx context.Context, org *herald.Organization, id string, numbers []herald.OwnedNumber) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake: add numbers to messaging service: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s, err := v.serviceLocked(org, id)
	if err != nil {
		return err
	}
	inv := v.numbers[org.ID]
	ids := make([]string, 0, len(numbers))
	for _, n := range numbers {
		nid := v.findNumberLocked(inv, n)
		if nid == "" {
			return v.notFound("number " + n.VendorID)
		}
		if other, ok := v.numService[nid]; ok && other != id {
			return &herald.VendorError{
				Vendor: v.name, Class: herald.ClassPermanent, Code: CodeConflict,
				Message: "number " + nid + " belongs to messaging service " + other, HTTPStatus: 409,
				Err: fmt.Errorf("fake: number %s: %w", nid, herald.ErrConflict),
			}
		}
		ids = append(ids, nid)
	}
	for _, nid := range ids {
		s.numbers[nid] = true
		v.numService[nid] = id
	}
	return nil
}

// ClearMessagingServiceNumbers removes every number from the service. An
// unknown service is a permanent VendorError wrapping herald.ErrNotFound.
func (v *Vendor) ClearMessagingServiceNumbers(ctx context.Context, org *herald.Organization, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake: clear messaging service numbers: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s, err := v.serviceLocked(org, id)
	if err != nil {
		return err
	}
	for n := range s.numbers {
		delete(v.numService, n)
	}
	clear(s.numbers)
	return nil
}

// MessagingServiceList returns the organization's messaging services at
// the fake, ordered by ID.
func (v *Vendor) MessagingServiceList(orgID string) []herald.MessagingService {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []herald.MessagingService
	for _, s := range v.services[orgID] {
		out = append(out, s.MessagingService)
	}
	slices.SortFunc(out, func(a, b herald.MessagingService) int { return strings.Compare(a.ID, b.ID) })
	return out
}
