package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

// world is one record of every kind in f.org.
type world struct {
	msg      *herald.Message
	contact  *herald.Contact
	campaign *herald.Campaign
	optOut   *herald.OptOut
	number   herald.OwnedNumber
	state    herald.StateKey
	vmid     string
}

func (f *fixture) world() *world {
	f.t.Helper()
	w := &world{vmid: uid("vmid")}
	w.msg = f.createMsg(func(m *herald.Message) {
		m.Vendor, m.VendorMessageID = "alpha", w.vmid
	})
	w.campaign = f.putCampaign(f.newCampaign())
	w.contact = f.putContact(f.newContact(inCampaign(w.campaign.ID)))
	w.optOut = f.newOptOut(herald.ChannelSMS, w.contact.Phone)
	f.putOptOut(w.optOut)
	w.number = f.number("alpha", "212")
	w.number.AllocatedTo, w.number.AllocatedToID, w.number.AllocatedAt = herald.AllocationCampaign, w.campaign.ID, f.base
	require.NoError(f.t, f.s.AddNumbers(f.ctx, []herald.OwnedNumber{w.number, f.number("alpha", "212")}))
	w.state = f.stateKey()
	require.NoError(f.t, f.s.PutState(f.ctx, w.state, []byte("v")))
	require.NoError(f.t, f.s.SavePendingReport(f.ctx, &herald.DeliveryReport{
		OrgID: f.org, Vendor: "alpha", VendorMessageID: w.vmid, Status: herald.StatusSent, At: f.base,
	}))
	return w
}

// unchanged requires that nothing of w changed.
func (f *fixture) unchanged(w *world) {
	f.t.Helper()
	t := f.t
	assert.Equal(t, normMsg(w.msg), normMsg(f.get(f.org, w.msg.ID)), "message")
	assert.Len(t, f.events(f.org, w.msg.ID), 1, "message events")
	assert.Equal(t, normContact(w.contact), normContact(f.getContact(f.org, w.contact.ID)), "contact")
	c, err := f.s.GetCampaign(f.ctx, f.org, w.campaign.ID)
	require.NoError(t, err)
	assert.Equal(t, normCampaign(w.campaign), normCampaign(c), "campaign")
	o, err := f.s.FindOptOut(f.ctx, f.org, herald.ChannelSMS, w.optOut.Address)
	require.NoError(t, err)
	assert.Equal(t, normOptOut(w.optOut), normOptOut(o), "opt-out")
	assert.Len(t, f.listNumbers(herald.NumberFilter{}), 2, "numbers")
	assert.Len(t, f.listNumbers(herald.NumberFilter{AllocatedToID: w.campaign.ID}), 1, "allocation")
	v, err := f.s.GetState(f.ctx, w.state)
	require.NoError(t, err)
	assert.Equal(t, "v", string(v), "state")
}

