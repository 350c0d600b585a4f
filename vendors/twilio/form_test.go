package twilio

import (
	"net/url"
	"testing"
)

// The form encoder must produce what url.Values would: the same fields,
// each escaped as url.QueryEscape escapes it.
func TestFormBodyMatchesURLValues(t *testing.T) {
	values := []string{"", "Hello from herald", "+14155552671", "a&b=c+d%e", "ünïcödé 😀", "https://hooks.example.com/h/org1/twilio/status?x=1&y=2",
		"tab\tnew\nline", "~-_.", "\x00\xff", "#?/:;@$,![]'()*"}
	for _, v := range values {
		got := string(formBody(nil).add("Body", v))
		if want := (url.Values{"Body": {v}}).Encode(); got != want {
			t.Errorf("%q: got %q, want %q", v, got, want)
		}
	}
	f := formBody(nil).add("To", "+1 415").add("Body", "a b").add("MediaUrl", "x").add("MediaUrl", "y")
	parsed, err := url.ParseQuery(string(f))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"To": {"+1 415"}, "Body": {"a b"}, "MediaUrl": {"x", "y"}}
	if parsed.Encode() != want.Encode() {
		t.Errorf("round trip: got %v, want %v", parsed, want)
	}
}

func FuzzFormBody(f *testing.F) {
	f.Add("key", "value")
	f.Add("Body", "ünïcödé 😀 & = +")
	f.Fuzz(func(t *testing.T, k, v string) {
		got := string(formBody(nil).add(k, v))
		if want := (url.Values{k: {v}}).Encode(); got != want {
			t.Errorf("(%q, %q): got %q, want %q", k, v, got, want)
		}
	})
}
