package contacts

import (
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// libPhone is the reference: what the full path (checkPhoneChars,
// phonenumbers.Parse, the extension check, phonenumbers.IsValidNumber, the
// E.164 length check, then phonenumbers.Format(E164)) says about s.
func libPhone(s, region string) (*phonenumbers.PhoneNumber, string, error) {
	num, err := parsePhone(s, region)
	if err != nil {
		return nil, "", err
	}
	return num, phonenumbers.Format(num, phonenumbers.E164), nil
}

// checkFastAgainstLibrary requires the fast path, where it answers, to give
// exactly the full path's answer: the same accept or reject, the same E.164
// string, the same parsed number, the same error text. It reports whether
// the fast path answered.
func checkFastAgainstLibrary(t testing.TB, raw, region string) bool {
	t.Helper()
	s, reg, err := preparePhone(raw, region)
	if err != nil {
		return false
	}
	p, ok, ferr := fastNormalize(s, reg)
	if !ok {
		return false
	}
	num, e164, err := libPhone(s, reg)
	if err != nil {
		if ferr == nil {
			t.Fatalf("%s %q: fast path accepts as %s, the library refuses: %v", reg, s, p.e164(), err)
		}
		if ferr.Error() != err.Error() {
			t.Fatalf("%s %q: errors differ:\n fast: %v\n lib:  %v", reg, s, ferr, err)
		}
		return true
	}
	if ferr != nil {
		t.Fatalf("%s %q: fast path refuses (%v), the library accepts as %s", reg, s, ferr, e164)
	}
	if got := p.e164(); got != e164 {
		t.Fatalf("%s %q: fast path gives %s, the library %s", reg, s, got, e164)
	}
	fn := p.number()
	if fn.GetCountryCode() != num.GetCountryCode() || fn.GetNationalNumber() != num.GetNationalNumber() ||
		fn.GetItalianLeadingZero() != num.GetItalianLeadingZero() || fn.GetNumberOfLeadingZeros() != num.GetNumberOfLeadingZeros() ||
		fn.GetExtension() != num.GetExtension() {
		t.Fatalf("%s %q: parsed numbers differ: fast %v, library %v", reg, s, fn, num)
	}
	return true
}

// phoneCorpus generates phone-number-like input: every region's example
// numbers in several formats and mutated, random digit strings with and
// without '+', international and trunk prefixes, NANP numbers with valid
// and invalid area codes and exchanges (N11, 555-01xx, exchanges starting
// with 0 or 1), short and long, with separators inserted at random.
type phoneCorpus struct {
	rng      *rand.Rand
	regions  []string
	examples []exampleNumber
	ccs      []int
}

type exampleNumber struct {
	region string
	num    *phonenumbers.PhoneNumber
}

func newPhoneCorpus(seed uint64) *phoneCorpus {
	c := &phoneCorpus{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for r := range phonenumbers.GetSupportedRegions() {
		c.regions = append(c.regions, r)
	}
	slices.Sort(c.regions)
	for _, r := range c.regions {
		for ty := phonenumbers.FIXED_LINE; ty <= phonenumbers.UNKNOWN; ty++ {
			if ex := phonenumbers.GetExampleNumberForType(r, ty); ex != nil {
				c.examples = append(c.examples, exampleNumber{r, ex})
			}
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		c.ccs = append(c.ccs, cc)
		if ex := phonenumbers.GetExampleNumberForNonGeoEntity(cc); ex != nil {
			c.examples = append(c.examples, exampleNumber{"001", ex})
		}
	}
	slices.Sort(c.ccs)
	return c
}

// hot regions get most of the traffic.
var hotRegions = []string{"US", "US", "US", "CA", "PR", "GB", "DE", "FR", "IT", "BR", "MX", "IN", "AU", "JP", "CN", "RU", "AR", "NG", "ZA", "ES", "NL", "JM", "DO", "AG", "GU", "VI", "KR", "SE", "CH", "IE"}

func (c *phoneCorpus) region() string {
	if c.rng.IntN(3) == 0 {
		return c.regions[c.rng.IntN(len(c.regions))]
	}
	return hotRegions[c.rng.IntN(len(hotRegions))]
}

func (c *phoneCorpus) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + c.rng.IntN(10))
	}
	return string(b)
}

