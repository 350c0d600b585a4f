package contacts

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/heraldmsg/herald"
)

// Length limits of RFC 5321 (section 4.5.3.1): a path holds at most 254
// octets of address, a local part 64 and a domain 253 (63 per label).
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63
)

// NormalizeEmail returns raw as a bare email address with its domain in
// lower case: " Bob.Smith@Example.COM " becomes "Bob.Smith@example.com".
//
// The local part keeps its case: RFC 5321 lets the receiving server treat
// "Bob" and "bob" as different mailboxes, so changing it could change the
// recipient. Callers that compare addresses case-insensitively (opt-out
// lists, for instance) should fold the local part themselves.
//
// raw, once trimmed of surrounding white space, must be exactly one
// addr-spec as net/mail reads it: a display name ("Bob <bob@example.com>"),
// angle brackets, comments, quoted local parts and lists are refused, since
// an address field holds an address. The domain must be a host name of at
// least two dot-separated labels of letters, digits and inner hyphens
// (internationalised names in Unicode or as xn-- labels are accepted as
// written); IP addresses and domain literals are refused. Errors wrap
// [herald.ErrInvalidInput] and do not repeat the address.
func NormalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", emailError("empty")
	case len(s) > maxEmailLen:
		return "", emailError(fmt.Sprintf("too long (%d bytes, at most %d)", len(s), maxEmailLen))
	case !utf8.ValidString(s):
		return "", emailError("not valid UTF-8")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		// net/mail's errors may quote the input; say it in our words.
		switch strings.Count(s, "@") {
		case 0:
			return "", emailError("missing '@'")
		case 1:
			return "", emailError("not a valid address")
		}
		return "", emailError("not a single valid address")
	}
	if addr.Name != "" {
		return "", emailError("has a display name or comment; give the bare address")
	}
	if addr.Address != s {
		return "", emailError("must be a bare address, without angle brackets, comments, quoting or inner spaces")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if len(local) > maxLocalLen {
		return "", emailError(fmt.Sprintf("local part too long (%d bytes, at most %d)", len(local), maxLocalLen))
	}
	if reason := checkDomain(domain); reason != "" {
		return "", emailError(reason)
	}
	return local + "@" + domain, nil
}

// checkDomain says what is wrong with a lower-cased email domain, or "".
func checkDomain(d string) string {
	if len(d) > maxDomainLen {
		return fmt.Sprintf("domain too long (%d bytes, at most %d)", len(d), maxDomainLen)
	}
	if strings.HasPrefix(d, "[") {
		return "domain literals are not accepted; give a host name"
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "domain has no dot; give a full host name"
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "domain has an empty label"
		case len(l) > maxLabelLen:
			return fmt.Sprintf("domain label too long (%d bytes, at most %d)", len(l), maxLabelLen)
		case l[0] == '-' || l[len(l)-1] == '-':
			return "domain label starts or ends with '-'"
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return "domain has a character other than letters, digits, '-' and '.'"
			}
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "domain is an IP address or ends in a numeric label; give a host name"
	}
	return ""
}

// emailError builds an error wrapping herald.ErrInvalidInput.
func emailError(reason string) error {
	return fmt.Errorf("contacts: email address: %s: %w", reason, herald.ErrInvalidInput)
}
