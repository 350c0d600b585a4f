// Package storetest is the conformance suite for [herald.Store]: every rule
// written in the doc comments of the root package's store interfaces, checked
// on any implementation, under -race.
//
// A host that brings its own Store runs the suite from one of its tests:
//
//	package mystore_test
//
//	import (
//		"testing"
//
//		"github.com/heraldmsg/herald"
//		"github.com/heraldmsg/herald/stores/storetest"
//
//		"example.com/app/mystore"
//	)
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) herald.Store {
//			s := mystore.Open(t.TempDir()) // a fresh, empty store
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// and runs it with go test -race. stores/memstore and stores/sqlstore do
// exactly this.
//
// newStore is called once per subtest and must return an empty store (the
// work-queue tests claim every due message in the store, across
// organizations). Subtests use their own organization, message, contact and
// key IDs, so a store that is cleaned between calls rather than recreated is
// fine. Timestamps the suite compares are whole milliseconds in UTC, so a
// store may keep microseconds; a store may hand back empty maps and slices
// for nil ones.
//
// Where the interface leaves a choice open, the suite accepts every reading
// (for example the Channel an mms opt-out is recorded with, or the order of
// ListOptOuts).
package storetest

import (
	"testing"

	"github.com/heraldmsg/herald"
)

// newStoreFunc is Run's constructor argument.
type newStoreFunc = func(t *testing.T) herald.Store

// Run checks s := newStore(t) against every rule of herald.Store, as
// subtests of t grouped by interface: Context, CreateMessage, MessageLookups,
// UpdateMessage, MessageEvents, ClaimDue, ClaimMessage, ReleaseLease,
// Contacts, Devices, OptOuts, Campaigns, Organizations, Numbers, State,
// Webhooks, OrgScoping and Copies. Select a part with go test -run, e.g.
// -run 'TestConformance/UpdateMessage'.
func Run(t *testing.T, newStore func(t *testing.T) herald.Store) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storetest.Run: nil newStore")
	}
	groups := []struct {
		name string
		run  func(*testing.T, newStoreFunc)
	}{
		{"Context", testContext},
		{"CreateMessage", testCreateMessage},
		{"MessageLookups", testMessageLookups},
		{"UpdateMessage", testUpdateMessage},
		{"MessageEvents", testMessageEvents},
		{"ClaimDue", testClaimDue},
		{"ClaimMessage", testClaimMessage},
		{"ReleaseLease", testReleaseLease},
		{"Contacts", testContacts},
		{"Devices", testDevices},
		{"OptOuts", testOptOuts},
		{"Campaigns", testCampaigns},
		{"Organizations", testOrganizations},
		{"Numbers", testNumbers},
		{"State", testState},
		{"Webhooks", testWebhooks},
		{"OrgScoping", testOrgScoping},
		{"Copies", testCopies},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, newStore) })
	}
}
