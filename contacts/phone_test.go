package contacts

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	// fiveDigits finds a run of five digits: errors may show four at most.
	fiveDigits = regexp.MustCompile(`[0-9]{5}`)
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, raw, region, want string
	}{
		// United States and the NANP.
		{"US national", "(415) 555-2671", "US", "+14155552671"},
		{"US dots", "415.555.2671", "US", "+14155552671"},
		{"US with trunk 1", "1-415-555-2671", "US", "+14155552671"},
		{"US digits only", "4155552671", "US", "+14155552671"},
		{"US empty region means US", "(415) 555-2671", "", "+14155552671"},
		{"US lower-case region", "415 555 2671", "us", "+14155552671"},
		{"US E.164", "+14155552671", "US", "+14155552671"},
		{"US E.164 padded", "  +14155552671\t", "US", "+14155552671"},
		{"US international formatted", "+1 (415) 555-2671", "GB", "+14155552671"},
		{"US toll free", "800-555-0199", "US", "+18005550199"},
		{"US from DE with 00", "00 1 415 555 2671", "DE", "+14155552671"},
		{"US non-breaking spaces", "415\u00a0555\u00a02671", "US", "+14155552671"},
		{"US unicode dashes", "415\u2013555\u20132671", "US", "+14155552671"},
		{"CA national", "(613) 234-5678", "CA", "+16132345678"},
		{"CA read with US region", "613-234-5678", "US", "+16132345678"},
		{"CA E.164", "+16132345678", "", "+16132345678"},
		{"PR national", "787 234 5678", "PR", "+17872345678"},
		{"PR read with US region", "(787) 234-5678", "US", "+17872345678"},
		{"PR E.164", "+17872345678", "", "+17872345678"},
		// Europe.
		{"GB mobile", "07400 123456", "GB", "+447400123456"},
		{"GB London", "020 7946 0958", "GB", "+442079460958"},
		{"GB lower-case region", "020 7946 0958", "gb", "+442079460958"},
		{"GB international with (0)", "+44 (0)20 7946 0958", "US", "+442079460958"},
		{"GB from US with 011", "011 44 20 7946 0958", "US", "+442079460958"},
		{"GB from DE with 00", "0044 20 7946 0958", "DE", "+442079460958"},
		{"GB E.164", "+447400123456", "US", "+447400123456"},
		{"DE Berlin", "030 123456", "DE", "+4930123456"},
		{"DE mobile", "01512 3456789", "DE", "+4915123456789"},
		{"DE from DE with 00", "0049 30 123456", "DE", "+4930123456"},
		{"DE international", "+49 1512 3456789", "US", "+4915123456789"},
		{"DE slash", "030/123456", "DE", "+4930123456"},
		{"FR mobile", "06 12 34 56 78", "FR", "+33612345678"},
		{"FR Paris", "01 23 45 67 89", "FR", "+33123456789"},
		{"FR from DE with 00", "0033 1 23 45 67 89", "DE", "+33123456789"},
		{"FR E.164", "+33612345678", "", "+33612345678"},
		{"IT keeps leading zero", "+39 06 1234 5678", "US", "+390612345678"},
		{"IT E.164 leading zero", "+390612345678", "US", "+390612345678"},
		// Asia, South America, Oceania.
		{"IN mobile", "98765 43210", "IN", "+919876543210"},
		{"IN with trunk 0", "081234 56789", "IN", "+918123456789"},
		{"IN international", "+91 81234 56789", "US", "+918123456789"},
		{"BR mobile", "(11) 96123-4567", "BR", "+5511961234567"},
		{"BR landline international", "+55 11 2345-6789", "US", "+551123456789"},
		{"AU mobile", "0412 345 678", "AU", "+61412345678"},
		{"AU Sydney", "(02) 1234 5678", "AU", "+61212345678"},
		{"AU from AU with 0011", "0011 61 412 345 678", "AU", "+61412345678"},
		{"JP mobile", "090-1234-5678", "JP", "+819012345678"},
		{"JP Tokyo", "03-1234-5678", "JP", "+81312345678"},
		{"JP from JP with 010", "010 81 3 1234 5678", "JP", "+81312345678"},
		{"JP E.164", "+819012345678", "", "+819012345678"},
		{"non-geographic +800", "+800 1234 5678", "US", "+80012345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := NormalizePhone(got, tt.region)
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalising E.164 again")
		})
	}
}

