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
// and runs it with go test -race. stores/memstore does exactly this in its
// memstore_test.go.
//
// newStore is called once per subtest and must return an empty store (the
// work-queue tests claim every due message in the store, across
// organizations). Subtests use their own organization, message, contact and
// key IDs, so a store that is cleaned between calls rather than recreated is
// fine. Timestamps the suite compares are whole milliseconds in UTC, so a
// store may keep microseconds; a store may hand back empty maps and slices
// for nil ones.
//
// Where the doc comments are terse, the suite holds a store to these
// readings:
//
//   - Message IDs are unique in the store (Message.ID): creating a message
//     whose ID another organization uses is ErrConflict, while reading it
//     from the other organization is ErrNotFound.
//   - ListMessages is ordered by CreatedAt; TakePendingReports by the
//     reports' At; ClaimDue by SendAt, where a zero SendAt is the earliest,
//     then CreatedAt. ClaimDue spans organizations.
//   - A lease holds until its LeaseUntil; a message whose SendAt equals the
//     claim's Now is due.
//   - Non-zero timestamps passed in (CreatedAt, UpdatedAt, At) are stored as
//     given; only zero ones become now. Claiming changes nothing but the
//     lease (and perhaps UpdatedAt).
//   - Deleting an absent contact or state key is ErrNotFound (the rule for
//     every method); an absent opt-out is reported by DeleteOptOut's bool.
//   - A contact of the wrong organization or campaign makes
//     ReplaceCampaignContacts fail with ErrInvalidInput.
//   - A cancelled context makes every method fail with an error wrapping
//     context.Canceled, and nothing is written.
//
// Where the interface leaves a choice open, the suite accepts every reading:
// the Channel an mms opt-out is recorded with, which of two matching
// opt-outs FindOptOut returns, the order of ListOptOuts, which free numbers
// AllocateNumbers picks, what UpdateMessage returns with ErrConflict,
// whether a sending message that never had a lease is due, and how
// LatestMessageTo breaks a tie between equal CreatedAt values.
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
