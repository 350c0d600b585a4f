// Package quiethours is the quiet-hours service manager (registry name
// "quiet-hours"): it keeps messages from reaching contacts outside an
// allowed sending window in the contact's own time zone, which Spoke users
// asked for (Spoke only enforced texting hours in its texter UI).
//
// # What it does
//
// OnMessageSend (its only hook) finds the contact's time zone, reads the
// local time, and when it is outside the allowed window either
//
//   - defers the message (the default): it returns herald.Defer with the
//     next instant the window opens, so the dispatcher puts the message
//     back to scheduled and sends it then (running the hooks again), or
//     cancels it when its SendBefore comes first. Nothing is dropped.
//   - or blocks it (action "block"): an error wrapping herald.ErrBlocked,
//     status blocked.
//
// The next opening is computed on the local wall clock with the time
// package's zone rules: across midnight (a window such as 22:00-06:00 is
// allowed), and across daylight-saving changes (after a spring-forward
// night the window opens at the local time, one hour fewer after now; a
// window opening inside the skipped hour opens when the clock jumps).
//
// # The contact's time zone
//
// In order, the first that is known:
//
//  1. Contact.Timezone (an IANA name); an unknown name is skipped;
//  2. Contact.Zip, a US ZIP code: its three-digit prefix maps to the zone
//     most of that prefix is in (see [ZoneForZip]);
//  3. the phone number (Message.To): a NANP area code in the built-in
//     table (US, Canada, Puerto Rico; see [Manager.ZoneForPhone]), or the country
//     of a number in a handful of one-zone countries (GB, IE, DE, FR, ES,
//     IT, NL, ...);
//  4. the organization's default, QUIET_HOURS_TIMEZONE, else
//     Options.DefaultTimezone ("America/New_York", Spoke's DEFAULT_TZ).
//
// ZIP comes before the area code because people keep their mobile number
// when they move. The tables are approximate where a prefix or an area
// code spans two zones; set Contact.Timezone when it matters.
//
// # Configuration
//
// Organization features; a campaign feature with the same key wins:
//
//   - QUIET_HOURS_WINDOW ([FeatureWindow]): the allowed window, local time,
//     "HH:MM-HH:MM", start inclusive, end exclusive, "24:00" allowed as an
//     end; a start after the end crosses midnight; equal start and end
//     means always allowed. Default Options.Window, else "09:00-21:00".
//   - QUIET_HOURS_ACTION ([FeatureAction]): "defer" (default) or "block".
//   - QUIET_HOURS_TIMEZONE ([FeatureTimezone]): the default IANA zone for
//     contacts whose zone is unknown.
//   - QUIET_HOURS_CHANNELS ([FeatureChannels]): comma-separated channels
//     the window applies to; default "sms,mms".
//   - QUIET_HOURS ([FeatureEnabled]): "off" turns the manager off for the
//     organization or the campaign.
//
// A malformed window or action, or an unknown default zone, fails the
// message with an error wrapping herald.ErrConfig: a configuration
// mistake is visible, never a message sent at 3 a.m.
//
// # Cost and order
//
// It spends no money and reads no store: zones are loaded once per
// Manager and cached. Enable it first, before the routing managers
// (sticky-sender, numpicker-basic, ...), so a deferred message costs
// nothing else; it declares no RunsBefore, since any order is correct.
package quiethours

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/heraldmsg/herald"
)

// Compile-time checks: the hooks quiet-hours implements.
var (
	_ herald.ServiceManager  = (*Manager)(nil)
	_ herald.MessageSendHook = (*Manager)(nil)
)

// Name is the manager's name, the key in enabled lists.
const Name = "quiet-hours"

// Feature keys, read from the campaign's features, then the organization's.
const (
	FeatureWindow   = "QUIET_HOURS_WINDOW"
	FeatureAction   = "QUIET_HOURS_ACTION"
	FeatureTimezone = "QUIET_HOURS_TIMEZONE"
	FeatureChannels = "QUIET_HOURS_CHANNELS"
	FeatureEnabled  = "QUIET_HOURS"
)

// Actions, the values of FeatureAction.
const (
	ActionDefer = "defer"
	ActionBlock = "block"
)

// Defaults of Options.
const (
	DefaultWindow   = "09:00-21:00"
	DefaultTimezone = "America/New_York"
)

// Options configures quiet-hours; organization and campaign features win
// over it. The zero value uses the defaults.
type Options struct {
	// Window is the allowed window, as FeatureWindow; default DefaultWindow.
	Window string
	// Action is ActionDefer (default) or ActionBlock.
	Action string
	// DefaultTimezone is the zone of contacts whose zone is unknown, when
	// the organization sets no FeatureTimezone; default DefaultTimezone.
	DefaultTimezone string
	// Channels the window applies to; default sms and mms.
	Channels []herald.Channel
}

