package quiethours_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/internal/testkit"
	"github.com/heraldmsg/herald/managers/quiethours"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	require.NoError(t, err)
	return l
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want quiethours.Window
		bad  bool
	}{
		{in: "09:00-21:00", want: quiethours.Window{Start: 540, End: 1260}},
		{in: " 22:30 - 06:15 ", want: quiethours.Window{Start: 1350, End: 375}},
		{in: "00:00-24:00", want: quiethours.Window{Start: 0, End: 1440}},
		{in: "24:00-06:00", bad: true},
		{in: "9:00-21:00", bad: true},
		{in: "09:60-21:00", bad: true},
		{in: "09:00", bad: true},
		{in: "ab:cd-ef:gh", bad: true},
		{in: "25:00-26:00", bad: true},
	} {
		w, err := quiethours.ParseWindow(tc.in)
		if tc.bad {
			assert.ErrorIs(t, err, herald.ErrConfig, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, w, tc.in)
	}
	w, _ := quiethours.ParseWindow("09:05-21:00")
	assert.Equal(t, "09:05-21:00", w.String())
}

func TestWindowAllows(t *testing.T) {
	day := quiethours.Window{Start: 9 * 60, End: 21 * 60}
	assert.False(t, day.Allows(8*60+59))
	assert.True(t, day.Allows(9*60))
	assert.True(t, day.Allows(20*60+59))
	assert.False(t, day.Allows(21*60), "the end is exclusive")
	night := quiethours.Window{Start: 22 * 60, End: 6 * 60}
	assert.True(t, night.Allows(23*60))
	assert.True(t, night.Allows(0))
	assert.True(t, night.Allows(5*60+59))
	assert.False(t, night.Allows(6*60))
	assert.False(t, night.Allows(12*60))
	assert.True(t, quiethours.Window{Start: 0, End: 0}.Allows(3*60), "equal ends: always open")
}

func TestWindowNext(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	day := quiethours.Window{Start: 9 * 60, End: 21 * 60}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		name string
		w    quiethours.Window
		now  string
		want string
	}{
		{"early morning opens today", day, "2026-03-02T12:00:00Z" /* 07:00 EST */, "2026-03-02T14:00:00Z"},
		{"late evening opens tomorrow", day, "2026-03-03T03:00:00Z" /* 22:00 EST on the 2nd */, "2026-03-03T14:00:00Z"},
		{"just after midnight", day, "2026-03-03T05:30:00Z" /* 00:30 EST */, "2026-03-03T14:00:00Z"},
		{"open now", day, "2026-03-02T15:00:00Z", "2026-03-02T15:00:00Z"},
		{"spring forward night: 10 hours, not 11", day, "2026-03-08T03:00:00Z" /* 22:00 EST on the 7th */, "2026-03-08T13:00:00Z" /* 09:00 EDT */},
		{"fall back night: 12 hours, not 11", day, "2026-11-01T02:00:00Z" /* 22:00 EDT on Oct 31 */, "2026-11-01T14:00:00Z" /* 09:00 EST */},
		{"cross-midnight window opens tonight", quiethours.Window{Start: 22 * 60, End: 6 * 60}, "2026-03-02T17:00:00Z" /* 12:00 EST */, "2026-03-03T03:00:00Z"},
		{"opening inside the skipped hour opens at the jump", quiethours.Window{Start: 2*60 + 30, End: 5 * 60},
			"2026-03-08T06:00:00Z" /* 01:00 EST */, "2026-03-08T07:00:00Z" /* 03:00 EDT, the first allowed instant */},
		{"opening inside the repeated hour: the first one", quiethours.Window{Start: 60 + 30, End: 5 * 60},
			"2026-11-01T04:00:00Z" /* 00:00 EDT */, "2026-11-01T05:30:00Z" /* 01:30 EDT */},
	} {
		got := tc.w.Next(utc(tc.now), ny)
		assert.True(t, utc(tc.want).Equal(got), "%s: want %s, got %s", tc.name, tc.want, got.UTC())
		assert.True(t, tc.w.AllowsAt(got, ny), "%s: the answer is allowed", tc.name)
	}
}