func TestNormalizePhoneErrors(t *testing.T) {
	tests := []struct {
		name, raw, region string
		// wantMsg is a part of the error text; wantTail the last digits it
		// may show ("" when it must show none).
		wantMsg, wantTail string
	}{
		{"empty", "", "US", "empty", ""},
		{"blank", " \t ", "US", "empty", ""},
		{"bare 12345", "12345", "US", "too short", "2345"},
		{"+12345", "+12345", "US", "", "2345"},
		{"letters", "abc", "US", "contains letters", ""},
		{"vanity number", "1-800-FLOWERS", "US", "contains letters", "1800"},
		{"extension words", "415-555-2671 ext 12", "US", "contains letters", "7112"},
		{"extension hash", "415-555-2671 #12", "US", "not part of a phone number", "7112"},
		{"only punctuation", "(-)", "US", "no digits", ""},
		{"plus inside", "1+4155552671", "US", "'+'", "2671"},
		{"double plus", "++14155552671", "US", "'+'", "2671"},
		{"too short US", "415-555-267", "US", "", "5267"},
		{"too long US", "+1 415 555 26711", "US", "", "6711"},
		{"too long digits", "123456789012345678901", "US", "too long", "8901"},
		{"too long input", "+1 " + strings.Repeat("4", 70), "US", "too long", ""},
		{"seven digits local", "555-2671", "US", "", "2671"},
		{"US number read as GB", "4155552671", "GB", "", "2671"},
		{"00 prefix not used in US", "0044 20 7946 0958", "US", "", "0958"},
		{"unknown calling code", "+999 1234 5678", "US", "country calling code", "5678"},
		{"zero country code", "+0 415 555 2671", "US", "", "2671"},
		{"GB too short", "020 7946 095", "GB", "", "6095"},
		{"DE junk", "0000000000", "DE", "", "0000"},
		{"DE valid but over 15 digits", "20100000000000", "de", "too long for E.164", "0000"},
		{"emoji", "415☎5552671", "US", "not part of a phone number", "2671"},
		{"unknown region", "+4915123456789", "XX", "unknown phone region", ""},
		{"three-letter region", "(415) 555-2671", "USA", "unknown phone region", ""},
		{"numeric region", "(415) 555-2671", "001", "unknown phone region", ""},
		{"region ZZ", "(415) 555-2671", "ZZ", "unknown phone region", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			require.Error(t, err)
			assert.Empty(t, got)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
			msg := err.Error()
			assert.Contains(t, msg, tt.wantMsg)
			assert.NotRegexp(t, fiveDigits, msg, "error shows more than four digits")
			if tt.wantTail != "" {
				assert.Contains(t, msg, "ending "+tt.wantTail)
			} else {
				assert.NotContains(t, msg, "ending")
			}
			_, perr := ParsePhone(tt.raw, tt.region)
			assert.Equal(t, err, perr, "ParsePhone refuses the same way")
		})
	}
}

func TestNormalizePhoneRegionErrorIsConfig(t *testing.T) {
	_, err := NormalizePhone("+14155552671", "UK")
	require.ErrorIs(t, err, herald.ErrInvalidInput)
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.Contains(t, err.Error(), `"UK"`)

	_, err = NormalizePhone("+14155552671", strings.Repeat("X", 100))
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.NotContains(t, err.Error(), "XXXXXXXXX", "a long region is not shown")

	// Arguments swapped by mistake: the number must not reach the error.
	_, err = NormalizePhone("US", "+14155552671")
	require.ErrorIs(t, err, herald.ErrConfig)
	assert.NotRegexp(t, fiveDigits, err.Error())
	assert.NotContains(t, err.Error(), "2671")

	_, err = NormalizePhone("12345", "US")
	assert.NotErrorIs(t, err, herald.ErrConfig, "a bad number is not a configuration error")
}

