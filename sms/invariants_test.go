package sms

import (
	"strings"
	"testing"

	"github.com/rivo/uniseg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clusterStarts returns the byte offsets where a uniseg grapheme cluster
// starts in text, CR LF counted as two, and the clusters longer than a
// concatenated UCS-2 segment (which the packer may split).
func clusterStarts(text string) (starts map[int]bool, oversize [][2]int) {
	starts = map[int]bool{}
	rest, state, at := text, -1, 0
	for len(rest) > 0 {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		starts[at] = true
		if c == "\r\n" {
			starts[at+1] = true
		}
		if utf16Len(c) > UCS2Concatenated {
			oversize = append(oversize, [2]int{at, at + len(c)})
		}
		at += len(c)
	}
	return starts, oversize
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

func septetLen(s string) int {
	n := 0
	for _, r := range s {
		n += Septets(r)
	}
	return n
}

// checkInvariants asserts what must hold for any text: the segments cover
// the text in order, none is over its limit, the counts add up, no
// boundary falls inside a code point (so never inside an escape pair or a
// surrogate pair) or a grapheme cluster (unless the cluster is longer than
// a segment), and Count agrees with Analyze.
func checkInvariants(t testing.TB, text string, r Result) {
	t.Helper()
	require.Equal(t, text, r.Text)
	require.NotEmpty(t, r.Segments, "even an empty text is one segment")

	single, concatenated := r.Encoding.Limits()
	require.NotZero(t, single, "encoding %v", r.Encoding)
	assert.Equal(t, IsGSM7(text), r.Encoding == GSM7, "GSM-7 exactly when every character is")
	if r.Encoding == GSM7 {
		assert.Empty(t, r.NonGSM)
		assert.Equal(t, septetLen(text), r.Units)
	} else {
		assert.NotEmpty(t, r.NonGSM, "something forced UCS-2")
		assert.Equal(t, utf16Len(text), r.Units)
	}
	if len(r.Segments) == 1 {
		assert.LessOrEqual(t, r.Units, single)
		assert.Equal(t, single, r.Limit())
	} else {
		assert.Greater(t, r.Units, single, "concatenated only when one segment is too small")
		assert.Equal(t, concatenated, r.Limit())
	}

	var starts map[int]bool
	var oversize [][2]int
	if r.Encoding == UCS2 {
		starts, oversize = clusterStarts(text)
	}
	runeStarts := map[int]bool{} // where Go's decoding starts a code point (or an invalid byte)
	for i := range text {
		runeStarts[i] = true
	}
	var whole strings.Builder
	end, units, chars := 0, 0, 0
	for i, s := range r.Segments {
		require.Equal(t, end, s.Start, "segment %d starts where the previous ended", i)
		require.GreaterOrEqual(t, s.End, s.Start)
		part := text[s.Start:s.End]
		whole.WriteString(part)
		assert.LessOrEqual(t, s.Units, r.Limit(), "segment %d over its limit", i)
		if r.Encoding == GSM7 {
			assert.Equal(t, septetLen(part), s.Units, "segment %d septets", i)
		} else {
			assert.Equal(t, utf16Len(part), s.Units, "segment %d code units", i)
		}
		if s.Start > 0 && s.Start < len(text) {
			assert.True(t, runeStarts[s.Start], "segment %d starts inside a code point", i)
			if r.Encoding == UCS2 && !starts[s.Start] {
				inside := false
				for _, o := range oversize {
					inside = inside || s.Start > o[0] && s.Start < o[1]
				}
				assert.True(t, inside, "segment %d splits a grapheme cluster that fits in a segment", i)
			}
		}
		if i < len(r.Segments)-1 {
			assert.Positive(t, s.Units, "only the last (or only) segment may be empty")
		}
		end, units, chars = s.End, units+s.Units, chars+s.Characters
	}
	assert.Equal(t, len(text), end, "the segments cover the text")
	assert.Equal(t, text, whole.String(), "the parts reassemble the text")
	assert.Equal(t, r.Units, units)
	assert.Equal(t, r.Characters, chars)

	enc, n := Count(text)
	assert.Equal(t, r.Encoding, enc, "Count's encoding")
	assert.Equal(t, len(r.Segments), n, "Count's segments")

	seen := map[string]bool{}
	for _, c := range r.NonGSM {
		assert.False(t, seen[c], "%q listed twice in NonGSM", c)
		seen[c] = true
		assert.Contains(t, text, c)
		assert.False(t, IsGSM7(c), "%q is GSM-7", c)
	}
}
