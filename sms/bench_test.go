package sms

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// typicalCorpus is a deterministic mix shaped like campaign traffic: mostly
// plain GSM-7 text of one to three segments, some with a smart quote or an
// extension character, some with emoji, accented or CJK text.
func typicalCorpus(n int) []string {
	rnd := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("hi there this is your volunteer from the campaign can you make it to " +
		"the event on saturday reply stop to opt out thanks so much we need your help polls close at 8pm")
	extras := []string{"€", "{", "’", "“", "…", "😀", "👍🏽", family, "🇺🇸", "é", "ñ", "ç", "中文", "Привет"}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		size := 20 + rnd.IntN(300)
		mix := rnd.IntN(100)
		for b.Len() < size {
			b.WriteString(words[rnd.IntN(len(words))])
			b.WriteByte(' ')
			switch {
			case mix < 60: // plain GSM-7
			case mix < 75:
				if rnd.IntN(20) == 0 {
					b.WriteString(extras[rnd.IntN(5)]) // extension or smart
				}
			default:
				if rnd.IntN(8) == 0 {
					b.WriteString(extras[rnd.IntN(len(extras))])
				}
			}
		}
		out[i] = b.String()
	}
	return out
}

func benchCorpus(b *testing.B) map[string][]string {
	b.Helper()
	var fixture []string
	for _, c := range loadCases(b) {
		fixture = append(fixture, c.Text)
	}
	return map[string][]string{"typical": typicalCorpus(2000), "fixture": fixture}
}

func reportStrings(b *testing.B, n int, start time.Time) {
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "strings/s")
}

// BenchmarkCount is the send-path call: encoding and segment count.
//
//	go test -run '^$' -bench . -benchmem ./sms
func BenchmarkCount(b *testing.B) {
	for name, corpus := range benchCorpus(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			i := 0
			for b.Loop() {
				Count(corpus[i%len(corpus)])
				i++
			}
			reportStrings(b, i, start)
		})
	}
}

// BenchmarkAnalyze is the full analysis with a fresh Result each time.
func BenchmarkAnalyze(b *testing.B) {
	for name, corpus := range benchCorpus(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			i := 0
			for b.Loop() {
				Analyze(corpus[i%len(corpus)])
				i++
			}
			reportStrings(b, i, start)
		})
	}
}

// BenchmarkAnalyzeInto is the full analysis reusing one Result.
func BenchmarkAnalyzeInto(b *testing.B) {
	for name, corpus := range benchCorpus(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var r Result
			start := time.Now()
			i := 0
			for b.Loop() {
				AnalyzeInto(&r, corpus[i%len(corpus)])
				i++
			}
			reportStrings(b, i, start)
		})
	}
}

// BenchmarkSmartEncode is the opt-in replacement on the same corpus.
func BenchmarkSmartEncode(b *testing.B) {
	corpus := typicalCorpus(2000)
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		SmartEncode(corpus[i%len(corpus)])
		i++
	}
	reportStrings(b, i, start)
}
