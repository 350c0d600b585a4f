package sendgrid_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/heraldmsg/herald/vendors/sendgrid"
	"github.com/heraldmsg/herald/vendors/vendortest"
)

// benchHTTP is the HTTP client both sides of the comparison use, with
// enough idle connections for parallel sends.
func benchHTTP() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// BenchmarkSend compares, in one run and against the same fake API, sends
// per second through the herald vendor (Client.Send: building the mail,
// custom args, error mapping) with a bare sendgrid-go request per send
// (sg.GetRequest + mail.GetRequestBody + rest.Client), at concurrency 1
// and 8, through vendortest.CompareThroughput: short rounds that
// alternate the two, so the machine's noise falls on both alike. It
// reports each path's rate and CPU per send and herald/bare-sendgrid-go.
func BenchmarkSend(b *testing.B) {
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			f := newFakeAPI(b)
			client := newClient(b, f, func(o *sendgrid.Options) { o.HTTPClient = benchHTTP() })
			viaHerald := func(int) error {
				_, err := client.Send(bg, emailRequest("ada@example.com"))
				return err
			}
			rc := &rest.Client{HTTPClient: benchHTTP()}
			bare := func(int) error {
				m := sgmail.NewSingleEmail(sgmail.NewEmail("Acme", "news@acme.example"), "Your receipt",
					sgmail.NewEmail("", "ada@example.com"), "Thanks!", "<p>Thanks!</p>")
				m.SetCustomArg(sendgrid.ArgMessageID, "msg-1")
				r := sg.GetRequest(testAPIKey, "/v3/mail/send", f.srv.URL)
				r.Method = rest.Post
				r.Body = sgmail.GetRequestBody(m)
				resp, err := rc.SendWithContext(bg, r)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusAccepted {
					return fmt.Errorf("bare sendgrid-go: status %d", resp.StatusCode)
				}
				return nil
			}
			vendortest.CompareThroughput(b, vendortest.CompareOptions{Concurrency: c},
				vendortest.Path{Name: "bare-sendgrid-go", Send: bare},
				vendortest.Path{Name: "herald", Send: viaHerald})
		})
	}
}
