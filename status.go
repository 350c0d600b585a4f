package herald

import "time"

// Status is where a message is in its life. Statuses only move forward:
//
//	queued → scheduled → sending → sent → delivered
//
// with the terminal outcomes failed, blocked (an opt-out or a manager said
// no) and canceled, and unknown (the vendor may or may not have accepted the
// message; a later delivery report can still settle it). The one move back is
// sending → scheduled, taken by the dispatcher when a vendor call failed
// before the vendor accepted the message and a retry is due later.
//
// Engagement (opened, clicked, replied) is recorded as a StatusEvent after
// delivery and never changes Status.
type Status string

// The statuses.
const (
	StatusQueued    Status = "queued"
	StatusScheduled Status = "scheduled"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusFailed    Status = "failed"
	StatusBlocked   Status = "blocked"
	StatusCanceled  Status = "canceled"
	StatusUnknown   Status = "unknown"
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether nothing can follow s.
func (s Status) Terminal() bool {
	return s.Valid() && len(transitions[s]) == 0
}

// Pending reports whether a message in s has not reached a vendor yet and
// is waiting for a worker: queued or scheduled.
func (s Status) Pending() bool { return s == StatusQueued || s == StatusScheduled }

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusQueued:    {StatusScheduled, StatusSending, StatusSent, StatusDelivered, StatusFailed, StatusBlocked, StatusCanceled, StatusUnknown},
	StatusScheduled: {StatusSending, StatusSent, StatusDelivered, StatusFailed, StatusBlocked, StatusCanceled, StatusUnknown},
	StatusSending:   {StatusScheduled, StatusSent, StatusDelivered, StatusFailed, StatusBlocked, StatusCanceled, StatusUnknown},
	StatusUnknown:   {StatusSent, StatusDelivered, StatusFailed},
	StatusSent:      {StatusDelivered, StatusFailed},
	StatusDelivered: nil,
	StatusFailed:    nil,
	StatusBlocked:   nil,
	StatusCanceled:  nil,
}

// CanMoveTo reports whether a message in s may move to next. Staying in the
// same status is not a move.
func (s Status) CanMoveTo(next Status) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// StatusesBefore returns every status from which a message may move to next,
// for stores that express the forward-only rule as a conditional update
// (UPDATE ... WHERE status IN (...)). The result is freshly allocated.
func StatusesBefore(next Status) []Status {
	var out []Status
	for _, s := range allStatuses {
		if s.CanMoveTo(next) {
			out = append(out, s)
		}
	}
	return out
}

var allStatuses = []Status{
	StatusQueued, StatusScheduled, StatusSending, StatusSent, StatusDelivered,
	StatusFailed, StatusBlocked, StatusCanceled, StatusUnknown,
}

// AllStatuses returns every status, in life order.
func AllStatuses() []Status { return append([]Status(nil), allStatuses...) }

// EventSource says where a StatusEvent came from.
type EventSource string

// Event sources.
const (
	SourceDispatcher EventSource = "dispatcher" // the send pipeline
	SourceVendor     EventSource = "vendor"     // the vendor's answer to a send
	SourceReport     EventSource = "report"     // a delivery report webhook
	SourceManager    EventSource = "manager"    // a service manager (blocked)
	SourceHost       EventSource = "host"       // the host application
)

// StatusEvent is one entry in a message's history. Every status change
// appends one; so does every report that was refused because it would move
// the message backwards (Applied false), and every engagement.
type StatusEvent struct {
	MessageID string
	OrgID     string
	// Status is the status the event reports. For an engagement event it is
	// the message's status at the time and Engagement is set.
	Status     Status
	Engagement Engagement
	At         time.Time
	Source     EventSource
	// VendorCode is the vendor's status or error code, if any.
	VendorCode string
	// Reason says why, in words.
	Reason string
	// Applied is false when the event was recorded but did not change the
	// message (a stale or out-of-order report).
	Applied bool
}
