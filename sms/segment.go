package sms

import (
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Encoding is the character set an SMS is sent in.
type Encoding uint8

// The two encodings of an SMS. The zero Encoding is none of them.
const (
	// GSM7 is the GSM 03.38 default alphabet with its extension table,
	// 7 bits a character (two for an extension character).
	GSM7 Encoding = iota + 1
	// UCS2 is UTF-16: 16 bits a code unit, two units for a character
	// outside the Basic Multilingual Plane (a surrogate pair).
	UCS2
)

// String returns Twilio's name for the encoding: "GSM-7" or "UCS-2".
func (e Encoding) String() string {
	switch e {
	case GSM7:
		return "GSM-7"
	case UCS2:
		return "UCS-2"
	}
	return "unknown"
}

// How many units (septets for GSM-7, UTF-16 code units for UCS-2) one
// segment holds: a message that fits in one segment has the whole 140
// octets; a concatenated message spends 6 octets of each segment on the
// user data header.
const (
	GSM7Single       = 160
	GSM7Concatenated = 153
	UCS2Single       = 70
	UCS2Concatenated = 67
)

// Limits returns how many units one segment of the encoding holds when the
// message is a single segment and when it is concatenated; zeros for an
// unknown encoding.
func (e Encoding) Limits() (single, concatenated int) {
	switch e {
	case GSM7:
		return GSM7Single, GSM7Concatenated
	case UCS2:
		return UCS2Single, UCS2Concatenated
	}
	return 0, 0
}

// Segment is one part of a message as it goes over the air.
type Segment struct {
	// Start and End are byte offsets into the analysed text: the part is
	// text[Start:End]. The parts of a message are contiguous and cover it.
	Start, End int
	// Characters counts the user-perceived characters (grapheme clusters)
	// that start in this part. CR LF counts as two, as Twilio counts it.
	Characters int
	// Units counts what the part takes: septets in GSM-7 (an extension
	// character takes two), UTF-16 code units in UCS-2 (a character outside
	// the Basic Multilingual Plane takes two).
	Units int
}

// Result is what Analyze learnt about a message body.
type Result struct {
	// Text is the analysed text; the segments index into it.
	Text string
	// Encoding is GSM7 when every character is in the GSM-7 alphabet and
	// its extension table, else UCS2.
	Encoding Encoding
	// Characters counts the user-perceived characters (grapheme clusters,
	// with CR LF as two).
	Characters int
	// Units is the message's length in septets (GSM7) or UTF-16 code units
	// (UCS2).
	Units int
	// Segments are the message's parts, in order. An empty text is one
	// empty segment, as Twilio counts it.
	Segments []Segment
	// NonGSM lists the characters (grapheme clusters) that forced UCS-2,
	// each once, in the order they first appear. It is empty for GSM7.
	NonGSM []string
}

// Count returns the number of segments, len(r.Segments).
func (r *Result) Count() int { return len(r.Segments) }

// Limit returns how many units each segment of this message may hold:
// 160 or 70 for a single segment, 153 or 67 for a concatenated message.
func (r *Result) Limit() int {
	single, concatenated := r.Encoding.Limits()
	if len(r.Segments) > 1 {
		return concatenated
	}
	return single
}

// Part returns the text of segment i.
func (r *Result) Part(i int) string {
	s := r.Segments[i]
	return r.Text[s.Start:s.End]
}

// Parts returns the text of every segment, in order.
func (r *Result) Parts() []string {
	out := make([]string, len(r.Segments))
	for i := range r.Segments {
		out[i] = r.Part(i)
	}
	return out
}

// Analyze splits text into SMS segments the way Twilio does and reports
// the encoding, the segments with their characters and units, and the
// characters that forced UCS-2. See the package documentation for the
// rules. It allocates the Segments slice and, for UCS-2, the NonGSM slice;
// AnalyzeInto reuses them.
func Analyze(text string) Result {
	var r Result
	analyze(&r, text, nil)
	return r
}

// AnalyzeInto is Analyze writing into r, reusing the storage of
// r.Segments and r.NonGSM, so that a caller analysing many texts
// allocates only when a text needs more room than any before (and, for a
// text with more than 16 distinct characters outside GSM-7, a set to list
// them once). What r held is overwritten, including through copies of r
// that share its slices.
func AnalyzeInto(r *Result, text string) {
	analyze(r, text, nil)
}

// Count returns the encoding of text and how many segments it takes,
// exactly as Analyze would, without allocating. It is the call for the
// send path.
func Count(text string) (Encoding, int) {
	s := scan(text)
	if s.gsm {
		switch {
		case s.septets <= GSM7Single:
			return GSM7, 1
		case !s.escapes:
			return GSM7, ceilDiv(s.septets, GSM7Concatenated)
		}
		p := packer{limit: GSM7Concatenated}
		packGSM(&p, text)
		return GSM7, p.finish(len(text))
	}
	switch {
	case s.utf16 <= UCS2Single:
		return UCS2, 1
	case s.simple:
		// Every code point is one unit and a cluster by itself.
		return UCS2, ceilDiv(s.utf16, UCS2Concatenated)
	}
	p := packer{limit: UCS2Concatenated}
	packUCS2(&p, text, nil, nil)
	return UCS2, p.finish(len(text))
}

// splitter returns the first grapheme cluster of s; state is carried from
// call to call as uniseg does. It exists so tests can put another
// segmentation (the oracle's) under the same packing.
type splitter func(s string, state int) (cluster, rest string, newState int)

func unisegSplit(s string, state int) (string, string, int) {
	cluster, rest, _, state := uniseg.FirstGraphemeClusterInString(s, state)
	return cluster, rest, state
}

// analyze fills r. split nil means uniseg, run only around the code
// points that are not simple (see packUCS2).
func analyze(r *Result, text string, split splitter) {
	s := scan(text)
	r.Text = text
	r.Segments = r.Segments[:0]
	r.NonGSM = r.NonGSM[:0]
	p := packer{r: r}
	if s.gsm {
		r.Encoding, r.Units = GSM7, s.septets
		p.limit = GSM7Single
		if s.septets > GSM7Single {
			p.limit = GSM7Concatenated
		}
		if r.Segments == nil {
			r.Segments = make([]Segment, 0, ceilDiv(s.septets, p.limit)+1)
		}
		packGSM(&p, text)
	} else {
		r.Encoding, r.Units = UCS2, s.utf16
		p.limit = UCS2Single
		if s.utf16 > UCS2Single {
			p.limit = UCS2Concatenated
		}
		if r.Segments == nil {
			r.Segments = make([]Segment, 0, ceilDiv(s.utf16, p.limit)+1)
		}
		var seen nonGSMSet
		packUCS2(&p, text, split, &seen)
	}
	p.finish(len(text))
	r.Characters = p.chars
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// scanned is what one pass over a text learns.
type scanned struct {
	// gsm: every character is in the GSM-7 alphabet or its extension.
	gsm bool
	// escapes: some character is in the extension table.
	escapes bool
	// simple: every code point is simple (see simpleBMP): one UTF-16
	// unit, with a cluster boundary between any two of them.
	simple  bool
	septets int
	utf16   int
}

// asciiInfo holds, per ASCII byte, its septets (bits 0-1) and flags: not
// GSM-7 (bit 2), an escape pair (bit 3). All ASCII bytes are simple.
var asciiInfo = func() (t [utf8.RuneSelf]uint8) {
	for b := range t {
		n := latin1Septets[b]
		t[b] = n
		switch n {
		case 0:
			t[b] |= infoNotGSM
		case 2:
			t[b] |= infoEscape
		}
	}
	return t
}()

const (
	infoSeptets = 3
	infoNotGSM  = 4
	infoEscape  = 8
)

func scan(text string) scanned {
	s := scanned{simple: true}
	var flags uint8
	for i := 0; i < len(text); {
		// A run of ASCII: one table load per byte, no branch but the loop's.
		start := i
		for i < len(text) && text[i] < utf8.RuneSelf {
			x := asciiInfo[text[i]]
			flags |= x
			s.septets += int(x & infoSeptets)
			i++
		}
		s.utf16 += i - start
		if i == len(text) {
			break
		}
		r, size := decodeAt(text, i)
		i += size
		switch Septets(r) { // invalid UTF-8 is U+FFFD: not GSM-7
		case 0:
			flags |= infoNotGSM
		case 1:
			s.septets++
		case 2:
			s.septets += 2
			flags |= infoEscape
		}
		if r >= 0x10000 {
			s.utf16 += 2
			s.simple = false
		} else {
			s.utf16++
			s.simple = s.simple && size > 1 && simpleBMP(r)
		}
	}
	s.gsm = flags&infoNotGSM == 0
	s.escapes = flags&infoEscape != 0
	return s
}

// simpleBMP reports whether r is simple: its Grapheme_Cluster_Break
// property is Other, Control, CR, LF, LV or LVT, so that there is a cluster
// boundary between any two simple code points (CR LF aside, which the
// packer splits anyway). A combining mark after a simple code point still
// joins it; only a pair of simple code points is known to break. The ranges
// are the common scripts of SMS text; TestBoundaryBetweenSimpleRunes checks
// every code point in them against uniseg.
func simpleBMP(r rune) bool {
	switch {
	case r < 0x0300: // ASCII, Latin-1, Latin Extended-A/B, IPA, modifier letters
		return true
	case r >= 0x4e00 && r <= 0x9fff, r >= 0x3400 && r <= 0x4dbf: // CJK ideographs
		return true
	case r >= 0xac00 && r <= 0xd7a3: // Hangul syllables (LV, LVT)
		return true
	case r >= 0x0370 && r <= 0x0482, r >= 0x048a && r <= 0x052f: // Greek, Cyrillic
		return true
	case r >= 0x2010 && r <= 0x2027, r >= 0x2030 && r <= 0x205f: // punctuation
		return true
	case r >= 0x20a0 && r <= 0x20cf: // currency symbols
		return true
	case r >= 0x2100 && r <= 0x2bff: // letterlike, arrows, maths, shapes, dingbats
		return true
	case r >= 0x3000 && r <= 0x3029, r >= 0x3030 && r <= 0x303f: // CJK punctuation
		return true
	case r >= 0x3041 && r <= 0x3096, r >= 0x309b && r <= 0x30ff: // kana
		return true
	case r >= 0xff01 && r <= 0xff9d: // fullwidth and halfwidth forms
		return true
	}
	return false
}

// packer fills segments greedily: a piece that does not fit in the open
// segment starts the next one.
type packer struct {
	limit int
	// r receives the segments; nil when only counting.
	r *Result
	// The open segment.
	start, units, segChars int
	// Segments closed so far and characters seen.
	closed, chars int
}

// add puts the piece text[at:at+...] of units units into the segments;
// newChar is false for the second and later pieces of a cluster that was
// split because it is longer than a whole segment.
func (p *packer) add(at, units int, newChar bool) {
	if p.units+units > p.limit {
		if p.r != nil {
			p.r.Segments = append(p.r.Segments, Segment{Start: p.start, End: at, Characters: p.segChars, Units: p.units})
		}
		p.closed++
		p.start, p.units, p.segChars = at, 0, 0
	}
	p.units += units
	if newChar {
		p.segChars++
		p.chars++
	}
}

// finish closes the open segment at end and returns the segment count.
func (p *packer) finish(end int) int {
	if p.r != nil {
		p.r.Segments = append(p.r.Segments, Segment{Start: p.start, End: end, Characters: p.segChars, Units: p.units})
	}
	p.closed++
	return p.closed
}

// packGSM packs a GSM-7 text: every code point is its own cluster, of one
// or two septets.
func packGSM(p *packer, text string) {
	for i, r := range text {
		p.add(i, Septets(r), true)
	}
}

// simpleAt decodes the code point at text[i:] and reports whether it is
// simple (see simpleBMP); i == len(text) counts as simple, the end of the
// text being a boundary too.
func simpleAt(text string, i int) (r rune, size int, simple bool) {
	if i >= len(text) {
		return 0, 0, true
	}
	if b := text[i]; b < utf8.RuneSelf {
		return rune(b), 1, true
	}
	r, size = decodeAt(text, i)
	return r, size, size > 1 && r < 0x10000 && simpleBMP(r)
}

// decodeAt is utf8.DecodeRuneInString(text[i:]) with the two- and
// three-byte sequences (Latin, Greek, Cyrillic, CJK, punctuation) decoded
// inline; anything else, valid or not, goes to the standard decoder.
func decodeAt(text string, i int) (rune, int) {
	b0 := text[i]
	switch {
	case b0 < utf8.RuneSelf:
		return rune(b0), 1
	case b0 >= 0xc2 && b0 < 0xe0 && i+1 < len(text):
		if b1 := text[i+1]; b1&0xc0 == 0x80 {
			return rune(b0&0x1f)<<6 | rune(b1&0x3f), 2
		}
	case b0 >= 0xe0 && b0 < 0xf0 && i+2 < len(text):
		b1, b2 := text[i+1], text[i+2]
		if b1&0xc0 == 0x80 && b2&0xc0 == 0x80 {
			r := rune(b0&0x0f)<<12 | rune(b1&0x3f)<<6 | rune(b2&0x3f)
			if r >= 0x800 && (r < 0xd800 || r > 0xdfff) {
				return r, 3
			}
		}
	}
	return utf8.DecodeRuneInString(text[i:])
}

// packUCS2 packs a UCS-2 text cluster by cluster. With split nil, uniseg
// runs only where it is needed: between two simple code points there is
// always a cluster boundary, so a simple code point followed by another is
// a cluster by itself, and each stretch between two such boundaries is
// split on its own (its clusters do not depend on what lies outside it).
func packUCS2(p *packer, text string, split splitter, seen *nonGSMSet) {
	if split != nil {
		packClusters(p, text, 0, split, seen)
		return
	}
	r, size, simple := simpleAt(text, 0)
	for i := 0; i < len(text); {
		next, nextSize, nextSimple := simpleAt(text, i+size)
		if simple && nextSimple {
			if p.r != nil && Septets(r) == 0 {
				seen.add(p.r, text[i:i+size])
			}
			p.add(i, 1, true)
			i += size
			r, size, simple = next, nextSize, nextSimple
			continue
		}
		// A stretch up to the next boundary between two simple code points.
		j := i + size
		prevSimple := simple
		r, size, simple = next, nextSize, nextSimple
		for j < len(text) && !(prevSimple && simple) {
			j += size
			prevSimple = simple
			r, size, simple = simpleAt(text, j)
		}
		packClusters(p, text[i:j], i, unisegSplit, seen)
		i = j
	}
}

// packClusters packs text, which starts at byte offset base of the
// message, cluster by cluster as split finds them. CR LF is split in two,
// as Twilio does. A cluster longer than a whole segment (a base with
// dozens of combining marks) is split between code points, never inside a
// surrogate pair.
func packClusters(p *packer, text string, base int, split splitter, seen *nonGSMSet) {
	rest, state, at := text, -1, base
	for len(rest) > 0 {
		var cluster string
		cluster, rest, state = split(rest, state)
		if cluster == "\r\n" {
			p.add(at, 1, true)
			p.add(at+1, 1, true)
			at += 2
			continue
		}
		units, runes := 0, 0
		for _, r := range cluster {
			units++
			if r >= 0x10000 {
				units++
			}
			runes++
		}
		if p.r != nil {
			// A cluster of several code points always holds one outside
			// GSM-7 (CR LF, the only GSM-7 pair, was split above); invalid
			// UTF-8 decodes as U+FFFD, which is not GSM-7 either.
			if r, _ := utf8.DecodeRuneInString(cluster); runes > 1 || Septets(r) == 0 {
				seen.add(p.r, cluster)
			}
		}
		if units <= p.limit {
			p.add(at, units, true)
		} else {
			first := true
			for i, r := range cluster {
				u := 1
				if r >= 0x10000 {
					u = 2
				}
				p.add(at+i, u, first)
				first = false
			}
		}
		at += len(cluster)
	}
}

// nonGSMSet collects distinct clusters into Result.NonGSM: a linear search
// while the list is short, a map once it is long.
type nonGSMSet struct {
	m map[string]struct{}
}

const nonGSMLinear = 16

func (s *nonGSMSet) add(r *Result, c string) {
	if s.m == nil {
		for _, have := range r.NonGSM {
			if have == c {
				return
			}
		}
		r.NonGSM = append(r.NonGSM, c)
		if len(r.NonGSM) > nonGSMLinear {
			s.m = make(map[string]struct{}, 2*len(r.NonGSM))
			for _, have := range r.NonGSM {
				s.m[have] = struct{}{}
			}
		}
		return
	}
	if _, ok := s.m[c]; ok {
		return
	}
	s.m[c] = struct{}{}
	r.NonGSM = append(r.NonGSM, c)
}
