package sms

import (
	"strings"
	"unicode/utf8"
)

// smartGroups is the smart-encoding list: each string of characters in
// From is replaced by To. It is Twilio's published list of characters
// replaced by Smart Encoding, with the whitespace decision documented in
// the package doc (every unusual space and the tab become one space).
var smartGroups = []struct{ To, From string }{
	// Removed: invisible controls and zero-width characters.
	{"", "\u0000\u0003\u0004\u0010\u0011\u0012\u0013\u0014\u0017\u0019\u200b\u200c\u2060\ufeff"},
	// Spaces: tab, C1 controls that render as space, and every unusual space.
	{" ", "\t\u0080\u008d\u0090\u009b\u009f\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006" +
		"\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"},
	// Quotes.
	{"'", "\u0060\u00b4\u02b9\u02bb\u02bc\u02bd\u02c8\u02ca\u02cb\u0313\u0314\u2018\u2019\u201b" +
		"\u275b\u275c\ufe10\ufe11\uff07"},
	{"\"", "\u00ab\u00bb\u02ba\u02ee\u201c\u201d\u201e\u201f\u275d\u275e\u301d\u301e\uff02"},
	// Dashes, hyphens and the bullet.
	{"-", "\u2010\u2013\u2014\u2015\u2022\u2043\u23bc\u23bd\ufe63\uff0d"},
	// Ellipsis and other expansions.
	{"...", "\u2026"},
	{"!!", "\u203c"},
	{"1/4", "\u00bc"},
	{"1/2", "\u00bd"},
	{"3/4", "\u00be"},
	// Punctuation and symbols.
	{"!", "\u01c3\ufe15\ufe57\uff01"},
	{"#", "\ufe5f\uff03"},
	{"$", "\ufe69\uff04"},
	{"%", "\ufe6a\uff05"},
	{"&", "\ufe60\uff06"},
	{"(", "\u2768\u276a\u27ee\u2985\ufe59\uff08"},
	{")", "\u2769\u276b\u27ef\u2986\ufe5a\uff09"},
	{"*", "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d" +
		"\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a"},
	{"+", "\u02d6\ufe62\uff0b"},
	{",", "\u0326\u201a\u3001\ufe50\ufe51\uff0c\uff64"},
	{".", "\u3002\ufe52\uff0e\uff61"},
	{"/", "\u00f7\u0337\u0338\u2044\u2215\u29f8\uff0f"},
	{":", "\u02d0\u02f8\u2982\ua789\ufe13\uff1a"},
	{";", "\u204f\ufe14\ufe54\uff1b"},
	{"<", "\u2039\ufe64\uff1c"},
	{"=", "\u0347\ua78a\ufe66\uff1d"},
	{">", "\u203a\ufe65\uff1e"},
	{"?", "\ufe16\ufe56\uff1f"},
	{"@", "\ufe6b\uff20"},
	{"_", "\u0332\u2017\uff3f"},
	// Characters whose stand-ins are GSM-7 extension characters (2 septets).
	{"\\", "\u20e5\u29f5\u29f9\ufe68\uff3c"},
	{"^", "\u02c6\u0302\u1dcd\uff3e"},
	{"{", "\u2774\ufe5b\uff5b"},
	{"}", "\u2775\ufe5c\uff5d"},
	{"[", "\uff3b"},
	{"]", "\uff3d"},
	{"|", "\u20d2\u20d3\u2223\u239c\u239f\u23b8\u23b9\u23d0\uff5c"},
	{"~", "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e"},
	// Fullwidth digits.
	{"0", "\uff10"}, {"1", "\uff11"}, {"2", "\uff12"}, {"3", "\uff13"}, {"4", "\uff14"},
	{"5", "\uff15"}, {"6", "\uff16"}, {"7", "\uff17"}, {"8", "\uff18"}, {"9", "\uff19"},
	// Fullwidth capitals and small capitals.
	{"A", "\uff21\u1d00"}, {"B", "\uff22\u0299"}, {"C", "\uff23\u1d04"}, {"D", "\uff24\u1d05"},
	{"E", "\uff25\u1d07"}, {"F", "\uff26\ua730"}, {"G", "\uff27\u0262"}, {"H", "\uff28\u029c"},
	{"I", "\uff29\u026a"}, {"J", "\uff2a\u1d0a"}, {"K", "\uff2b\u1d0b"}, {"L", "\uff2c\u029f"},
	{"M", "\uff2d\u1d0d"}, {"N", "\uff2e\u0274"}, {"O", "\uff2f\u1d0f"}, {"P", "\uff30\u1d18"},
	{"Q", "\uff31"}, {"R", "\uff32\u0280"}, {"S", "\uff33\ua731"}, {"T", "\uff34\u1d1b"},
	{"U", "\uff35\u1d1c"}, {"V", "\uff36\u1d20"}, {"W", "\uff37\u1d21"}, {"X", "\uff38"},
	{"Y", "\uff39\u028f"}, {"Z", "\uff3a\u1d22"},
}

