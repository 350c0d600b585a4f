package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/heraldmsg/herald"
)

// lookupAnswer is the part of Lookup v2's PhoneNumber resource the vendor
// reads.
type lookupAnswer struct {
	PhoneNumber      string   `json:"phone_number"`
	CountryCode      string   `json:"country_code"`
	Valid            *bool    `json:"valid"`
	ValidationErrors []string `json:"validation_errors"`
	LineType         *struct {
		CarrierName string `json:"carrier_name"`
		Type        string `json:"type"`
		ErrorCode   *int   `json:"error_code"`
	} `json:"line_type_intelligence"`
	CallerName *struct {
		CallerName string `json:"caller_name"`
		ErrorCode  *int   `json:"error_code"`
	} `json:"caller_name"`
}

// LookupContact looks a number up with Lookup v2's line_type_intelligence
// (and caller_name when asked; it costs more) and reads the answer as
// Spoke's status codes:
//
//   - Twilio 404 (20404): herald.LookupNotFound (-4);
//   - an invalid number or a line-type error (60600 unprovisioned, ...):
//     herald.LookupNonexistent (-2), ErrorCode set;
//   - a country other than the organization's PHONE_NUMBER_COUNTRY (when
//     set): herald.LookupWrongRegion (-3);
//   - landline: herald.LookupLandline (-1);
//   - mobile, fixedVoip, nonFixedVoip: herald.LookupTextable (1);
//   - any other line type: herald.LookupUnknown (0).
//
// Other failures are returned as *herald.VendorError.
func (v *Vendor) LookupContact(ctx context.Context, p herald.LookupParams) (*herald.LookupResult, error) {
	if p.Number == "" {
		return nil, fmt.Errorf("twilio: lookup of an empty number: %w", herald.ErrInvalidInput)
	}
	creds := v.credentials(p.Organization, nil)
	fields := "line_type_intelligence"
	if p.WithCallerName {
		fields += ",caller_name"
	}
	u := v.lookupURL + "/v2/PhoneNumbers/" + url.PathEscape(p.Number) + "?Fields=" + url.QueryEscape(fields)
	res := &herald.LookupResult{Number: p.Number, Vendor: v.name, LookedUpAt: v.clock.Now()}
	var a lookupAnswer
	status, err := v.do(ctx, call{method: http.MethodGet, url: u, creds: creds, out: &a})
	if err != nil {
		var ve *herald.VendorError
		if status == http.StatusNotFound && errors.As(err, &ve) && ve.Class == herald.ClassPermanent {
			res.StatusCode, res.ErrorCode = herald.LookupNotFound, ve.Code
			return res, nil
		}
		return nil, err
	}
	if a.PhoneNumber != "" {
		res.Number = a.PhoneNumber
	}
	if a.CallerName != nil {
		res.CallerName = a.CallerName.CallerName
	}
	if a.Valid != nil && !*a.Valid {
		res.StatusCode = herald.LookupNonexistent
		res.ErrorCode = "invalid"
		if len(a.ValidationErrors) > 0 {
			res.ErrorCode = strings.ToLower(a.ValidationErrors[0])
		}
		return res, nil
	}
	if lt := a.LineType; lt != nil {
		res.Carrier, res.LineType = lt.CarrierName, lt.Type
		if lt.ErrorCode != nil && *lt.ErrorCode != 0 {
			res.StatusCode, res.ErrorCode = herald.LookupNonexistent, strconv.Itoa(*lt.ErrorCode)
			return res, nil
		}
	}
	if want, ok := p.Organization.Feature(herald.FeaturePhoneCountry); ok && a.CountryCode != "" &&
		!strings.EqualFold(want, a.CountryCode) {
		res.StatusCode = herald.LookupWrongRegion
		return res, nil
	}
	switch res.LineType {
	case "landline":
		res.StatusCode = herald.LookupLandline
	case "mobile", "fixedVoip", "nonFixedVoip":
		res.StatusCode = herald.LookupTextable
	default:
		res.StatusCode = herald.LookupUnknown
	}
	return res, nil
}

// CostData reports the configured list prices (Options.SMSSegmentPrice,
// MMSPrice, PriceCurrency) for any sending number.
func (v *Vendor) CostData(ctx context.Context, org *herald.Organization, from string) (*herald.CostData, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("twilio: cost data: %w", err)
	}
	return &herald.CostData{
		SMSSegment: v.smsPrice, MMSMessage: v.mmsPrice, Currency: v.currency,
		Source: "list price", CheckedAt: v.clock.Now(),
	}, nil
}
