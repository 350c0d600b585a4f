package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

// newContact returns a complete, unsaved contact of f.org updated at base.
func (f *fixture) newContact(mods ...func(*herald.Contact)) *herald.Contact {
	id := uid("contact")
	c := &herald.Contact{
		ID:           id,
		OrgID:        f.org,
		ExternalID:   "ext-" + id,
		FirstName:    "Ada",
		LastName:     "Lovelace",
		Phone:        uniquePhone(),
		Email:        id + "@example.com",
		Zip:          "10001",
		Owner:        "texter-1",
		CustomFields: map[string]string{"team": "blue"},
		Devices: []herald.Device{{
			Channel: herald.ChannelFCM, Token: "tok-" + id, Platform: "android", CreatedAt: f.base,
		}},
		Timezone:  "America/New_York",
		Lookup:    &herald.LookupResult{Number: "+15550000000", Carrier: "carrier", LineType: "mobile", StatusCode: herald.LookupTextable, LookedUpAt: f.base},
		CreatedAt: f.base,
		UpdatedAt: f.base,
	}
	for _, mod := range mods {
		mod(c)
	}
	return c
}

func (f *fixture) putContact(c *herald.Contact) *herald.Contact {
	f.t.Helper()
	got, err := f.s.PutContact(f.ctx, c)
	require.NoError(f.t, err, "PutContact")
	return got
}

func (f *fixture) getContact(orgID, id string) *herald.Contact {
	f.t.Helper()
	c, err := f.s.GetContact(f.ctx, orgID, id)
	require.NoError(f.t, err, "GetContact")
	return c
}

func inCampaign(id string) func(*herald.Contact) {
	return func(c *herald.Contact) { c.CampaignID = id }
}

func updatedAt(t time.Time) func(*herald.Contact) {
	return func(c *herald.Contact) { c.UpdatedAt = t }
}

