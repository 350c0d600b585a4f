package contacts

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// TimezoneFor returns the IANA time zone a contact most likely lives in,
// from its ZIP code first (where the person lives) and else its phone
// number (where the number was issued), and whether it found one.
//
// zip is a US ZIP code in any form NormalizeZip accepts; the zone comes
// from its three-digit prefix (the sectional center), at the state level
// with the main splits inside states (the Florida panhandle, west Texas,
// east Tennessee, north Idaho, ...). Counties on the far side of a zone
// line inside a prefix get their state's main zone. phone is E.164 or a
// number NormalizePhone reads with region "US"; its zone comes from the
// libphonenumber time zone data (area code or country), used only when that
// data names exactly one zone (a US area code spanning two zones, or a
// country with several, gives none).
func TimezoneFor(zip, phone string) (string, bool) {
	if tz := zipTimezone(zip); tz != "" {
		return tz, true
	}
	if tz := phoneTimezone(phone); tz != "" {
		return tz, true
	}
	return "", false
}

// phoneTimezone is the one time zone of a phone number, or "".
func phoneTimezone(phone string) string {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return ""
	}
	e164, err := NormalizePhone(phone, DefaultRegion)
	if err != nil {
		return ""
	}
	tzs, err := phonenumbers.GetTimezonesForPrefix(e164)
	if err != nil || len(tzs) != 1 || tzs[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return ""
	}
	return tzs[0]
}

// zipTimezone is the time zone of a US ZIP code's prefix, or "".
func zipTimezone(zip string) string {
	z := NormalizeZip(zip)
	if len(z) != 5 || !allDigits(z) {
		return ""
	}
	p := atoiSmall(z[:3])
	for _, r := range zipZones {
		if p >= r.lo && p <= r.hi {
			return r.tz
		}
	}
	return ""
}

// zipRange maps ZIP prefixes lo..hi to a zone. Earlier entries win, so
// the exceptions come before their state's range.
type zipRange struct {
	lo, hi int
	tz     string
}

const (
	tzEast     = "America/New_York"
	tzCentral  = "America/Chicago"
	tzMountain = "America/Denver"
	tzPacific  = "America/Los_Angeles"
)

var zipZones = []zipRange{
	// Exceptions inside states.
	{324, 325, tzCentral},                      // Florida panhandle (Pensacola, Panama City)
	{370, 372, tzCentral},                      // middle Tennessee (Nashville)
	{380, 385, tzCentral},                      // west Tennessee (Memphis, Jackson)
	{420, 424, tzCentral},                      // west Kentucky (Paducah, Bowling Green)
	{463, 464, tzCentral},                      // northwest Indiana (Gary)
	{476, 477, tzCentral},                      // southwest Indiana (Evansville)
	{460, 479, "America/Indiana/Indianapolis"}, // rest of Indiana
	{480, 499, "America/Detroit"},              // Michigan
	{577, 577, tzMountain},                     // west South Dakota (Rapid City)
	{690, 693, tzMountain},                     // west Nebraska
	{798, 799, tzMountain},                     // El Paso
	{885, 885, tzMountain},                     // El Paso
	{835, 835, tzPacific},                      // north Idaho (Lewiston)
	{838, 838, tzPacific},                      // north Idaho (Coeur d'Alene)
	{832, 837, "America/Boise"},                // Idaho
	{850, 865, "America/Phoenix"},              // Arizona (no daylight saving)
	// Whole states and territories.
	{5, 5, tzEast},                  // Holtsville NY
	{6, 7, "America/Puerto_Rico"},   // Puerto Rico
	{8, 8, "America/St_Thomas"},     // Virgin Islands
	{9, 9, "America/Puerto_Rico"},   // Puerto Rico
	{10, 69, tzEast},                // New England
	{70, 89, tzEast},                // New Jersey
	{100, 289, tzEast},              // NY, PA, DE, DC, MD, VA, WV, NC
	{290, 349, tzEast},              // SC, GA, FL
	{350, 369, tzCentral},           // Alabama
	{373, 379, tzEast},              // east Tennessee
	{386, 397, tzCentral},           // Mississippi
	{398, 399, tzEast},              // Georgia
	{400, 427, tzEast},              // Kentucky
	{430, 459, tzEast},              // Ohio
	{500, 528, tzCentral},           // Iowa
	{530, 567, tzCentral},           // Wisconsin, Minnesota
	{569, 569, tzEast},              // DC
	{570, 576, tzCentral},           // South Dakota
	{580, 588, tzCentral},           // North Dakota
	{590, 599, tzMountain},          // Montana
	{600, 679, tzCentral},           // IL, MO, KS
	{680, 689, tzCentral},           // Nebraska
	{700, 797, tzCentral},           // LA, AR, OK, TX
	{800, 831, tzMountain},          // Colorado, Wyoming
	{840, 847, tzMountain},          // Utah
	{870, 884, tzMountain},          // New Mexico
	{889, 898, tzPacific},           // Nevada
	{900, 961, tzPacific},           // California
	{967, 968, "Pacific/Honolulu"},  // Hawaii
	{969, 969, "Pacific/Guam"},      // Guam, Northern Mariana Islands
	{970, 994, tzPacific},           // Oregon, Washington
	{995, 999, "America/Anchorage"}, // Alaska
}