// mutate changes, inserts or deletes a few digits of s.
func (c *phoneCorpus) mutate(s string) string {
	b := []byte(s)
	for range 1 + c.rng.IntN(2) {
		var idx []int
		for i, ch := range b {
			if ch >= '0' && ch <= '9' {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			break
		}
		i := idx[c.rng.IntN(len(idx))]
		switch c.rng.IntN(4) {
		case 0, 1:
			b[i] = byte('0' + c.rng.IntN(10))
		case 2:
			b = slices.Insert(b, i, byte('0'+c.rng.IntN(10)))
		case 3:
			b = slices.Delete(b, i, i+1)
		}
	}
	return string(b)
}

// punctuate writes the digits of s (and a leading '+') with random
// separators, sometimes in groups, sometimes with an area code in
// parentheses.
func (c *phoneCorpus) punctuate(s string) string {
	seps := []string{" ", "-", ".", "/", " - ", ") ", "(", ")"}
	plus := strings.HasPrefix(s, "+")
	s = strings.TrimPrefix(s, "+")
	var b strings.Builder
	if plus {
		b.WriteByte('+')
		if c.rng.IntN(4) == 0 {
			b.WriteByte(' ')
		}
	}
	if c.rng.IntN(5) == 0 && len(s) > 4 {
		b.WriteString("(" + s[:3] + ") ")
		s = s[3:]
	}
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if i < len(s)-1 && c.rng.IntN(4) == 0 {
			b.WriteString(seps[c.rng.IntN(len(seps))])
		}
	}
	if c.rng.IntN(30) == 0 {
		b.WriteString(seps[c.rng.IntN(len(seps))])
	}
	return b.String()
}

// nanp is a NANP number: area code and exchange from the shapes that
// matter (valid-looking, N11, starting with 0 or 1, 555-01xx, toll-free,
// premium, Caribbean), written in one of the common ways.
func (c *phoneCorpus) nanp() string {
	areas := []string{"212", "415", "808", "787", "939", "268", "876", "809", "829", "849", "671", "340", "684", "670", "416", "604", "800", "888", "877", "900", "500", "533", "555", "411", "911", "211", "011", "123", "100", "456"}
	area := areas[c.rng.IntN(len(areas))]
	if c.rng.IntN(3) == 0 {
		area = c.digits(3)
	}
	var exch string
	switch c.rng.IntN(6) {
	case 0:
		exch = "555"
	case 1:
		exch = strconv.Itoa(c.rng.IntN(2)) + c.digits(2) // 0xx, 1xx
	case 2:
		exch = strconv.Itoa(2+c.rng.IntN(8)) + "11" // N11
	default:
		exch = strconv.Itoa(2+c.rng.IntN(8)) + c.digits(2)
	}
	line := c.digits(4)
	if exch == "555" && c.rng.IntN(2) == 0 {
		line = "01" + c.digits(2)
	}
	n := area + exch + line
	switch c.rng.IntN(10) {
	case 0:
		return "(" + area + ") " + exch + "-" + line
	case 1:
		return area + "." + exch + "." + line
	case 2:
		return "1-" + area + "-" + exch + "-" + line
	case 3:
		return "+1 " + area + " " + exch + " " + line
	case 4:
		return "1" + n
	case 5:
		return "+1" + n
	case 6:
		return "011 1 " + n
	case 7:
		return n[:c.rng.IntN(len(n))+1] // short
	case 8:
		return n + c.digits(1+c.rng.IntN(3)) // long
	}
	return n
}

