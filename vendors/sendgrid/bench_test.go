package sendgrid_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/heraldmsg/herald/vendors/sendgrid"
)

// benchHTTP is the HTTP client both sides of the comparison use, with
// enough idle connections for parallel sends.
func benchHTTP() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// BenchmarkSend compares, in one run and against the same fake API, sends
// per second through the herald vendor (Client.Send: building the mail,
// custom args, error mapping) with a bare sendgrid-go request per send
// (sg.GetRequest + mail.GetRequestBody + rest.Client), both with
// b.RunParallel (GOMAXPROCS goroutines).
func BenchmarkSend(b *testing.B) {
	f := newFakeAPI(b)
	b.Run("herald", func(b *testing.B) {
		c := newClient(b, f, func(o *sendgrid.Options) { o.HTTPClient = benchHTTP() })
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Send(bg, emailRequest("ada@example.com")); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
	})
	b.Run("bare-sendgrid-go", func(b *testing.B) {
		rc := &rest.Client{HTTPClient: benchHTTP()}
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m := sgmail.NewSingleEmail(sgmail.NewEmail("Acme", "news@acme.example"), "Your receipt",
					sgmail.NewEmail("", "ada@example.com"), "Thanks!", "<p>Thanks!</p>")
				m.SetCustomArg(sendgrid.ArgMessageID, "msg-1")
				r := sg.GetRequest(testAPIKey, "/v3/mail/send", f.srv.URL)
				r.Method = rest.Post
				r.Body = sgmail.GetRequestBody(m)
				resp, err := rc.SendWithContext(bg, r)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					b.Error(err, resp)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
	})
}