// testOrgScoping calls every method that names a record with another
// organization's ID: not found, and nothing changes.
func testOrgScoping(t *testing.T, newStore newStoreFunc) {
	f := setup(t, newStore)
	w := f.world()
	o2 := f.org2
	ctx := f.ctx
	s := f.s
	p := f.claimParams("w1", f.base, 0)
	otherCampaign := w.campaign.Clone()
	otherCampaign.OrgID = o2
	otherCampaign.State = herald.CampaignStarted
	otherKey := w.state
	otherKey.OrgID = o2
	notFound := []struct {
		name string
		call func() error
	}{
		{"GetMessage", func() error { _, err := s.GetMessage(ctx, o2, w.msg.ID); return err }},
		{"GetMessageByKey", func() error { _, err := s.GetMessageByKey(ctx, o2, w.msg.IdempotencyKey); return err }},
		{"FindMessageByVendorID", func() error { _, err := s.FindMessageByVendorID(ctx, o2, "alpha", w.vmid); return err }},
		{"LatestMessageTo", func() error { _, err := s.LatestMessageTo(ctx, o2, w.msg.To); return err }},
		{"UpdateMessage", func() error {
			_, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: o2, ID: w.msg.ID, Status: herald.StatusSending})
			return err
		}},
		{"AddMessageEvent", func() error {
			return s.AddMessageEvent(ctx, herald.StatusEvent{OrgID: o2, MessageID: w.msg.ID, Status: herald.StatusQueued, At: f.base})
		}},
		{"MessageEvents", func() error { _, err := s.MessageEvents(ctx, o2, w.msg.ID); return err }},
		{"ClaimMessage", func() error { _, err := s.ClaimMessage(ctx, o2, w.msg.ID, p); return err }},
		{"ReleaseLease", func() error { return s.ReleaseLease(ctx, o2, w.msg.ID, "w1") }},
		{"GetContact", func() error { _, err := s.GetContact(ctx, o2, w.contact.ID); return err }},
		{"FindContactByAddress", func() error { _, err := s.FindContactByAddress(ctx, o2, w.contact.Phone); return err }},
		{"DeleteContact", func() error { return s.DeleteContact(ctx, o2, w.contact.ID) }},
		{"PutDevice", func() error {
			return s.PutDevice(ctx, o2, w.contact.ID, herald.Device{Channel: herald.ChannelFCM, Token: uid("tok")})
		}},
		{"RemoveDevice", func() error { return s.RemoveDevice(ctx, o2, w.contact.ID, w.contact.Devices[0].Token) }},
		{"GetCampaign", func() error { _, err := s.GetCampaign(ctx, o2, w.campaign.ID); return err }},
		{"UpdateCampaign", func() error { _, err := s.UpdateCampaign(ctx, otherCampaign, herald.CampaignDraft); return err }},
		{"FindOptOut", func() error { _, err := s.FindOptOut(ctx, o2, herald.ChannelSMS, w.optOut.Address); return err }},
		{"GetState", func() error { _, err := s.GetState(ctx, otherKey); return err }},
		{"DeleteState", func() error { return s.DeleteState(ctx, otherKey) }},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.call(), herald.ErrNotFound)
		})
	}

	t.Run("Lists", func(t *testing.T) {
		msgs, err := s.ListMessages(ctx, herald.MessageFilter{OrgID: o2})
		require.NoError(t, err)
		assert.Empty(t, msgs, "ListMessages")
		assert.Empty(t, collect(t, s.ListContacts(ctx, o2, "")), "ListContacts")
		assert.Empty(t, collect(t, s.ListContacts(ctx, o2, w.contact.CampaignID)), "ListContacts by campaign")
		outs, err := s.ListOptOuts(ctx, o2)
		require.NoError(t, err)
		assert.Empty(t, outs, "ListOptOuts")
		nums, err := s.ListNumbers(ctx, herald.NumberFilter{OrgID: o2})
		require.NoError(t, err)
		assert.Empty(t, nums, "ListNumbers")
		reps, err := s.TakePendingReports(ctx, o2, "alpha", w.vmid)
		require.NoError(t, err)
		assert.Empty(t, reps, "TakePendingReports")
	})

	t.Run("Writes", func(t *testing.T) {
		deleted, err := s.DeleteOptOut(ctx, o2, herald.ChannelSMS, w.optOut.Address)
		require.NoError(t, err)
		assert.False(t, deleted, "DeleteOptOut")
		n, err := s.ReleaseNumbers(ctx, o2, herald.AllocationCampaign, w.campaign.ID)
		require.NoError(t, err)
		assert.Zero(t, n, "ReleaseNumbers")
		n, err = s.DeleteNumbers(ctx, o2, "alpha", []string{w.number.Number})
		require.NoError(t, err)
		assert.Zero(t, n, "DeleteNumbers")
		_, err = s.AllocateNumbers(ctx, herald.AllocateParams{OrgID: o2, Count: 1,
			AllocatedTo: herald.AllocationCampaign, AllocatedToID: "x", At: f.base})
		assert.ErrorIs(t, err, herald.ErrConflict, "AllocateNumbers")
		err = s.ReplaceCampaignContacts(ctx, o2, w.campaign.ID, nil)
		require.NoError(t, err, "ReplaceCampaignContacts")
	})

	t.Run("NothingChanged", func(t *testing.T) {
		f.in(t).unchanged(w)
	})
}

