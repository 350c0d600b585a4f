package contacts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/heraldmsg/herald"
	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region used to read national phone numbers when the
// caller gives none.
const DefaultRegion = "US"

// maxPhoneInput is the longest trimmed input, in bytes, that is read as a
// phone number. Fifteen digits with generous punctuation and an international
// prefix fit easily; longer input is refused before parsing.
const maxPhoneInput = 64

// maxE164Digits is the most digits an E.164 number has (ITU-T E.164 §6).
const maxE164Digits = 15

// Phone number types, the words [PhoneInfo.Type] holds.
const (
	PhoneTypeFixedLine         = "fixed_line"
	PhoneTypeMobile            = "mobile"
	PhoneTypeFixedLineOrMobile = "fixed_line_or_mobile" // NANP (US, CA, ...): the number itself cannot tell
	PhoneTypeTollFree          = "toll_free"
	PhoneTypePremiumRate       = "premium_rate"
	PhoneTypeSharedCost        = "shared_cost"
	PhoneTypeVoIP              = "voip"
	PhoneTypePersonalNumber    = "personal_number"
	PhoneTypePager             = "pager"
	PhoneTypeUAN               = "uan" // universal access ("company") number
	PhoneTypeVoicemail         = "voicemail"
	PhoneTypeUnknown           = "unknown"
)

// PhoneInfo describes a valid phone number.
type PhoneInfo struct {
	// E164 is the number in E.164 form: "+14155552671".
	E164 string
	// Region is the ISO 3166 alpha-2 code of the number's region ("US",
	// "PR", "GB"), or "001" for non-geographic numbers (such as +800).
	Region string
	// AreaCode is the national destination code: the area code of a
	// geographic number ("415", "20" for London), or the network code of a
	// mobile number ("7400" in the UK, "1512" in Germany). It is empty when
	// the country's numbers have none.
	AreaCode string
	// NationalNumber is the national significant number: the digits after
	// the country code, without any national (trunk) prefix.
	NationalNumber string
	// CountryCode is the country calling code: 1, 44, 49, ...
	CountryCode int
	// Type is one of the PhoneType words. NANP numbers (US, CA, PR, ...) are
	// fixed_line_or_mobile: only a carrier lookup can tell a mobile number.
	Type string
}

// NormalizePhone returns raw as an E.164 phone number ("+14155552671").
//
// raw may be in international format ("+44 20 7946 0958", "0044 20 7946
// 0958" dialled from defaultRegion) or in the national format of
// defaultRegion ("(415) 555-2671" for "US", "020 7946 0958" for "GB").
// defaultRegion is an ISO 3166 alpha-2 code in any case; empty means
// [DefaultRegion]. Surrounding white space is ignored; inside, only digits,
// white space, a leading '+', dashes and the punctuation . ( ) / are
// allowed, so letters (vanity numbers, extensions) are refused.
//
// The number must be valid for its country, not merely parseable. An
// unknown defaultRegion is refused even when raw is international; that
// error wraps both [herald.ErrInvalidInput] and [herald.ErrConfig]. Every
// other error wraps [herald.ErrInvalidInput] and names the number by at most
// its last four digits.
func NormalizePhone(raw, defaultRegion string) (string, error) {
	s, region, err := preparePhone(raw, defaultRegion)
	if err != nil {
		return "", err
	}
	// Only E.164 strings are cached: other input need not be looked up.
	if s[0] == '+' && validE164.has(s) {
		return s, nil
	}
	if p, ok, err := fastNormalize(s, region); ok {
		if err != nil {
			return "", err
		}
		e164 := p.e164Of(s)
		validE164.add(e164)
		return e164, nil
	}
	num, err := parsePhone(s, region)
	if err != nil {
		return "", err
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	validE164.add(e164)
	return e164, nil
}

// ParsePhone reads raw as [NormalizePhone] does and describes the number:
// its E.164 form, region, area code, national number, country code and type.
func ParsePhone(raw, defaultRegion string) (PhoneInfo, error) {
	s, region, err := preparePhone(raw, defaultRegion)
	if err != nil {
		return PhoneInfo{}, err
	}
	var num *phonenumbers.PhoneNumber
	if p, ok, err := fastNormalize(s, region); ok {
		if err != nil {
			return PhoneInfo{}, err
		}
		num = p.number()
	} else if num, err = parsePhone(s, region); err != nil {
		return PhoneInfo{}, err
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	info := PhoneInfo{
		E164:           phonenumbers.Format(num, phonenumbers.E164),
		Region:         phonenumbers.GetRegionCodeForNumber(num),
		NationalNumber: nsn,
		CountryCode:    int(num.GetCountryCode()),
		Type:           phoneTypeName(phonenumbers.GetNumberType(num)),
	}
	if n := phonenumbers.GetLengthOfNationalDestinationCode(num); n > 0 && n <= len(nsn) {
		info.AreaCode = nsn[:n]
	}
	return info, nil
}

// AreaCode returns the area code (national destination code, see
// [PhoneInfo.AreaCode]) of an E.164 number: "415" for "+14155552671", "20"
// for "+442079460958". It refuses input that is not '+' followed by digits,
// and returns "" with no error for a valid number of a country without area
// codes.
func AreaCode(e164 string) (string, error) {
	s := strings.TrimSpace(e164)
	if len(s) < 2 || s[0] != '+' || !allDigits(s[1:]) {
		return "", phoneError(s, "not in E.164 form (+ then digits)")
	}
	info, err := ParsePhone(s, DefaultRegion)
	if err != nil {
		return "", err
	}
	return info.AreaCode, nil
}

// phoneTypeName is the PhoneType word for t.
func phoneTypeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return PhoneTypeFixedLine
	case phonenumbers.MOBILE:
		return PhoneTypeMobile
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return PhoneTypeFixedLineOrMobile
	case phonenumbers.TOLL_FREE:
		return PhoneTypeTollFree
	case phonenumbers.PREMIUM_RATE:
		return PhoneTypePremiumRate
	case phonenumbers.SHARED_COST:
		return PhoneTypeSharedCost
	case phonenumbers.VOIP:
		return PhoneTypeVoIP
	case phonenumbers.PERSONAL_NUMBER:
		return PhoneTypePersonalNumber
	case phonenumbers.PAGER:
		return PhoneTypePager
	case phonenumbers.UAN:
		return PhoneTypeUAN
	case phonenumbers.VOICEMAIL:
		return PhoneTypeVoicemail
	}
	return PhoneTypeUnknown
}

