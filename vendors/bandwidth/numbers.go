package bandwidth

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// Keys of BuyNumbersParams.Options.
const (
	// OptionSiteID and OptionPeerID order into this sub-account and
	// location instead of the configured ones.
	OptionSiteID = "site_id"
	OptionPeerID = "peer_id"
)

// orderBatch is the most numbers one search and one order ask for, and
// disconnectBatch the most one disconnect order releases.
const (
	orderBatch      = 50
	disconnectBatch = 100
	listPageSize    = 500
)

// searchResult is the Numbers API's <SearchResult>.
type searchResult struct {
	XMLName xml.Name `xml:"SearchResult"`
	Count   int      `xml:"ResultCount"`
	Numbers []string `xml:"TelephoneNumberList>TelephoneNumber"`
}

// orderRequest is an <Order> of existing (searched) numbers.
type orderRequest struct {
	XMLName        xml.Name `xml:"Order"`
	Name           string   `xml:"Name"`
	SiteID         string   `xml:"SiteId"`
	PeerID         string   `xml:"PeerId,omitempty"`
	PartialAllowed bool     `xml:"PartialAllowed"`
	Numbers        []string `xml:"ExistingTelephoneNumberOrderType>TelephoneNumberList>TelephoneNumber"`
}

// xmlErr is one <Error> of an <ErrorList>.
type xmlErr struct {
	Code        string `xml:"Code"`
	Description string `xml:"Description"`
	Number      string `xml:"TelephoneNumber"`
}

// orderResponse is an <OrderResponse> (creation and status), or a
// <DisconnectTelephoneNumberOrderResponse>: both carry OrderStatus and an
// ErrorList, and their order id.
type orderResponse struct {
	OrderID      string   `xml:"Order>id"`
	DisconnectID string   `xml:"orderRequest>id"`
	Status       string   `xml:"OrderStatus"`
	Completed    []string `xml:"CompletedNumbers>TelephoneNumber>FullNumber"`
	Failed       int      `xml:"FailedQuantity"`
	Errors       []xmlErr `xml:"ErrorList>Error"`
}

// disconnectRequest is a <DisconnectTelephoneNumberOrder>.
type disconnectRequest struct {
	XMLName xml.Name `xml:"DisconnectTelephoneNumberOrder"`
	Name    string   `xml:"name"`
	Numbers []string `xml:"DisconnectTelephoneNumberOrderType>TelephoneNumberList>TelephoneNumber"`
}

// inService is the <TNs> page of in-service numbers.
type inService struct {
	XMLName xml.Name `xml:"TNs"`
	Total   int      `xml:"TotalCount"`
	Next    string   `xml:"Links>next"`
	Numbers []string `xml:"TelephoneNumbers>TelephoneNumber"`
}

func decodeXML(into any) func([]byte) error {
	return func(data []byte) error { return xml.Unmarshal(data, into) }
}

func marshalXML(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic("bandwidth: encoding XML: " + err.Error()) // only fixed types with string fields
	}
	return append([]byte(xml.Header), b...)
}

// accountURL is the Numbers API URL of a path under the account.
func (v *Vendor) accountURL(c Credentials, p string) string {
	return v.dashBase + "/accounts/" + url.PathEscape(c.AccountID) + p
}

// tollFreeAreas are the North American toll-free codes: BuyNumbers
// searches toll-free numbers for them.
var tollFreeAreas = map[string]bool{"800": true, "833": true, "844": true, "855": true, "866": true, "877": true, "888": true}