// Window is an allowed sending window on the local wall clock, in minutes
// after midnight: Start inclusive, End exclusive (up to 1440). Start after
// End crosses midnight; Start equal to End allows every time.
type Window struct {
	Start, End int
}

// ParseWindow reads "HH:MM-HH:MM".
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, fmt.Errorf("%w: quiet hours window %q is not HH:MM-HH:MM", herald.ErrConfig, s)
	}
	start, err1 := parseClock(a, false)
	end, err2 := parseClock(b, true)
	if err1 != nil || err2 != nil {
		return Window{}, fmt.Errorf("%w: quiet hours window %q is not HH:MM-HH:MM", herald.ErrConfig, s)
	}
	return Window{Start: start, End: end}, nil
}

func parseClock(s string, end bool) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("bad clock")
	}
	d := func(c byte) int { return int(c - '0') }
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad clock")
		}
	}
	h, m := d(s[0])*10+d(s[1]), d(s[3])*10+d(s[4])
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, fmt.Errorf("bad clock")
	}
	return h*60 + m, nil
}

// Allows reports whether the wall-clock minute of day is inside w.
func (w Window) Allows(minute int) bool {
	switch {
	case w.Start == w.End:
		return true
	case w.Start < w.End:
		return minute >= w.Start && minute < w.End
	default:
		return minute >= w.Start || minute < w.End
	}
}

// AllowsAt reports whether t, read on loc's wall clock, is inside w.
func (w Window) AllowsAt(t time.Time, loc *time.Location) bool {
	if w.Start == w.End {
		return true
	}
	h, m, _ := t.In(loc).Clock()
	return w.Allows(h*60 + m)
}

// Next returns the first instant at or after now that w allows in loc:
// now itself when it is allowed, else the next opening of the window.
func (w Window) Next(now time.Time, loc *time.Location) time.Time {
	if w.AllowsAt(now, loc) {
		return now
	}
	l := now.In(loc)
	y, mo, d := l.Date()
	for i := 0; i <= 2; i++ {
		c := time.Date(y, mo, d+i, w.Start/60, w.Start%60, 0, 0, loc)
		if !c.After(now) {
			continue
		}
		if w.AllowsAt(c, loc) {
			// In a repeated (fall-back) hour time.Date may pick either
			// occurrence; the earlier one is the opening.
			for _, back := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} {
				if e := c.Add(-back); e.After(now) && sameWall(e, c, loc) {
					return e
				}
			}
			return c
		}
		// The opening falls in a skipped (spring-forward) hour: time.Date
		// gave an instant before the jump. The window opens at the first
		// allowed minute after it, if any is left that day (a window lying
		// wholly in the skipped hour does not occur that day).
		if t, ok := w.firstAllowed(c, loc); ok {
			return t
		}
	}
	return now.Add(24 * time.Hour) // unreachable for a valid window
}

// sameWall reports whether a and b read the same on loc's wall clock.
func sameWall(a, b time.Time, loc *time.Location) bool {
	ah, am, _ := a.In(loc).Clock()
	bh, bm, _ := b.In(loc).Clock()
	return ah == bh && am == bm && b.Sub(a) < 24*time.Hour
}

// firstAllowed scans the three hours after c, minute by minute, for the
// first instant w allows in loc. It runs only when a window opens inside a
// skipped hour, a few times a year.
func (w Window) firstAllowed(c time.Time, loc *time.Location) (time.Time, bool) {
	t := c.Truncate(time.Minute)
	for range 3 * 60 {
		t = t.Add(time.Minute)
		if w.AllowsAt(t, loc) {
			return t, true
		}
	}
	return time.Time{}, false
}

// Manager is the quiet-hours manager. It caches loaded zones and parsed
// windows per instance; it is safe for concurrent use.
type Manager struct {
	window   Window
	action   string
	defZone  string
	channels map[herald.Channel]bool
	areas    map[string]string // NANP area code → zone

	zones   sync.Map // zone name → *time.Location (nil for unknown)
	windows sync.Map // window text → Window (or error)
}

// New returns a quiet-hours manager; it fails with herald.ErrConfig when an
// option is malformed.
func New(opts Options) (*Manager, error) {
	if opts.Window == "" {
		opts.Window = DefaultWindow
	}
	w, err := ParseWindow(opts.Window)
	if err != nil {
		return nil, err
	}
	if opts.Action == "" {
		opts.Action = ActionDefer
	}
	if opts.Action != ActionDefer && opts.Action != ActionBlock {
		return nil, fmt.Errorf("%w: quiet hours action %q is not defer or block", herald.ErrConfig, opts.Action)
	}
	if opts.DefaultTimezone == "" {
		opts.DefaultTimezone = DefaultTimezone
	}
	m := &Manager{window: w, action: opts.Action, defZone: opts.DefaultTimezone,
		channels: map[herald.Channel]bool{}, areas: areaZones()}
	if m.location(opts.DefaultTimezone) == nil {
		return nil, fmt.Errorf("%w: unknown time zone %q", herald.ErrConfig, opts.DefaultTimezone)
	}
	if len(opts.Channels) == 0 {
		opts.Channels = []herald.Channel{herald.ChannelSMS, herald.ChannelMMS}
	}
	for _, c := range opts.Channels {
		m.channels[c] = true
	}
	return m, nil
}

