package vendorhttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/vendorhttp"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":             0,
		"  ":           0,
		"30":           30 * time.Second,
		" 2 ":          2 * time.Second,
		"0":            0,
		"-5":           0,
		"soon":         0,
		"999999999999": vendorhttp.MaxRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		now.Add(72 * time.Hour).Format(http.TimeFormat):   vendorhttp.MaxRetryAfter,
	} {
		assert.Equal(t, want, vendorhttp.RetryAfter(in, now), "%q", in)
	}
}

func TestRedactURL(t *testing.T) {
	cause := errors.New("dial tcp: connection refused")
	err := vendorhttp.RedactURL("twilio", &url.Error{Op: "Post", URL: "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json", Err: cause})
	assert.Equal(t, "Post twilio: dial tcp: connection refused", err.Error())
	assert.ErrorIs(t, err, cause)
	other := errors.New("plain")
	assert.Equal(t, other, vendorhttp.RedactURL("twilio", other))
}

func TestRedactDigits(t *testing.T) {
	assert.Equal(t, "The 'To' number +*******2671 is not valid; code 21211",
		vendorhttp.RedactDigits("The 'To' number +14155552671 is not valid; code 21211"))
	assert.Equal(t, "123456", vendorhttp.RedactDigits("123456"), "short runs stay")
	assert.Equal(t, "***4567", vendorhttp.RedactDigits("1234567"))
}

func TestMaskNumber(t *testing.T) {
	assert.Equal(t, "…2671", vendorhttp.MaskNumber("+14155552671"))
	assert.Equal(t, "…", vendorhttp.MaskNumber("123"))
}

func TestCheckSend(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := vendorhttp.CheckSend(ctx, "acme", &herald.SendRequest{Message: &herald.Message{}})
	assert.ErrorIs(t, err, herald.ClassTemporary, "an ended context: nothing was sent")
	assert.ErrorIs(t, err, context.Canceled)
	var ve *herald.VendorError
	assert.ErrorAs(t, err, &ve)
	assert.Equal(t, "acme", ve.Vendor)

	err = vendorhttp.CheckSend(context.Background(), "acme", &herald.SendRequest{})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	assert.ErrorIs(t, err, herald.ClassPermanent)
	assert.NoError(t, vendorhttp.CheckSend(context.Background(), "acme", &herald.SendRequest{Message: &herald.Message{}}))
}

func TestBaseURL(t *testing.T) {
	u, err := vendorhttp.BaseURL("acme", "", "https://api.acme.example")
	assert.NoError(t, err)
	assert.Equal(t, "https://api.acme.example", u)
	u, err = vendorhttp.BaseURL("acme", "http://127.0.0.1:8080/v1", "https://api.acme.example")
	assert.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080/v1", u)
	for _, bad := range []string{"ftp://x", "/relative", "https://", "::"} {
		_, err := vendorhttp.BaseURL("acme", bad, "")
		assert.ErrorIs(t, err, herald.ErrConfig, bad)
		assert.Contains(t, err.Error(), "acme")
	}
}
