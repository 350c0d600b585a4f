package sms

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const family = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466" // 11 code units

func TestAnalyze(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name       string
		text       string
		enc        Encoding
		units      int
		characters int
		// parts are the units of each segment.
		parts  []int
		nonGSM []string
	}{
		{"empty is one empty segment", "", GSM7, 0, 0, []int{0}, nil},
		{"ascii", "Hello, world!", GSM7, 13, 13, []int{13}, nil},
		{"160 fit in one", rep("a", 160), GSM7, 160, 160, []int{160}, nil},
		{"161 take two of 153", rep("a", 161), GSM7, 161, 161, []int{153, 8}, nil},
		{"306 take two", rep("a", 306), GSM7, 306, 306, []int{153, 153}, nil},
		{"307 take three", rep("a", 307), GSM7, 307, 307, []int{153, 153, 1}, nil},
		{"extension counts two", "{}", GSM7, 4, 2, []int{4}, nil},
		{"80 euros fill one", rep("€", 80), GSM7, 160, 80, []int{160}, nil},
		{"81 euros take two", rep("€", 81), GSM7, 162, 81, []int{152, 10}, nil},
		{"escape pair never split", rep("a", 152) + "€" + rep("a", 9), GSM7, 163, 162, []int{152, 11}, nil},
		{"escape pair that fits", rep("a", 151) + "€" + rep("a", 9), GSM7, 162, 161, []int{153, 9}, nil},
		{"GSM-7 Latin and Greek", "ÄÖÑÜäöñüàèéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¡¿£¥§¤", GSM7, 39, 39, []int{39}, nil},
		{"CR LF is two", "a\r\nb", GSM7, 4, 4, []int{4}, nil},
		{"form feed is an extension", "\f", GSM7, 2, 1, []int{2}, nil},
		{"lower c cedilla forces UCS-2", "ça", UCS2, 2, 2, []int{2}, []string{"ç"}},
		{"tab forces UCS-2", "a\tb", UCS2, 3, 3, []int{3}, []string{"\t"}},
		{"backtick forces UCS-2", "`x`", UCS2, 3, 3, []int{3}, []string{"`"}},
		{"curly quotes, listed once", "“hi” “you”", UCS2, 10, 10, []int{10}, []string{"“", "”"}},
		{"70 CJK fit in one", rep("中", 70), UCS2, 70, 70, []int{70}, []string{"中"}},
		{"71 CJK take two of 67", rep("中", 71), UCS2, 71, 71, []int{67, 4}, []string{"中"}},
		{"extension is one unit in UCS-2", "ç" + rep("|", 69), UCS2, 70, 70, []int{70}, []string{"ç"}},
		{"emoji is a surrogate pair", "😀", UCS2, 2, 1, []int{2}, []string{"😀"}},
		{"surrogate pair never split", rep("中", 66) + "😀" + "中中中", UCS2, 71, 70, []int{66, 5}, []string{"中", "😀"}},
		{"surrogate pair that fits", rep("中", 65) + "😀" + "中中中", UCS2, 70, 69, []int{70}, []string{"中", "😀"}},
		{"ZWJ family is one character", family, UCS2, 11, 1, []int{11}, []string{family}},
		{"ZWJ family never split", rep("a", 60) + family + "b", UCS2, 72, 62, []int{60, 12}, []string{family}},
		{"flag never split", rep("中", 66) + "🇺🇸" + rep("中", 4), UCS2, 74, 71, []int{66, 8}, []string{"中", "🇺🇸"}},
		{"combining mark joins its base", "e\u0301", UCS2, 2, 1, []int{2}, []string{"e\u0301"}},
		{"combining sequence never split", rep("a", 66) + "e\u0301\u0302" + "a", UCS2, 70, 68, []int{70}, []string{"e\u0301\u0302"}},
		{"combining sequence at a boundary", rep("a", 66) + "e\u0301\u0302" + "ab", UCS2, 71, 69, []int{66, 5}, []string{"e\u0301\u0302"}},
		{"CR LF is two in UCS-2 too", "中\r\n", UCS2, 3, 3, []int{3}, []string{"中"}},
		{"invalid UTF-8 is one non-GSM unit", "a\xffb", UCS2, 3, 3, []int{3}, []string{"\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Analyze(tt.text)
			checkInvariants(t, tt.text, r)
			assert.Equal(t, tt.enc, r.Encoding)
			assert.Equal(t, tt.units, r.Units, "units")
			assert.Equal(t, tt.characters, r.Characters, "characters")
			parts := make([]int, len(r.Segments))
			for i, s := range r.Segments {
				parts[i] = s.Units
			}
			assert.Equal(t, tt.parts, parts, "units per segment")
			assert.Equal(t, len(tt.parts), r.Count())
			if tt.nonGSM == nil {
				assert.Empty(t, r.NonGSM)
			} else {
				assert.Equal(t, tt.nonGSM, r.NonGSM)
			}
		})
	}
}

