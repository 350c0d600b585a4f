package herald

import (
	"errors"
	"fmt"
	"time"
)

// Errors shared by the dispatcher, stores, vendors and managers. Test for
// them with errors.Is; they are always wrapped with detail.
var (
	// ErrNotFound: the store has no such record.
	ErrNotFound = errors.New("herald: not found")
	// ErrConflict: a compare-and-set found another value than expected (the
	// message is held by another worker, or its status moved meanwhile).
	ErrConflict = errors.New("herald: conflict")
	// ErrStaleStatus: a status change would move a message backwards. The
	// store recorded the event (Applied false) and changed nothing.
	ErrStaleStatus = errors.New("herald: stale status")
	// ErrBlocked: a service manager, an opt-out or a campaign rule refuses
	// the operation. A send hook returns an error wrapping it to block the
	// message; a campaign start or unarchive hook to block the change.
	ErrBlocked = errors.New("herald: blocked")
	// ErrInvalidInput: the caller passed something unusable (unknown
	// channel, bad address, empty body). Nothing was stored or sent.
	ErrInvalidInput = errors.New("herald: invalid input")
	// ErrUnsupported: the operation needs a capability the vendor does not
	// implement.
	ErrUnsupported = errors.New("herald: unsupported")
	// ErrConfig: the dispatcher or an organization is misconfigured
	// (unknown vendor or manager name, managers in a forbidden order, a
	// vendor not fully configured).
	ErrConfig = errors.New("herald: configuration")
	// ErrUnauthorized: a webhook request failed verification (missing or
	// forged signature, wrong credentials).
	ErrUnauthorized = errors.New("herald: unauthorized")
	// ErrDuplicate: a webhook event was already handled.
	ErrDuplicate = errors.New("herald: duplicate event")
)

// ChallengeError is a webhook refusal that asks the sender to authenticate:
// the dispatcher's Webhooks() answers it with 401 and the WWW-Authenticate
// header Challenge (for example `Basic realm="herald"`) instead of 403, for
// senders that send credentials only when challenged. Err must wrap
// ErrUnauthorized.
type ChallengeError struct {
	Challenge string
	Err       error
}

// Error describes the refusal.
func (e *ChallengeError) Error() string { return e.Err.Error() }

// Unwrap returns the refusal.
func (e *ChallengeError) Unwrap() error { return e.Err }

// DeferError asks the dispatcher to send a message later. A send hook
// returns it (wrapped or not, build it with Defer) to hold a message until
// Until: the message goes back to scheduled with SendAt = Until, no vendor
// attempt is counted, and the hooks run again when it falls due. A message
// whose SendBefore comes first is canceled instead.
type DeferError struct {
	Until  time.Time
	Reason string
}

// Defer returns a *DeferError for a send hook to return.
func Defer(until time.Time, reason string) error {
	return &DeferError{Until: until, Reason: reason}
}

// Error says until when and why.
func (e *DeferError) Error() string {
	s := "herald: deferred until " + e.Until.UTC().Format(time.RFC3339)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// ErrorClass is what a vendor failure means for the dispatcher.
type ErrorClass string

// The error classes and what the dispatcher does with each.
const (
	// ClassTemporary: the vendor did not accept the message but may later;
	// retry with exponential backoff.
	ClassTemporary ErrorClass = "temporary"
	// ClassRateLimited: the vendor asked us to slow down; retry after
	// RetryAfter (or the backoff when it is zero).
	ClassRateLimited ErrorClass = "rate-limited"
	// ClassPermanent: the message will never be accepted; fail it.
	ClassPermanent ErrorClass = "permanent"
	// ClassInvalidAddress: the address cannot receive messages; fail it.
	ClassInvalidAddress ErrorClass = "invalid-address"
	// ClassOptedOut: the recipient opted out at the vendor or carrier;
	// record an opt-out and block the message.
	ClassOptedOut ErrorClass = "opted-out"
	// ClassGone: the device token or subscription is no longer valid;
	// remove the device from its contact and fail the message.
	ClassGone ErrorClass = "gone"
	// ClassAuth: credentials or account configuration are wrong; fail
	// without retrying.
	ClassAuth ErrorClass = "auth"
	// ClassMaybeDelivered: the request may have reached the vendor (a
	// timeout after sending, a broken connection). Never blindly resent:
	// the message ends unknown unless the vendor deduplicates sends by
	// idempotency key (VendorMetadata.IdempotentSend), when it is retried.
	ClassMaybeDelivered ErrorClass = "maybe-delivered"
)

// Retryable reports whether the dispatcher retries errors of class c.
func (c ErrorClass) Retryable() bool { return c == ClassTemporary || c == ClassRateLimited }

// Valid reports whether c is one of the classes.
func (c ErrorClass) Valid() bool {
	switch c {
	case ClassTemporary, ClassRateLimited, ClassPermanent, ClassInvalidAddress,
		ClassOptedOut, ClassGone, ClassAuth, ClassMaybeDelivered:
		return true
	}
	return false
}

// Error makes an ErrorClass usable as an errors.Is target:
// errors.Is(err, ClassGone) is true when err holds a *VendorError of that class.
func (c ErrorClass) Error() string { return "herald: vendor error class " + string(c) }

// VendorError is a vendor's failure with the class the dispatcher acts on.
// Vendors return it (wrapped or not) from every failing call.
type VendorError struct {
	// Vendor is the vendor's name.
	Vendor string
	// Class is what the failure means (see ErrorClass).
	Class ErrorClass
	// Code is the vendor's error code ("21610", "Unregistered", "429").
	Code string
	// Message is the vendor's message, without secrets.
	Message string
	// HTTPStatus is the HTTP status of the vendor's answer, 0 when none.
	HTTPStatus int
	// RetryAfter is how long the vendor asked us to wait, 0 when it did not.
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

// Error describes the failure.
func (e *VendorError) Error() string {
	s := fmt.Sprintf("%s: %s", e.Vendor, e.Class)
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *VendorError) Unwrap() error { return e.Err }

// Is reports whether target is e's class, so that
// errors.Is(err, herald.ClassRateLimited) works.
func (e *VendorError) Is(target error) bool {
	c, ok := target.(ErrorClass)
	return ok && c == e.Class
}

// ClassOf returns the class of err: the class of the first *VendorError in
// its chain; ClassMaybeDelivered for a context deadline or any other
// unclassified error (the safe reading: the request may have been sent); and
// "" for nil.
func ClassOf(err error) ErrorClass {
	if err == nil {
		return ""
	}
	var ve *VendorError
	if errors.As(err, &ve) && ve.Class.Valid() {
		return ve.Class
	}
	return ClassMaybeDelivered
}

// RetryAfterOf returns the RetryAfter of the first *VendorError in err's chain.
func RetryAfterOf(err error) time.Duration {
	var ve *VendorError
	if errors.As(err, &ve) {
		return ve.RetryAfter
	}
	return 0
}

// CodeOf returns the vendor code of the first *VendorError in err's chain.
func CodeOf(err error) string {
	var ve *VendorError
	if errors.As(err, &ve) {
		return ve.Code
	}
	return ""
}
