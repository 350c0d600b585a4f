package contacts

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// This file is the fast path of phone normalisation: for input made only of
// ASCII digits, an optional leading '+' and the separators space - . ( ) /,
// it does what phonenumbers.Parse followed by phonenumbers.IsValidNumber
// does, step for step, on the same metadata, with each pattern compiled
// once: a digit DFA (digitdfa.go) where only membership in the pattern's
// language is asked, and a regexp compiled from the very string the
// library compiles where a match's extent or groups are used. The
// functions below name the library functions they mirror (a pattern the
// DFA does not support is matched with its regexp). Anything else (other
// characters, fewer than three or more than 24 digits, a metadata entry
// that does not compile here) takes the full path through the library.
//
// Why the restricted input reduces Parse to digits: with these characters
// there is no RFC 3966 prefix or parameter, no extension (every extension
// syntax needs a letter, '#', ',', ';' or '~'), and no letters to convert;
// every separator is in the library's VALID_PUNCTUATION, so with three
// digits or more the input is a viable number (VALID_PHONE_NUMBER), a
// leading '+' is the international prefix, and normalisation keeps the
// digits in order. What Parse then does depends only on the '+' and the
// digits, which is what fastParse takes.

// pnDesc is a compiled PhoneNumberDesc.
type pnDesc struct {
	// lengths has bit n set when n is one of the desc's possible lengths;
	// hasLengths is false when the desc lists none (then any length).
	lengths    uint32
	hasLengths bool
	// pattern is "^(?:national number pattern)$".
	pattern digitMatcher
}

// matches is isNumberMatchingDesc.
func (d *pnDesc) matches(nsn string) bool {
	if d.hasLengths && (len(nsn) > 31 || d.lengths&(1<<len(nsn)) == 0) {
		return false
	}
	return d.pattern.match(nsn)
}

// digitMatcher answers MatchString for a pattern on digit strings: with
// the DFA when it could be built, else with the regexp.
type digitMatcher struct {
	dfa    *digitDFA
	re     *regexp.Regexp
	prefix bool // the pattern is "^(?:p)", not "^(?:p)$"
}

func (m *digitMatcher) match(s string) bool {
	switch {
	case m.dfa == nil:
		return m.re.MatchString(s)
	case m.prefix:
		return m.dfa.prefix(s)
	}
	return m.dfa.full(s)
}

func newDigitMatcher(pattern string, prefix bool) (digitMatcher, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return digitMatcher{}, err
	}
	m := digitMatcher{re: re, prefix: prefix}
	if d, err := compileDigitDFA(pattern); err == nil {
		m.dfa = d
	}
	return m, nil
}

// pnMeta is a compiled PhoneMetadata.
type pnMeta struct {
	md    *phonenumbers.PhoneMetadata
	cc    int
	ccStr string

	// general is the general desc; generalRule its pattern alone, as
	// Parse uses it (no length check).
	general *pnDesc
	// types are the descs getNumberTypeHelper tries, in its order, before
	// the fixed line: premium rate, toll free, shared cost, VoIP, personal
	// number, pager, UAN, voicemail.
	types           [8]*pnDesc
	fixed, mobile   *pnDesc
	sameMobileFixed bool

	// possible and localOnly are the general desc's possible lengths, as
	// testNumberLength reads them.
	possible, localOnly []int32

	// leading is "^(?:leading digits)", when the metadata has them.
	leading *digitMatcher

	// idd is the international prefix, compiled as Parse compiles it
	// (unanchored); iddAt0 is "^(?:prefix)" and tells cheaply whether idd
	// matches at the start.
	idd    *regexp.Regexp
	iddAt0 digitMatcher

	// nationalPrefix is "^(?:national prefix for parsing)", nil when the
	// metadata has none; npAt0 is the same as a digit matcher.
	nationalPrefix *regexp.Regexp
	npAt0          digitMatcher
	transformRule  string
}

func compileDesc(d *phonenumbers.PhoneNumberDesc) (*pnDesc, error) {
	out := &pnDesc{hasLengths: len(d.GetPossibleLength()) > 0}
	for _, l := range d.GetPossibleLength() {
		if l >= 0 && l < 32 {
			out.lengths |= 1 << l
		}
	}
	var err error
	out.pattern, err = newDigitMatcher("^(?:"+d.GetNationalNumberPattern()+")$", false)
	return out, err
}

