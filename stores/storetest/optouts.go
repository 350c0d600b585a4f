package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

func (f *fixture) newOptOut(ch herald.Channel, addr string) *herald.OptOut {
	return &herald.OptOut{
		OrgID: f.org, Address: addr, Channel: ch, Reason: "stop", Source: "inbound",
		CampaignID: uid("camp"), ContactID: uid("contact"), At: f.base,
	}
}

func (f *fixture) putOptOut(o *herald.OptOut) bool {
	f.t.Helper()
	created, err := f.s.PutOptOut(f.ctx, o)
	require.NoError(f.t, err, "PutOptOut")
	return created
}

// stops reports whether an opt-out stops a message on ch to addr, requiring
// that any opt-out found matches the address and covers the channel.
func (f *fixture) stops(org string, ch herald.Channel, addr string) bool {
	f.t.Helper()
	o, err := f.s.FindOptOut(f.ctx, org, ch, addr)
	if err != nil {
		require.ErrorIs(f.t, err, herald.ErrNotFound, "FindOptOut")
		return false
	}
	assert.Equal(f.t, org, o.OrgID)
	assert.Equal(f.t, addr, o.Address)
	if o.Channel != "" {
		assert.Equal(f.t, herald.OptOutScope(ch), herald.OptOutScope(o.Channel), "opt-out scope covers the channel")
	}
	return true
}