// testContext checks that a cancelled context is honoured: every method
// fails with an error wrapping context.Canceled and writes nothing.
func testContext(t *testing.T, newStore newStoreFunc) {
	f := setup(t, newStore)
	w := f.world()
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	s := f.s
	m := f.newMsg()
	p := f.claimParams("w1", f.base, 0)
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateMessage", func() error { _, _, err := s.CreateMessage(ctx, m); return err }},
		{"GetMessage", func() error { _, err := s.GetMessage(ctx, f.org, w.msg.ID); return err }},
		{"GetMessageByKey", func() error { _, err := s.GetMessageByKey(ctx, f.org, w.msg.IdempotencyKey); return err }},
		{"FindMessageByVendorID", func() error { _, err := s.FindMessageByVendorID(ctx, f.org, "alpha", w.vmid); return err }},
		{"LatestMessageTo", func() error { _, err := s.LatestMessageTo(ctx, f.org, w.msg.To); return err }},
		{"ListMessages", func() error { _, err := s.ListMessages(ctx, herald.MessageFilter{OrgID: f.org}); return err }},
		{"UpdateMessage", func() error {
			_, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: f.org, ID: w.msg.ID, Status: herald.StatusSending})
			return err
		}},
		{"AddMessageEvent", func() error {
			return s.AddMessageEvent(ctx, herald.StatusEvent{OrgID: f.org, MessageID: w.msg.ID, Status: herald.StatusQueued, At: f.base})
		}},
		{"MessageEvents", func() error { _, err := s.MessageEvents(ctx, f.org, w.msg.ID); return err }},
		{"ClaimDue", func() error { _, err := s.ClaimDue(ctx, p); return err }},
		{"ClaimMessage", func() error { _, err := s.ClaimMessage(ctx, f.org, w.msg.ID, p); return err }},
		{"ReleaseLease", func() error { return s.ReleaseLease(ctx, f.org, w.msg.ID, "w1") }},
		{"PutContact", func() error { _, err := s.PutContact(ctx, f.newContact()); return err }},
		{"GetContact", func() error { _, err := s.GetContact(ctx, f.org, w.contact.ID); return err }},
		{"FindContactByAddress", func() error { _, err := s.FindContactByAddress(ctx, f.org, w.contact.Phone); return err }},
		{"DeleteContact", func() error { return s.DeleteContact(ctx, f.org, w.contact.ID) }},
		{"ListContacts", func() error {
			for _, err := range s.ListContacts(ctx, f.org, "") {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"ReplaceCampaignContacts", func() error {
			return s.ReplaceCampaignContacts(ctx, f.org, w.campaign.ID, []*herald.Contact{f.newContact(inCampaign(w.campaign.ID))})
		}},
		{"PutDevice", func() error {
			return s.PutDevice(ctx, f.org, w.contact.ID, herald.Device{Channel: herald.ChannelFCM, Token: uid("tok")})
		}},
		{"RemoveDevice", func() error { return s.RemoveDevice(ctx, f.org, w.contact.ID, w.contact.Devices[0].Token) }},
		{"PutOptOut", func() error {
			_, err := s.PutOptOut(ctx, f.newOptOut(herald.ChannelEmail, "x@example.com"))
			return err
		}},
		{"DeleteOptOut", func() error { _, err := s.DeleteOptOut(ctx, f.org, herald.ChannelSMS, w.optOut.Address); return err }},
		{"FindOptOut", func() error { _, err := s.FindOptOut(ctx, f.org, herald.ChannelSMS, w.optOut.Address); return err }},
		{"ListOptOuts", func() error { _, err := s.ListOptOuts(ctx, f.org); return err }},
		{"PutCampaign", func() error { _, err := s.PutCampaign(ctx, f.newCampaign()); return err }},
		{"GetCampaign", func() error { _, err := s.GetCampaign(ctx, f.org, w.campaign.ID); return err }},
		{"UpdateCampaign", func() error { _, err := s.UpdateCampaign(ctx, w.campaign, herald.CampaignDraft); return err }},
		{"PutOrganization", func() error { _, err := s.PutOrganization(ctx, &herald.Organization{ID: uid("org")}); return err }},
		{"GetOrganization", func() error { _, err := s.GetOrganization(ctx, f.org); return err }},
		{"AddNumbers", func() error { return s.AddNumbers(ctx, []herald.OwnedNumber{f.number("alpha", "212")}) }},
		{"ListNumbers", func() error { _, err := s.ListNumbers(ctx, herald.NumberFilter{OrgID: f.org}); return err }},
		{"AllocateNumbers", func() error {
			_, err := s.AllocateNumbers(ctx, herald.AllocateParams{OrgID: f.org, Count: 1, AllocatedTo: herald.AllocationCampaign, AllocatedToID: "x"})
			return err
		}},
		{"ReleaseNumbers", func() error {
			_, err := s.ReleaseNumbers(ctx, f.org, herald.AllocationCampaign, w.campaign.ID)
			return err
		}},
		{"DeleteNumbers", func() error { _, err := s.DeleteNumbers(ctx, f.org, "alpha", []string{w.number.Number}); return err }},
		{"GetState", func() error { _, err := s.GetState(ctx, w.state); return err }},
		{"PutState", func() error { return s.PutState(ctx, w.state, []byte("changed")) }},
		{"DeleteState", func() error { return s.DeleteState(ctx, w.state) }},
		{"CompareAndSwapState", func() error {
			_, err := s.CompareAndSwapState(ctx, w.state, []byte("v"), []byte("changed"))
			return err
		}},
		{"MarkEventSeen", func() error { _, err := s.MarkEventSeen(ctx, f.org, "alpha", uid("ev"), time.Time{}); return err }},
		{"ForgetEvent", func() error { return s.ForgetEvent(ctx, f.org, "alpha", uid("ev")) }},
		{"SavePendingReport", func() error {
			return s.SavePendingReport(ctx, &herald.DeliveryReport{OrgID: f.org, Vendor: "alpha", VendorMessageID: uid("vmid"), At: f.base})
		}},
		{"TakePendingReports", func() error { _, err := s.TakePendingReports(ctx, f.org, "alpha", w.vmid); return err }},
		{"PruneWebhookState", func() error { _, _, err := s.PruneWebhookState(ctx, f.base); return err }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, tc.call(), context.Canceled)
		})
	}
	t.Run("NothingWritten", func(t *testing.T) {
		f := f.in(t)
		f.unchanged(w)
		_, err := s.GetMessage(f.ctx, f.org, m.ID)
		assert.ErrorIs(t, err, herald.ErrNotFound, "message not created")
		reps, err := s.TakePendingReports(f.ctx, f.org, "alpha", w.vmid)
		require.NoError(t, err)
		assert.Len(t, reps, 1, "pending report not taken")
	})
}
