package vendorhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// MaxRetryAfter caps what RetryAfter returns: a provider asking for more
// than a day is taken to mean a day.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter reads a Retry-After header value, delay seconds or an HTTP
// date, as a wait from now. Empty, malformed, zero, negative and past
// values are 0; values above MaxRetryAfter are MaxRetryAfter.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// RedactURL replaces a transport error's URL (which may name an account
// or hold a device token) with the vendor's name, keeping the operation
// and the cause: `Post "https://…/Accounts/AC…": dial tcp: …` becomes
// `Post twilio: dial tcp: …`. Other errors are returned as they are.
func RedactURL(vendor string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, vendor, ue.Err)
	}
	return err
}

// RedactDigits masks runs of seven or more digits (phone numbers) in a
// provider's message, keeping the last four: "+14155552671" becomes
// "+*******2671".
func RedactDigits(s string) string {
	b := []byte(s)
	run := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] >= '0' && b[i] <= '9' {
			run++
			continue
		}
		if run >= 7 {
			for j := i - run; j < i-4; j++ {
				b[j] = '*'
			}
		}
		run = 0
	}
	return string(b)
}

// MaskNumber keeps the last four characters of a phone number, for
// errors and logs: "+14155552671" becomes "…2671".
func MaskNumber(n string) string {
	if len(n) <= 4 {
		return "…"
	}
	return "…" + n[len(n)-4:]
}

// CheckSend is the precondition every Send shares: a ctx that has ended
// is a temporary failure (nothing was sent, ctx's error wrapped), a
// request without a message is a permanent one wrapping
// herald.ErrInvalidInput. It returns nil when the send may go ahead.
func CheckSend(ctx context.Context, vendor string, req *herald.SendRequest) error {
	if err := Ended(ctx, vendor); err != nil {
		return err
	}
	if req == nil || req.Message == nil {
		return &herald.VendorError{Vendor: vendor, Class: herald.ClassPermanent,
			Message: "send request without a message", Err: herald.ErrInvalidInput}
	}
	return nil
}

// Ended returns the temporary failure of a call whose ctx ended before
// any request was made, nil while ctx lives.
func Ended(ctx context.Context, vendor string) error {
	if err := ctx.Err(); err != nil {
		return &herald.VendorError{Vendor: vendor, Class: herald.ClassTemporary,
			Message: "context ended before the request was made", Err: err}
	}
	return nil
}

// BaseURL returns raw, or def when raw is empty, after checking that it is
// an absolute http(s) URL; anything else is an error wrapping
// herald.ErrConfig that names the vendor.
func BaseURL(vendor, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: base URL %q: %w", vendor, raw, herald.ErrConfig)
	}
	return raw, nil
}