// BuyNumbers orders up to p.Limit (capped by Options.MaxNumbersPerBuy)
// numbers in a North American area code (US and Canada: the Numbers API
// covers no other country here), in batches of at most 50: search
// available numbers (availableNumbers?areaCode=…, or
// tollFreeWildCardPattern for toll-free codes), order exactly those
// (an <Order> of ExistingTelephoneNumberOrderType into the site and peer
// from the options, the organization's configuration or Options), poll the
// order until Bandwidth completes it, and repeat until the limit is
// reached or a search finds nothing. Numbers an order could not complete
// are skipped; an order that fails entirely stops with an error, and the
// numbers bought so far are returned with it.
func (v *Vendor) BuyNumbers(ctx context.Context, p herald.BuyNumbersParams) ([]herald.OwnedNumber, error) {
	if p.Limit < 1 {
		return nil, fmt.Errorf("bandwidth: buy numbers: limit %d: %w", p.Limit, herald.ErrInvalidInput)
	}
	area := strings.TrimSpace(p.AreaCode)
	if len(area) != 3 || !digits(area) || area[0] < '2' {
		return nil, fmt.Errorf("bandwidth: buy numbers: area code %q: %w", p.AreaCode, herald.ErrInvalidInput)
	}
	country := strings.ToUpper(p.Country)
	if country == "" {
		country, _ = p.Organization.Feature(herald.FeaturePhoneCountry)
		country = strings.ToUpper(country)
	}
	if country == "" {
		country = "US"
	}
	if country != "US" && country != "CA" {
		return nil, fmt.Errorf("bandwidth: buy numbers in %s: only US and Canada: %w", country, herald.ErrUnsupported)
	}
	creds := v.credentials(p.Organization, nil)
	if s := p.Options[OptionSiteID]; s != "" {
		creds.SiteID = s
	}
	if s := p.Options[OptionPeerID]; s != "" {
		creds.PeerID = s
	}
	if creds.SiteID == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassAuth,
			Message: "buying numbers needs a site_id (sub-account) to order into", Err: herald.ErrConfig}
	}
	orgID := ""
	if p.Organization != nil {
		orgID = p.Organization.ID
	}
	limit := min(p.Limit, v.maxBuy)
	var bought []herald.OwnedNumber
	for len(bought) < limit {
		q := url.Values{"quantity": {strconv.Itoa(min(orderBatch, limit-len(bought)))}}
		if tollFreeAreas[area] {
			q.Set("tollFreeWildCardPattern", area)
		} else {
			q.Set("areaCode", area)
		}
		var found searchResult
		if _, err := v.do(ctx, call{api: apiDashboard, method: http.MethodGet,
			url: v.accountURL(creds, "/availableNumbers?"+q.Encode()), creds: creds, out: decodeXML(&found)}); err != nil {
			return bought, fmt.Errorf("bandwidth: searching numbers: %w", err)
		}
		if len(found.Numbers) == 0 {
			break
		}
		got, err := v.order(ctx, creds, found.Numbers)
		for _, tn := range got {
			bought = append(bought, herald.OwnedNumber{OrgID: orgID, Vendor: v.name, VendorID: tn, Number: e164(tn),
				AreaCode: area, Country: country, CreatedAt: v.clock.Now()})
		}
		if err != nil {
			return bought, err
		}
		if len(got) == 0 {
			break
		}
	}
	return bought, nil
}

// order orders the numbers and waits for the order to finish; it returns
// the numbers Bandwidth completed.
func (v *Vendor) order(ctx context.Context, creds Credentials, numbers []string) ([]string, error) {
	body := marshalXML(orderRequest{Name: v.orderName, SiteID: creds.SiteID, PeerID: creds.PeerID,
		PartialAllowed: true, Numbers: numbers})
	var created orderResponse
	var hdr http.Header
	if _, err := v.do(ctx, call{api: apiDashboard, method: http.MethodPost, url: v.accountURL(creds, "/orders"),
		body: body, contentType: xmlContentType, creds: creds, out: decodeXML(&created), header: &hdr}); err != nil {
		return nil, fmt.Errorf("bandwidth: ordering %d numbers: %w", len(numbers), err)
	}
	id := created.OrderID
	if id == "" {
		id = lastSegment(hdr.Get("Location"))
	}
	if id == "" {
		return nil, &herald.VendorError{Vendor: v.name, Class: herald.ClassMaybeDelivered,
			Message: "Bandwidth accepted a number order without an order id"}
	}
	final, err := v.poll(ctx, creds, "/orders/"+url.PathEscape(id), created)
	if err != nil {
		return nil, fmt.Errorf("bandwidth: number order %s: %w", id, err)
	}
	switch final.Status {
	case "COMPLETE", "PARTIAL":
		return final.Completed, nil
	}
	msg := "order " + strings.ToLower(final.Status)
	code := ""
	if len(final.Errors) > 0 {
		code, msg = final.Errors[0].Code, msg+": "+final.Errors[0].Description
	}
	return final.Completed, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Code: code,
		Message: vendorhttp.RedactDigits(msg)}
}