func testContacts(t *testing.T, newStore newStoreFunc) {
	t.Run("PutGet", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.newContact()
		got := f.putContact(c)
		assert.Equal(t, normContact(c), normContact(got), "returned contact")
		assert.Equal(t, normContact(c), normContact(f.getContact(f.org, c.ID)), "GetContact")
	})

	t.Run("ReplaceKeepsCreatedAt", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.newContact()
		f.putContact(c)
		c2 := f.newContact(func(n *herald.Contact) {
			n.ID = c.ID
			n.FirstName = "Grace"
			n.CreatedAt = f.at(time.Hour)
			n.UpdatedAt = f.at(time.Hour)
		})
		got := f.putContact(c2)
		want := c2.Clone()
		want.CreatedAt = c.CreatedAt
		assert.Equal(t, normContact(want), normContact(got))
		assert.Equal(t, normContact(want), normContact(f.getContact(f.org, c.ID)))
	})

	t.Run("ZeroTimestampsSetToNow", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.newContact(func(c *herald.Contact) { c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{} })
		got := f.putContact(c)
		assert.False(t, got.CreatedAt.IsZero())
		assert.False(t, got.UpdatedAt.IsZero())
	})

	t.Run("RequiredFields", func(t *testing.T) {
		f := setup(t, newStore)
		for name, mod := range map[string]func(*herald.Contact){
			"OrgID": func(c *herald.Contact) { c.OrgID = "" },
			"ID":    func(c *herald.Contact) { c.ID = "" },
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.s.PutContact(f.ctx, f.newContact(mod))
				assert.ErrorIs(t, err, herald.ErrInvalidInput)
			})
		}
		assert.Empty(t, collect(t, f.s.ListContacts(f.ctx, f.org, "")), "nothing stored")
	})

	t.Run("GetNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.s.GetContact(f.ctx, f.org, uid("missing"))
		assert.ErrorIs(t, err, herald.ErrNotFound)
	})

	t.Run("FindContactByAddress", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putContact(f.newContact())
		for name, addr := range map[string]string{
			"Phone": c.Phone, "Email": c.Email, "DeviceToken": c.Devices[0].Token,
		} {
			t.Run(name, func(t *testing.T) {
				got, err := f.s.FindContactByAddress(f.ctx, f.org, addr)
				require.NoError(t, err)
				assert.Equal(t, c.ID, got.ID)
			})
		}
		t.Run("Unknown", func(t *testing.T) {
			_, err := f.s.FindContactByAddress(f.ctx, f.org, "+15550009999")
			assert.ErrorIs(t, err, herald.ErrNotFound)
		})
		t.Run("OtherOrg", func(t *testing.T) {
			_, err := f.s.FindContactByAddress(f.ctx, f.org2, c.Phone)
			assert.ErrorIs(t, err, herald.ErrNotFound)
		})
	})

	t.Run("FindContactByAddressMostRecentlyUpdated", func(t *testing.T) {
		f := setup(t, newStore)
		const phone = "+15555550142"
		email, token := uid("shared")+"@example.com", uid("tok")
		share := func(c *herald.Contact) {
			c.Phone, c.Email = phone, email
			c.Devices = []herald.Device{{Channel: herald.ChannelAPNs, Token: token, CreatedAt: f.base}}
		}
		find := func(addr string) string {
			t.Helper()
			got, err := f.s.FindContactByAddress(f.ctx, f.org, addr)
			require.NoError(t, err)
			return got.ID
		}
		a := f.putContact(f.newContact(share, updatedAt(f.at(2*time.Second))))
		b := f.putContact(f.newContact(share, updatedAt(f.at(1*time.Second))))
		// Another organization's newer contact does not count.
		f.putContact(f.newContact(share, updatedAt(f.at(time.Hour)), func(c *herald.Contact) { c.OrgID = f.org2 }))
		for _, addr := range []string{phone, email, token} {
			assert.Equal(t, a.ID, find(addr), "newest UpdatedAt wins, not the last put")
		}
		b.UpdatedAt = f.at(3 * time.Second)
		f.putContact(b)
		for _, addr := range []string{phone, email, token} {
			assert.Equal(t, b.ID, find(addr), "after an update")
		}
		// The winner stops matching: the other one is found.
		b.Phone = "+15555550143"
		b.UpdatedAt = f.at(4 * time.Second)
		f.putContact(b)
		assert.Equal(t, a.ID, find(phone))
		assert.Equal(t, b.ID, find("+15555550143"))
	})

	t.Run("Delete", func(t *testing.T) {
		f := setup(t, newStore)
		camp := uid("camp")
		c := f.putContact(f.newContact(inCampaign(camp)))
		keep := f.putContact(f.newContact(inCampaign(camp)))
		require.NoError(t, f.s.DeleteContact(f.ctx, f.org, c.ID))
		_, err := f.s.GetContact(f.ctx, f.org, c.ID)
		assert.ErrorIs(t, err, herald.ErrNotFound)
		_, err = f.s.FindContactByAddress(f.ctx, f.org, c.Phone)
		assert.ErrorIs(t, err, herald.ErrNotFound, "no longer found by address")
		assert.Equal(t, []string{keep.ID}, contactIDs(collect(t, f.s.ListContacts(f.ctx, f.org, camp))))
		assert.Equal(t, []string{keep.ID}, contactIDs(collect(t, f.s.ListContacts(f.ctx, f.org, ""))))
		assert.ErrorIs(t, f.s.DeleteContact(f.ctx, f.org, c.ID), herald.ErrNotFound, "absent")
		assert.ErrorIs(t, f.s.DeleteContact(f.ctx, f.org2, keep.ID), herald.ErrNotFound, "another organization's")
		f.getContact(f.org, keep.ID)
	})

	t.Run("ListContacts", func(t *testing.T) {
		f := setup(t, newStore)
		c1, c2 := uid("camp"), uid("camp")
		base := uid("contact")
		mk := func(suffix, camp string) *herald.Contact {
			return f.putContact(f.newContact(func(c *herald.Contact) { c.ID, c.CampaignID = base+suffix, camp }))
		}
		// Put out of ID order.
		d := mk("-d", c1)
		b := mk("-b", c2)
		a := mk("-a", c1)
		e := mk("-e", "")
		c := mk("-c", c1)
		f.putContact(f.newContact(inCampaign(c1), func(c *herald.Contact) { c.OrgID = f.org2 }))

		cases := []struct {
			name, camp string
			want       []string
		}{
			{"All", "", []string{a.ID, b.ID, c.ID, d.ID, e.ID}},
			{"Campaign", c1, []string{a.ID, c.ID, d.ID}},
			{"OtherCampaign", c2, []string{b.ID}},
			{"EmptyCampaign", uid("camp"), nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := collect(t, f.s.ListContacts(f.ctx, f.org, tc.camp))
				assert.Equal(t, tc.want, nslice(contactIDs(got)))
			})
		}
		t.Run("FullValues", func(t *testing.T) {
			got := collect(t, f.s.ListContacts(f.ctx, f.org, c2))
			require.Len(t, got, 1)
			assert.Equal(t, normContact(b), normContact(got[0]))
		})
		t.Run("StopsEarly", func(t *testing.T) {
			n := 0
			for _, err := range f.s.ListContacts(f.ctx, f.org, "") {
				require.NoError(t, err)
				n++
				if n == 2 {
					break
				}
			}
			assert.Equal(t, 2, n)
		})
	})

	t.Run("ReplaceCampaignContacts", func(t *testing.T) {
		f := setup(t, newStore)
		camp, other := uid("camp"), uid("camp")
		a := f.putContact(f.newContact(inCampaign(camp)))
		b := f.putContact(f.newContact(inCampaign(camp)))
		d := f.putContact(f.newContact(inCampaign(other)))
		e := f.putContact(f.newContact())

		list := func(t *testing.T, c string) []string {
			return nslice(contactIDs(collect(t, f.s.ListContacts(f.ctx, f.org, c))))
		}
		oldSet := list(t, camp)
		require.ElementsMatch(t, []string{a.ID, b.ID}, oldSet)

		t.Run("InvalidLeavesOldSet", func(t *testing.T) {
			cases := map[string]func(*herald.Contact){
				"WrongCampaign": func(c *herald.Contact) { c.CampaignID = other },
				"NoCampaign":    func(c *herald.Contact) { c.CampaignID = "" },
				"WrongOrg":      func(c *herald.Contact) { c.OrgID = f.org2 },
			}
			for name, mod := range cases {
				t.Run(name, func(t *testing.T) {
					f := f.in(t)
					good := f.newContact(inCampaign(camp))
					bad := f.newContact(inCampaign(camp), mod)
					err := f.s.ReplaceCampaignContacts(f.ctx, f.org, camp, []*herald.Contact{good, bad})
					require.ErrorIs(t, err, herald.ErrInvalidInput)
					assert.Equal(t, oldSet, list(t, camp), "old set intact")
					_, err = f.s.GetContact(f.ctx, f.org, good.ID)
					assert.ErrorIs(t, err, herald.ErrNotFound, "nothing of the new set stored")
					_, err = f.s.GetContact(f.ctx, bad.OrgID, bad.ID)
					assert.ErrorIs(t, err, herald.ErrNotFound)
				})
			}
		})

		t.Run("Replaces", func(t *testing.T) {
			f := f.in(t)
			b2 := b.Clone()
			b2.FirstName = "Replaced"
			b2.UpdatedAt = f.at(time.Minute)
			g := f.newContact(inCampaign(camp))
			require.NoError(t, f.s.ReplaceCampaignContacts(f.ctx, f.org, camp, []*herald.Contact{g, b2}))
			assert.ElementsMatch(t, []string{b.ID, g.ID}, list(t, camp))
			_, err := f.s.GetContact(f.ctx, f.org, a.ID)
			assert.ErrorIs(t, err, herald.ErrNotFound, "dropped from the campaign")
			assert.Equal(t, normContact(b2), normContact(f.getContact(f.org, b.ID)))
			assert.Equal(t, normContact(g), normContact(f.getContact(f.org, g.ID)))
			assert.Equal(t, []string{d.ID}, list(t, other), "other campaign untouched")
			assert.Equal(t, normContact(e), normContact(f.getContact(f.org, e.ID)), "contact without campaign untouched")
		})

		t.Run("Empty", func(t *testing.T) {
			require.NoError(t, f.s.ReplaceCampaignContacts(f.ctx, f.org, camp, nil))
			assert.Empty(t, list(t, camp))
			assert.Equal(t, []string{d.ID}, list(t, other))
		})
	})
}