func TestParsePhone(t *testing.T) {
	tests := []struct {
		raw, region string
		want        PhoneInfo
	}{
		{"(415) 555-2671", "US", PhoneInfo{"+14155552671", "US", "415", "4155552671", 1, PhoneTypeFixedLineOrMobile}},
		{"800-555-0199", "US", PhoneInfo{"+18005550199", "US", "800", "8005550199", 1, PhoneTypeTollFree}},
		{"(613) 234-5678", "CA", PhoneInfo{"+16132345678", "CA", "613", "6132345678", 1, PhoneTypeFixedLineOrMobile}},
		{"+17872345678", "US", PhoneInfo{"+17872345678", "PR", "787", "7872345678", 1, PhoneTypeFixedLineOrMobile}},
		{"07400 123456", "GB", PhoneInfo{"+447400123456", "GB", "7400", "7400123456", 44, PhoneTypeMobile}},
		{"020 7946 0958", "gb", PhoneInfo{"+442079460958", "GB", "20", "2079460958", 44, PhoneTypeFixedLine}},
		{"0800 123 4567", "GB", PhoneInfo{"+448001234567", "GB", "800", "8001234567", 44, PhoneTypeTollFree}},
		{"+49 1512 3456789", "", PhoneInfo{"+4915123456789", "DE", "1512", "15123456789", 49, PhoneTypeMobile}},
		{"030 123456", "DE", PhoneInfo{"+4930123456", "DE", "30", "30123456", 49, PhoneTypeFixedLine}},
		{"06 12 34 56 78", "FR", PhoneInfo{"+33612345678", "FR", "6", "612345678", 33, PhoneTypeMobile}},
		{"+390612345678", "", PhoneInfo{"+390612345678", "IT", "06", "0612345678", 39, PhoneTypeFixedLine}},
		{"081234 56789", "IN", PhoneInfo{"+918123456789", "IN", "81234", "8123456789", 91, PhoneTypeMobile}},
		{"(11) 96123-4567", "BR", PhoneInfo{"+5511961234567", "BR", "11", "11961234567", 55, PhoneTypeMobile}},
		{"(02) 1234 5678", "AU", PhoneInfo{"+61212345678", "AU", "2", "212345678", 61, PhoneTypeFixedLine}},
		{"0412 345 678", "AU", PhoneInfo{"+61412345678", "AU", "412", "412345678", 61, PhoneTypeMobile}},
		{"090-1234-5678", "JP", PhoneInfo{"+819012345678", "JP", "90", "9012345678", 81, PhoneTypeMobile}},
		{"03-1234-5678", "JP", PhoneInfo{"+81312345678", "JP", "3", "312345678", 81, PhoneTypeFixedLine}},
		// Argentine mobile: the mobile token 9 is part of the destination code.
		{"+54 9 11 2345 6789", "", PhoneInfo{"+5491123456789", "AR", "911", "91123456789", 54, PhoneTypeMobile}},
		{"+800 1234 5678", "", PhoneInfo{"+80012345678", "001", "1234", "12345678", 800, PhoneTypeTollFree}},
	}
	for _, tt := range tests {
		t.Run(tt.want.E164, func(t *testing.T) {
			got, err := ParsePhone(tt.raw, tt.region)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			e164, err := NormalizePhone(tt.raw, tt.region)
			require.NoError(t, err)
			assert.Equal(t, e164, got.E164)
		})
	}
}

func TestAreaCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+14155552671", "415"},
		{" +14155552671 ", "415"},
		{"+16132345678", "613"},
		{"+442079460958", "20"},
		{"+447400123456", "7400"},
		{"+4930123456", "30"},
		{"+61212345678", "2"},
		{"+81312345678", "3"},
	}
	for _, tt := range tests {
		got, err := AreaCode(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "4155552671", "(415) 555-2671", "+1 415 555 2671", "+", "+12345", "+1415555267a"} {
		_, err := AreaCode(bad)
		assert.ErrorIs(t, err, herald.ErrInvalidInput, "%q", bad)
	}
}

func TestPhoneTypeNames(t *testing.T) {
	seen := map[string]bool{}
	for ty := phonenumbers.FIXED_LINE; ty <= phonenumbers.UNKNOWN; ty++ {
		name := phoneTypeName(ty)
		assert.Regexp(t, `^[a-z_]+$`, name)
		assert.False(t, seen[name], "duplicate name %q", name)
		seen[name] = true
	}
	assert.Len(t, seen, 12)
	assert.Equal(t, PhoneTypeUnknown, phoneTypeName(phonenumbers.PhoneNumberType(99)))
}

// TestFastPathMatchesParse checks, on every region's example numbers of every
// type, that the E.164 fast path gives what the full parse gives, and that
// each number written in its national format comes back to the same E.164.
func TestFastPathMatchesParse(t *testing.T) {
	fast, total := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		for ty := phonenumbers.FIXED_LINE; ty < phonenumbers.UNKNOWN; ty++ {
			ex := phonenumbers.GetExampleNumberForType(region, ty)
			if ex == nil || !phonenumbers.IsValidNumber(ex) {
				continue
			}
			total++
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			slow, err := parsePhone(e164, "US")
			require.NoError(t, err, "%s %s", region, e164)
			require.Equal(t, e164, phonenumbers.Format(slow, phonenumbers.E164))
			if p, ok, err := fastNormalize(e164, "US"); ok {
				fast++
				require.NoError(t, err, "%s %s", region, e164)
				num := p.number()
				assert.Equal(t, e164, phonenumbers.Format(num, phonenumbers.E164), "%s", region)
				assert.Equal(t, phonenumbers.GetNumberType(slow), phonenumbers.GetNumberType(num), "%s", e164)
			}
			got, err := NormalizePhone(e164, region)
			require.NoError(t, err)
			assert.Equal(t, e164, got)

			// The national format comes back, wherever the library itself
			// reads it back (it does not for a few, such as AR mobiles).
			national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
			lib, err := phonenumbers.Parse(national, region)
			if err != nil || !phonenumbers.IsValidNumber(lib) || phonenumbers.Format(lib, phonenumbers.E164) != e164 {
				t.Logf("library does not read back %s %q", region, national)
				continue
			}
			got, err = NormalizePhone(national, region)
			if assert.NoError(t, err, "%s %q", region, national) {
				assert.Equal(t, e164, got, "%s %q", region, national)
			}
		}
	}
	t.Logf("%d of %d example numbers took the fast path", fast, total)
	assert.Greater(t, fast, total/2, "the fast path should serve most E.164 input")
}

