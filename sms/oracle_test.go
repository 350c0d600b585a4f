package sms

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rivo/uniseg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixtures in testdata are written by testdata/gen/gen.js from Twilio's
// calculator (npm sms-segments-calculator); see the package doc.

type oracleCase struct {
	Name       string
	Text       string
	Encoding   string
	Segments   int
	Characters int
	// Parts holds [characters, units] per segment.
	Parts  [][2]int
	NonGsm []string
	// Clusters are the oracle's graphemes of more than one code point, as
	// [code point index, code point count].
	Clusters [][2]int
	Smart    struct {
		// Text is absent when smart encoding changed nothing.
		Text     *string
		Encoding string
		Segments int
	}
}

type oracleTable struct {
	Oracle string
	Count  int
	Table  [][2]json.RawMessage
}

var (
	fixtureOnce  sync.Once
	fixtureCases []oracleCase
	fixtureErr   error
)

func loadCases(t testing.TB) []oracleCase {
	t.Helper()
	fixtureOnce.Do(func() {
		var f struct {
			Oracle string
			Count  int
			Cases  []oracleCase
		}
		b, err := os.ReadFile(filepath.Join("testdata", "segments.json"))
		if err == nil {
			err = json.Unmarshal(b, &f)
		}
		if err == nil && len(f.Cases) != f.Count {
			err = os.ErrInvalid
		}
		fixtureCases, fixtureErr = f.Cases, err
	})
	require.NoError(t, fixtureErr)
	require.Greater(t, len(fixtureCases), 4000, "the fixture holds thousands of strings")
	return fixtureCases
}

func loadTable(t testing.TB, name string) oracleTable {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var tab oracleTable
	require.NoError(t, json.Unmarshal(b, &tab))
	require.Len(t, tab.Table, tab.Count)
	return tab
}

// oracleSplitter returns a splitter that cuts text at the oracle's grapheme
// boundaries.
func oracleSplitter(text string, clusters [][2]int) splitter {
	// Byte offset of every code point index, and the cluster ends.
	offsets := make([]int, 0, len(text)+1)
	for i := range text {
		offsets = append(offsets, i)
	}
	offsets = append(offsets, len(text))
	ends := map[int]int{} // cluster start byte -> end byte
	for _, c := range clusters {
		ends[offsets[c[0]]] = offsets[c[0]+c[1]]
	}
	return func(s string, state int) (string, string, int) {
		at := len(text) - len(s)
		end, ok := ends[at]
		if !ok {
			// One code point.
			_, size := decodeRune(s)
			end = at + size
		}
		n := end - at
		return s[:n], s[n:], state
	}
}

func decodeRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

// ourClusters lists our graphemes of more than one code point in the
// oracle's form. CR LF is split, as both count it.
func ourClusters(text string) [][2]int {
	var out [][2]int
	rest, state, cp := text, -1, 0
	for len(rest) > 0 {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		n := len([]rune(c))
		if n > 1 && c != "\r\n" {
			out = append(out, [2]int{cp, n})
		}
		cp += n
	}
	return out
}