// smartTable maps each listed character to its stand-in.
var smartTable = func() map[rune]string {
	m := make(map[rune]string, 280)
	for _, g := range smartGroups {
		for _, r := range g.From {
			if _, dup := m[r]; dup {
				panic("sms: smart character listed twice: " + string(r))
			}
			m[r] = g.To
		}
	}
	return m
}()

// SmartReplacement returns the GSM-7 stand-in of r on the smart-encoding
// list ("" for a character that is dropped) and whether r is on the list.
func SmartReplacement(r rune) (string, bool) {
	s, ok := smartTable[r]
	return s, ok
}

// SmartCharacters returns every character on the smart-encoding list with
// its stand-in, in a new map the caller may keep.
func SmartCharacters() map[rune]string {
	m := make(map[rune]string, len(smartTable))
	for r, s := range smartTable {
		m[r] = s
	}
	return m
}

// ReplaceSmartCharacters returns text with every character of the
// smart-encoding list replaced by its GSM-7 stand-in: curly quotes by
// straight ones, dashes and the bullet by '-', the ellipsis by "...",
// unusual spaces and the tab by a space, fullwidth forms by their ASCII
// letters, invisible characters removed, and so on (SmartCharacters lists
// them all). It replaces code point by code point, whatever else the text
// holds: the result may still need UCS-2. It returns text itself, without
// allocating, when nothing is on the list.
//
// Use SmartEncode to follow Twilio's rule of replacing only when that makes
// the whole message GSM-7.
func ReplaceSmartCharacters(text string) string {
	first := -1
	for i, r := range text {
		if r >= 0x80 || r < 0x20 || r == '`' {
			if _, ok := smartTable[r]; ok {
				first = i
				break
			}
		}
	}
	if first < 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	b.WriteString(text[:first])
	for i := first; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if s, ok := smartTable[r]; ok { // U+FFFD (invalid UTF-8) is not listed
			b.WriteString(s)
		} else {
			b.WriteString(text[i : i+size]) // invalid UTF-8 stays as it was
		}
		i += size
	}
	return b.String()
}

// SmartEncode applies Twilio's Smart Encoding rule to a message body: when
// replacing the smart characters (ReplaceSmartCharacters) makes every
// character GSM-7, it returns the replaced text and true; otherwise (the
// text is GSM-7 already, or keeps an emoji, a CJK character or anything
// else with no stand-in) it returns text unchanged and false, because
// replacing would not change the encoding and could make the text longer.
//
// It is opt-in: herald never changes a body unless the host calls this
// (or a manager it enables does).
func SmartEncode(text string) (string, bool) {
	if IsGSM7(text) {
		return text, false
	}
	out := ReplaceSmartCharacters(text)
	if out == text || !IsGSM7(out) {
		return text, false
	}
	return out, true
}