func TestFastPathDeclines(t *testing.T) {
	// Input outside the fast path's restricted form is left to the full
	// path, which decides as before.
	for _, s := range []string{
		"12",                     // fewer than three digits
		"415\u2013555\u20132671", // a Unicode dash
		"415\t555 2671",          // a tab
		"(+1) 415 555 2671",      // '+' not first
		"415-CALL-NOW",           // letters
		"+1 415 555 2671 #22",    // '#'
		"+1 415 555 2671 ~",
	} {
		_, ok, _ := fastNormalize(s, "US")
		assert.False(t, ok, s)
	}
	got, err := NormalizePhone("+4407400123456", "US")
	require.NoError(t, err)
	assert.Equal(t, "+447400123456", got, "the national prefix after the country code is stripped as Parse does")
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+14155552671", "(415) 555-2671", "12345", "+12345", "", " ", "abc",
		"0044 20 7946 0958", "011 44 20 7946 0958", "+44 (0)20 7946 0958",
		"07400 123456", "+390612345678", "+4407400123456", "+80012345678",
		"1-800-FLOWERS", "++1", "+", "0", "+5491123456789", "+7 800 555 3535",
		"415\u2013555\u20132671", "\x00", "+999999999999999", "090-1234-5678",
	} {
		for _, region := range []string{"US", "", "GB", "de", "JP", "XX"} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalizePhone(raw, region)
		info, perr := ParsePhone(raw, region)
		if err != nil {
			require.ErrorIs(t, err, herald.ErrInvalidInput)
			require.NotRegexp(t, fiveDigits, err.Error())
			require.Error(t, perr)
			return
		}
		require.Regexp(t, e164Pattern, got)
		again, err := NormalizePhone(got, region)
		require.NoError(t, err)
		require.Equal(t, got, again)
		again, err = NormalizePhone(got, "")
		require.NoError(t, err, "E.164 does not depend on the region")
		require.Equal(t, got, again)

		require.NoError(t, perr)
		require.Equal(t, got, info.E164)
		require.True(t, strings.HasPrefix(info.NationalNumber, info.AreaCode))
		require.Equal(t, got, "+"+strconv.Itoa(info.CountryCode)+info.NationalNumber)

		// The fast path agrees with the full parse wherever it answers.
		s := strings.TrimSpace(raw)
		if p, ok, ferr := fastNormalize(s, "US"); ok {
			slow, err := parsePhone(s, "US")
			if ferr != nil {
				require.Error(t, err)
				require.Equal(t, err.Error(), ferr.Error())
			} else {
				require.NoError(t, err)
				require.Equal(t, p.e164(), phonenumbers.Format(slow, phonenumbers.E164))
			}
		}
	})
}

func BenchmarkNormalizePhone(b *testing.B) {
	cases := []struct{ name, raw, region string }{
		{"E164", "+14155552671", "US"},
		{"E164-GB", "+447400123456", "GB"},
		{"National", "(415) 555-2671", "US"},
		{"National-GB", "07400 123456", "GB"},
		{"International", "+1 (415) 555-2671", "US"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizePhone(c.raw, c.region); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The full path on E.164 input, to show what the fast path saves.
	b.Run("E164-FullParse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			num, err := parsePhone("+14155552671", "US")
			if err != nil {
				b.Fatal(err)
			}
			_ = phonenumbers.Format(num, phonenumbers.E164)
		}
	})
}

func BenchmarkParsePhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePhone("+14155552671", "US"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestE164CacheIsBoundedAndChangesNoAnswer(t *testing.T) {
	c := newE164Cache()
	for i := range e164Shards * e164PerShard * 2 {
		c.add("+1415555" + strconv.Itoa(i))
	}
	total := 0
	for i := range c.shards {
		n := len(c.shards[i].set)
		assert.LessOrEqual(t, n, e164PerShard)
		total += n
	}
	assert.Greater(t, total, 0)

	// A cached number gives the same answer as a fresh check, and an
	// invalid one is never cached.
	first, err := NormalizePhone("+14155552671", "US")
	require.NoError(t, err)
	assert.True(t, validE164.has("+14155552671"))
	again, err := NormalizePhone("+14155552671", "GB")
	require.NoError(t, err)
	assert.Equal(t, first, again)
	_, err = NormalizePhone("+1415555267", "US")
	require.Error(t, err)
	assert.False(t, validE164.has("+1415555267"))
}