func testDevices(t *testing.T, newStore newStoreFunc) {
	tokens := func(c *herald.Contact) []string {
		var out []string
		for _, d := range c.Devices {
			out = append(out, d.Token)
		}
		return out
	}
	t.Run("PutDeviceNewestFirstDeduplicated", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putContact(f.newContact(func(c *herald.Contact) { c.Devices = nil }))
		t1, t2 := uid("tok"), uid("tok")
		put := func(tok, platform string) {
			t.Helper()
			require.NoError(t, f.s.PutDevice(f.ctx, f.org, c.ID, herald.Device{
				Channel: herald.ChannelAPNs, Token: tok, Platform: platform, CreatedAt: f.base,
			}))
		}
		put(t1, "ios")
		put(t2, "ios")
		assert.Equal(t, []string{t2, t1}, tokens(f.getContact(f.org, c.ID)))
		put(t1, "ipados")
		got := f.getContact(f.org, c.ID)
		assert.Equal(t, []string{t1, t2}, tokens(got), "same token replaced and moved first")
		assert.Equal(t, "ipados", got.Devices[0].Platform)
		found, err := f.s.FindContactByAddress(f.ctx, f.org, t2)
		require.NoError(t, err, "found by a device added with PutDevice")
		assert.Equal(t, c.ID, found.ID)
		assert.Equal(t, c.Phone, got.Phone, "other fields kept")
	})

	t.Run("PutDeviceChangesHands", func(t *testing.T) {
		f := setup(t, newStore)
		noDevices := func(c *herald.Contact) { c.Devices = nil }
		c1 := f.putContact(f.newContact(noDevices))
		c2 := f.putContact(f.newContact(noDevices))
		other := f.putContact(f.newContact(noDevices, func(c *herald.Contact) { c.OrgID = f.org2 }))
		tok, kept := uid("tok"), uid("tok")
		put := func(org, contactID, tok string) {
			t.Helper()
			require.NoError(t, f.s.PutDevice(f.ctx, org, contactID, herald.Device{Channel: herald.ChannelFCM, Token: tok}))
		}
		put(f.org, c1.ID, kept)
		put(f.org, c1.ID, tok)
		put(f.org2, other.ID, tok)
		before := f.getContact(f.org, c1.ID).UpdatedAt

		put(f.org, c2.ID, tok) // the device now belongs to c2
		got1 := f.getContact(f.org, c1.ID)
		assert.Equal(t, []string{kept}, tokens(got1), "c1 lost the token, kept its other device")
		assert.False(t, got1.UpdatedAt.Before(before), "c1's UpdatedAt moved")
		assert.Equal(t, []string{tok}, tokens(f.getContact(f.org, c2.ID)))
		assert.Equal(t, []string{tok}, tokens(f.getContact(f.org2, other.ID)), "another organization's contact keeps it")
		found, err := f.s.FindContactByAddress(f.ctx, f.org, tok)
		require.NoError(t, err)
		assert.Equal(t, c2.ID, found.ID, "the token finds its new contact only")
		found, err = f.s.FindContactByAddress(f.ctx, f.org, kept)
		require.NoError(t, err)
		assert.Equal(t, c1.ID, found.ID)

		put(f.org, c1.ID, tok) // and back
		assert.Equal(t, []string{tok, kept}, tokens(f.getContact(f.org, c1.ID)))
		assert.Empty(t, tokens(f.getContact(f.org, c2.ID)))
	})

	t.Run("PutDeviceContactNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putContact(f.newContact())
		d := herald.Device{Channel: herald.ChannelFCM, Token: uid("tok")}
		assert.ErrorIs(t, f.s.PutDevice(f.ctx, f.org, uid("missing"), d), herald.ErrNotFound)
		assert.ErrorIs(t, f.s.PutDevice(f.ctx, f.org2, c.ID, d), herald.ErrNotFound, "another organization's contact")
		assert.Equal(t, tokens(c), tokens(f.getContact(f.org, c.ID)))
	})

	t.Run("RemoveDevice", func(t *testing.T) {
		f := setup(t, newStore)
		c := f.putContact(f.newContact())
		extra := uid("tok")
		require.NoError(t, f.s.PutDevice(f.ctx, f.org, c.ID, herald.Device{Channel: herald.ChannelWebPush, Token: extra}))
		require.NoError(t, f.s.RemoveDevice(f.ctx, f.org, c.ID, extra))
		assert.Equal(t, tokens(c), tokens(f.getContact(f.org, c.ID)))
		_, err := f.s.FindContactByAddress(f.ctx, f.org, extra)
		assert.ErrorIs(t, err, herald.ErrNotFound, "removed token no longer finds the contact")
		assert.ErrorIs(t, f.s.RemoveDevice(f.ctx, f.org, c.ID, extra), herald.ErrNotFound, "absent device")
		assert.ErrorIs(t, f.s.RemoveDevice(f.ctx, f.org, uid("missing"), c.Devices[0].Token), herald.ErrNotFound, "absent contact")
		assert.ErrorIs(t, f.s.RemoveDevice(f.ctx, f.org2, c.ID, c.Devices[0].Token), herald.ErrNotFound, "another organization's contact")
		assert.Equal(t, tokens(c), tokens(f.getContact(f.org, c.ID)))
	})
}