func TestResultParts(t *testing.T) {
	text := strings.Repeat("a", 152) + "€xyzxyzxyz"
	r := Analyze(text)
	require.Equal(t, 2, r.Count())
	assert.Equal(t, GSM7Concatenated, r.Limit())
	assert.Equal(t, []string{strings.Repeat("a", 152), "€xyzxyzxyz"}, r.Parts())
	assert.Equal(t, "€xyzxyzxyz", r.Part(1))
	assert.Equal(t, Segment{Start: 152, End: len(text), Characters: 10, Units: 11}, r.Segments[1])

	one := Analyze("ça va")
	assert.Equal(t, UCS2Single, one.Limit())
	assert.Equal(t, []string{"ça va"}, one.Parts())
}

func TestEncoding(t *testing.T) {
	tests := []struct {
		e            Encoding
		name         string
		single, conc int
	}{
		{GSM7, "GSM-7", 160, 153},
		{UCS2, "UCS-2", 70, 67},
		{0, "unknown", 0, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.name, tt.e.String())
		s, c := tt.e.Limits()
		assert.Equal(t, tt.single, s, tt.name)
		assert.Equal(t, tt.conc, c, tt.name)
	}
}

func TestSeptets(t *testing.T) {
	tests := []struct {
		r    rune
		want int
	}{
		{'a', 1}, {'@', 1}, {'$', 1}, {'\n', 1}, {'\r', 1}, {' ', 1}, {'Δ', 1}, {'Ξ', 1}, {'é', 1}, {'Ç', 1},
		{'€', 2}, {'^', 2}, {'{', 2}, {'}', 2}, {'\\', 2}, {'[', 2}, {'~', 2}, {']', 2}, {'|', 2}, {'\f', 2},
		{'ç', 0}, {'`', 0}, {'\t', 0}, {0x1b, 0}, {0xa0, 0}, {'α', 0}, {'’', 0}, {'😀', 0}, {-1, 0}, {0x10ffff, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Septets(tt.r), "%U", tt.r)
	}
	assert.True(t, IsGSM7(""))
	assert.True(t, IsGSM7("Hi {name}, 5€ @ home"))
	assert.False(t, IsGSM7("Hi {name}, 5€ @ home 😀"))
	assert.False(t, IsGSM7("naïve"), "ï is not GSM-7")
	assert.False(t, IsGSM7("a\xff"))
}

func TestCountAgreesAndDoesNotAllocate(t *testing.T) {
	rep := strings.Repeat
	texts := []string{
		"", "hi", rep("a", 161), rep("a", 152) + "€" + rep("a", 200), rep("€", 300),
		rep("中", 71), rep("中", 66) + "😀" + rep("中", 100), rep("a", 60) + family + rep("b", 100),
		rep("e\u0301", 70), rep("x", 50) + "\u200b" + rep("y", 50),
	}
	for _, text := range texts {
		r := Analyze(text)
		enc, n := Count(text)
		assert.Equal(t, r.Encoding, enc, "%.20q", text)
		assert.Equal(t, r.Count(), n, "%.20q", text)
		allocs := testing.AllocsPerRun(20, func() { Count(text) })
		assert.Zero(t, allocs, "Count(%.20q) allocates", text)
	}
}

func TestAnalyzeIntoReuses(t *testing.T) {
	texts := []string{
		strings.Repeat("Hello there, friend. ", 20),
		strings.Repeat("“Smart” quotes… ", 10),
		strings.Repeat("中文短信", 30),
		strings.Repeat("a", 60) + family + strings.Repeat("🇺🇸", 20),
	}
	var r Result
	for _, text := range texts {
		AnalyzeInto(&r, text)
		checkInvariants(t, text, r)
		assert.Equal(t, Analyze(text), r)
	}
	for _, text := range texts {
		allocs := testing.AllocsPerRun(20, func() { AnalyzeInto(&r, text) })
		assert.Zero(t, allocs, "AnalyzeInto(%.20q) allocates once warm", text)
	}
}

