package bandwidth

import (
	"strings"
	"testing"
)

// FuzzNumbersAPIAnswers feeds arbitrary bytes to the readers of Numbers
// API answers: the error finder and the pagination link reader must never
// panic, and a link's query never names a host to call.
func FuzzNumbersAPIAnswers(f *testing.F) {
	f.Add(`<ResponseStatus><ErrorCode>12345</ErrorCode><Description>x</Description></ResponseStatus>`)
	f.Add(`<SearchResult><Error><Code>4000</Code><Description>Please verify</Description></Error></SearchResult>`)
	f.Add(`Link=<https://dashboard.bandwidth.com:443/v1.0/accounts/1/inserviceNumbers?page=9195550002&size=500>;rel="next";`)
	f.Add(`<a><Code>`)
	f.Add(`Link=<%zz?a=%>`)
	f.Fuzz(func(t *testing.T, s string) {
		code, desc := xmlError([]byte(s))
		if code != strings.TrimSpace(code) || desc != strings.TrimSpace(desc) {
			t.Fatalf("xmlError(%q) = %q, %q: untrimmed", s, code, desc)
		}
		if q := linkQuery(s); q != nil {
			_ = q.Encode()
		}
	})
}
