package mmswhencheaper_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/mmswhencheaper"
	"github.com/heraldmsg/herald/vendors/fake"
)

// Register the manager and enable it: the fake vendor's prices (0.0075 a
// segment, 0.02 an MMS) make three segments or more go as one MMS.
func ExampleNew() {
	ctx := context.Background()
	v := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{
		Vendors:         []herald.Vendor{v},
		Managers:        []herald.ServiceManager{mmswhencheaper.New()},
		EnabledManagers: []string{mmswhencheaper.Name},
	})
	if err != nil {
		panic(err)
	}
	for _, words := range []int{30, 60, 62} {
		body := strings.Repeat("word ", words) // 5 GSM-7 characters a word
		if _, err := d.Send(ctx, &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, To: "+14155552671", Body: body}); err != nil {
			panic(err)
		}
	}
	v.Wait()
	for _, s := range v.Sends() {
		fmt.Printf("%d characters: force MMS %v\n", len(s.Request.Message.Body), s.Request.Route.ForceMMS)
	}
	// Output:
	// 150 characters: force MMS false
	// 300 characters: force MMS false
	// 310 characters: force MMS true
}

// An organization can set the ratio itself; it wins over the vendor's
// prices.
func ExampleFeatureCostRatio() {
	org := &herald.Organization{ID: "org1", Features: map[string]string{
		mmswhencheaper.FeatureCostRatio: "1.5", // an MMS costs 1.5 segments
	}}
	ev := &herald.MessageSendEvent{
		Organization: org,
		Message:      &herald.Message{OrgID: "org1", Channel: herald.ChannelSMS, Body: strings.Repeat("x", 200)},
		Route:        &herald.Route{},
	}
	_ = mmswhencheaper.New().OnMessageSend(context.Background(), ev)
	fmt.Println("2 segments > 1.5: force MMS", ev.Route.ForceMMS)
	// Output:
	// 2 segments > 1.5: force MMS true
}
