package sendgrid_test

import (
	"strings"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/sendgrid"
)

// FuzzParseEvents feeds the event parser arbitrary bodies: it must never
// panic, and every report it returns must be one the dispatcher accepts.
func FuzzParseEvents(f *testing.F) {
	for _, s := range []string{
		`[{"email":"a@b.c","event":"delivered","sg_event_id":"e1","sg_message_id":"m1.filter","timestamp":1600112492}]` + "\r\n",
		`[{"event":"bounce","sg_message_id":"m","status":"5.1.1","category":["a","b"]},{"event":"open"}]`,
		`[{"event":"dropped","sg_message_id":"m","reason":"Unsubscribed Address","timestamp":"x"}]`,
		`[{"event":"click","sg_message_id":"m","url":"https://x","timestamp":1e308}]`,
		`[{"event":["x"],"sg_message_id":{"a":1}}, null, {}]`,
		`[]`, `{}`, `null`, ``, `[`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		reports, err := sendgrid.ParseEvents(b)
		if err != nil {
			if reports != nil {
				t.Fatalf("error %v with reports", err)
			}
			return
		}
		for _, r := range reports {
			if r.VendorMessageID == "" || r.EventID == "" || strings.Contains(r.VendorMessageID, ".") {
				t.Fatalf("bad report %+v", r)
			}
			if r.Engagement == "" && r.Status != herald.StatusSent && r.Status != herald.StatusDelivered && r.Status != herald.StatusFailed {
				t.Fatalf("report with status %q and no engagement", r.Status)
			}
		}
	})
}
