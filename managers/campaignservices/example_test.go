package campaignservices_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/campaignservices"
	"github.com/heraldmsg/herald/vendors/fake"
)

// A campaign with its own messaging service: reserve numbers in the
// contacts' area codes, start (the service is created and holds the
// numbers), send through it, and release the numbers after archiving.
func Example() {
	ctx := context.Background()
	v := fake.New(fake.Options{Quiet: true})
	d, err := dispatch.New(dispatch.Config{
		Vendors:         []herald.Vendor{v},
		Managers:        []herald.ServiceManager{campaignservices.New(campaignservices.Options{ContactsPerNumber: 2})},
		EnabledManagers: []string{campaignservices.Name},
	})
	if err != nil {
		panic(err)
	}
	if _, err := d.BuyNumbers(ctx, "org1", "fake", herald.BuyNumbersParams{AreaCode: "415", Limit: 2}); err != nil {
		panic(err)
	}
	if _, err := d.CreateCampaign(ctx, &herald.Campaign{ID: "fall", OrgID: "org1"}); err != nil {
		panic(err)
	}
	_, err = d.LoadContacts(ctx, "org1", "fall", func(yield func(*herald.Contact, error) bool) {
		for _, phone := range []string{"(415) 555-0101", "(415) 555-0102", "(415) 555-0105"} {
			if !yield(&herald.Contact{Phone: phone}, nil) {
				return
			}
		}
	}, dispatch.LoadOptions{})
	if err != nil {
		panic(err)
	}

	md, err := d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "fall",
		Manager: campaignservices.Name, Update: map[string]any{campaignservices.UpdateReserve: true}})
	if err != nil {
		panic(err)
	}
	fmt.Println("needed:", md.Data["needed"], "reserved:", md.Data["reserved"])

	c, err := d.StartCampaign(ctx, "org1", "fall", "admin")
	if err != nil {
		panic(err)
	}
	fmt.Println("services at the vendor:", len(v.MessagingServiceList("org1")))
	res, err := d.Send(ctx, &herald.Message{OrgID: "org1", CampaignID: "fall", Channel: herald.ChannelSMS, To: "+14155550101", Body: "Hi"})
	if err != nil {
		panic(err)
	}
	fmt.Println("sent through the campaign's service:", res.Message.MessagingServiceID == c.MessagingServiceID)

	if _, err := d.ArchiveCampaign(ctx, "org1", "fall", "admin"); err != nil {
		panic(err)
	}
	_, err = d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: "org1", CampaignID: "fall",
		Manager: campaignservices.Name, Update: map[string]any{campaignservices.UpdateReleaseNumbers: true}})
	if err != nil {
		panic(err)
	}
	_, err = d.UnarchiveCampaign(ctx, "org1", "fall", "admin")
	fmt.Println("unarchive after release refused:", errors.Is(err, herald.ErrBlocked))
	// Output:
	// needed: 2 reserved: 2
	// services at the vendor: 1
	// sent through the campaign's service: true
	// unarchive after release refused: true
}