func sameClusters(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hasOversizeCluster reports whether a concatenated UCS-2 message holds a
// grapheme longer than a whole segment, which the oracle lets overflow its
// segment and we split between code points (see the package doc).
func hasOversizeCluster(c oracleCase) bool {
	if c.Encoding != "UCS-2" {
		return false
	}
	runes := []rune(c.Text)
	for _, cl := range c.Clusters {
		if utf16Len(string(runes[cl[0]:cl[0]+cl[1]])) > UCS2Concatenated {
			return true
		}
	}
	return false
}

// agree asserts that r says what the oracle said.
func agree(t *testing.T, c oracleCase, r Result) bool {
	t.Helper()
	parts := make([][2]int, len(r.Segments))
	for i, s := range r.Segments {
		parts[i] = [2]int{s.Characters, s.Units}
	}
	// The oracle's numberOfCharacters is septets for GSM-7 and graphemes
	// for UCS-2; we report both.
	chars := r.Characters
	if r.Encoding == GSM7 {
		chars = r.Units
	}
	nonGSM := r.NonGSM
	if nonGSM == nil {
		nonGSM = []string{}
	}
	ok := assert.Equal(t, c.Encoding, r.Encoding.String(), "%s: encoding", c.Name)
	ok = assert.Equal(t, c.Segments, len(r.Segments), "%s: segments", c.Name) && ok
	ok = assert.Equal(t, c.Parts, parts, "%s: [characters, units] per segment", c.Name) && ok
	ok = assert.Equal(t, c.Characters, chars, "%s: characters", c.Name) && ok
	ok = assert.Equal(t, c.NonGsm, nonGSM, "%s: characters that forced UCS-2", c.Name) && ok
	return ok
}

// TestOracleSegmentation holds our segmentation to the oracle's on every
// string of the fixture.
//
// Packing is checked on its own first: fed the oracle's own graphemes, our
// packer must give the oracle's answer exactly (encoding, segment count,
// characters and units of every segment, characters that forced UCS-2),
// except where a grapheme is longer than a whole segment. Then the public
// Analyze, which finds graphemes with uniseg (Unicode 15), must agree
// exactly wherever uniseg and the oracle's grapheme-splitter (an older
// Unicode) find the same graphemes; the cases where they do not are counted
// and logged, and only the invariants are checked on them.
func TestOracleSegmentation(t *testing.T) {
	cases := loadCases(t)
	var oversize, oversizeCount, graphemeDiff, graphemeDiffCount []string
	for _, c := range cases {
		var viaOracle Result
		analyze(&viaOracle, c.Text, oracleSplitter(c.Text, c.Clusters))
		over := hasOversizeCluster(c)
		if over {
			oversize = append(oversize, c.Name)
		} else if !agree(t, c, viaOracle) {
			continue
		}

		r := Analyze(c.Text)
		checkInvariants(t, c.Text, r)
		if over {
			if len(r.Segments) != c.Segments {
				oversizeCount = append(oversizeCount, c.Name)
			}
			continue
		}
		if sameClusters(ourClusters(c.Text), c.Clusters) {
			agree(t, c, r)
			continue
		}
		graphemeDiff = append(graphemeDiff, c.Name)
		explainGraphemeDiff(t, c)
		if len(r.Segments) != c.Segments {
			graphemeDiffCount = append(graphemeDiffCount, c.Name)
		}
	}
	t.Logf("%d cases; exact agreement on %d; %d hold a grapheme longer than a segment (%d of them with another segment count); "+
		"%d find other graphemes than the oracle's older Unicode (%d of them with another segment count)",
		len(cases), len(cases)-len(oversize)-len(graphemeDiff), len(oversize), len(oversizeCount),
		len(graphemeDiff), len(graphemeDiffCount))
	t.Logf("another segment count: %v %v", oversizeCount, graphemeDiffCount)
	// The fixture is built to hit both disagreements; if they vanished the
	// package doc would be wrong.
	assert.NotEmpty(t, oversize)
	assert.NotEmpty(t, graphemeDiff)
	assert.Less(t, len(graphemeDiffCount), len(cases)/100, "another segment count stays rare")
}

// explainGraphemeDiff asserts that where our graphemes and the oracle's
// differ, ours are the larger and each of ours that the oracle splits holds
// one of the two things Unicode 11 changed, or a flag:
//
//   - an emoji modifier (U+1F3FB to U+1F3FF), which now extends any
//     character and not only an emoji base;
//   - a zero width joiner, which now joins any two pictographs and not only
//     those on the old Glue_After_Zwj list;
//   - a regional indicator (a flag) with a combining or prepended character
//     around it, which the oracle's grapheme-splitter cuts off although
//     every Unicode version joins it (rules GB9 and GB9b).
func explainGraphemeDiff(t *testing.T, c oracleCase) {
	t.Helper()
	runes := []rune(c.Text)
	theirs := map[[2]int]bool{}
	for _, cl := range c.Clusters {
		theirs[cl] = true
	}
	ours := ourClusters(c.Text)
	covered := map[int]bool{} // code points inside one of our clusters
	for _, cl := range ours {
		for i := cl[0]; i < cl[0]+cl[1]; i++ {
			covered[i] = true
		}
		if theirs[cl] {
			continue
		}
		part := string(runes[cl[0] : cl[0]+cl[1]])
		explained := strings.ContainsRune(part, 0x200d) ||
			strings.ContainsFunc(part, func(r rune) bool { return r >= 0x1f3fb && r <= 0x1f3ff }) ||
			strings.ContainsFunc(part, func(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff })
		assert.True(t, explained, "%s: unexplained grapheme %+q", c.Name, part)
	}
	for _, cl := range c.Clusters {
		assert.True(t, covered[cl[0]], "%s: the oracle joins code points %v that we do not", c.Name, cl)
	}
}

// TestOracleGSMTable checks Septets against the oracle for every code point
// of the Basic Multilingual Plane.
func TestOracleGSMTable(t *testing.T) {
	tab := loadTable(t, "gsm_table.json")
	want := map[rune]int{}
	for _, row := range tab.Table {
		var cp, n int
		require.NoError(t, json.Unmarshal(row[0], &cp))
		require.NoError(t, json.Unmarshal(row[1], &n))
		want[rune(cp)] = n
	}
	require.Len(t, want, 127+10, "the basic table less ESC, and the extension table")
	for r := rune(0); r <= 0xffff; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		if !assert.Equal(t, want[r], Septets(r), "U+%04X", r) {
			return
		}
	}
}