// TestShortcutsMatchUniseg checks that the shortcuts (simple code points
// need no uniseg; only the stretches around the others go through it) give
// what walking the whole text with uniseg gives.
func TestShortcutsMatchUniseg(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		text   string
		simple bool
	}{
		{rep("中", 200), true},
		{rep("Привет, мир! ", 20), true},
		{rep("안녕하세요 ", 30), true},
		{rep("ça\r\n", 50), true},
		{rep("©®™ → ✓ ", 20), true},
		{rep("ＦＵＬＬ！", 30), true},
		{rep("cafe\u0301 ", 30), false},             // combining mark after a simple letter
		{rep("안녕\u11a8 ", 30), false},               // trailing jamo after a Hangul syllable
		{rep("\u0600a ", 40), false},                // prepended mark before a simple letter
		{rep("go 🇺🇸🇬🇧 go ", 20), false},             // flags between simple text
		{rep("a"+family+"b", 20), false},            // ZWJ sequence
		{rep("👍🏽x", 40), false},                     // modifier
		{"\u0301" + rep("a", 80) + "\u0301", false}, // marks at both ends
		{rep("x\r\n😀\r\n", 30), false},              // CR LF next to a stretch
		{rep("a\U0001F3FB", 50), false},             // modifier after a non-base
		{rep("नमस्ते ", 30), false},                 // Devanagari
	}
	for _, tt := range tests {
		assert.Equal(t, tt.simple, scan(tt.text).simple, "%.20q", tt.text)
		var fast, slow Result
		analyze(&fast, tt.text, nil)
		analyze(&slow, tt.text, unisegSplit)
		assert.Equal(t, slow, fast, "%.20q", tt.text)
		checkInvariants(t, tt.text, fast)
	}
}

// TestBoundaryBetweenSimpleRunes checks every code point simpleBMP accepts:
// between other simple code points of every kind, and next to itself, it
// is a grapheme cluster of its own (CR LF aside, which the packer splits).
// A code point whose Grapheme_Cluster_Break property could join a simple
// neighbour (Extend, SpacingMark, ZWJ, Prepend, L, V, T, a regional
// indicator) fails one of these.
func TestBoundaryBetweenSimpleRunes(t *testing.T) {
	neighbours := []rune{'a', '\n', 'é', 'Ā', 'ʼ', 'α', 'Ж', '—', '€', '™', '→', '❤', '、', 'あ', 'ア', '中', '가', '각', '！', 'ｱ'}
	for _, n := range neighbours {
		require.True(t, simpleBMP(n), "%U", n)
	}
	checked := 0
	for r := rune(0); r <= 0xffff; r++ {
		if !simpleBMP(r) {
			continue
		}
		checked++
		if r != '\r' && r != '\n' {
			if !assert.Equal(t, 2, uniseg.GraphemeClusterCount(string([]rune{r, r})), "%U twice", r) {
				return
			}
		}
		for _, n := range neighbours {
			if r == '\r' && n == '\n' {
				continue
			}
			s := string([]rune{n, r, n})
			if !assert.Equal(t, 3, uniseg.GraphemeClusterCount(s), "%U between %U", r, n) {
				return
			}
		}
	}
	assert.Greater(t, checked, 40000)
}

func TestReplaceSmartCharacters(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"plain text", "plain text"},
		{"“Hello” it’s me…", `"Hello" it's me...`},
		{"a — b – c ‐ d • e", "a - b - c - d - e"},
		{"no\u00a0break thin\u2009space ideo\u3000space", "no break thin space ideo space"},
		{"tab\there", "tab here"},
		{"zero\u200bwidth\ufeff", "zerowidth"},
		{"ＦＵＬＬ　ＷＩＤＴＨ！", "FULL WIDTH!"},
		{"ｌｏｗｅｒ fullwidth is not listed", "ｌｏｗｅｒ fullwidth is not listed"},
		{"½ ¼ ¾ ÷", "1/2 1/4 3/4 /"},
		{"‹angle› «guillemets»", `<angle> "guillemets"`},
		{"`code`", "'code'"},
		{"‼", "!!"},
		{"emoji stays 😀 “quoted”", `emoji stays 😀 "quoted"`},
		{"e\u0302", "e^"},
		{"bad \xff byte ’", "bad \xff byte '"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ReplaceSmartCharacters(tt.in), "%q", tt.in)
	}
	plain := "nothing to replace here, 100% GSM-7"
	assert.Zero(t, testing.AllocsPerRun(20, func() { ReplaceSmartCharacters(plain) }))
}

