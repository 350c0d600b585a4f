package quiethours

import (
	"strings"
)

// Zone names the tables use.
const (
	zEastern  = "America/New_York"
	zCentral  = "America/Chicago"
	zMountain = "America/Denver"
	zArizona  = "America/Phoenix"
	zPacific  = "America/Los_Angeles"
	zAlaska   = "America/Anchorage"
	zHawaii   = "Pacific/Honolulu"
	zPR       = "America/Puerto_Rico"
)

// areaZones builds the NANP area code table: the zone most numbers of each
// area code are in. Area codes not listed are unknown. Built per Manager,
// so the package holds no mutable state.
func areaZones() map[string]string {
	byZone := map[string]string{
		zEastern: "201 202 203 207 212 215 216 220 223 227 229 234 239 240 248 252 260 267 269 272 276 283 " +
			"301 302 304 305 313 315 317 321 326 330 332 336 339 347 351 352 380 386 " +
			"401 404 407 410 412 413 419 423 434 436 440 443 445 448 463 470 472 475 478 484 " +
			"502 508 513 516 517 518 540 551 561 567 570 571 574 582 585 586 603 606 607 609 610 " +
			"614 616 617 631 640 646 656 667 678 679 680 681 689 703 704 706 716 717 718 724 727 " +
			"732 734 740 743 754 757 762 765 770 771 772 774 781 786 802 803 804 810 813 814 " +
			"826 828 835 838 839 843 845 848 854 856 857 859 860 862 863 864 865 878 904 " +
			"908 910 912 914 917 919 929 930 934 937 941 943 947 948 954 959 973 978 980 984 989",
		zCentral: "205 210 214 217 218 224 225 228 251 254 256 262 270 274 281 308 309 312 314 316 " +
			"318 319 320 325 331 334 337 346 361 364 402 405 409 414 417 430 432 447 464 469 " +
			"479 501 504 507 512 515 531 534 539 557 563 572 573 580 601 605 608 612 615 618 " +
			"620 629 630 636 641 651 659 660 662 682 701 708 712 713 715 726 730 731 737 763 " +
			"769 773 779 785 806 815 816 817 830 832 847 870 872 901 903 913 918 920 931 936 " +
			"938 940 945 952 956 972 975 979 985",
		zMountain: "208 303 307 385 406 435 505 575 719 720 801 915 970 983 986",
		zArizona:  "480 520 602 623 928",
		zPacific: "206 209 213 253 279 310 323 341 350 360 408 415 424 425 442 458 503 509 510 " +
			"530 541 559 562 564 619 626 628 650 657 661 669 702 707 714 725 747 760 775 805 " +
			"818 820 831 840 858 909 916 925 949 951 971",
		zAlaska: "907",
		zHawaii: "808",
		zPR:     "787 939",
		// Canada.
		"America/Toronto":   "226 249 289 343 365 416 418 437 438 450 514 519 548 579 581 613 647 705 819 873 905",
		"America/Vancouver": "236 250 604 672 778",
		"America/Edmonton":  "368 403 587 780 825",
		"America/Winnipeg":  "204 431",
		"America/Regina":    "306 639",
		"America/Halifax":   "782 902",
		"America/Moncton":   "506",
		"America/St_Johns":  "709",
	}
	out := make(map[string]string, 512)
	for zone, codes := range byZone {
		for _, c := range strings.Fields(codes) {
			out[c] = zone
		}
	}
	return out
}

// ZoneForPhone returns the zone of an E.164 number from its NANP area code
// or, outside the NANP, from its country when the country has one zone;
// "" when unknown.
func (m *Manager) ZoneForPhone(e164 string) string { return m.zoneForPhone(e164) }

func (m *Manager) zoneForPhone(p string) string {
	if len(p) < 4 || p[0] != '+' {
		return ""
	}
	if p[1] == '1' {
		if len(p) == 12 {
			return m.areas[p[2:5]]
		}
		return ""
	}
	switch p[1:4] { // three-digit country codes first
	case "353":
		return "Europe/Dublin"
	case "351":
		return "Europe/Lisbon"
	case "852":
		return "Asia/Hong_Kong"
	case "972":
		return "Asia/Jerusalem"
	}
	switch p[1:3] {
	case "44":
		return "Europe/London"
	case "49":
		return "Europe/Berlin"
	case "33":
		return "Europe/Paris"
	case "34":
		return "Europe/Madrid"
	case "39":
		return "Europe/Rome"
	case "31":
		return "Europe/Amsterdam"
	case "32":
		return "Europe/Brussels"
	case "41":
		return "Europe/Zurich"
	case "43":
		return "Europe/Vienna"
	case "45":
		return "Europe/Copenhagen"
	case "46":
		return "Europe/Stockholm"
	case "47":
		return "Europe/Oslo"
	case "48":
		return "Europe/Warsaw"
	case "27":
		return "Africa/Johannesburg"
	case "91":
		return "Asia/Kolkata"
	case "81":
		return "Asia/Tokyo"
	case "82":
		return "Asia/Seoul"
	case "65":
		return "Asia/Singapore"
	case "64":
		return "Pacific/Auckland"
	}
	return ""
}

// ZoneForZip returns the zone of a US ZIP code (five digits, or ZIP+4) from
// its three-digit prefix: the zone most of the prefix's area is in (states
// split between two zones get their main zone). "" when zip is not a ZIP
// code or the prefix is unassigned or military.
func ZoneForZip(zip string) string {
	zip = strings.TrimSpace(zip)
	if len(zip) < 5 {
		return ""
	}
	p := 0
	for i := range 5 {
		c := zip[i]
		if c < '0' || c > '9' {
			return ""
		}
		if i < 3 {
			p = p*10 + int(c-'0')
		}
	}
	switch {
	case p >= 6 && p <= 9:
		return zPR // Puerto Rico, Virgin Islands
	case p >= 5 && p <= 349:
		return zEastern // NY … FL (the panhandle west of the Apalachicola is approximate)
	case p >= 350 && p <= 369:
		return zCentral // AL
	case p >= 370 && p <= 375:
		return zCentral // TN west and middle
	case p >= 376 && p <= 379:
		return zEastern // east TN
	case p >= 380 && p <= 385:
		return zCentral // TN west
	case p >= 386 && p <= 397:
		return zCentral // MS
	case p >= 398 && p <= 399:
		return zEastern // GA
	case p >= 400 && p <= 418:
		return zEastern // KY east and central
	case p >= 420 && p <= 427:
		return zCentral // KY west
	case p >= 430 && p <= 499:
		return zEastern // OH, IN, MI
	case p >= 500 && p <= 577:
		return zCentral // IA, WI, MN, SD
	case p >= 580 && p <= 588:
		return zCentral // ND
	case p >= 590 && p <= 599:
		return zMountain // MT
	case p >= 600 && p <= 729:
		return zCentral // IL, MO, KS, NE, LA, AR
	case p >= 730 && p <= 797:
		return zCentral // OK, TX
	case p >= 798 && p <= 799:
		return zMountain // El Paso
	case p >= 800 && p <= 847:
		return zMountain // CO, WY, ID, UT
	case p >= 850 && p <= 865:
		return zArizona
	case p >= 870 && p <= 884:
		return zMountain // NM
	case p >= 889 && p <= 898:
		return zPacific // NV
	case p >= 900 && p <= 961:
		return zPacific // CA
	case p >= 967 && p <= 968:
		return zHawaii
	case p >= 970 && p <= 994:
		return zPacific // OR, WA
	case p >= 995 && p <= 999:
		return zAlaska
	}
	return ""
}
