package contacts

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/heraldmsg/herald"
)

// MaxPushTokenLen is the longest push address accepted, in bytes: APNs and
// FCM tokens and web push endpoint URLs are far shorter.
const MaxPushTokenLen = 4096

// NormalizeAddress checks and normalises a message address for channel ch.
// The dispatcher calls it for every message before anything is stored.
//
//   - sms, mms: [NormalizePhone] with defaultRegion, giving E.164;
//   - email: [NormalizeEmail];
//   - webpush, apns, fcm: the token or endpoint, trimmed; it must be
//     non-empty valid UTF-8 of at most [MaxPushTokenLen] bytes with no
//     white space or control characters inside;
//   - any other valid channel (a host's own): the address trimmed, which
//     must be non-empty.
//
// An invalid channel name (see [herald.Channel.Valid]) is refused. Errors
// wrap [herald.ErrInvalidInput] and do not repeat the address.
func NormalizeAddress(ch herald.Channel, raw, defaultRegion string) (string, error) {
	switch {
	case !ch.Valid():
		shown := string(ch)
		if len(shown) > 40 {
			shown = shown[:40] + "…"
		}
		return "", fmt.Errorf("contacts: invalid channel %q: %w", shown, herald.ErrInvalidInput)
	case ch.IsPhone():
		return NormalizePhone(raw, defaultRegion)
	case ch == herald.ChannelEmail:
		return NormalizeEmail(raw)
	case ch.IsPush():
		return normalizePushToken(ch, raw)
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("contacts: %s address is empty: %w", ch, herald.ErrInvalidInput)
	}
	return s, nil
}

// normalizePushToken trims and checks a device token or web push endpoint.
func normalizePushToken(ch herald.Channel, raw string) (string, error) {
	s := strings.TrimSpace(raw)
	reason := ""
	switch {
	case s == "":
		reason = "empty"
	case len(s) > MaxPushTokenLen:
		reason = fmt.Sprintf("too long (%d bytes, at most %d)", len(s), MaxPushTokenLen)
	case !utf8.ValidString(s):
		reason = "not valid UTF-8"
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		reason = "contains white space or control characters"
	default:
		return s, nil
	}
	return "", fmt.Errorf("contacts: %s token: %s: %w", ch, reason, herald.ErrInvalidInput)
}
