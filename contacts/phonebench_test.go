package contacts

import (
	"fmt"
	"testing"
)

// BenchmarkNormalizePhoneDistinct normalises 100,000 distinct US numbers in
// turn, more than the E.164 cache holds, so that most calls miss it as in a
// campaign load: E.164 input, and national input written "(415) 555-2671".
func BenchmarkNormalizePhoneDistinct(b *testing.B) {
	areas := []string{"212", "303", "415", "617", "702", "808", "312"}
	e164 := make([]string, 100000)
	national := make([]string, len(e164))
	for n := range e164 {
		a, x, l := areas[n%7], 200+(n/7)%800, (n/(7*800))%10000
		e164[n] = fmt.Sprintf("+1%s%03d%04d", a, x, l)
		national[n] = fmt.Sprintf("(%s) %03d-%04d", a, x, l)
	}
	for _, c := range []struct {
		name string
		in   []string
	}{{"E164", e164}, {"National", national}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := NormalizePhone(c.in[i], "US"); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(c.in) {
					i = 0
				}
			}
		})
	}
}