func TestSmartEncode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		changed bool
	}{
		{"already GSM-7", "Hi {name}!", "Hi {name}!", false},
		{"smart quotes become GSM-7", "It’s “done”…", `It's "done"...`, true},
		{"all or nothing: an emoji stays", "It’s done 😀", "It’s done 😀", false},
		{"all or nothing: CJK stays", "“中文”", "“中文”", false},
		{"non-GSM with no stand-in", "ça", "ça", false},
		{"unusual spaces", "a\u00a0b\u2002c", "a b c", true},
		{"invisible characters dropped", "a\u200bb", "ab", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := SmartEncode(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.changed, changed)
			if changed {
				assert.True(t, IsGSM7(got))
			}
		})
	}
}

func TestSmartReplacement(t *testing.T) {
	s, ok := SmartReplacement('’')
	assert.True(t, ok)
	assert.Equal(t, "'", s)
	s, ok = SmartReplacement('\u200b')
	assert.True(t, ok)
	assert.Equal(t, "", s)
	_, ok = SmartReplacement('a')
	assert.False(t, ok)

	m := SmartCharacters()
	assert.Len(t, m, 271)
	m['a'] = "changed"
	_, ok = SmartReplacement('a')
	assert.False(t, ok, "the returned map is a copy")
}

// TestDecodeAt checks the inline decoder against the standard one on every
// two- and three-byte prefix, valid or not, and a few others.
func TestDecodeAt(t *testing.T) {
	check := func(s string) {
		r, n := decodeAt(s, 0)
		wr, wn := utf8.DecodeRuneInString(s)
		if r != wr || n != wn {
			t.Fatalf("decodeAt(%q) = %U, %d; want %U, %d", s, r, n, wr, wn)
		}
	}
	for b0 := 0x80; b0 < 0x100; b0++ {
		for b1 := 0; b1 < 0x100; b1++ {
			check(string([]byte{byte(b0), byte(b1)}))
			for _, b2 := range []byte{0x00, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff} {
				check(string([]byte{byte(b0), byte(b1), b2}))
				check(string([]byte{byte(b0), byte(b1), b2, 0x80}))
			}
		}
		check(string([]byte{byte(b0)}))
	}
	for _, s := range []string{"a", "é", "中", "😀", "\U0010FFFF", "\xed\xa0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80"} {
		check(s)
	}
}

// TestTwilioBilledExamples holds the segment counts Twilio billed
// (num_segments) for inputs sent through a real account, as reported on
// the calculator's tracker (TwilioDevEd/message-segment-calculator#66).
func TestTwilioBilledExamples(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name     string
		text     string
		enc      Encoding
		segments int
	}{
		{"80a CRLF 79a", rep("a", 80) + "\r\n" + rep("a", 79), GSM7, 2},
		{"80a LF 79a", rep("a", 80) + "\n" + rep("a", 79), GSM7, 1},
		{"200a CRLF 105a", rep("a", 200) + "\r\n" + rep("a", 105), GSM7, 3},
		{"70 precomposed é", rep("é", 70), GSM7, 1},
		{"70 decomposed é", rep("e\u0301", 70), UCS2, 3},
		{"1 decomposed é", "e\u0301", UCS2, 1},
		{"curly quotes", "“Hello”", UCS2, 1},
		{"emoji and pipe", "😀|", UCS2, 1},
		{"160 a", rep("a", 160), GSM7, 1},
		{"161 a", rep("a", 161), GSM7, 2},
		{"70 CJK", rep("中", 70), UCS2, 1},
		{"71 CJK", rep("中", 71), UCS2, 2},
		{"one pipe", "|", GSM7, 1},
	}
	for _, tt := range tests {
		enc, n := Count(tt.text)
		assert.Equal(t, tt.enc, enc, tt.name)
		assert.Equal(t, tt.segments, n, tt.name)
	}
	out, changed := SmartEncode("“Hello”")
	assert.True(t, changed)
	enc, n := Count(out)
	assert.Equal(t, GSM7, enc, "curly quotes with Smart Encoding on")
	assert.Equal(t, 1, n)
}