// preparePhone trims raw, checks its length and resolves the region.
func preparePhone(raw, defaultRegion string) (s, region string, err error) {
	region, err = phoneRegion(defaultRegion)
	if err != nil {
		return "", "", err
	}
	s = strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", "", phoneError("", "empty")
	case len(s) > maxPhoneInput:
		return "", "", phoneError("", fmt.Sprintf("too long (%d bytes, at most %d)", len(s), maxPhoneInput))
	}
	return s, region, nil
}

// phoneRegion returns the upper-cased region code, DefaultRegion for "", or
// an error when the library has no metadata for it.
func phoneRegion(code string) (string, error) {
	if code == "" {
		return DefaultRegion, nil
	}
	if len(code) == 2 {
		up := strings.ToUpper(code)
		if phonenumbers.GetSupportedRegions()[up] {
			return up, nil
		}
	}
	// Show the code only when it is short and all letters: a phone number
	// passed as the region by mistake must not reach the logs.
	shown := "given"
	if len(code) <= 8 && strings.IndexFunc(code, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') }) < 0 {
		shown = strconv.Quote(code)
	}
	return "", fmt.Errorf("contacts: unknown phone region %s (want an ISO 3166 alpha-2 code such as %q): %w (%w)",
		shown, DefaultRegion, herald.ErrInvalidInput, herald.ErrConfig)
}

// parsePhone is the full path: check the characters, parse with the
// library, and require a valid number without extension.
func parsePhone(s, region string) (*phonenumbers.PhoneNumber, error) {
	if err := checkPhoneChars(s); err != nil {
		return nil, err
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return nil, phoneError(s, parseReason(err))
	}
	if num.GetExtension() != "" {
		return nil, phoneError(s, "has an extension")
	}
	if !phonenumbers.IsValidNumber(num) {
		return nil, phoneError(s, invalidReason(num))
	}
	// The metadata of a few countries (DE) admits longer numbers than the
	// 15 digits E.164 allows; no vendor takes them.
	if n := countryCodeLen(num.GetCountryCode()) + len(phonenumbers.GetNationalSignificantNumber(num)); n > maxE164Digits {
		return nil, phoneError(s, fmt.Sprintf("too long for E.164 (%d digits, at most %d)", n, maxE164Digits))
	}
	return num, nil
}

// checkPhoneChars refuses characters that are not part of a written phone
// number. The library would otherwise read letters as a vanity number or an
// extension, and drop other symbols silently.
func checkPhoneChars(s string) error {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+':
			if i != 0 {
				return phoneError(s, "'+' is allowed only at the start")
			}
		case r == '-' || r == '.' || r == '(' || r == ')' || r == '/',
			r >= '\u2010' && r <= '\u2015', r == '\u2212', // dashes, minus sign
			unicode.IsSpace(r):
		case unicode.IsLetter(r):
			return phoneError(s, "contains letters")
		default:
			return phoneError(s, "contains a character that is not part of a phone number")
		}
	}
	if digits == 0 {
		return phoneError(s, "has no digits")
	}
	return nil
}

// parseReason words a phonenumbers.Parse error.
func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country calling code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	case errors.Is(err, phonenumbers.ErrNotANumber):
		return "not a phone number"
	}
	return "cannot be read as a phone number"
}

// invalidReason says why a parsed number is not valid.
func invalidReason(num *phonenumbers.PhoneNumber) string {
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "unknown country calling code"
	case phonenumbers.TOO_SHORT:
		return "too short for its country"
	case phonenumbers.TOO_LONG:
		return "too long for its country"
	case phonenumbers.INVALID_LENGTH:
		return "wrong length for its country"
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "a local number: add the area code"
	}
	return "not a valid number for its country"
}

// phoneError builds an error wrapping herald.ErrInvalidInput that names the
// number by at most its last four digits.
func phoneError(s, reason string) error {
	if tail := lastDigits(s, 4); tail != "" {
		return fmt.Errorf("contacts: phone number ending %s: %s: %w", tail, reason, herald.ErrInvalidInput)
	}
	return fmt.Errorf("contacts: phone number: %s: %w", reason, herald.ErrInvalidInput)
}

// lastDigits returns the last n ASCII digits of s, in order.
func lastDigits(s string, n int) string {
	var buf [8]byte
	if n > len(buf) {
		n = len(buf)
	}
	k := len(buf)
	for i := len(s) - 1; i >= 0 && len(buf)-k < n; i-- {
		if c := s[i]; c >= '0' && c <= '9' {
			k--
			buf[k] = c
		}
	}
	return string(buf[k:])
}

// allDigits reports whether s is non-empty and all ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// countryCodeLen is the number of digits of a country calling code.
func countryCodeLen(cc int32) int {
	switch {
	case cc < 10:
		return 1
	case cc < 100:
		return 2
	}
	return 3
}

// atoiSmall converts up to three ASCII digits.
func atoiSmall(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}
