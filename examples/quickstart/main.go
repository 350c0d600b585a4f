// Command quickstart is herald in one page: a dispatcher on the in-memory
// store, the fake vendor and the example service manager. It sends a text,
// watches the delivery report arrive, receives the fake's autoresponse,
// opts the contact out with STOP and shows the next send blocked.
//
// Run it with:
//
//	go run ./examples/quickstart
//
// It needs no configuration and no network.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/example"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

func main() {
	ctx := context.Background()

	// 1. The parts: a store, a vendor, a manager, and the dispatcher that
	//    ties them together. Replies are routed to the contact's owner
	//    through OnInbound.
	store := memstore.New()
	vendor := fake.New(fake.Options{})
	manager := example.New()
	d, err := dispatch.New(dispatch.Config{
		Store:           store,
		Vendors:         []herald.Vendor{vendor},
		Managers:        []herald.ServiceManager{manager},
		EnabledManagers: []string{example.Name},
		OnInbound: func(ctx context.Context, in *dispatch.Inbound) error {
			switch {
			case in.OptedOut:
				fmt.Printf("   inbound %q from %s → opted out\n", in.Message.Body, in.Contact.FirstName)
			default:
				fmt.Printf("   inbound %q from %s → routed to %s\n", in.Message.Body, in.Contact.FirstName, in.Owner)
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The fake vendor reports back through the dispatcher, the same path
	// real vendors' webhooks take (see Dispatcher.Webhooks).
	vendor.Connect(d)

	// 2. A contact, owned by a texter.
	ada := &herald.Contact{ID: "ada", OrgID: "acme", FirstName: "Ada", Phone: "+14155552671", Owner: "texter-grace"}
	if _, err := store.PutContact(ctx, ada); err != nil {
		log.Fatal(err)
	}
	text := func(body string) (*dispatch.Result, error) {
		return d.Send(ctx, &herald.Message{
			OrgID: "acme", ContactID: ada.ID, Channel: herald.ChannelSMS,
			To:   "(415) 555-2671", // national format: normalised to E.164
			Body: body,
		})
	}

	// 3. Send. "autorespond" makes the fake vendor answer as the contact.
	fmt.Println("1. send a text")
	res, err := text("Hi Ada, can you make it Saturday? (autorespond)")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("   %s to %s, accepted by %s as %s\n", res.Message.ID, res.Message.To, res.Message.Vendor, res.Message.VendorMessageID)
	vendor.Wait() // the report and the reply arrive in the background
	history(ctx, store, res.Message)

	// 4. The contact texts STOP.
	fmt.Println("2. the contact texts STOP")
	err = d.HandleInbound(ctx, &herald.InboundMessage{
		OrgID: "acme", Vendor: vendor.Metadata().Name, EventID: "inbound-stop-1",
		Channel: herald.ChannelSMS, From: ada.Phone, To: res.Message.From, Body: "STOP",
	})
	if err != nil {
		log.Fatal(err)
	}

	// 5. The next send is blocked, and nothing reaches the vendor.
	fmt.Println("3. send again")
	res, err = text("Hi Ada, one more thing")
	if !errors.Is(err, herald.ErrBlocked) {
		log.Fatalf("expected the send to be blocked, got %v", err)
	}
	fmt.Printf("   %s is %s: %s\n", res.Message.ID, res.Message.Status, res.Message.Reason)

	// 6. What the example manager saw.
	fmt.Println("4. hooks the example manager ran")
	var hooks []string
	for _, c := range manager.Calls() {
		hooks = append(hooks, c.Hook)
	}
	fmt.Printf("   %s\n", strings.Join(hooks, ", "))
	fmt.Printf("   vendor calls: %d\n", len(vendor.Sends()))
}

// history prints a message's status events.
func history(ctx context.Context, store herald.Store, m *herald.Message) {
	events, err := store.MessageEvents(ctx, m.OrgID, m.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range events {
		what := string(e.Status)
		if e.Engagement != "" {
			what = "engagement: " + string(e.Engagement)
		}
		fmt.Printf("   · %-22s (%s)\n", what, e.Source)
	}
}
