// Package sms knows how an SMS body goes over the air: which encoding it
// needs, how many segments (billable parts) it takes and where they split,
// and how to replace "smart" characters so that a body fits GSM-7.
//
// It counts the way Twilio does, and is tested against Twilio's own
// calculator (see "The oracle" below).
//
// # Encoding and segments
//
// A body is sent in GSM-7 when every character is in the GSM 03.38 default
// alphabet or its extension table (\f ^ { } \ [ ~ ] | €), else in UCS-2.
// [Septets] and [IsGSM7] give the table. Watch for the usual traps, which
// are not GSM-7 and force UCS-2: the lower-case ç (only Ç is in the
// alphabet), the tab, the backtick, the non-breaking space, curly quotes,
// the ellipsis and dashes, and Greek letters other than ΔΦΓΛΩΠΨΣΘΞ.
//
// Units are septets in GSM-7 (an extension character is an escape pair: 2
// septets) and UTF-16 code units in UCS-2 (a character outside the Basic
// Multilingual Plane is a surrogate pair: 2 units). A segment is 140
// octets: 160 septets or 70 UCS-2 units when the body fits in one; a
// longer body is concatenated and each segment gives 6 octets to the user
// data header, leaving 153 septets or 67 units ([GSM7Single],
// [GSM7Concatenated], [UCS2Single], [UCS2Concatenated]).
//
// Segments are filled greedily and never split an escape pair, a
// surrogate pair or a grapheme cluster (a user-perceived character such
// as an emoji ZWJ sequence, a flag, or a letter with its combining marks):
// what does not fit starts the next segment. Grapheme clusters are
// Unicode's extended grapheme clusters (UAX #29, Unicode 15.0 through
// github.com/rivo/uniseg), except that CR LF counts as two characters, as
// Twilio counts it. A multi-code-point cluster always contains a character
// outside GSM-7, so it forces UCS-2.
//
// # Entry points
//
//   - [Count] returns the encoding and the segment count, without
//     allocating: the call for the send path (managers/mmswhencheaper
//     uses it). Plain GSM-7 text is counted from one pass over its bytes;
//     uniseg runs only around the code points that can join others.
//   - [Analyze] returns a [Result]: encoding, characters, units, each
//     [Segment] with its byte range, characters and units, and the
//     characters that forced UCS-2 (each once, in order of appearance).
//     [AnalyzeInto] reuses a Result's storage.
//   - [SmartEncode] and [ReplaceSmartCharacters] replace smart characters;
//     they are opt-in and never run unless the host calls them.
//
// # Smart characters
//
// The smart-encoding list is Twilio's published list of characters that
// its Smart Encoding replaces (curly and angle quotes, primes and accents
// used as apostrophes, dashes, the bullet, the ellipsis, unusual spaces,
// invisible characters, fullwidth forms and small capitals, fractions,
// ornamental brackets and asterisks, and more: [SmartCharacters] returns
// all 271). [ReplaceSmartCharacters] replaces every listed character.
// [SmartEncode] follows Twilio's rule for Messaging Services: replace only
// when that makes the whole body GSM-7, and otherwise leave the body as it
// is (in UCS-2 a curly quote costs what a straight one does, and "…" is
// shorter than "...").
//
// # The oracle
//
// Twilio's calculator, the npm package sms-segments-calculator (pinned in
// testdata/gen/package.json), is the oracle. testdata/gen/gen.js feeds it
// a few thousand deterministic strings (ASCII, GSM-7 Latin and Greek,
// extension characters, smart characters, emoji with modifiers, ZWJ
// sequences, flags and tag sequences, combining marks and stacks of them,
// CJK, Hangul and jamo, Indic, Arabic, Cyrillic, controls, supplementary
// planes, mixes, and every length around 70, 67, 160 and 153 and their
// multiples with an escape pair, a surrogate pair, a cluster or CR LF
// placed across each boundary) and writes what it says to
// testdata/segments.json, with its GSM-7 table (gsm_table.json) and its
// smart-encoding table (smart_table.json) read through its public API. The
// tests read the JSON; neither CI nor a developer needs node. To
// regenerate after changing the corpus or the pinned version:
//
//	cd sms/testdata/gen && npm ci && node gen.js
//
// The tests check, on every string: fed the oracle's own graphemes, our
// packing gives its answer exactly (encoding, segment count, characters
// and units of every segment, the characters that forced UCS-2); with our
// graphemes, the answer is the same wherever the graphemes are the same;
// and every disagreement is of a documented kind. The GSM-7 table agrees
// for every code point of the Basic Multilingual Plane. Separately, the
// counts Twilio billed for a dozen inputs sent through a real account (as
// reported on the calculator's tracker) are checked as they are.
//
// # Where we differ from the oracle, and why
//
// Graphemes: the oracle splits with grapheme-splitter 1.0.4, which follows
// the Unicode 10 rules. Unicode 11 changed two of them: an emoji modifier
// (skin tone) now extends any character, not only an emoji base, and a
// zero width joiner now joins any two pictographs, not only those on the
// old Glue_After_Zwj list (so ❤️‍🔥, 🏴‍☠️ and 🐕‍🦺 are one character).
// grapheme-splitter also cuts a combining mark off a flag, which no
// Unicode version does. Twilio's documented rule is that a segment never
// splits a grapheme cluster, and phones draw these as one character, so we
// follow the current standard. In the fixture, which is emoji-heavy on
// purpose, 574 of 4700 strings find other graphemes (another character
// count for UCS-2), and 4 of those another segment count.
//
// A grapheme longer than a whole segment (a letter under dozens of
// combining marks, more than 67 units): the oracle puts it whole into one
// segment that then exceeds 140 octets, which cannot be sent, and may leave
// the first segment empty. We split such a cluster between code points
// (never inside a surrogate pair), filling segments as usual. 6 fixture
// strings have one; 2 get another segment count.
//
// Smart encoding: the oracle replaces the listed characters whatever else
// the body holds; Twilio's Smart Encoding replaces only when no character
// without a stand-in remains. [ReplaceSmartCharacters] is the former,
// [SmartEncode] the latter.
//
// Spaces: the oracle's table turns the no-break space, the en quad, the
// en, em, three-, four- and six-per-em, figure, punctuation, thin, hair,
// narrow no-break, medium mathematical and ideographic spaces and five C1
// controls into two spaces, and the tab into seven, while it turns the em
// quad and the line and paragraph separators into one. Twilio's published
// table shows a blank as the stand-in of each, which does not say how many;
// the oracle's split between en quad (two) and em quad (one) has no reason
// we could find, and two spaces for one change the text the recipient
// reads. So every one of them becomes a single space here. These 20
// entries are the only ones that differ from the oracle's table.
//
// What the oracle reports the same but names differently: its
// numberOfCharacters is septets for GSM-7 and graphemes for UCS-2; a
// [Result] has both, as Units and Characters. Its non-GSM list repeats a
// character each time it occurs; NonGSM lists it once. An empty body is
// one empty segment in both.
//
// Invalid UTF-8 cannot come from the oracle (JavaScript strings have none);
// here each invalid byte counts as one character and one UCS-2 unit, the
// U+FFFD a sender would put in its place, and the replacements keep it as
// it is.
//
// # Limits of any local count
//
// Carriers and providers may re-encode a message (national language
// shift tables, a provider's own GSM-7 variant), so a local count is an
// estimate of what will be billed; the count a vendor reports
// (herald.SendResult.Segments) is the one to store. Twilio accepts bodies
// of up to 1600 characters.
package sms