// TestNextIsTheFirstAllowedMinute checks Next against a minute-by-minute
// walk over a year in zones with and without DST, for several windows.
func TestNextIsTheFirstAllowedMinute(t *testing.T) {
	windows := []quiethours.Window{{Start: 540, End: 1260}, {Start: 1320, End: 360}, {Start: 150, End: 300}, {Start: 90, End: 100}}
	for _, zone := range []string{"America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"} {
		loc := mustLoc(t, zone)
		for _, w := range windows {
			now := time.Date(2026, 1, 1, 0, 7, 0, 0, time.UTC)
			for now.Year() == 2026 {
				next := w.Next(now, loc)
				// Walk minute by minute to the first allowed instant.
				walk := now
				for !w.AllowsAt(walk, loc) {
					walk = walk.Add(time.Minute).Truncate(time.Minute)
				}
				require.True(t, walk.Equal(next), "%s %s now %s: walk %s, Next %s", zone, w, now, walk, next)
				now = now.Add(23*time.Hour + 17*time.Minute)
			}
		}
	}
}

type fixture struct {
	m     *quiethours.Manager
	clock *testkit.Clock
	org   *herald.Organization
}

func newFixture(t *testing.T, opts quiethours.Options) *fixture {
	t.Helper()
	m, err := quiethours.New(opts)
	require.NoError(t, err)
	return &fixture{m: m, clock: testkit.NewClock(time.Time{}), org: &herald.Organization{ID: "org1"}}
}

func (f *fixture) send(c *herald.Contact, camp *herald.Campaign, ch herald.Channel, to string) error {
	ev := &herald.MessageSendEvent{Env: herald.Env{Clock: f.clock}, Organization: f.org, Campaign: camp, Contact: c, Route: &herald.Route{},
		Message: &herald.Message{ID: "m1", OrgID: "org1", Channel: ch, To: to, Body: "hi"}}
	return f.m.OnMessageSend(context.Background(), ev)
}

func deferredUntil(t *testing.T, err error) time.Time {
	t.Helper()
	var d *herald.DeferError
	require.True(t, errors.As(err, &d), "deferred, got %v", err)
	return d.Until
}

func TestDefersOutsideTheWindow(t *testing.T) {
	f := newFixture(t, quiethours.Options{})
	f.clock.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) // 07:00 in New York
	err := f.send(nil, nil, herald.ChannelSMS, "+12125550111")
	assert.True(t, deferredUntil(t, err).Equal(time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)))
	assert.NotContains(t, err.Error(), "5550111", "no phone number in the reason")

	f.clock.Set(time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC))
	assert.NoError(t, f.send(nil, nil, herald.ChannelSMS, "+12125550111"), "09:00 is open")
	assert.NoError(t, f.send(nil, nil, herald.ChannelEmail, "a@example.com"), "email is not covered by default")
}

func TestBlockAction(t *testing.T) {
	f := newFixture(t, quiethours.Options{Action: quiethours.ActionBlock})
	f.clock.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	err := f.send(nil, nil, herald.ChannelSMS, "+12125550111")
	assert.ErrorIs(t, err, herald.ErrBlocked)
	var d *herald.DeferError
	assert.False(t, errors.As(err, &d))
}

func TestContactZone(t *testing.T) {
	f := newFixture(t, quiethours.Options{})
	for _, tc := range []struct {
		name   string
		c      *herald.Contact
		phone  string
		zone   string
		source string
	}{
		{"contact's own zone", &herald.Contact{Timezone: "America/Denver", Zip: "10001"}, "+12125550111", "America/Denver", "contact"},
		{"unknown zone name falls through", &herald.Contact{Timezone: "Mars/Olympus", Zip: "94103"}, "+12125550111", "America/Los_Angeles", "zip"},
		{"zip before area code", &herald.Contact{Zip: "60601-1234"}, "+12125550111", "America/Chicago", "zip"},
		{"area code", &herald.Contact{Zip: "ABCDE"}, "+14155550111", "America/Los_Angeles", "phone"},
		{"area code, no contact", nil, "+19075550111", "America/Anchorage", "phone"},
		{"Arizona", nil, "+16025550111", "America/Phoenix", "phone"},
		{"Canada", nil, "+16045550111", "America/Vancouver", "phone"},
		{"Ireland", nil, "+353861234567", "Europe/Dublin", "phone"},
		{"UK", nil, "+447400123456", "Europe/London", "phone"},
		{"unknown area code", nil, "+18005550111", "", ""},
		{"contact's phone when the message has none", &herald.Contact{Phone: "+13125550111"}, "", "America/Chicago", "phone"},
	} {
		zone, source := f.m.ContactZone(tc.c, tc.phone)
		assert.Equal(t, tc.zone, zone, tc.name)
		assert.Equal(t, tc.source, source, tc.name)
	}
}

