package apns

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// viaJSON is s as encoding/json writes it (each invalid byte U+FFFD).
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// decoded is what a payload must decode to.
func decoded(a *apsFields, data map[string]string) map[string]any {
	aps := map[string]any{}
	alert := map[string]any{}
	if a.title != "" {
		alert["title"] = a.title
	}
	if a.body != "" {
		alert["body"] = a.body
	}
	if len(alert) > 0 {
		aps["alert"] = alert
	}
	if a.badge >= 0 {
		aps["badge"] = float64(a.badge)
	}
	for k, v := range map[string]string{"sound": a.sound, "category": a.category, "thread-id": a.threadID} {
		if v != "" {
			aps[k] = v
		}
	}
	if a.mutableContent {
		aps["mutable-content"] = float64(1)
	}
	if a.contentAvailable {
		aps["content-available"] = float64(1)
	}
	out := map[string]any{"aps": aps}
	for k, v := range data {
		out[k] = viaJSON(v)
	}
	return out
}

func TestAppendPayload(t *testing.T) {
	cases := []struct {
		a    apsFields
		data map[string]string
		want string
	}{
		{apsFields{title: "T", body: "B", badge: 1, sound: "default", threadID: "th", mutableContent: true}, nil,
			`{"aps":{"alert":{"title":"T","body":"B"},"badge":1,"sound":"default","thread-id":"th","mutable-content":1}}`},
		{apsFields{badge: -1, contentAvailable: true}, map[string]string{"k": "v"}, `{"aps":{"content-available":1},"k":"v"}`},
		{apsFields{badge: -1, body: "only"}, map[string]string{"b": "2", "a": "1"}, `{"aps":{"alert":{"body":"only"}},"a":"1","b":"2"}`},
		{apsFields{badge: 0, title: "say \"hi\"\n\t\\ \x01 é 😀 \u2028"}, nil,
			`{"aps":{"alert":{"title":"say \"hi\"\n\t\\ \u0001 é 😀 ` + "\u2028" + `"},"badge":0}}`},
	}
	for _, c := range cases {
		got := appendPayload(nil, &c.a, c.data)
		assert.Equal(t, c.want, string(got))
		var m map[string]any
		require.NoError(t, json.Unmarshal(got, &m))
		assert.Equal(t, decoded(&c.a, c.data), m)
	}
	// Invalid UTF-8 becomes U+FFFD, as encoding/json writes it.
	got := appendPayload(nil, &apsFields{badge: -1, body: "a\xffb"}, nil)
	assert.Equal(t, `{"aps":{"alert":{"body":"a\ufffdb"}}}`, string(got))
}

// FuzzAppendPayload checks that any title, body and data give valid JSON
// that decodes to them.
func FuzzAppendPayload(f *testing.F) {
	f.Add("Hello", "World", "k", "v", 3)
	f.Add("\"\\\n\x00", "\xff\xfe", "aps2", "\u2028", -1)
	f.Fuzz(func(t *testing.T, title, body, k, v string, badge int) {
		if k == "aps" {
			k = "x"
		}
		a := apsFields{title: title, body: body, badge: badge, threadID: v}
		if badge < -1 {
			a.badge = -1
		}
		out := appendPayload(nil, &a, map[string]string{k: v})
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		a.title, a.body, a.threadID = viaJSON(title), viaJSON(body), viaJSON(v)
		want := decoded(&a, map[string]string{viaJSON(k): v})
		assert.Equal(t, want, m)
	})
}