// Metadata describes quiet-hours: organization and campaign settings
// through features, no money spent.
func (m *Manager) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:        Name,
		DisplayName: "Quiet hours",
		Description: "Defers (or blocks) messages outside an allowed window in the contact's time zone.",
	}
}

// location returns the cached zone, nil when the name is unknown.
func (m *Manager) location(name string) *time.Location {
	if v, ok := m.zones.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		loc = nil
	}
	m.zones.Store(name, loc)
	return loc
}

// feature reads key from the campaign's features, then the organization's.
func feature(ev *herald.MessageSendEvent, key string) (string, bool) {
	if ev.Campaign != nil {
		if v, ok := ev.Campaign.Features[key]; ok && v != "" {
			return v, true
		}
	}
	return ev.Organization.Feature(key)
}

// ContactZone returns the name of the contact's zone by the package doc's
// rules, without the organization default, and where it came from
// ("contact", "zip", "phone"); "" when none is known. phone is the
// message's address.
func (m *Manager) ContactZone(c *herald.Contact, phone string) (zone, source string) {
	if c != nil {
		if c.Timezone != "" && m.location(c.Timezone) != nil {
			return c.Timezone, "contact"
		}
		if z := ZoneForZip(c.Zip); z != "" {
			return z, "zip"
		}
		if phone == "" {
			phone = c.Phone
		}
	}
	if z := m.zoneForPhone(phone); z != "" {
		return z, "phone"
	}
	return "", ""
}

// OnMessageSend defers or blocks a message outside the window; see the
// package doc.
func (m *Manager) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	msg := ev.Message
	if msg == nil {
		return nil
	}
	if v, ok := feature(ev, FeatureEnabled); ok && strings.EqualFold(v, "off") {
		return nil
	}
	if v, ok := feature(ev, FeatureChannels); ok {
		if !listed(v, string(msg.Channel)) {
			return nil
		}
	} else if !m.channels[msg.Channel] {
		return nil
	}
	w := m.window
	if v, ok := feature(ev, FeatureWindow); ok {
		var err error
		if w, err = m.parsedWindow(v); err != nil {
			return err
		}
	}
	action := m.action
	if v, ok := feature(ev, FeatureAction); ok {
		if v != ActionDefer && v != ActionBlock {
			return fmt.Errorf("%w: %s %q is not defer or block", herald.ErrConfig, FeatureAction, v)
		}
		action = v
	}
	zone, _ := m.ContactZone(ev.Contact, phoneOf(msg))
	if zone == "" {
		zone = m.defZone
		if v, ok := feature(ev, FeatureTimezone); ok {
			zone = v
		}
	}
	loc := m.location(zone)
	if loc == nil {
		return fmt.Errorf("%w: unknown time zone %q", herald.ErrConfig, zone)
	}
	now := clockNow(ev.Env)
	if w.AllowsAt(now, loc) {
		return nil
	}
	if action == ActionBlock {
		return fmt.Errorf("%w: outside quiet-hours window %s in %s", herald.ErrBlocked, w, zone)
	}
	next := w.Next(now, loc)
	if ev.Env.Logger != nil {
		ev.Env.Logger.DebugContext(ctx, "quiethours: deferred", "org", msg.OrgID, "message", msg.ID, "zone", zone, "until", next)
	}
	return herald.Defer(next, "quiet hours in "+zone)
}

// String writes the window as "HH:MM-HH:MM".
func (w Window) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}

func (m *Manager) parsedWindow(s string) (Window, error) {
	if v, ok := m.windows.Load(s); ok {
		if err, bad := v.(error); bad {
			return Window{}, err
		}
		return v.(Window), nil
	}
	w, err := ParseWindow(s)
	if err != nil {
		m.windows.Store(s, err)
		return Window{}, err
	}
	m.windows.Store(s, w)
	return w, nil
}

// listed reports whether the comma-separated list holds item.
func listed(list, item string) bool {
	for part := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(part), item) {
			return true
		}
	}
	return false
}

func phoneOf(m *herald.Message) string {
	if m.Channel.IsPhone() {
		return m.To
	}
	return ""
}

func clockNow(env herald.Env) time.Time {
	if env.Clock != nil {
		return env.Clock.Now()
	}
	return time.Now()
}