func TestZoneForZip(t *testing.T) {
	for zip, want := range map[string]string{
		"10001": "America/New_York", "02139": "America/New_York", "00901": "America/Puerto_Rico",
		"33101": "America/New_York", "37902": "America/New_York", "37201": "America/Chicago",
		"75201": "America/Chicago", "79901": "America/Denver", "80202": "America/Denver",
		"85001": "America/Phoenix", "89101": "America/Los_Angeles", "94103": "America/Los_Angeles",
		"96813": "Pacific/Honolulu", "99501": "America/Anchorage", "98101": "America/Los_Angeles",
		"1234": "", "96201": "", "": "",
	} {
		assert.Equal(t, want, quiethours.ZoneForZip(zip), zip)
	}
}

// TestEveryTableZoneLoads guards against a typo in a zone name.
func TestEveryTableZoneLoads(t *testing.T) {
	f := newFixture(t, quiethours.Options{})
	seen := map[string]bool{}
	for area := 200; area < 1000; area++ {
		if z := f.m.ZoneForPhone(fmt.Sprintf("+1%d5550111", area)); z != "" {
			seen[z] = true
		}
	}
	for p := 0; p < 1000; p++ {
		if z := quiethours.ZoneForZip(fmt.Sprintf("%03d01", p)); z != "" {
			seen[z] = true
		}
	}
	for _, cc := range []string{"44", "49", "33", "34", "39", "31", "32", "41", "43", "45", "46", "47", "48", "27", "91", "81", "82", "65", "64", "353", "351", "852", "972"} {
		z := f.m.ZoneForPhone("+" + cc + "123456789")
		require.NotEmpty(t, z, cc)
		seen[z] = true
	}
	assert.Greater(t, len(seen), 20)
	for z := range seen {
		_, err := time.LoadLocation(z)
		assert.NoError(t, err, z)
	}
}

func TestTimezoneIsUsed(t *testing.T) {
	f := newFixture(t, quiethours.Options{})
	// 16:00 UTC: 11:00 in New York (open), 08:00 in Los Angeles (closed).
	f.clock.Set(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC))
	assert.NoError(t, f.send(nil, nil, herald.ChannelSMS, "+12125550111"))
	err := f.send(nil, nil, herald.ChannelSMS, "+14155550111")
	assert.True(t, deferredUntil(t, err).Equal(time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)), "09:00 in Los Angeles")
	err = f.send(&herald.Contact{Timezone: "Asia/Tokyo"}, nil, herald.ChannelSMS, "+12125550111")
	assert.True(t, deferredUntil(t, err).Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)), "01:00 in Tokyo opens at 09:00 JST")
	// Unknown phone: the organization's default.
	assert.NoError(t, f.send(nil, nil, herald.ChannelSMS, "+18005550111"))
	f.org.Features = map[string]string{quiethours.FeatureTimezone: "America/Los_Angeles"}
	err = f.send(nil, nil, herald.ChannelSMS, "+18005550111")
	deferredUntil(t, err)
}

