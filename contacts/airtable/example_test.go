package airtable_test

import (
	"context"
	"fmt"
	"time"

	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/contacts/airtable"
)

func ExampleNew() {
	// A stand-in for api.airtable.com; a host leaves BaseURL empty.
	server := newFakeAirtable(airtable.Penalty)
	defer server.Close()
	server.add(map[string]any{"id": "42", "name": "Ada Lovelace", "sms": "+14155552671", "owner": "grace@example.com", "notes": "VIP"})

	client, err := airtable.New(airtable.Options{
		BaseID: "appTEST", Table: "Customers", Token: "patTEST", View: "Grid view",
		BaseURL: server.URL,
	})
	if err != nil {
		panic(err)
	}
	cache := contacts.NewCachedSource(client, contacts.CacheOptions{TTL: time.Minute})
	ctx := context.Background()
	list, _, err := cache.List(ctx, "grace@example.com", contacts.PageRequest{})
	if err != nil {
		panic(err)
	}
	for _, c := range list {
		fmt.Println(c.FirstName, c.LastName, c.ExternalID, c.CustomFields["notes"])
	}
	// Output:
	// Ada Lovelace 42 VIP
}

func ExampleClient_Formula() {
	client, _ := airtable.New(airtable.Options{BaseID: "app", Table: "Customers", Token: "t"})
	f, _ := client.Formula(contacts.ListParams{Owner: `x", TRUE(), "`})
	fmt.Println(f)
	// Output:
	// {owner} = "x\", TRUE(), \""
}
