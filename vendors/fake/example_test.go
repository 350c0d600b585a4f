package fake_test

import (
	"context"
	"fmt"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/vendors/fake"
)

// printer is a Sink that prints what it gets; the dispatcher is the usual
// sink.
type printer struct{}

func (printer) HandleReport(_ context.Context, r *herald.DeliveryReport) error {
	fmt.Printf("report: %s (code %q)\n", r.Status, r.ErrorCode)
	return nil
}

func (printer) HandleInbound(_ context.Context, m *herald.InboundMessage) error {
	fmt.Println("inbound:", m.Body)
	return nil
}

func Example() {
	v := fake.New(fake.Options{})
	v.Connect(printer{})
	ctx := context.Background()

	send := func(key, body string) error {
		_, err := v.Send(ctx, &herald.SendRequest{
			Message: &herald.Message{
				OrgID: "org1", IdempotencyKey: key, Channel: herald.ChannelSMS,
				To: "+15555550101", From: "+15555550100", Body: body,
			},
			Route: &herald.Route{},
		})
		v.Wait()
		return err
	}

	_ = send("k1", "hello, autorespond")
	_ = send("k1", "hello, autorespond") // same key: same message, no second report
	_ = send("k2", "error30006")         // accepted, then reported failed
	err := send("k3", "error21610")      // refused at once
	fmt.Println("refused:", string(herald.ClassOf(err)), herald.CodeOf(err))
	fmt.Println("calls for k1:", v.Calls("k1"), "distinct sends:", len(v.Sends()))

	// Output:
	// report: delivered (code "")
	// inbound: responding to hello, autorespond
	// report: failed (code "30006")
	// refused: opted-out 21610
	// calls for k1: 2 distinct sends: 2
}