func TestFeatures(t *testing.T) {
	f := newFixture(t, quiethours.Options{})
	f.clock.Set(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) // 07:00 New York
	f.org.Features = map[string]string{quiethours.FeatureWindow: "06:00-22:00"}
	assert.NoError(t, f.send(nil, nil, herald.ChannelSMS, "+12125550111"), "the organization's window")

	camp := &herald.Campaign{ID: "c", Features: map[string]string{quiethours.FeatureWindow: "08:00-20:00"}}
	deferredUntil(t, f.send(nil, camp, herald.ChannelSMS, "+12125550111"))

	camp.Features[quiethours.FeatureAction] = quiethours.ActionBlock
	assert.ErrorIs(t, f.send(nil, camp, herald.ChannelSMS, "+12125550111"), herald.ErrBlocked)

	camp.Features[quiethours.FeatureEnabled] = "off"
	assert.NoError(t, f.send(nil, camp, herald.ChannelSMS, "+12125550111"), "turned off for the campaign")

	f.org.Features = map[string]string{quiethours.FeatureChannels: "email", quiethours.FeatureWindow: "08:00-20:00"}
	assert.NoError(t, f.send(nil, nil, herald.ChannelSMS, "+12125550111"), "sms not listed")
	deferredUntil(t, f.send(&herald.Contact{Timezone: "America/New_York"}, nil, herald.ChannelEmail, "a@example.com"))

	for key, bad := range map[string]string{quiethours.FeatureWindow: "nine-to-five", quiethours.FeatureAction: "drop",
		quiethours.FeatureTimezone: "Nowhere/Land"} {
		f.org.Features = map[string]string{key: bad}
		assert.ErrorIs(t, f.send(nil, nil, herald.ChannelSMS, "+18005550111"), herald.ErrConfig, key)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []quiethours.Options{{Window: "x"}, {Action: "drop"}, {DefaultTimezone: "Nowhere/Land"}} {
		_, err := quiethours.New(o)
		assert.ErrorIs(t, err, herald.ErrConfig, "%+v", o)
	}
	m, err := quiethours.New(quiethours.Options{})
	require.NoError(t, err)
	md := m.Metadata()
	assert.Equal(t, "quiet-hours", md.Name)
	assert.False(t, md.CanSpendMoney)
}

// TestThroughDispatcher: a message sent at 07:00 in the contact's zone is
// deferred to 09:00, not dropped, and Run sends it when it falls due.
func TestThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) // 07:00 New York
	store := memstore.New(memstore.WithClock(clk))
	v := fake.New(fake.Options{Clock: clk})
	qh, err := quiethours.New(quiethours.Options{})
	require.NoError(t, err)
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: []herald.Vendor{v}, Clock: clk,
		Managers: []herald.ServiceManager{qh}, EnabledManagers: []string{quiethours.Name}, PollInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	v.Connect(d)
	t.Cleanup(v.Wait)
	_, err = store.PutContact(ctx, &herald.Contact{ID: "c1", OrgID: "org1", Phone: "+12125550111", Timezone: "America/New_York"})
	require.NoError(t, err)

	res, err := d.Send(ctx, &herald.Message{OrgID: "org1", ContactID: "c1", Channel: herald.ChannelSMS, To: "+12125550111", Body: "good morning"})
	require.NoError(t, err, "a deferral is not an error")
	opens := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	assert.Equal(t, herald.StatusScheduled, res.Message.Status)
	assert.True(t, res.NextAttempt.Equal(opens))
	assert.True(t, res.Message.SendAt.Equal(opens))
	assert.Zero(t, res.Message.Attempts, "no vendor attempt counted")
	assert.Empty(t, v.Sends())

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	time.Sleep(30 * time.Millisecond)
	assert.Empty(t, v.Sends(), "still 07:00: nothing sent")
	clk.Set(opens)
	require.Eventually(t, func() bool {
		m, err := store.GetMessage(ctx, "org1", res.Message.ID)
		return err == nil && (m.Status == herald.StatusSent || m.Status == herald.StatusDelivered)
	}, 10*time.Second, 5*time.Millisecond, "sent once the window opened")
	assert.Len(t, v.Sends(), 1)
}

func ExampleWindow_Next() {
	ny, _ := time.LoadLocation("America/New_York")
	w, _ := quiethours.ParseWindow("09:00-21:00")
	// 22:00 on the evening before the spring-forward night.
	now := time.Date(2026, 3, 7, 22, 0, 0, 0, ny)
	next := w.Next(now, ny)
	fmt.Println(next, next.Sub(now))
	// Output: 2026-03-08 09:00:00 -0400 EDT 10h0m0s
}

func ExampleNew() {
	qh, _ := quiethours.New(quiethours.Options{Window: "09:00-20:00", DefaultTimezone: "America/Chicago"})
	d, _ := dispatch.New(dispatch.Config{
		Vendors:         []herald.Vendor{fake.New(fake.Options{Quiet: true})},
		Managers:        []herald.ServiceManager{qh},
		EnabledManagers: []string{quiethours.Name},
	})
	_ = d // messages outside 09:00-20:00 in the contact's zone are now deferred
	fmt.Println(qh.Metadata().Name)
	// Output: quiet-hours
}

// BenchmarkOnMessageSend measures the hook on its common path: the zone
// from the area code, the default window, open (noon in San Francisco).
func BenchmarkOnMessageSend(b *testing.B) {
	m, err := quiethours.New(quiethours.Options{})
	if err != nil {
		b.Fatal(err)
	}
	clk := testkit.NewClock(time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC))
	ev := &herald.MessageSendEvent{Env: herald.Env{Clock: clk}, Organization: &herald.Organization{ID: "org1"},
		Contact: &herald.Contact{ID: "c1", Zip: "not-a-zip"}, Route: &herald.Route{},
		Message: &herald.Message{ID: "m1", OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155550111", Body: "hi"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := m.OnMessageSend(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}