// next returns an input and the region to read it in.
func (c *phoneCorpus) next() (string, string) {
	region := c.region()
	switch c.rng.IntN(10) {
	case 0, 1, 2: // an example number, formatted, maybe mutated, read in its region or another
		ex := c.examples[c.rng.IntN(len(c.examples))]
		formats := []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.NATIONAL, phonenumbers.RFC3966}
		s := phonenumbers.Format(ex.num, formats[c.rng.IntN(len(formats))])
		s = strings.TrimPrefix(s, "tel:")
		if c.rng.IntN(2) == 0 {
			s = c.mutate(s)
		}
		if c.rng.IntN(3) == 0 {
			s = c.punctuate(strings.Map(func(r rune) rune {
				if r == '+' || r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, s))
		}
		if ex.region != "001" && c.rng.IntN(3) != 0 {
			region = ex.region
		}
		return s, region
	case 3, 4: // NANP
		s := c.nanp()
		if c.rng.IntN(4) == 0 {
			s = c.mutate(s)
		}
		if c.rng.IntN(4) != 0 {
			region = []string{"US", "US", "CA", "PR", "JM", "GB", "DE"}[c.rng.IntN(7)]
		}
		return s, region
	case 5: // country code + random national digits
		cc := c.ccs[c.rng.IntN(len(c.ccs))]
		s := "+" + strconv.Itoa(cc) + c.digits(4+c.rng.IntN(12))
		if c.rng.IntN(2) == 0 {
			s = c.punctuate(s)
		}
		return s, region
	case 6: // random digits with a prefix
		prefixes := []string{"", "", "0", "00", "011", "1", "+", "+0", "+00", "8", "810", "0011", "001", "+1", "+44", "+49", "+7", "+39", "+55", "+86", "+91", "+800", "+881", "+979"}
		s := prefixes[c.rng.IntN(len(prefixes))] + c.digits(1+c.rng.IntN(16))
		if c.rng.IntN(2) == 0 {
			s = c.punctuate(s)
		}
		return s, region
	case 7: // the region's own calling code, then digits (with or without '+')
		cc := phonenumbers.GetCountryCodeForRegion(region)
		s := strconv.Itoa(cc) + c.digits(5+c.rng.IntN(10))
		if c.rng.IntN(3) == 0 {
			s = strconv.Itoa(cc) + "0" + c.digits(5+c.rng.IntN(10))
		}
		if c.rng.IntN(2) == 0 {
			s = "+" + s
		}
		return s, region
	case 8: // national trunk prefix then digits
		s := "0" + c.digits(6+c.rng.IntN(8))
		return c.punctuate(s), region
	}
	return c.digits(1 + c.rng.IntN(18)), region
}

// TestFastPhoneMatchesLibrary compares the fast path with
// phonenumbers.Parse + IsValidNumber + Format(E164) on a large generated
// corpus, and NormalizePhone with the full path on every input.
func TestFastPhoneMatchesLibrary(t *testing.T) {
	n := 400000
	if testing.Short() || raceEnabled {
		n = 40000
	}
	var seed uint64 = 1
	// HERALD_PHONE_CORPUS=count[,seed] runs a longer or another corpus.
	if v := os.Getenv("HERALD_PHONE_CORPUS"); v != "" {
		count, s, _ := strings.Cut(v, ",")
		var err error
		n, err = strconv.Atoi(count)
		require.NoError(t, err)
		if s != "" {
			seed, err = strconv.ParseUint(s, 10, 64)
			require.NoError(t, err)
		}
	}
	c := newPhoneCorpus(seed)
	answered, accepted := 0, 0
	for range n {
		raw, region := c.next()
		if checkFastAgainstLibrary(t, raw, region) {
			answered++
		}
		got, err := NormalizePhone(raw, region)
		s, reg, perr := preparePhone(raw, region)
		if perr != nil {
			require.Error(t, err)
			continue
		}
		_, want, lerr := libPhone(s, reg)
		if lerr != nil {
			require.Error(t, err, "%s %q", reg, s)
			require.Equal(t, lerr.Error(), err.Error())
			continue
		}
		accepted++
		require.NoError(t, err, "%s %q", reg, s)
		require.Equal(t, want, got, "%s %q", reg, s)
	}
	t.Logf("%d inputs: the fast path answered %d, %d valid", n, answered, accepted)
	require.Greater(t, answered, n*3/4, "the fast path should answer most of the corpus")
}

// TestFastPhoneExamplesEveryRegion reads every example number of every
// region and type, in every format, in its own region and in US and GB.
func TestFastPhoneExamplesEveryRegion(t *testing.T) {
	c := newPhoneCorpus(2)
	for _, ex := range c.examples {
		for _, f := range []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.NATIONAL} {
			s := phonenumbers.Format(ex.num, f)
			for _, region := range []string{ex.region, "US", "GB", "DE"} {
				if region == "001" {
					continue
				}
				checkFastAgainstLibrary(t, s, region)
			}
		}
	}
}

