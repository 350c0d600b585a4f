package memstore_test

import (
	"context"
	"fmt"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()

	m := &herald.Message{
		ID: "msg-1", IdempotencyKey: "order-42", OrgID: "acme",
		Channel: herald.ChannelSMS, To: "+15555550100", Body: "Your order shipped",
		Status: herald.StatusQueued,
	}
	_, created, _ := st.CreateMessage(ctx, m)
	fmt.Println("created:", created)

	// A retry with the same idempotency key gets the first message back.
	again := *m
	again.ID = "msg-2"
	first, created, _ := st.CreateMessage(ctx, &again)
	fmt.Println("created again:", created, "id:", first.ID)

	// Status changes are forward only: a late "sent" after "delivered" is
	// recorded but changes nothing.
	_, _ = st.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: "acme", ID: "msg-1", Status: herald.StatusDelivered})
	cur, err := st.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: "acme", ID: "msg-1", Status: herald.StatusSent})
	fmt.Println("status:", cur.Status, "stale:", err != nil)

	evs, _ := st.MessageEvents(ctx, "acme", "msg-1")
	for _, e := range evs {
		fmt.Println(e.Status, e.Applied)
	}
	// Output:
	// created: true
	// created again: false id: msg-1
	// status: delivered stale: true
	// queued true
	// delivered true
	// sent false
}
