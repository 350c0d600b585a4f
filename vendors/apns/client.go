package apns

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"

	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

// client is one credential's connection to one APNs host: an HTTP/2
// client reused by every push (APNs multiplexes them on one connection)
// and, with token authentication, the signing token.
//
// It writes the request itself rather than through apns2.Client.Push:
// the payload is already JSON, header keys are canonical and the fixed
// values shared, the bearer header is made once per token, and the body
// of a 200 (empty) is not decoded. apns2 still signs and renews the
// provider token and loads certificates.
type client struct {
	hc     *http.Client
	token  *token.Token // nil with certificate authentication
	device string       // host + "/3/device/"
	auth   atomic.Pointer[bearer]
}

// bearer is the Authorization header of one signed provider token.
type bearer struct {
	token  string
	header []string
}

// Header values that do not change between pushes, shared by every
// request (transports only read request headers).
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	priorityHigh    = []string{strconv.Itoa(apns2.PriorityHigh)}
	priorityLow     = []string{strconv.Itoa(apns2.PriorityLow)}
	pushTypeHeaders = func() map[apns2.EPushType][]string {
		m := make(map[apns2.EPushType][]string, len(pushTypes))
		for _, t := range pushTypes {
			m[t] = []string{string(t)}
		}
		return m
	}()
)

// maxErrorBody caps how much of a rejection's body is read.
const maxErrorBody = 4 << 10

// authorization returns the Authorization header of the current provider
// token, signing a new one when it has expired.
func (c *client) authorization() []string {
	tok := c.token.GenerateIfExpired()
	if b := c.auth.Load(); b != nil && b.token == tok {
		return b.header
	}
	b := &bearer{token: tok, header: []string{"bearer " + tok}}
	c.auth.Store(b)
	return b.header
}

// renewToken makes the next push sign a fresh provider token (after APNs
// answered ExpiredProviderToken).
func (c *client) renewToken() {
	if c.token == nil {
		return
	}
	c.token.Lock()
	c.token.IssuedAt = 0
	c.token.Unlock()
}

// push sends n, whose Payload is its JSON ([]byte), and returns APNs'
// answer. On an error, sent reports whether the whole request was written
// to a connection, so APNs may have it.
func (c *client) push(ctx context.Context, n *apns2.Notification) (res *apns2.Response, sent bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.device+n.DeviceToken, nil)
	if err != nil {
		return nil, false, err
	}
	h := make(http.Header, 8)
	h["Content-Type"] = jsonContentType
	if c.token != nil {
		h["Authorization"] = c.authorization()
	}
	if n.Topic != "" {
		h["Apns-Topic"] = []string{n.Topic}
	}
	if n.ApnsID != "" {
		h["Apns-Id"] = []string{n.ApnsID}
	}
	if n.CollapseID != "" {
		h["Apns-Collapse-Id"] = []string{n.CollapseID}
	}
	switch n.Priority {
	case apns2.PriorityHigh:
		h["Apns-Priority"] = priorityHigh
	case apns2.PriorityLow:
		h["Apns-Priority"] = priorityLow
	}
	if !n.Expiration.IsZero() {
		h["Apns-Expiration"] = []string{strconv.FormatInt(n.Expiration.Unix(), 10)}
	}
	h["Apns-Push-Type"] = pushTypeHeaders[n.PushType]
	req.Header = h
	body := vendorhttp.SetBody(req, n.Payload.([]byte))

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, body.Sent(), err
	}
	defer resp.Body.Close()
	res = &apns2.Response{StatusCode: resp.StatusCode, ApnsID: resp.Header.Get("Apns-Id")}
	if resp.StatusCode != http.StatusOK {
		// {"reason": "...", "timestamp": ms}; an unreadable body leaves
		// the status to speak alone.
		if data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)); err == nil {
			_ = json.Unmarshal(data, res)
		}
	}
	return res, true, nil
}