// poll fetches an order until its status is final (anything but RECEIVED
// and PROCESSING), every OrderPollInterval, at most OrderPollAttempts
// times.
func (v *Vendor) poll(ctx context.Context, creds Credentials, p string, first orderResponse) (orderResponse, error) {
	cur := first
	for attempt := 0; ; attempt++ {
		if cur.Status != "" && cur.Status != "RECEIVED" && cur.Status != "PROCESSING" {
			return cur, nil
		}
		if attempt >= v.pollMax {
			return cur, &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary,
				Message: fmt.Sprintf("still %s after %d checks", cur.Status, v.pollMax)}
		}
		t := time.NewTimer(v.pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return cur, &herald.VendorError{Vendor: v.name, Class: herald.ClassTemporary,
				Message: "waiting for the order", Err: ctx.Err()}
		case <-t.C:
		}
		var next orderResponse
		if _, err := v.do(ctx, call{api: apiDashboard, method: http.MethodGet, url: v.accountURL(creds, p),
			creds: creds, out: decodeXML(&next)}); err != nil {
			return cur, err
		}
		cur = next
	}
}

func lastSegment(loc string) string {
	if loc == "" {
		return ""
	}
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	s := path.Base(loc)
	if s == "." || s == "/" {
		return ""
	}
	return s
}

// e164 turns a ten-digit North American number into E.164.
func e164(tn string) string {
	if strings.HasPrefix(tn, "+") {
		return tn
	}
	if len(tn) == 11 && tn[0] == '1' {
		return "+" + tn
	}
	return "+1" + tn
}

// tenDigit turns an E.164 North American number into Bandwidth's ten
// digits, and reports whether it could.
func tenDigit(n string) (string, bool) {
	d := strings.TrimPrefix(n, "+")
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	return d, len(d) == 10 && digits(d)
}

// ListNumbers lists the account's in-service numbers (following the
// Numbers API's pagination), filtered by p.AreaCode when set. Bandwidth
// ties numbers to applications through locations, not one by one, so a
// p.MessagingServiceID is refused with herald.ErrUnsupported.
func (v *Vendor) ListNumbers(ctx context.Context, p herald.ListNumbersParams) ([]herald.OwnedNumber, error) {
	if p.MessagingServiceID != "" {
		return nil, fmt.Errorf("bandwidth: listing the numbers of an application: %w", herald.ErrUnsupported)
	}
	creds := v.credentials(p.Organization, nil)
	tns, err := v.inService(ctx, creds, p.AreaCode)
	if err != nil {
		return nil, err
	}
	orgID := ""
	if p.Organization != nil {
		orgID = p.Organization.ID
	}
	out := make([]herald.OwnedNumber, 0, len(tns))
	for _, tn := range tns {
		area := ""
		if d, ok := tenDigit(tn); ok {
			area = d[:3]
		}
		if p.AreaCode != "" && area != p.AreaCode {
			continue
		}
		out = append(out, herald.OwnedNumber{OrgID: orgID, Vendor: v.name, VendorID: tn, Number: e164(tn), AreaCode: area})
	}
	return out, nil
}

// inService lists the account's in-service numbers (ten digits), in an
// area code when set. The next page's link is read for its query only:
// credentials are never sent to a host the answer names.
func (v *Vendor) inService(ctx context.Context, creds Credentials, area string) ([]string, error) {
	q := url.Values{"size": {strconv.Itoa(listPageSize)}}
	if area != "" {
		q.Set("areaCode", area)
	}
	var all []string
	for pages := 0; pages < 1000; pages++ {
		var page inService
		if _, err := v.do(ctx, call{api: apiDashboard, method: http.MethodGet,
			url: v.accountURL(creds, "/inserviceNumbers?"+q.Encode()), creds: creds, out: decodeXML(&page)}); err != nil {
			return nil, fmt.Errorf("bandwidth: listing numbers: %w", err)
		}
		all = append(all, page.Numbers...)
		next := linkQuery(page.Next)
		if next == nil || len(page.Numbers) == 0 || next.Encode() == q.Encode() {
			break
		}
		if area != "" && next.Get("areaCode") == "" {
			next.Set("areaCode", area)
		}
		q = next
	}
	return all, nil
}