// TestFastPhoneNANP goes through NANP shapes exhaustively for a few area
// codes: every exchange, a few lines, every writing.
func TestFastPhoneNANP(t *testing.T) {
	areas := []string{"212", "415", "555", "800", "900", "911", "011", "787", "268", "416", "671", "200", "299"}
	if testing.Short() || raceEnabled {
		areas = areas[:4]
	}
	for _, area := range areas {
		for exch := range 1000 {
			for _, line := range []string{"0100", "0199", "2671"} {
				n := area + strconv.Itoa(1000 + exch)[1:] + line
				for _, s := range []string{n, "1" + n, "+1" + n, "(" + n[:3] + ") " + n[3:6] + "-" + n[6:]} {
					for _, region := range []string{"US", "CA"} {
						require.True(t, checkFastAgainstLibrary(t, s, region), s)
					}
				}
			}
		}
	}
}

// TestDigitDFAMatchesRegexp checks the DFA against the regexp on every
// pattern of the metadata, for random and example digit strings.
func TestDigitDFAMatchesRegexp(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	unsupported, total := 0, 0
	for _, md := range coll.GetMetadata() {
		m, err := compileMeta(md)
		require.NoError(t, err, md.GetId())
		descs := append([]*pnDesc{m.general, m.fixed, m.mobile}, m.types[:]...)
		var matchers []digitMatcher
		for _, d := range descs {
			matchers = append(matchers, d.pattern)
		}
		if m.leading != nil {
			matchers = append(matchers, *m.leading)
		}
		matchers = append(matchers, m.iddAt0)
		if m.nationalPrefix != nil {
			matchers = append(matchers, m.npAt0)
		}
		for _, mt := range matchers {
			total++
			if mt.dfa == nil {
				unsupported++
				continue
			}
			for range 300 {
				b := make([]byte, rng.IntN(18))
				for i := range b {
					b[i] = byte('0' + rng.IntN(10))
				}
				s := string(b)
				require.Equal(t, mt.re.MatchString(s), mt.match(s), "%s %s %q", md.GetId(), mt.re, s)
			}
		}
		for _, d := range descs {
			if ex := d.pattern; ex.dfa != nil {
				// Example numbers hit the accepting paths.
				for _, e := range []string{md.GetGeneralDesc().GetExampleNumber(), md.GetFixedLine().GetExampleNumber(), md.GetMobile().GetExampleNumber()} {
					require.Equal(t, ex.re.MatchString(e), ex.match(e), "%s %s %q", md.GetId(), ex.re, e)
				}
			}
		}
	}
	t.Logf("%d patterns, %d left to the regexp engine", total, unsupported)
}

func FuzzFastPhoneMatchesLibrary(f *testing.F) {
	for _, s := range []string{
		"+14155552671", "(415) 555-2671", "415.555.2671", "1-415-555-2671", "14155552671",
		"12345", "+12345", "555-0123", "(212) 555-0100", "911", "+1 911 555 1234",
		"0044 20 7946 0958", "011 44 20 7946 0958", "+44 (0)20 7946 0958", "07400 123456",
		"+390612345678", "+4407400123456", "+80012345678", "+0044 20 7946 0958",
		"+5491123456789", "+7 800 555 3535", "090-1234-5678", "+999999999999999",
		"011 1 415 555 2671", "1 (415) 555-2671", "+1 (0) 415 555 2671", "06 12 34 56 78",
	} {
		for _, r := range []uint8{0, 1, 5, 17, 200} {
			f.Add(s, r)
		}
	}
	regions := slices.Sorted(func(yield func(string) bool) {
		for r := range phonenumbers.GetSupportedRegions() {
			if !yield(r) {
				return
			}
		}
	})
	f.Fuzz(func(t *testing.T, raw string, r uint8) {
		region := "US"
		if r != 0 {
			region = regions[int(r)%len(regions)]
		}
		checkFastAgainstLibrary(t, raw, region)
		got, err := NormalizePhone(raw, region)
		s, reg, perr := preparePhone(raw, region)
		if perr != nil {
			require.Error(t, err)
			return
		}
		_, want, lerr := libPhone(s, reg)
		if lerr != nil {
			require.Error(t, err)
			require.Equal(t, lerr.Error(), err.Error())
			return
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}
