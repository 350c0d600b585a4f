// Command campaign runs a texting campaign the way Spoke does, on herald's
// embedded defaults: load contacts, scrub landlines (paid lookups, rate
// limited), reserve sending numbers per area code and start the campaign
// (which creates its messaging service), then text every contact with
// sticky-sender, numpicker and mms-when-cheaper choosing how, and finally
// archive it and release its numbers.
//
// Everything runs in process against the fake vendor: no configuration, no
// network. Run it with:
//
//	go run ./examples/campaign
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/campaignservices"
	"github.com/heraldmsg/herald/managers/mmswhencheaper"
	"github.com/heraldmsg/herald/managers/numpicker"
	"github.com/heraldmsg/herald/managers/scrub"
	"github.com/heraldmsg/herald/managers/stickysender"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

const org, campaign = "acme", "spring-drive"

func main() {
	ctx := context.Background()
	store := memstore.New()
	vendor := fake.New(fake.Options{})
	scrubber := scrub.New(scrub.Options{LookupsPerSecond: 200, Burst: 10, Concurrency: 4})
	defer scrubber.Close()

	d, err := dispatch.New(dispatch.Config{
		Store:   store,
		Vendors: []herald.Vendor{vendor},
		Managers: []herald.ServiceManager{
			scrubber,
			campaignservices.New(campaignservices.Options{}),
			stickysender.New(stickysender.Options{}),
			numpicker.New(numpicker.Options{}),
			mmswhencheaper.New(),
		},
		// The order matters and is checked: sticky-sender before numpicker,
		// mms-when-cheaper after both.
		EnabledManagers: []string{scrub.Name, campaignservices.Name, stickysender.Name, numpicker.Name, mmswhencheaper.Name},
	})
	if err != nil {
		log.Fatal(err)
	}
	vendor.Connect(d)
	// Two contacts per number, so the example needs few numbers.
	if _, err := store.PutOrganization(ctx, &herald.Organization{ID: org, Features: map[string]string{
		campaignservices.FeatureContactsPerNumber: "2",
	}}); err != nil {
		log.Fatal(err)
	}

	step("buy sending numbers in the contacts' area codes")
	for _, area := range []string{"415", "212"} {
		nums, err := d.BuyNumbers(ctx, org, vendor.Metadata().Name, herald.BuyNumbersParams{AreaCode: area, Limit: 3})
		must(err)
		fmt.Printf("   %d numbers in %s\n", len(nums), area)
	}

	step("create the campaign and load its contacts")
	_, err = d.CreateCampaign(ctx, &herald.Campaign{ID: campaign, OrgID: org, Title: "Spring drive"})
	must(err)
	// The fake's lookups call numbers ending in 2 landlines and in 3
	// nonexistent; one row is a duplicate and one is not a number.
	rows := []struct{ first, phone string }{
		{"Ada", "(415) 555-0101"}, {"Ben", "415-555-0112"}, {"Cy", "+1 415 555 0123"},
		{"Di", "212-555-0104"}, {"Ed", "212 555 0105"}, {"Flo", "(212) 555-0142"},
		{"Gus", "212-555-0104"}, {"Hal", "12345"},
	}
	stats, err := d.LoadContacts(ctx, org, campaign, func(yield func(*herald.Contact, error) bool) {
		for _, r := range rows {
			if !yield(&herald.Contact{FirstName: r.first, Phone: r.phone}, nil) {
				return
			}
		}
	}, dispatch.LoadOptions{LoaderName: "inline"})
	must(err)
	fmt.Printf("   read %d rows: %d loaded, %d duplicate, %d invalid\n", stats.Loaded, stats.FinalCount, stats.Duplicates, stats.InvalidCell)

	step("try to start before scrubbing")
	_, err = d.StartCampaign(ctx, org, campaign, "admin")
	fmt.Printf("   refused: %v\n", errors.Is(err, herald.ErrBlocked))

	step("scrub the numbers (paid lookups, rate limited)")
	_, err = d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: org, CampaignID: campaign, Manager: scrub.Name,
		Update: map[string]any{scrub.UpdateScrub: true}})
	must(err)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	must(scrubber.Wait(waitCtx))
	cancel()
	var kept []string
	for c, err := range store.ListContacts(ctx, org, campaign) {
		must(err)
		kept = append(kept, c.FirstName)
	}
	slices.Sort(kept)
	fmt.Printf("   %d paid lookups; contacts left: %s\n", vendor.Lookups(), strings.Join(kept, ", "))

	step("reserve numbers per area code and start")
	_, err = d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: org, CampaignID: campaign, Manager: campaignservices.Name,
		Update: map[string]any{campaignservices.UpdateReserve: true}})
	must(err)
	started, err := d.StartCampaign(ctx, org, campaign, "admin")
	must(err)
	fmt.Printf("   started with messaging service %s\n", started.MessagingServiceID)

	step("text every contact")
	var msgs []*herald.Message
	for c, err := range store.ListContacts(ctx, org, campaign) {
		must(err)
		body := "Hi " + c.FirstName + ", can we count on you Saturday?"
		if c.FirstName == "Ada" {
			// Curly quotes and an emoji make this UCS-2: four segments,
			// more than one MMS costs, so mms-when-cheaper sends it as MMS.
			body = "Hi Ada 👋 “Saturday” is the big day: doors open at 9, bring a friend, snacks are on us, and the bus leaves at 10 sharp from the library."
		}
		msgs = append(msgs, &herald.Message{OrgID: org, CampaignID: campaign, ContactID: c.ID, Channel: herald.ChannelSMS, To: c.Phone, Body: body})
	}
	for _, r := range d.SendBatch(ctx, msgs) {
		must(r.Err)
	}
	vendor.Wait()
	for _, s := range vendor.Sends() {
		route := s.Request.Route
		kind := "SMS"
		if route.ForceMMS {
			kind = "MMS"
		}
		fmt.Printf("   %-4s %s via %s as %s\n", s.Request.Contact.FirstName, kind, route.MessagingServiceID, s.Result.VendorMessageID)
	}

	step("archive and release the numbers")
	_, err = d.ArchiveCampaign(ctx, org, campaign, "admin")
	must(err)
	_, err = d.UpdateCampaign(ctx, dispatch.CampaignUpdate{OrgID: org, CampaignID: campaign, Manager: campaignservices.Name,
		Update: map[string]any{campaignservices.UpdateReleaseNumbers: true}})
	must(err)
	_, err = d.UnarchiveCampaign(ctx, org, campaign, "admin")
	fmt.Printf("   numbers released; unarchive refused: %v\n", errors.Is(err, herald.ErrBlocked))
}

var n int

func step(s string) {
	n++
	fmt.Printf("%d. %s\n", n, s)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