// linkQuery reads the query of a Numbers API link
// ("Link=<https://…/inserviceNumbers?page=…&size=500>;rel=\"next\";").
func linkQuery(link string) url.Values {
	if i := strings.IndexByte(link, '<'); i >= 0 {
		link = link[i+1:]
		if j := strings.IndexByte(link, '>'); j >= 0 {
			link = link[:j]
		}
	}
	link = strings.TrimSpace(link)
	if link == "" {
		return nil
	}
	u, err := url.Parse(link)
	if err != nil || u.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil
	}
	return q
}

// ReleaseNumbers disconnects numbers at Bandwidth: p.Numbers (by VendorID,
// the ten-digit number, else by Number), or, when p.Numbers is empty,
// every in-service number of the account in p.AreaCode. Disconnect orders
// of at most 100 numbers are placed and polled until final; a number an
// order reports as failed is not counted. It returns how many were
// released, and the failures.
func (v *Vendor) ReleaseNumbers(ctx context.Context, p herald.ReleaseNumbersParams) (int, error) {
	if len(p.Numbers) == 0 && p.AreaCode == "" {
		return 0, fmt.Errorf("bandwidth: release numbers: neither numbers nor an area code: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(p.Organization, nil)
	var tns []string
	if len(p.Numbers) > 0 {
		for _, n := range p.Numbers {
			id := n.VendorID
			if id == "" {
				id = n.Number
			}
			tn, ok := tenDigit(id)
			if !ok {
				return 0, fmt.Errorf("bandwidth: release numbers: %s is not a North American number: %w", vendorhttp.MaskNumber(id), herald.ErrInvalidInput)
			}
			tns = append(tns, tn)
		}
	} else {
		all, err := v.inService(ctx, creds, p.AreaCode)
		if err != nil {
			return 0, err
		}
		for _, tn := range all {
			if d, ok := tenDigit(tn); ok && d[:3] == p.AreaCode {
				tns = append(tns, d)
			}
		}
	}
	released := 0
	var errs []error
	for start := 0; start < len(tns); start += disconnectBatch {
		chunk := tns[start:min(start+disconnectBatch, len(tns))]
		n, err := v.disconnect(ctx, creds, chunk)
		released += n
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return released, errors.Join(errs...)
}

// disconnect places one disconnect order and waits for it.
func (v *Vendor) disconnect(ctx context.Context, creds Credentials, tns []string) (int, error) {
	body := marshalXML(disconnectRequest{Name: v.orderName, Numbers: tns})
	var created orderResponse
	var hdr http.Header
	if _, err := v.do(ctx, call{api: apiDashboard, method: http.MethodPost, url: v.accountURL(creds, "/disconnects"),
		body: body, contentType: xmlContentType, creds: creds, out: decodeXML(&created), header: &hdr}); err != nil {
		return 0, fmt.Errorf("bandwidth: disconnecting %d numbers: %w", len(tns), err)
	}
	id := created.DisconnectID
	if id == "" {
		id = lastSegment(hdr.Get("Location"))
	}
	final := created
	if id != "" {
		var err error
		if final, err = v.poll(ctx, creds, "/disconnects/"+url.PathEscape(id), created); err != nil {
			return 0, fmt.Errorf("bandwidth: disconnect order %s: %w", id, err)
		}
	}
	switch final.Status {
	case "FAILED":
		msg := "disconnect order failed"
		code := ""
		if len(final.Errors) > 0 {
			code, msg = final.Errors[0].Code, msg+": "+final.Errors[0].Description
		}
		return 0, &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent, Code: code, Message: vendorhttp.RedactDigits(msg)}
	case "PARTIAL":
		failed := max(len(final.Errors), final.Failed)
		return max(len(tns)-failed, 0), &herald.VendorError{Vendor: v.name, Class: herald.ClassPermanent,
			Message: fmt.Sprintf("disconnect order partial: %d of %d numbers failed", failed, len(tns))}
	}
	return len(tns), nil
}