func compileMeta(md *phonenumbers.PhoneMetadata) (*pnMeta, error) {
	m := &pnMeta{
		md:              md,
		cc:              int(md.GetCountryCode()),
		sameMobileFixed: md.GetSameMobileAndFixedLinePattern(),
		possible:        md.GetGeneralDesc().GetPossibleLength(),
		localOnly:       md.GetGeneralDesc().GetPossibleLengthLocalOnly(),
		transformRule:   md.GetNationalPrefixTransformRule(),
	}
	m.ccStr = strconv.Itoa(m.cc)
	if len(m.possible) == 0 {
		return nil, errDFAUnsupported // testNumberLength would index an empty list
	}
	var err error
	if m.general, err = compileDesc(md.GetGeneralDesc()); err != nil {
		return nil, err
	}
	for i, d := range []*phonenumbers.PhoneNumberDesc{
		md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
		md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
	} {
		if m.types[i], err = compileDesc(d); err != nil {
			return nil, err
		}
	}
	if m.fixed, err = compileDesc(md.GetFixedLine()); err != nil {
		return nil, err
	}
	if m.mobile, err = compileDesc(md.GetMobile()); err != nil {
		return nil, err
	}
	if ld := md.GetLeadingDigits(); ld != "" {
		lm, err := newDigitMatcher("^(?:"+ld+")", true)
		if err != nil {
			return nil, err
		}
		m.leading = &lm
	}
	if m.idd, err = regexp.Compile(md.GetInternationalPrefix()); err != nil {
		return nil, err
	}
	if m.iddAt0, err = newDigitMatcher("^(?:"+md.GetInternationalPrefix()+")", true); err != nil {
		return nil, err
	}
	if p := md.GetNationalPrefixForParsing(); p != "" {
		if m.nationalPrefix, err = regexp.Compile("^(?:" + p + ")"); err != nil {
			return nil, err
		}
		if m.npAt0, err = newDigitMatcher("^(?:"+p+")", true); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// generalRule is the general desc's pattern, without its lengths.
func (m *pnMeta) generalRule(s string) bool { return m.general.pattern.match(s) }

// hasType is getNumberTypeHelper(nsn) != UNKNOWN: the general desc
// matches, and so does one of premium rate ... voicemail, the fixed line,
// or (unless it has the fixed line's pattern) the mobile desc. As only
// "one of them" is asked, not which, the most common, the fixed line, is
// tried first.
func (m *pnMeta) hasType(nsn string) bool {
	if !m.general.matches(nsn) {
		return false
	}
	if m.fixed.matches(nsn) {
		return true
	}
	for _, d := range m.types {
		if d.matches(nsn) {
			return true
		}
	}
	return !m.sameMobileFixed && m.mobile.matches(nsn)
}

// testNumberLength is the library's function for the type UNKNOWN (the
// general desc).
func (m *pnMeta) testNumberLength(number string) phonenumbers.ValidationResult {
	lengths := m.possible
	if lengths[0] == -1 {
		return phonenumbers.INVALID_LENGTH
	}
	n := int32(len(number))
	for _, l := range m.localOnly {
		if l == n {
			return phonenumbers.IS_POSSIBLE_LOCAL_ONLY
		}
	}
	switch {
	case lengths[0] == n:
		return phonenumbers.IS_POSSIBLE
	case lengths[0] > n:
		return phonenumbers.TOO_SHORT
	case lengths[len(lengths)-1] < n:
		return phonenumbers.TOO_LONG
	}
	for _, l := range lengths[1:] {
		if l == n {
			return phonenumbers.IS_POSSIBLE
		}
	}
	return phonenumbers.INVALID_LENGTH
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode (the
// carrier code is not kept by Parse).
func (m *pnMeta) stripNationalPrefix(number string) string {
	if len(number) == 0 || m.nationalPrefix == nil || !m.npAt0.match(number) {
		return number
	}
	viable := m.generalRule(number)
	groups := m.nationalPrefix.FindStringSubmatchIndex(number)
	if groups == nil {
		// Cannot happen: the DFA and the regexp agree that it matches.
		return number
	}
	numOfGroups := len(groups)/2 - 1
	if m.transformRule == "" || groups[numOfGroups*2] < 0 {
		if viable && !m.generalRule(number[groups[1]:]) {
			return number
		}
		return number[groups[1]:]
	}
	transformed := m.nationalPrefix.ReplaceAllString(number, m.transformRule)
	if viable && !m.generalRule(transformed) {
		return number
	}
	return transformed
}

// phoneTables are the compiled metadata, built on first use; each
// region's patterns are compiled when a number first needs them.
type phoneTables struct {
	byRegion map[string]*lazyMeta
	nonGeo   map[int]*lazyMeta
	// regions[cc] is GetRegionCodesForCountryCode(cc); nil for codes
	// that do not exist.
	regions [1000][]string
}

type lazyMeta struct {
	once sync.Once
	md   *phonenumbers.PhoneMetadata
	m    *pnMeta // nil when the region is not supported here
}

func (l *lazyMeta) get() *pnMeta {
	if l == nil {
		return nil
	}
	l.once.Do(func() {
		if m, err := compileMeta(l.md); err == nil {
			l.m = m
		}
	})
	return l.m
}

var fastTables = sync.OnceValue(func() *phoneTables {
	t := &phoneTables{byRegion: map[string]*lazyMeta{}, nonGeo: map[int]*lazyMeta{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return t
	}
	for _, md := range coll.GetMetadata() {
		if md.GetId() == "001" {
			t.nonGeo[int(md.GetCountryCode())] = &lazyMeta{md: md}
		} else {
			t.byRegion[md.GetId()] = &lazyMeta{md: md}
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if cc > 0 && cc < len(t.regions) {
			t.regions[cc] = phonenumbers.GetRegionCodesForCountryCode(cc)
		}
	}
	return t
})

// metaFor is getMetadataForRegionOrCallingCode.
func (t *phoneTables) metaFor(cc int, region string) *pnMeta {
	if region == "001" {
		return t.nonGeo[cc].get()
	}
	return t.byRegion[region].get()
}

// fastPhone is what the fast path found: a country code and national
// significant number as phonenumbers.Parse sets them, valid by
// phonenumbers.IsValidNumber when err is nil.
type fastPhone struct {
	cc  int
	nsn string
}

// e164 is phonenumbers.Format(num, phonenumbers.E164) for the number.
func (p fastPhone) e164() string { return p.e164Of("") }

// e164Of is e164, returning s itself (no copy) when s is already that
// string.
func (p fastPhone) e164Of(s string) string {
	var buf [1 + 3 + 17]byte
	b := append(buf[:0], '+')
	b = strconv.AppendInt(b, int64(p.cc), 10)
	b = append(b, p.nsn...)
	if string(b) == s {
		return s
	}
	return string(b)
}

// number is the *phonenumbers.PhoneNumber that phonenumbers.Parse returns
// for it (setItalianLeadingZerosForPhoneNumber included).
func (p fastPhone) number() *phonenumbers.PhoneNumber {
	national, _ := strconv.ParseUint(p.nsn, 10, 64)
	num := &phonenumbers.PhoneNumber{
		CountryCode:    new(int32(p.cc)),
		NationalNumber: new(national),
	}
	if len(p.nsn) > 1 && p.nsn[0] == '0' {
		num.ItalianLeadingZero = new(true)
		zeros := 1
		for zeros < len(p.nsn)-1 && p.nsn[zeros] == '0' {
			zeros++
		}
		if zeros != 1 {
			num.NumberOfLeadingZeros = new(int32(zeros))
		}
	}
	return num
}

// fastNormalize reads s (trimmed, at most maxPhoneInput bytes) in region
// (a supported region code) as parsePhone does. ok is false when s is not
// in the restricted form or its metadata is not supported: then nothing
// was decided and the full path must run. When ok, err is exactly the
// error parsePhone returns for s.
func fastNormalize(s, region string) (p fastPhone, ok bool, err error) {
	var buf [24]byte
	digits, plus, ok := scanSimplePhone(s, buf[:0])
	if !ok {
		return fastPhone{}, false, nil
	}
	t := fastTables()
	def := t.byRegion[region].get()
	if def == nil {
		return fastPhone{}, false, nil
	}
	var d string
	if plus && len(digits) == len(s)-1 {
		d = s[1:] // "+digits": no copy
	} else if len(digits) == len(s) {
		d = s
	} else {
		d = string(digits)
	}
	p, perr, ok := t.parse(d, plus, def, region)
	if !ok {
		return fastPhone{}, false, nil
	}
	if perr != nil {
		return fastPhone{}, true, phoneError(s, parseReason(perr))
	}
	valid, ok := t.isValid(p)
	if !ok {
		return fastPhone{}, false, nil
	}
	if !valid {
		return fastPhone{}, true, phoneError(s, invalidReason(p.number()))
	}
	if n := countryCodeLen(int32(p.cc)) + len(p.nsn); n > maxE164Digits {
		return fastPhone{}, true, phoneError(s, "too long for E.164 ("+strconv.Itoa(n)+" digits, at most "+strconv.Itoa(maxE164Digits)+")")
	}
	return p, true, nil
}

// scanSimplePhone appends the digits of s to buf when s is the restricted
// form: ASCII digits, at least three of them, an optional '+' first, and
// the separators space - . ( ) / anywhere else.
func scanSimplePhone(s string, buf []byte) (digits []byte, plus, ok bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if len(buf) == cap(buf) {
				return nil, false, false
			}
			buf = append(buf, c)
		case c == '+':
			if i != 0 {
				return nil, false, false
			}
			plus = true
		case c == ' ', c == '-', c == '.', c == '(', c == ')', c == '/':
		default:
			return nil, false, false
		}
	}
	if len(buf) < 3 {
		return nil, false, false
	}
	return buf, plus, true
}

// parse is parseHelper from maybeExtractCountryCode on, given the digits
// of the input and whether it started with '+'. ok is false when a
// metadata it needs is not supported.
func (t *phoneTables) parse(d string, plus bool, def *pnMeta, region string) (p fastPhone, err error, ok bool) {
	cc, nn, err, ok := t.extractCountryCode(d, plus, def)
	if !ok {
		return fastPhone{}, nil, false
	}
	if err == phonenumbers.ErrInvalidCountryCode && plus {
		// Parse strips the '+' and tries again.
		cc, nn, err, ok = t.extractCountryCode(d, false, def)
		if !ok {
			return fastPhone{}, nil, false
		}
		if err != nil {
			return fastPhone{}, err, true
		}
		if cc == 0 {
			return fastPhone{}, phonenumbers.ErrInvalidCountryCode, true
		}
	} else if err != nil {
		return fastPhone{}, err, true
	}
	m := def
	if cc != 0 {
		if main := t.regions[cc][0]; main != region {
			if m = t.metaFor(cc, main); m == nil {
				return fastPhone{}, nil, false
			}
		}
	} else {
		nn = d
		cc = def.cc
	}
	if len(nn) < phonenumbers.MIN_LENGTH_FOR_NSN {
		return fastPhone{}, phonenumbers.ErrTooShortNSN, true
	}
	potential := m.stripNationalPrefix(nn)
	switch m.testNumberLength(potential) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY, phonenumbers.INVALID_LENGTH:
	default:
		nn = potential
	}
	if len(nn) < phonenumbers.MIN_LENGTH_FOR_NSN {
		return fastPhone{}, phonenumbers.ErrTooShortNSN, true
	}
	if len(nn) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return fastPhone{}, phonenumbers.ErrNumTooLong, true
	}
	return fastPhone{cc: cc, nsn: nn}, nil, true
}

// extractCountryCode is maybeExtractCountryCode (with
// maybeStripInternationalPrefixAndNormalize, parsePrefixAsIdd and
// extractCountryCode) on the digits d. cc is 0 when the number has none.
func (t *phoneTables) extractCountryCode(d string, plus bool, def *pnMeta) (cc int, nn string, err error, ok bool) {
	full := d
	international := plus
	if !plus && def.iddAt0.match(d) {
		// The leftmost match of the unanchored pattern starts at 0
		// exactly when a match starts there.
		if ind := def.idd.FindStringIndex(d); ind != nil && ind[0] == 0 {
			rest := d[ind[1]:]
			if rest == "" || rest[0] != '0' {
				full, international = rest, true
			}
		}
	}
	if international {
		if len(full) <= phonenumbers.MIN_LENGTH_FOR_NSN {
			return 0, "", phonenumbers.ErrTooShortAfterIDD, true
		}
		if full[0] != '0' {
			for i := 1; i <= 3 && i <= len(full); i++ {
				v := atoiSmall(full[:i])
				if t.regions[v] != nil {
					return v, full[i:], nil, true
				}
			}
		}
		return 0, "", phonenumbers.ErrInvalidCountryCode, true
	}
	if strings.HasPrefix(d, def.ccStr) {
		potential := def.stripNationalPrefix(d[len(def.ccStr):])
		fullValid := def.generalRule(d)
		nationalValid := def.generalRule(potential)
		if (!fullValid && nationalValid) || def.testNumberLength(d) == phonenumbers.TOO_LONG {
			return def.cc, potential, nil, true
		}
	}
	return 0, "", nil, true
}

// isValid is phonenumbers.IsValidNumber (GetRegionCodeForNumber, then
// IsValidNumberForRegion). ok is false when a metadata it needs is not
// supported.
func (t *phoneTables) isValid(p fastPhone) (valid, ok bool) {
	if p.cc <= 0 || p.cc >= len(t.regions) {
		return false, true
	}
	regions := t.regions[p.cc]
	var region string
	switch len(regions) {
	case 0:
		return false, true
	case 1:
		region = regions[0]
	default:
		// getRegionCodeForNumberFromRegionList
		for _, r := range regions {
			m := t.byRegion[r].get()
			if m == nil {
				return false, false
			}
			if m.leading != nil {
				if m.leading.match(p.nsn) {
					region = r
					break
				}
			} else if m.hasType(p.nsn) {
				region = r
				break
			}
		}
		if region == "" {
			return false, true
		}
	}
	m := t.metaFor(p.cc, region)
	if m == nil {
		if region == "001" && t.nonGeo[p.cc] == nil || region != "001" && t.byRegion[region] == nil {
			return false, true // the library finds no metadata either
		}
		return false, false
	}
	if region != "001" && m.cc != p.cc {
		return false, true
	}
	return m.hasType(p.nsn), true
}
