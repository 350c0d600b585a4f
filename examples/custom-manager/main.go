// Command custom-manager shows how to write a service manager: quiethours
// blocks texts outside 9:00–21:00 in the contact's own timezone.
//
// A manager is any type with a Metadata method; each hook it wants is one
// more method (here OnMessageSend). Returning an error that wraps
// herald.ErrBlocked blocks the message; the dispatcher records it as
// blocked with the reason, and the vendor is never called.
//
// Run it with:
//
//	go run ./examples/custom-manager
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// QuietHours blocks sends outside [Start, End) local time of the contact.
// Messages without a contact, or to a contact without a timezone, use
// Default.
type QuietHours struct {
	Start, End int // hours, 0–23
	Default    *time.Location
}

// Metadata names the manager; "quiet-hours" is what enabled lists use.
func (q *QuietHours) Metadata() herald.ManagerMetadata {
	return herald.ManagerMetadata{
		Name:        "quiet-hours",
		DisplayName: "Quiet hours",
		Description: "Blocks texts outside 9:00–21:00 in the contact's timezone.",
		// Blocking early saves the work of later managers (number picking).
		RunsBefore: []string{"numpicker"},
	}
}

// OnMessageSend runs before every send, in the enabled order.
func (q *QuietHours) OnMessageSend(ctx context.Context, ev *herald.MessageSendEvent) error {
	loc := q.Default
	if ev.Contact != nil && ev.Contact.Timezone != "" {
		l, err := time.LoadLocation(ev.Contact.Timezone)
		if err != nil {
			// Any error other than ErrBlocked fails the message: a bad
			// timezone is a data problem the host should see.
			return fmt.Errorf("contact %s: %w", ev.Contact.ID, err)
		}
		loc = l
	}
	local := ev.Env.Clock.Now().In(loc)
	if h := local.Hour(); h < q.Start || h >= q.End {
		ev.Env.Logger.Info("blocked outside quiet hours", "local", local.Format("15:04"))
		return fmt.Errorf("%w: it is %s for the contact (%s), outside %02d:00–%02d:00",
			herald.ErrBlocked, local.Format("15:04"), loc, q.Start, q.End)
	}
	return nil
}

// fixedClock makes the example's output the same on every run.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func main() {
	ctx := context.Background()
	store := memstore.New()
	// 15:00 UTC on a June day: 11:00 in New York, 08:00 in Los Angeles,
	// 00:00 in Tokyo.
	clock := fixedClock{time.Date(2026, 6, 1, 15, 0, 0, 0, time.UTC)}
	d, err := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{fake.New(fake.Options{})},
		Managers:        []herald.ServiceManager{&QuietHours{Start: 9, End: 21, Default: time.UTC}},
		EnabledManagers: []string{"quiet-hours"},
		Clock:           clock,
	})
	if err != nil {
		log.Fatal(err)
	}

	people := []herald.Contact{
		{ID: "ana", OrgID: "acme", FirstName: "Ana", Phone: "+12125550101", Timezone: "America/New_York"},
		{ID: "bo", OrgID: "acme", FirstName: "Bo", Phone: "+14155550102", Timezone: "America/Los_Angeles"},
		{ID: "kei", OrgID: "acme", FirstName: "Kei", Phone: "+81312345678", Timezone: "Asia/Tokyo"},
	}
	for _, c := range people {
		if _, err := store.PutContact(ctx, &c); err != nil {
			log.Fatal(err)
		}
		res, err := d.Send(ctx, &herald.Message{
			OrgID: "acme", ContactID: c.ID, Channel: herald.ChannelSMS, To: c.Phone,
			Body: "Hi " + c.FirstName + ", your order shipped.",
		})
		switch {
		case errors.Is(err, herald.ErrBlocked):
			fmt.Printf("%-4s %-9s %s\n", c.FirstName, res.Message.Status, res.Message.Reason)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Printf("%-4s %-9s via %s\n", c.FirstName, "sent", res.Message.Vendor)
		}
	}
}
