package contacts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/vendors/fake"
)

func ExampleNewCSVLoader() {
	ctx := context.Background()
	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{fake.New(fake.Options{Quiet: true})}})
	if err != nil {
		panic(err)
	}
	if _, err := d.CreateCampaign(ctx, &herald.Campaign{ID: "gotv", OrgID: "acme"}); err != nil {
		panic(err)
	}
	file := "First Name,Last Name,Mobile,Zip,Polling Place\r\n" +
		"Ada,Lovelace,(415) 555-2671,02139,Town Hall\r\n" +
		"Bob,Smith,415.555.2671,94110,Library\r\n" + // the same number: a duplicate
		"Cy,Jones,12345,60601,School\r\n" + // not a phone number
		"Di,Brown,,10001,Church\r\n" // no cell
	loader := contacts.NewCSVLoader(strings.NewReader(file), contacts.CSVOptions{Detail: "gotv.csv"})
	stats, err := d.LoadContacts(ctx, "acme", "gotv", loader.Load(ctx), dispatch.LoadOptions{LoaderName: loader.Metadata().Name})
	if err != nil {
		panic(err)
	}
	fmt.Println("loaded", stats.Loaded, "kept", stats.FinalCount, "duplicates", stats.Duplicates,
		"invalid", stats.InvalidCell, "missing", stats.MissingCell)

	// A file without the required columns says which are missing.
	_, err = d.LoadContacts(ctx, "acme", "gotv", contacts.ReadCSV(ctx, strings.NewReader("name,phone\n"), contacts.CSVOptions{}), dispatch.LoadOptions{})
	var missing *contacts.MissingColumnsError
	fmt.Println(errors.As(err, &missing), missing.Missing)
	// Output:
	// loaded 4 kept 1 duplicates 1 invalid 1 missing 1
	// true [first_name last_name]
}

func ExampleParseTemplate() {
	t, err := contacts.ParseTemplate("Hi {firstName}! Vote at {{ Polling Place }} on Tuesday.")
	if err != nil {
		panic(err)
	}
	c := &herald.Contact{FirstName: "Ada", CustomFields: map[string]string{"Polling Place": "Town Hall"}}
	r, err := t.Render(c, contacts.RenderOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Text, r.Encoding, r.Segments)

	_, err = contacts.ParseTemplate("Hi {firstName")
	fmt.Println(err)
	_, err = contacts.MustParseTemplate("{shoeSize}").Render(c, contacts.RenderOptions{})
	fmt.Println(err)
	// Output:
	// Hi Ada! Vote at Town Hall on Tuesday. GSM-7 1
	// contacts: template: "{" is not closed by "}" at byte 3
	// contacts: template needs fields the contact lacks: shoeSize
}

func ExampleTemplatesByCategory() {
	mk := func(category, text string) *contacts.Template {
		t := contacts.MustParseTemplate(text)
		t.Category = category
		return t
	}
	templates := []*contacts.Template{
		mk("Greetings", "Hello {{display_name}}"),
		mk("Scheduling", "Are you free on Monday, {{first_name}}?"),
		mk("Greetings", "Welcome back!"),
	}
	c := &herald.Contact{FirstName: "Ada", LastName: "Lovelace"}
	cats, _ := contacts.TemplatesByCategory(templates, c, contacts.RenderOptions{})
	for _, cat := range cats {
		for _, t := range cat.Templates {
			fmt.Printf("%s: %s\n", cat.Category, t.Text)
		}
	}
	// Output:
	// Greetings: Hello Ada Lovelace
	// Greetings: Welcome back!
	// Scheduling: Are you free on Monday, Ada?
}

func ExampleTimezoneFor() {
	tz, _ := contacts.TimezoneFor("32501", "+14155552671") // the ZIP code wins
	fmt.Println(tz)
	tz, _ = contacts.TimezoneFor("", "+14155552671")
	fmt.Println(tz)
	_, ok := contacts.TimezoneFor("", "")
	fmt.Println(ok)
	// Output:
	// America/Chicago
	// America/Los_Angeles
	// false
}

func ExampleNewRoundRobin() {
	ctx := context.Background()
	owners := func(context.Context, string) ([]string, error) { return []string{"ann", "bob"}, nil }
	var router contacts.Router = contacts.NewRoundRobin(owners)
	for range 3 {
		o, _ := router.Route(ctx, &herald.InboundMessage{OrgID: "acme", From: "+14155552671"})
		fmt.Println(o)
	}
	// Output:
	// ann
	// bob
	// ann
}

// crm is a tiny in-memory Source for the example.
type crm map[string]*herald.Contact

func (c crm) List(_ context.Context, p contacts.ListParams) ([]*herald.Contact, string, error) {
	var out []*herald.Contact
	for _, ct := range c {
		if (p.Owner == "" || ct.Owner == p.Owner) && !ct.UpdatedAt.Before(p.ModifiedSince) {
			out = append(out, ct.Clone())
		}
	}
	return out, "", nil
}

func (c crm) Get(_ context.Context, id string) (*herald.Contact, error) {
	if ct, ok := c[id]; ok {
		return ct.Clone(), nil
	}
	return nil, herald.ErrNotFound
}

func (c crm) FindByAddress(_ context.Context, addr string) (*herald.Contact, error) {
	for _, ct := range c {
		if ct.Phone == addr {
			return ct.Clone(), nil
		}
	}
	return nil, herald.ErrNotFound
}

func ExampleNewCachedSource() {
	ctx := context.Background()
	now := time.Now()
	src := crm{
		"r1": {ID: "r1", FirstName: "Ada", Owner: "ann", Phone: "+14155552671", UpdatedAt: now},
		"r2": {ID: "r2", FirstName: "Bob", Owner: "bob", Phone: "+14155552672", UpdatedAt: now},
		"r3": {ID: "r3", FirstName: "Cy", Owner: "ann", Phone: "+14155552673", UpdatedAt: now},
	}
	cache := contacts.NewCachedSource(src, contacts.CacheOptions{TTL: time.Minute})
	page, next, _ := cache.List(ctx, "ann", contacts.PageRequest{Limit: 1})
	fmt.Println(page[0].FirstName, next)
	page, next, _ = cache.List(ctx, "ann", contacts.PageRequest{After: next, Limit: 1})
	fmt.Println(page[0].FirstName, next == "")
	c, _ := cache.FindByAddress(ctx, "(415) 555-2672", "US")
	fmt.Println(c.FirstName, c.Owner)
	// Output:
	// Ada r1
	// Cy true
	// Bob bob
}
