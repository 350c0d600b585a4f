package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Keys of BuyNumbersParams.Options.
const (
	// OptionNumberType is "local" (default), "mobile" or "toll_free": the
	// AvailablePhoneNumbers list searched.
	OptionNumberType = "number_type"
	// OptionMessagingService adds every bought number to this messaging
	// service (their AllocatedTo is then messaging_service).
	OptionMessagingService = "messaging_service_sid"
)

// searchBatch is the most numbers one AvailablePhoneNumbers search asks
// for, and buyConcurrency how many purchases run at once.
const (
	searchBatch    = 30
	buyConcurrency = 5
)

type availableNumber struct {
	PhoneNumber string `json:"phone_number"`
	ISOCountry  string `json:"iso_country"`
}

type incomingNumber struct {
	SID         string `json:"sid"`
	PhoneNumber string `json:"phone_number"`
	DateCreated string `json:"date_created"`
}

// BuyNumbers searches Twilio's available numbers in the area and buys up to
// p.Limit (capped by Options.MaxNumbersPerBuy), in batches of at most 30,
// five purchases at a time, until the limit is reached or a search finds
// nothing. Any country: p.Country, else the organization's
// PHONE_NUMBER_COUNTRY, else US. In the US and Canada the search uses
// AreaCode; elsewhere Contains with the national destination code (a
// leading trunk 0 dropped) followed by wildcards. Numbers must take SMS
// (and MMS in the US and Canada). Options: OptionNumberType (by default
// local numbers, toll-free for the North American toll-free codes 800,
// 833, ... 888), OptionMessagingService. When a purchase fails the numbers bought so far
// are returned with the error.
func (v *Vendor) BuyNumbers(ctx context.Context, p herald.BuyNumbersParams) ([]herald.OwnedNumber, error) {
	if p.Limit < 1 {
		return nil, fmt.Errorf("twilio: buy numbers: limit %d: %w", p.Limit, herald.ErrInvalidInput)
	}
	area := strings.TrimSpace(p.AreaCode)
	if area == "" || !digits(area) {
		return nil, fmt.Errorf("twilio: buy numbers: area code %q: %w", p.AreaCode, herald.ErrInvalidInput)
	}
	country := strings.ToUpper(p.Country)
	if country == "" {
		country, _ = p.Organization.Feature(herald.FeaturePhoneCountry)
		country = strings.ToUpper(country)
	}
	if country == "" {
		country = "US"
	}
	nanp := country == "US" || country == "CA"
	kind := "Local"
	switch p.Options[OptionNumberType] {
	case "":
		if nanp && tollFreeAreas[area] {
			kind = "TollFree"
		}
	case "local":
	case "mobile":
		kind = "Mobile"
	case "toll_free":
		kind = "TollFree"
	default:
		return nil, fmt.Errorf("twilio: buy numbers: number type %q: %w", p.Options[OptionNumberType], herald.ErrInvalidInput)
	}
	creds := v.credentials(p.Organization, nil)
	service := p.Options[OptionMessagingService]
	limit := min(p.Limit, v.maxBuy)
	var bought []herald.OwnedNumber
	for len(bought) < limit {
		q := url.Values{"SmsEnabled": {"true"}, "PageSize": {strconv.Itoa(min(searchBatch, limit-len(bought)))}}
		if nanp {
			q.Set("AreaCode", area)
			q.Set("MmsEnabled", "true")
		} else {
			q.Set("Contains", strings.TrimPrefix(area, "0")+"*")
		}
		var page struct {
			Numbers []availableNumber `json:"available_phone_numbers"`
		}
		u := v.accountURL(creds, "/AvailablePhoneNumbers/"+url.PathEscape(country)+"/"+kind+".json?"+q.Encode())
		if _, err := v.do(ctx, call{method: http.MethodGet, url: u, creds: creds, out: &page}); err != nil {
			return bought, fmt.Errorf("twilio: searching numbers: %w", err)
		}
		if len(page.Numbers) == 0 {
			break
		}
		got, err := v.buyAll(ctx, creds, page.Numbers, p, country, service)
		bought = append(bought, got...)
		if err != nil {
			return bought, err
		}
		if len(got) == 0 {
			break
		}
	}
	return bought, nil
}

// buyAll buys the found numbers, buyConcurrency at a time, keeping the
// search's order in the result.
func (v *Vendor) buyAll(ctx context.Context, creds Credentials, found []availableNumber, p herald.BuyNumbersParams, country, service string) ([]herald.OwnedNumber, error) {
	out := make([]*herald.OwnedNumber, len(found))
	errs := make([]error, len(found))
	sem := make(chan struct{}, buyConcurrency)
	var wg sync.WaitGroup
	orgID := ""
	if p.Organization != nil {
		orgID = p.Organization.ID
	}
	for i, n := range found {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var in incomingNumber
			form := url.Values{"PhoneNumber": {n.PhoneNumber}, "FriendlyName": {v.friendly}}
			if _, err := v.do(ctx, call{method: http.MethodPost, url: v.accountURL(creds, "/IncomingPhoneNumbers.json"),
				form: form, creds: creds, out: &in}); err != nil {
				errs[i] = fmt.Errorf("twilio: buying number %s: %w", vendorhttp.MaskNumber(n.PhoneNumber), err)
				return
			}
			num := &herald.OwnedNumber{OrgID: orgID, Vendor: v.name, VendorID: in.SID, Number: in.PhoneNumber,
				AreaCode: p.AreaCode, Country: country, CreatedAt: v.clock.Now()}
			if service != "" {
				if err := v.addNumber(ctx, creds, service, in.SID); err != nil {
					errs[i] = fmt.Errorf("twilio: adding bought number to messaging service: %w", err)
				} else {
					num.AllocatedTo, num.AllocatedToID, num.AllocatedAt = herald.AllocationMessagingService, service, num.CreatedAt
				}
			}
			out[i] = num
		})
	}
	wg.Wait()
	var bought []herald.OwnedNumber
	for _, n := range out {
		if n != nil {
			bought = append(bought, *n)
		}
	}
	return bought, errors.Join(errs...)
}

