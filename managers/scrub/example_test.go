package scrub_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/managers/scrub"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/fake"
)

// Scrub a campaign before starting it: the start is refused until the
// lookup job has run, and the job removes the numbers that cannot take
// texts.
func Example() {
	ctx := context.Background()
	m := scrub.New(scrub.Options{LookupsPerSecond: 100, Burst: 10})
	defer m.Close() // stops the manager's jobs and waits for them

	v := fake.New(fake.Options{})
	d, err := dispatch.New(dispatch.Config{
		Store:           memstore.New(),
		Vendors:         []herald.Vendor{v},
		Managers:        []herald.ServiceManager{m},
		EnabledManagers: []string{scrub.Name},
	})
	if err != nil {
		panic(err)
	}
	if _, err := d.CreateCampaign(ctx, &herald.Campaign{ID: "spring", OrgID: "org1"}); err != nil {
		panic(err)
	}
	// The fake vendor classifies a number by its last digit: 2 landline,
	// 3 nonexistent, anything else mobile.
	_, err = d.LoadContacts(ctx, "org1", "spring", func(yield func(*herald.Contact, error) bool) {
		for _, phone := range []string{"+14155550101", "+14155550102", "+14155550103", "+14155550105"} {
			if !yield(&herald.Contact{Phone: phone}, nil) {
				return
			}
		}
	}, dispatch.LoadOptions{})
	if err != nil {
		panic(err)
	}

	_, err = d.StartCampaign(ctx, "org1", "spring", "admin")
	fmt.Println("start before scrubbing refused:", errors.Is(err, herald.ErrBlocked))

	_, err = d.UpdateCampaign(ctx, dispatch.CampaignUpdate{
		OrgID: "org1", CampaignID: "spring", Manager: scrub.Name,
		Update: map[string]any{scrub.UpdateScrub: true},
	})
	if err != nil {
		panic(err)
	}
	// A host polls CampaignData while StartPolling is true; here we wait.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.Wait(wctx); err != nil {
		panic(err)
	}
	data, err := d.CampaignData(ctx, "org1", "spring", false)
	if err != nil {
		panic(err)
	}
	fmt.Println("status:", data[0].Data["status"], "paid:", data[0].Data["paid"], "removed:", data[0].Data["removed"])

	_, err = d.StartCampaign(ctx, "org1", "spring", "admin")
	fmt.Println("start after scrubbing:", err)
	// Output:
	// start before scrubbing refused: true
	// status: finished paid: 4 removed: 2
	// start after scrubbing: <nil>
}
