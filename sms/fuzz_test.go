package sms

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// FuzzAnalyze checks the invariants on any input, valid UTF-8 or not: no
// panic; the segments cover the text in order and reassemble it; no segment
// is over its limit; the counts add up; no boundary falls inside a code
// point or a grapheme cluster that fits in a segment; Count agrees; the
// shortcut for simple texts agrees with walking them; smart replacement is
// idempotent on valid UTF-8, and SmartEncode returns GSM-7 whenever it
// changes the text.
//
//	go test -run '^$' -fuzz FuzzAnalyze ./sms
func FuzzAnalyze(f *testing.F) {
	seeds := []string{
		"", "a", "Hello, world!", strings.Repeat("a", 161), strings.Repeat("a", 152) + "€" + "bb",
		strings.Repeat("中", 71), strings.Repeat("中", 66) + "😀" + "中", strings.Repeat("a", 60) + family + "b",
		"🇺🇸🇬🇧🇯", "e\u0301\u0302", "x" + strings.Repeat("\u0301", 200) + "y", "a\r\nb", "\r\n\r\n",
		"“smart” — quotes…", "a\xffb", "\xed\xa0\x80", "\U000E0067\U000E007F", "안녕\u11a8", "\u0600\U0001F1FA\U0001F1F8",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := Analyze(text)
		checkInvariants(t, text, r)

		var slow Result
		analyze(&slow, text, unisegSplit)
		assert.Equal(t, r, slow, "shortcut and uniseg walk agree")

		replaced := ReplaceSmartCharacters(text)
		if utf8.ValidString(text) {
			// (Invalid bytes are kept; dropping a character between two
			// of them can make them valid.)
			assert.Equal(t, replaced, ReplaceSmartCharacters(replaced), "smart replacement is idempotent")
		}
		out, changed := SmartEncode(text)
		if changed {
			assert.True(t, IsGSM7(out))
			assert.False(t, IsGSM7(text))
			assert.Equal(t, replaced, out)
		} else {
			assert.Equal(t, text, out)
		}
	})
}