// tollFreeAreas are the North American toll-free codes: BuyNumbers
// searches toll-free numbers for them unless OptionNumberType says
// otherwise.
var tollFreeAreas = map[string]bool{"800": true, "833": true, "844": true, "855": true, "866": true, "877": true, "888": true}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ReleaseNumbers releases numbers at Twilio: p.Numbers (by VendorID, the PN
// SID; a number without one is found by its Number), or, when p.Numbers is
// empty, every number of the account in p.AreaCode that is in no
// messaging service. A number Twilio no longer has (404) counts as
// released. It returns how many were released, and the first failures.
func (v *Vendor) ReleaseNumbers(ctx context.Context, p herald.ReleaseNumbersParams) (int, error) {
	if len(p.Numbers) == 0 && p.AreaCode == "" {
		return 0, fmt.Errorf("twilio: release numbers: neither numbers nor an area code: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(p.Organization, nil)
	var sids []string
	if len(p.Numbers) > 0 {
		var byNumber map[string]string
		for _, n := range p.Numbers {
			if n.VendorID != "" {
				sids = append(sids, n.VendorID)
				continue
			}
			if byNumber == nil {
				all, err := v.listIncoming(ctx, creds)
				if err != nil {
					return 0, err
				}
				byNumber = map[string]string{}
				for _, in := range all {
					byNumber[in.PhoneNumber] = in.SID
				}
			}
			if sid := byNumber[n.Number]; sid != "" {
				sids = append(sids, sid)
			}
		}
	} else {
		all, err := v.listIncoming(ctx, creds)
		if err != nil {
			return 0, err
		}
		inService, err := v.numbersInServices(ctx, creds)
		if err != nil {
			return 0, err
		}
		for _, in := range all {
			if !inService[in.SID] && areaOf(in.PhoneNumber, p.AreaCode) {
				sids = append(sids, in.SID)
			}
		}
	}
	released := 0
	var errs []error
	for _, sid := range sids {
		status, err := v.do(ctx, call{method: http.MethodDelete, url: v.accountURL(creds, "/IncomingPhoneNumbers/"+url.PathEscape(sid)+".json"), creds: creds})
		if err != nil && status != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("twilio: releasing %s: %w", sid, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		released++
	}
	return released, errors.Join(errs...)
}

// areaOf reports whether an E.164 number lies in the area code: for +1
// numbers the three digits after the 1, elsewhere any digits after the
// country code start with it (a loose match, for listing only).
func areaOf(number, area string) bool {
	if area == "" {
		return true
	}
	d := strings.TrimPrefix(number, "+")
	if strings.HasPrefix(d, "1") {
		return len(d) >= 4 && d[1:4] == area
	}
	area = strings.TrimPrefix(area, "0")
	for cc := 1; cc <= 3 && cc < len(d); cc++ {
		if strings.HasPrefix(d[cc:], area) {
			return true
		}
	}
	return false
}

// listIncoming lists every number of the account, following Twilio's
// next_page_uri pagination.
func (v *Vendor) listIncoming(ctx context.Context, creds Credentials) ([]incomingNumber, error) {
	var all []incomingNumber
	next := v.accountURL(creds, "/IncomingPhoneNumbers.json?PageSize=1000")
	for pages := 0; next != "" && pages < 1000; pages++ {
		var page struct {
			Numbers     []incomingNumber `json:"incoming_phone_numbers"`
			NextPageURI *string          `json:"next_page_uri"`
		}
		if _, err := v.do(ctx, call{method: http.MethodGet, url: next, creds: creds, out: &page}); err != nil {
			return nil, fmt.Errorf("twilio: listing numbers: %w", err)
		}
		all = append(all, page.Numbers...)
		next = ""
		if page.NextPageURI != nil && *page.NextPageURI != "" {
			next = v.apiBase + *page.NextPageURI
		}
	}
	return all, nil
}

// ListNumbers lists the account's numbers (following pagination), or with
// p.MessagingServiceID the numbers in that messaging service, filtered by
// p.AreaCode when set.
func (v *Vendor) ListNumbers(ctx context.Context, p herald.ListNumbersParams) ([]herald.OwnedNumber, error) {
	creds := v.credentials(p.Organization, nil)
	orgID := ""
	if p.Organization != nil {
		orgID = p.Organization.ID
	}
	var out []herald.OwnedNumber
	if p.MessagingServiceID != "" {
		nums, err := v.serviceNumbers(ctx, creds, p.MessagingServiceID)
		if err != nil {
			return nil, err
		}
		for _, n := range nums {
			if areaOf(n.PhoneNumber, p.AreaCode) {
				out = append(out, herald.OwnedNumber{OrgID: orgID, Vendor: v.name, VendorID: n.SID, Number: n.PhoneNumber,
					Country: n.CountryCode, AreaCode: p.AreaCode,
					AllocatedTo: herald.AllocationMessagingService, AllocatedToID: p.MessagingServiceID})
			}
		}
		return out, nil
	}
	all, err := v.listIncoming(ctx, creds)
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if areaOf(n.PhoneNumber, p.AreaCode) {
			out = append(out, herald.OwnedNumber{OrgID: orgID, Vendor: v.name, VendorID: n.SID, Number: n.PhoneNumber, AreaCode: p.AreaCode})
		}
	}
	return out, nil
}