// smartDifferences are the smart-encoding entries where we knowingly differ
// from the oracle: it turns these spaces into two spaces and the tab into
// seven; we turn each into one space (see the package doc).
var smartDifferences = map[rune]string{
	'\t': "       ",
	0x80: "  ", 0x8d: "  ", 0x90: "  ", 0x9b: "  ", 0x9f: "  ", 0xa0: "  ",
	0x2000: "  ", 0x2002: "  ", 0x2003: "  ", 0x2004: "  ", 0x2005: "  ", 0x2006: "  ",
	0x2007: "  ", 0x2008: "  ", 0x2009: "  ", 0x200a: "  ", 0x202f: "  ", 0x205f: "  ", 0x3000: "  ",
}

func oracleSmartTable(t *testing.T) map[rune]string {
	tab := loadTable(t, "smart_table.json")
	m := map[rune]string{}
	for _, row := range tab.Table {
		var cp int
		var s string
		require.NoError(t, json.Unmarshal(row[0], &cp))
		require.NoError(t, json.Unmarshal(row[1], &s))
		m[rune(cp)] = s
	}
	return m
}

func replaceWith(m map[rune]string, text string) string {
	var b strings.Builder
	for _, r := range text {
		if s, ok := m[r]; ok {
			b.WriteString(s)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestOracleSmartTable checks our smart-encoding list against the oracle's,
// entry by entry: equal except the documented differences, each of which
// really differs.
func TestOracleSmartTable(t *testing.T) {
	oracle := oracleSmartTable(t)
	ours := SmartCharacters()
	var keys []rune
	for r := range oracle {
		keys = append(keys, r)
	}
	for r := range ours {
		if _, ok := oracle[r]; !ok {
			keys = append(keys, r)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, r := range keys {
		o, inOracle := oracle[r]
		s, inOurs := ours[r]
		require.True(t, inOracle, "U+%04X is on our list only", r)
		require.True(t, inOurs, "U+%04X is on the oracle's list only", r)
		if d, documented := smartDifferences[r]; documented {
			assert.Equal(t, d, o, "U+%04X: the oracle's value is as documented", r)
			assert.Equal(t, " ", s, "U+%04X: ours is one space", r)
			continue
		}
		assert.Equal(t, o, s, "U+%04X", r)
		assert.True(t, IsGSM7(s), "U+%04X's stand-in %q is GSM-7", r, s)
	}
}

// TestOracleSmartText replays the oracle's smart encoding of every fixture
// string: the oracle's table explains its output, ours gives the same text
// wherever no documented difference is involved, and the encoding after
// replacement always agrees.
func TestOracleSmartText(t *testing.T) {
	oracle := oracleSmartTable(t)
	for _, c := range loadCases(t) {
		want := c.Text
		if c.Smart.Text != nil {
			want = *c.Smart.Text
		}
		require.Equal(t, want, replaceWith(oracle, c.Text), "%s: the oracle's table explains its text", c.Name)
		got := ReplaceSmartCharacters(c.Text)
		differs := strings.ContainsFunc(c.Text, func(r rune) bool { _, ok := smartDifferences[r]; return ok })
		if !differs {
			assert.Equal(t, want, got, c.Name)
		}
		enc, n := Count(got)
		assert.Equal(t, c.Smart.Encoding, enc.String(), "%s: encoding after smart encoding", c.Name)
		if enc == GSM7 && !differs {
			assert.Equal(t, c.Smart.Segments, n, "%s: segments after smart encoding", c.Name)
		}
	}
}
