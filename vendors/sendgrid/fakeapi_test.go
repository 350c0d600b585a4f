package sendgrid_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald/vendors/sendgrid"
)

const testAPIKey = "SG.fake-test-key"

// fakeAPI behaves like SendGrid's Mail Send v3 endpoint for the requests
// herald makes, and signs Event Webhook posts like SendGrid does.
//
// Recipients steer the answers: 429@ (rate limited, X-RateLimit-Reset),
// retry@ (429 with Retry-After), 500@, 503@, stall@ (never answered);
// the sender unverified@ gets 403; a key other than testAPIKey 401.
type fakeAPI struct {
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	pubB64 string

	mu    sync.Mutex
	mails []sentMail
	n     int
	done  chan struct{}
}

// sentMail is one accepted mail, as SendGrid received it.
type sentMail struct {
	ID     string
	Header http.Header
	Body   mailBody
}

type address struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type mailBody struct {
	From             *address `json:"from"`
	Subject          string   `json:"subject"`
	Personalizations []struct {
		To []address `json:"to"`
	} `json:"personalizations"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	Categories  []string          `json:"categories"`
	CustomArgs  map[string]string `json:"custom_args"`
	ReplyTo     *address          `json:"reply_to"`
	Attachments []struct {
		Content     string `json:"content"`
		Type        string `json:"type"`
		Filename    string `json:"filename"`
		Disposition string `json:"disposition"`
	} `json:"attachments"`
	MailSettings *struct {
		SandboxMode *struct {
			Enable bool `json:"enable"`
		} `json:"sandbox_mode"`
	} `json:"mail_settings"`
}

func newFakeAPI(t testing.TB) *fakeAPI {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	f := &fakeAPI{key: key, pubB64: base64.StdEncoding.EncodeToString(der), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/mail/send", f.send)
	mux.HandleFunc("GET /files/{name}", f.file)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.done)
		f.srv.Close()
	})
	return f
}

func (f *fakeAPI) options() sendgrid.Options {
	return sendgrid.Options{APIKey: testAPIKey, From: "Acme <news@acme.example>", BaseURL: f.srv.URL,
		HTTPClient: f.srv.Client(), WebhookPublicKey: f.pubB64}
}

func (f *fakeAPI) sent() []sentMail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMail(nil), f.mails...)
}

func apiError(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var fv any
	if field != "" {
		fv = field
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"field": fv, "message": msg, "help": nil}}})
}

func (f *fakeAPI) send(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+testAPIKey {
		apiError(w, http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		apiError(w, http.StatusBadRequest, "", "Content-Type should be application/json.")
		return
	}
	var m mailBody
	if err := json.Unmarshal(raw, &m); err != nil {
		apiError(w, http.StatusBadRequest, "", "Bad Request")
		return
	}
	switch {
	case m.From == nil || !strings.Contains(m.From.Email, "@"):
		apiError(w, http.StatusBadRequest, "from.email", "The from email does not contain a valid address.")
		return
	case len(m.Personalizations) == 0 || len(m.Personalizations[0].To) == 0:
		apiError(w, http.StatusBadRequest, "personalizations.0.to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address.")
		return
	case !strings.Contains(m.Personalizations[0].To[0].Email, "@") || strings.HasPrefix(m.Personalizations[0].To[0].Email, "invalid@"):
		apiError(w, http.StatusBadRequest, "personalizations.0.to.0.email", "Does not contain a valid address.")
		return
	case m.Subject == "":
		apiError(w, http.StatusBadRequest, "subject", "The subject is required.")
		return
	case len(m.Content) == 0:
		apiError(w, http.StatusBadRequest, "content", "Unless a valid template_id is provided, the content parameter is required.")
		return
	case len(m.Content) > 1 && m.Content[0].Type != "text/plain":
		apiError(w, http.StatusBadRequest, "content", "If present, text/plain content must be first, followed by any other content.")
		return
	case len(m.Categories) > 10:
		apiError(w, http.StatusBadRequest, "categories", "Too many categories.")
		return
	}
	if m.From.Email == "unverified@acme.example" {
		apiError(w, http.StatusForbidden, "from", "The from address does not match a verified Sender Identity.")
		return
	}
	switch to := m.Personalizations[0].To[0].Email; {
	case strings.HasPrefix(to, "429@"):
		w.Header().Set("X-RateLimit-Limit", "600")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(40*time.Second).Unix(), 10))
		apiError(w, http.StatusTooManyRequests, "", "too many requests")
		return
	case strings.HasPrefix(to, "retry@"):
		w.Header().Set("Retry-After", "7")
		apiError(w, http.StatusTooManyRequests, "", "too many requests")
		return
	case strings.HasPrefix(to, "500@"):
		apiError(w, http.StatusInternalServerError, "", "internal error")
		return
	case strings.HasPrefix(to, "503@"):
		http.Error(w, "<html>Service Unavailable</html>", http.StatusServiceUnavailable)
		return
	case strings.HasPrefix(to, "stall@"):
		// Never answer: hold the request until the client gives up or
		// the test ends, and drop the connection without a response.
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
		panic(http.ErrAbortHandler)
	}
	f.mu.Lock()
	f.n++
	id := fmt.Sprintf("Fk%06dTestMsgIdQ_%d", f.n, time.Now().UnixNano()%1000)
	f.mails = append(f.mails, sentMail{ID: id, Header: r.Header.Clone(), Body: m})
	f.mu.Unlock()
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

// file serves attachments: report.pdf, huge.bin (2 MiB), missing (404).
func (f *fakeAPI) file(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("name") {
	case "report.pdf":
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write([]byte("%PDF-1.4 fake report"))
	case "huge.bin":
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(bytes.Repeat([]byte{1}, 2<<20))
	default:
		http.NotFound(w, r)
	}
}

// event is one Event Webhook event; build with ev.
type event map[string]any

// ev is an event of kind for the mail with X-Message-Id id, as SendGrid
// posts it: sg_message_id extends the X-Message-Id, custom args flattened.
func ev(kind, id, email string, extra ...any) event {
	e := event{
		"email": email, "event": kind, "timestamp": time.Now().Unix(),
		"sg_event_id":   base64.RawURLEncoding.EncodeToString([]byte(kind + "-" + id + "-" + strconv.Itoa(len(extra)))),
		"sg_message_id": id + ".filterdrecv-5bd4b7bf8c-7mmbm-1-5F5FC76C-1.0",
		"smtp-id":       "<" + id + "@ismtpd0001p1.sendgrid.net>",
		"category":      []string{"herald"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		e[extra[i].(string)] = extra[i+1]
	}
	return e
}

// body encodes events the way SendGrid does: a JSON array ending in \r\n.
func body(t testing.TB, events ...event) []byte {
	b, err := json.Marshal(events)
	require.NoError(t, err)
	return append(b, '\r', '\n')
}

// sign returns the signature headers for body at ts.
func (f *fakeAPI) sign(t testing.TB, key *ecdsa.PrivateKey, ts int64, body []byte) http.Header {
	tsText := strconv.FormatInt(ts, 10)
	h := sha256.Sum256(append([]byte(tsText), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	require.NoError(t, err)
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("User-Agent", "SendGrid Event API")
	hdr.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	hdr.Set(sendgrid.TimestampHeader, tsText)
	return hdr
}

// post sends a signed event batch to url, as SendGrid's Event Webhook does.
func (f *fakeAPI) post(t testing.TB, url string, events ...event) int {
	b := body(t, events...)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header = f.sign(t, f.key, time.Now().Unix(), b)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}
