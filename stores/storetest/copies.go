package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

// Mutators change every kind of field a value holds: scalars, slices, maps
// and pointed-to structs.

func mutateMsg(m *herald.Message) {
	m.Body = "mutated"
	m.Status = herald.StatusFailed
	m.LeaseOwner = "mutated"
	if len(m.Media) > 0 {
		m.Media[0] = "mutated"
	}
	m.Data["d"] = "mutated"
	m.Meta["m"] = "mutated"
	m.Meta["new"] = "mutated"
}

func mutateContact(c *herald.Contact) {
	c.FirstName = "mutated"
	c.CustomFields["team"] = "mutated"
	if len(c.Devices) > 0 {
		c.Devices[0].Platform = "mutated"
	}
	if c.Lookup != nil {
		c.Lookup.Carrier = "mutated"
	}
}

func mutateCampaign(c *herald.Campaign) {
	c.Title = "mutated"
	c.State = herald.CampaignArchived
	c.Features["flag"] = "mutated"
}

func mutateOrg(o *herald.Organization) {
	o.Name = "mutated"
	o.Features["f"] = "mutated"
	o.VendorConfig["alpha"]["key"] = "mutated"
}

func testCopies(t *testing.T, newStore newStoreFunc) {
	t.Run("Messages", func(t *testing.T) {
		f := setup(t, newStore)
		// Each case returns a message the store handed out; the stored
		// message is read right after the call and must not change when
		// the handed-out one is mutated.
		cases := []struct {
			name string
			call func(f *fixture, m *herald.Message) *herald.Message
		}{
			{"CreateMessage", func(f *fixture, m *herald.Message) *herald.Message { return m }},
			{"CreateMessageExisting", func(f *fixture, m *herald.Message) *herald.Message {
				got, created, err := f.s.CreateMessage(f.ctx, m)
				require.NoError(f.t, err)
				require.False(f.t, created)
				return got
			}},
			{"GetMessage", func(f *fixture, m *herald.Message) *herald.Message { return f.get(f.org, m.ID) }},
			{"GetMessageByKey", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.GetMessageByKey(f.ctx, f.org, m.IdempotencyKey)
				require.NoError(f.t, err)
				return got
			}},
			{"FindMessageByVendorID", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.FindMessageByVendorID(f.ctx, f.org, m.Vendor, m.VendorMessageID)
				require.NoError(f.t, err)
				return got
			}},
			{"LatestMessageTo", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.LatestMessageTo(f.ctx, f.org, m.To)
				require.NoError(f.t, err)
				return got
			}},
			{"ListMessages", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.ListMessages(f.ctx, herald.MessageFilter{OrgID: f.org, ContactID: m.ContactID})
				require.NoError(f.t, err)
				require.Len(f.t, got, 1)
				return got[0]
			}},
			{"UpdateMessage", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: herald.StatusScheduled})
				require.NoError(f.t, err)
				return got
			}},
			{"UpdateMessageStale", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.UpdateMessage(f.ctx, &herald.MessageUpdate{OrgID: f.org, ID: m.ID, Status: herald.StatusQueued})
				require.ErrorIs(f.t, err, herald.ErrStaleStatus)
				return got
			}},
			{"ClaimMessage", func(f *fixture, m *herald.Message) *herald.Message {
				got, err := f.s.ClaimMessage(f.ctx, f.org, m.ID, f.claimParams("w1", f.base, 0))
				require.NoError(f.t, err)
				return got
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				m := f.createMsg(func(m *herald.Message) {
					m.To, m.ContactID = uniquePhone(), uid("contact")
					m.Vendor, m.VendorMessageID = "alpha", uid("vmid")
				})
				out := tc.call(f, m)
				require.NotNil(t, out)
				before := normMsg(f.get(f.org, m.ID))
				mutateMsg(out)
				assert.Equal(t, before, normMsg(f.get(f.org, m.ID)))
			})
		}
	})

	t.Run("ClaimDue", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		got := f.claimDue("w1", f.base, 0)
		require.Len(t, got, 1)
		before := normMsg(f.get(f.org, m.ID))
		mutateMsg(got[0])
		assert.Equal(t, before, normMsg(f.get(f.org, m.ID)))
	})

	t.Run("MessageInput", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.newMsg()
		f.create(m)
		before := normMsg(f.get(f.org, m.ID))
		mutateMsg(m)
		assert.Equal(t, before, normMsg(f.get(f.org, m.ID)))
	})

	t.Run("MessageEvents", func(t *testing.T) {
		f := setup(t, newStore)
		m := f.createMsg()
		evs := f.events(f.org, m.ID)
		want := normEvents(evs)
		evs[0].Reason, evs[0].Status = "mutated", herald.StatusFailed
		_ = append(evs[:1], herald.StatusEvent{Reason: "appended"})
		assert.Equal(t, want, normEvents(f.events(f.org, m.ID)))
	})

	t.Run("Contacts", func(t *testing.T) {
		f := setup(t, newStore)
		camp := uid("camp")
		cases := []struct {
			name string
			// call stores or reads c and returns what it handed to or got
			// from the store.
			call func(f *fixture, c *herald.Contact) *herald.Contact
		}{
			{"PutContactInput", func(f *fixture, c *herald.Contact) *herald.Contact { f.putContact(c); return c }},
			{"PutContactResult", func(f *fixture, c *herald.Contact) *herald.Contact { return f.putContact(c) }},
			{"GetContact", func(f *fixture, c *herald.Contact) *herald.Contact {
				f.putContact(c)
				return f.getContact(f.org, c.ID)
			}},
			{"FindContactByAddress", func(f *fixture, c *herald.Contact) *herald.Contact {
				f.putContact(c)
				got, err := f.s.FindContactByAddress(f.ctx, f.org, c.Phone)
				require.NoError(f.t, err)
				return got
			}},
			{"ListContacts", func(f *fixture, c *herald.Contact) *herald.Contact {
				f.putContact(c)
				for got, err := range f.s.ListContacts(f.ctx, f.org, "") {
					require.NoError(f.t, err)
					if got.ID == c.ID {
						return got
					}
				}
				f.t.Fatal("contact not listed")
				return nil
			}},
			{"ReplaceCampaignContactsInput", func(f *fixture, c *herald.Contact) *herald.Contact {
				c.CampaignID = camp
				require.NoError(f.t, f.s.ReplaceCampaignContacts(f.ctx, f.org, camp, []*herald.Contact{c}))
				return c
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				c := f.newContact()
				out := tc.call(f, c)
				before := normContact(f.getContact(f.org, c.ID))
				mutateContact(out)
				assert.Equal(t, before, normContact(f.getContact(f.org, c.ID)))
			})
		}
	})

	t.Run("Campaigns", func(t *testing.T) {
		f := setup(t, newStore)
		cases := []struct {
			name string
			call func(f *fixture, c *herald.Campaign) *herald.Campaign
		}{
			{"PutCampaignInput", func(f *fixture, c *herald.Campaign) *herald.Campaign { f.putCampaign(c); return c }},
			{"PutCampaignResult", func(f *fixture, c *herald.Campaign) *herald.Campaign { return f.putCampaign(c) }},
			{"GetCampaign", func(f *fixture, c *herald.Campaign) *herald.Campaign {
				f.putCampaign(c)
				got, err := f.s.GetCampaign(f.ctx, f.org, c.ID)
				require.NoError(f.t, err)
				return got
			}},
			{"UpdateCampaignInput", func(f *fixture, c *herald.Campaign) *herald.Campaign {
				f.putCampaign(c)
				next := c.Clone()
				next.State = herald.CampaignStarted
				_, err := f.s.UpdateCampaign(f.ctx, next, herald.CampaignDraft)
				require.NoError(f.t, err)
				return next
			}},
			{"UpdateCampaignResult", func(f *fixture, c *herald.Campaign) *herald.Campaign {
				f.putCampaign(c)
				next := c.Clone()
				next.State = herald.CampaignStarted
				got, err := f.s.UpdateCampaign(f.ctx, next, herald.CampaignDraft)
				require.NoError(f.t, err)
				return got
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				c := f.newCampaign()
				out := tc.call(f, c)
				stored, err := f.s.GetCampaign(f.ctx, f.org, c.ID)
				require.NoError(t, err)
				before := normCampaign(stored)
				mutateCampaign(out)
				after, err := f.s.GetCampaign(f.ctx, f.org, c.ID)
				require.NoError(t, err)
				assert.Equal(t, before, normCampaign(after))
			})
		}
	})

	t.Run("Organizations", func(t *testing.T) {
		f := setup(t, newStore)
		cases := []struct {
			name string
			call func(f *fixture, o *herald.Organization) *herald.Organization
		}{
			{"PutOrganizationInput", func(f *fixture, o *herald.Organization) *herald.Organization {
				_, err := f.s.PutOrganization(f.ctx, o)
				require.NoError(f.t, err)
				return o
			}},
			{"PutOrganizationResult", func(f *fixture, o *herald.Organization) *herald.Organization {
				got, err := f.s.PutOrganization(f.ctx, o)
				require.NoError(f.t, err)
				return got
			}},
			{"GetOrganization", func(f *fixture, o *herald.Organization) *herald.Organization {
				_, err := f.s.PutOrganization(f.ctx, o)
				require.NoError(f.t, err)
				got, err := f.s.GetOrganization(f.ctx, o.ID)
				require.NoError(f.t, err)
				return got
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := f.in(t)
				o := &herald.Organization{ID: uid("org"), Name: "Acme", CreatedAt: f.base,
					Features:     map[string]string{"f": "1"},
					VendorConfig: map[string]map[string]string{"alpha": {"key": "secret"}}}
				out := tc.call(f, o)
				stored, err := f.s.GetOrganization(f.ctx, o.ID)
				require.NoError(t, err)
				before := normOrg(stored)
				mutateOrg(out)
				after, err := f.s.GetOrganization(f.ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, before, normOrg(after))
			})
		}
	})

	t.Run("OptOuts", func(t *testing.T) {
		f := setup(t, newStore)
		o := f.newOptOut(herald.ChannelSMS, uniquePhone())
		f.putOptOut(o)
		want := normOptOut(o)
		o.Reason, o.At = "mutated", f.at(time.Hour)
		found, err := f.s.FindOptOut(f.ctx, f.org, herald.ChannelSMS, o.Address)
		require.NoError(t, err)
		assert.Equal(t, want, normOptOut(found), "input mutated after PutOptOut")
		found.Reason = "mutated"
		list, err := f.s.ListOptOuts(f.ctx, f.org)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, want, normOptOut(list[0]), "FindOptOut result mutated")
		list[0].Reason = "mutated"
		found, err = f.s.FindOptOut(f.ctx, f.org, herald.ChannelSMS, o.Address)
		require.NoError(t, err)
		assert.Equal(t, want, normOptOut(found), "ListOptOuts result mutated")
	})

	t.Run("Numbers", func(t *testing.T) {
		f := setup(t, newStore)
		ns := []herald.OwnedNumber{f.number("alpha", "212"), f.number("alpha", "212")}
		require.NoError(t, f.s.AddNumbers(f.ctx, ns))
		want := normNumbers(f.listNumbers(herald.NumberFilter{}))
		ns[0].AreaCode = "mutated"
		got := f.listNumbers(herald.NumberFilter{})
		assert.Equal(t, want, normNumbers(got))
		got[0].AreaCode = "mutated"
		assert.Equal(t, want, normNumbers(f.listNumbers(herald.NumberFilter{})))
	})

	t.Run("State", func(t *testing.T) {
		f := setup(t, newStore)
		k := f.stateKey()
		in := []byte("abc")
		require.NoError(t, f.s.PutState(f.ctx, k, in))
		in[0] = 'X'
		out, err := f.s.GetState(f.ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "abc", string(out), "PutState input mutated")
		out[0] = 'Y'
		again, err := f.s.GetState(f.ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "abc", string(again), "GetState result mutated")
		val := []byte("def")
		ok, err := f.s.CompareAndSwapState(f.ctx, k, []byte("abc"), val)
		require.NoError(t, err)
		require.True(t, ok)
		val[0] = 'Z'
		again, err = f.s.GetState(f.ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "def", string(again), "CompareAndSwapState value mutated")
	})

	t.Run("PendingReports", func(t *testing.T) {
		f := setup(t, newStore)
		r := &herald.DeliveryReport{OrgID: f.org, Vendor: "alpha", VendorMessageID: uid("vmid"),
			Status: herald.StatusSent, At: f.base, Raw: map[string]string{"k": "v"}}
		require.NoError(t, f.s.SavePendingReport(f.ctx, r))
		want := normReport(r)
		r.Raw["k"], r.Status = "mutated", herald.StatusFailed
		got, err := f.s.TakePendingReports(f.ctx, f.org, "alpha", r.VendorMessageID)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, want, normReport(got[0]))
	})
}