func testOptOuts(t *testing.T, newStore newStoreFunc) {
	t.Run("PutIsIdempotentFirstKept", func(t *testing.T) {
		f := setup(t, newStore)
		addr := uniquePhone()
		first := f.newOptOut(herald.ChannelSMS, addr)
		assert.True(t, f.putOptOut(first), "new")
		again := f.newOptOut(herald.ChannelSMS, addr)
		again.Reason, again.Source, again.At = "21610", "vendor", f.at(time.Hour)
		assert.False(t, f.putOptOut(again), "repeat")
		o, err := f.s.FindOptOut(f.ctx, f.org, herald.ChannelSMS, addr)
		require.NoError(t, err)
		assert.Equal(t, normOptOut(first), normOptOut(o), "first record kept")
		list, err := f.s.ListOptOuts(f.ctx, f.org)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("ZeroAtSetToNow", func(t *testing.T) {
		f := setup(t, newStore)
		o := f.newOptOut(herald.ChannelEmail, uid("a")+"@example.com")
		o.At = time.Time{}
		f.putOptOut(o)
		got, err := f.s.FindOptOut(f.ctx, f.org, herald.ChannelEmail, o.Address)
		require.NoError(t, err)
		assert.False(t, got.At.IsZero())
	})

	t.Run("Scopes", func(t *testing.T) {
		all := []herald.Channel{herald.ChannelSMS, herald.ChannelMMS, herald.ChannelEmail,
			herald.ChannelWebPush, herald.ChannelAPNs, herald.ChannelFCM}
		cases := []struct {
			name     string
			recorded herald.Channel
			stopped  []herald.Channel
		}{
			{"SMSCoversMMS", herald.ChannelSMS, []herald.Channel{herald.ChannelSMS, herald.ChannelMMS}},
			{"MMSCoversSMS", herald.ChannelMMS, []herald.Channel{herald.ChannelSMS, herald.ChannelMMS}},
			{"Email", herald.ChannelEmail, []herald.Channel{herald.ChannelEmail}},
			{"WebPush", herald.ChannelWebPush, []herald.Channel{herald.ChannelWebPush}},
			{"EveryChannel", "", all},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(t, newStore)
				addr := uniquePhone()
				f.putOptOut(f.newOptOut(tc.recorded, addr))
				for _, ch := range all {
					want := false
					for _, s := range tc.stopped {
						want = want || s == ch
					}
					assert.Equal(t, want, f.stops(f.org, ch, addr), "channel %s", ch)
				}
				assert.False(t, f.stops(f.org2, herald.OptOutScope(tc.recorded), addr), "another organization")
				assert.False(t, f.stops(f.org, herald.ChannelSMS, uniquePhone()), "another address")
			})
		}
	})

	t.Run("SMSAndMMSShareOneRecord", func(t *testing.T) {
		f := setup(t, newStore)
		addr := uniquePhone()
		assert.True(t, f.putOptOut(f.newOptOut(herald.ChannelSMS, addr)))
		assert.False(t, f.putOptOut(f.newOptOut(herald.ChannelMMS, addr)), "same scope")
		assert.True(t, f.putOptOut(f.newOptOut("", addr)), "every-channel scope is its own")
		list, err := f.s.ListOptOuts(f.ctx, f.org)
		require.NoError(t, err)
		assert.Len(t, list, 2)
	})

	t.Run("DeleteExactScope", func(t *testing.T) {
		f := setup(t, newStore)
		addr := uniquePhone()
		f.putOptOut(f.newOptOut(herald.ChannelSMS, addr))
		f.putOptOut(f.newOptOut("", addr))

		deleted, err := f.s.DeleteOptOut(f.ctx, f.org, herald.ChannelEmail, addr)
		require.NoError(t, err)
		assert.False(t, deleted, "no email-scope record")
		assert.True(t, f.stops(f.org, herald.ChannelEmail, addr), "every-channel record kept")

		deleted, err = f.s.DeleteOptOut(f.ctx, f.org2, herald.ChannelSMS, addr)
		require.NoError(t, err)
		assert.False(t, deleted, "another organization")

		deleted, err = f.s.DeleteOptOut(f.ctx, f.org, herald.ChannelMMS, addr)
		require.NoError(t, err)
		assert.True(t, deleted, "mms lifts the phone scope")
		assert.True(t, f.stops(f.org, herald.ChannelSMS, addr), "still stopped by the every-channel record")
		deleted, err = f.s.DeleteOptOut(f.ctx, f.org, herald.ChannelSMS, addr)
		require.NoError(t, err)
		assert.False(t, deleted, "already lifted")

		deleted, err = f.s.DeleteOptOut(f.ctx, f.org, "", addr)
		require.NoError(t, err)
		assert.True(t, deleted)
		for _, ch := range []herald.Channel{herald.ChannelSMS, herald.ChannelMMS, herald.ChannelEmail} {
			assert.False(t, f.stops(f.org, ch, addr), "channel %s", ch)
		}
		list, err := f.s.ListOptOuts(f.ctx, f.org)
		require.NoError(t, err)
		assert.Empty(t, list)
	})

	t.Run("List", func(t *testing.T) {
		f := setup(t, newStore)
		p1, p2, mail := uniquePhone(), uniquePhone(), uid("m")+"@example.com"
		f.putOptOut(f.newOptOut(herald.ChannelSMS, p1))
		f.putOptOut(f.newOptOut(herald.ChannelMMS, p2))
		f.putOptOut(f.newOptOut(herald.ChannelEmail, mail))
		f.putOptOut(f.newOptOut("", p1))
		other := f.newOptOut(herald.ChannelSMS, p1)
		other.OrgID = f.org2
		f.putOptOut(other)

		type scoped struct {
			Scope   herald.Channel
			Address string
		}
		list, err := f.s.ListOptOuts(f.ctx, f.org)
		require.NoError(t, err)
		var got []scoped
		for _, o := range list {
			assert.Equal(t, f.org, o.OrgID)
			got = append(got, scoped{herald.OptOutScope(o.Channel), o.Address})
		}
		assert.ElementsMatch(t, []scoped{
			{herald.ChannelSMS, p1}, {herald.ChannelSMS, p2}, {herald.ChannelEmail, mail}, {"", p1},
		}, got)
	})

	t.Run("RequiredFields", func(t *testing.T) {
		f := setup(t, newStore)
		for name, mod := range map[string]func(*herald.OptOut){
			"OrgID":   func(o *herald.OptOut) { o.OrgID = "" },
			"Address": func(o *herald.OptOut) { o.Address = "" },
		} {
			t.Run(name, func(t *testing.T) {
				o := f.newOptOut(herald.ChannelSMS, uniquePhone())
				mod(o)
				_, err := f.s.PutOptOut(f.ctx, o)
				assert.ErrorIs(t, err, herald.ErrInvalidInput)
			})
		}
		list, err := f.s.ListOptOuts(f.ctx, f.org)
		require.NoError(t, err)
		assert.Empty(t, list)
	})
}
