package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/stores/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) herald.Store { return memstore.New() })
}

// A store that held data and was Reset passes the suite like a new one.
func TestConformanceAfterReset(t *testing.T) {
	storetest.Run(t, func(t *testing.T) herald.Store {
		s := memstore.New()
		ctx := context.Background()
		for i := range 50 {
			id := fmt.Sprint("old", i)
			_, _, err := s.CreateMessage(ctx, &herald.Message{ID: id, OrgID: "org-old", IdempotencyKey: id,
				Channel: herald.ChannelSMS, To: "+14155552671", Status: herald.StatusQueued})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.MarkEventSeen(ctx, "org-old", "v", "ev", time.Time{}); err != nil {
			t.Fatal(err)
		}
		s.Reset()
		if _, err := s.GetMessage(ctx, "org-old", "old1"); !errors.Is(err, herald.ErrNotFound) {
			t.Fatalf("after Reset: %v", err)
		}
		return s
	})
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestWithClock(t *testing.T) {
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := memstore.New(memstore.WithClock(fixedClock{now}))
	ctx := t.Context()

	m, created, err := s.CreateMessage(ctx, &herald.Message{ID: "m1", OrgID: "o", IdempotencyKey: "k",
		Channel: herald.ChannelSMS, Status: herald.StatusQueued})
	require.NoError(t, err)
	require.True(t, created)
	assert.Equal(t, now, m.CreatedAt)
	assert.Equal(t, now, m.UpdatedAt)

	got, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: "o", ID: "m1", Status: herald.StatusSending})
	require.NoError(t, err)
	assert.Equal(t, now, got.UpdatedAt, "zero event At is the clock's now")

	// A zero ClaimParams.Now is the clock's now.
	m2, _, err := s.CreateMessage(ctx, &herald.Message{ID: "m2", OrgID: "o", IdempotencyKey: "k2",
		Channel: herald.ChannelSMS, Status: herald.StatusScheduled, SendAt: now.Add(time.Second)})
	require.NoError(t, err)
	due, err := s.ClaimDue(ctx, herald.ClaimParams{Owner: "w", LeaseFor: time.Minute})
	require.NoError(t, err)
	assert.Empty(t, due, "SendAt after the clock's now")
	c, err := s.ClaimMessage(ctx, "o", m2.ID, herald.ClaimParams{Owner: "w", LeaseFor: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Minute), c.LeaseUntil)

	ct, err := s.PutContact(ctx, &herald.Contact{OrgID: "o", ID: "c"})
	require.NoError(t, err)
	assert.Equal(t, now, ct.CreatedAt)
}

func TestInvalidInput(t *testing.T) {
	s := memstore.New()
	ctx := t.Context()
	_, _, err := s.CreateMessage(ctx, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, _, err = s.CreateMessage(ctx, &herald.Message{ID: "m", OrgID: "o", IdempotencyKey: "k",
		Channel: "Not A Channel", Status: herald.StatusQueued})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "invalid channel")
	_, _, err = s.CreateMessage(ctx, &herald.Message{ID: "m", OrgID: "o", IdempotencyKey: "k",
		Channel: herald.ChannelSMS, Status: "bogus"})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "invalid status")
	_, err = s.UpdateMessage(ctx, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	_, err = s.ClaimDue(ctx, herald.ClaimParams{LeaseFor: time.Minute})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "no owner")
	_, err = s.ClaimDue(ctx, herald.ClaimParams{Owner: "w"})
	assert.ErrorIs(t, err, herald.ErrInvalidInput, "no lease duration")
	_, err = s.AllocateNumbers(ctx, herald.AllocateParams{OrgID: "o", Count: 0, AllocatedTo: herald.AllocationCampaign})
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
	err = s.PutState(ctx, herald.StateKey{OrgID: "o"}, nil)
	assert.ErrorIs(t, err, herald.ErrInvalidInput)
}

// A sending message without a lease is not due: nothing says its worker
// died. ClaimMessage can still take it.
func TestClaimDueSkipsSendingWithoutLease(t *testing.T) {
	s := memstore.New()
	ctx := t.Context()
	_, _, err := s.CreateMessage(ctx, &herald.Message{ID: "m", OrgID: "o", IdempotencyKey: "k",
		Channel: herald.ChannelSMS, Status: herald.StatusSending})
	require.NoError(t, err)
	due, err := s.ClaimDue(ctx, herald.ClaimParams{Owner: "w", LeaseFor: time.Minute, Now: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	assert.Empty(t, due)
	_, err = s.ClaimMessage(ctx, "o", "m", herald.ClaimParams{Owner: "w", LeaseFor: time.Minute})
	assert.NoError(t, err)
}

var benchSeq atomic.Int64

// benchIDs returns n fresh message IDs, so that the timed loops build no
// strings.
func benchIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "m" + strconv.FormatInt(benchSeq.Add(1), 10)
	}
	return out
}

func benchMessage(id string) *herald.Message {
	return &herald.Message{
		ID: id, IdempotencyKey: id, OrgID: "org", Channel: herald.ChannelSMS,
		To: "+15555550100", Body: "hello", Status: herald.StatusQueued,
		Meta: map[string]string{"k": "v"},
	}
}

func BenchmarkCreateMessage(b *testing.B) {
	s := memstore.New()
	ctx := b.Context()
	ids := benchIDs(b.N)
	m := benchMessage("")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m.ID, m.IdempotencyKey = ids[i], ids[i]
		if _, _, err := s.CreateMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendPath is the store's share of one synchronous send: create,
// claim, move to sending, record the vendor's answer.
func BenchmarkSendPath(b *testing.B) {
	s := memstore.New()
	ctx := b.Context()
	ids := benchIDs(b.N)
	in := benchMessage("")
	vendor, vmid := "fake", "SM1"
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		in.ID, in.IdempotencyKey = ids[i], ids[i]
		m, _, err := s.CreateMessage(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ClaimMessage(ctx, m.OrgID, m.ID, herald.ClaimParams{Owner: "w", Now: now, LeaseFor: time.Minute}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: m.OrgID, ID: m.ID, Status: herald.StatusSending,
			ExpectStatus: []herald.Status{herald.StatusQueued}, ExpectLeaseOwner: "w", Event: herald.StatusEvent{At: now}}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.UpdateMessage(ctx, &herald.MessageUpdate{OrgID: m.OrgID, ID: m.ID, Status: herald.StatusSent,
			Vendor: &vendor, VendorMessageID: &vmid, Lease: &herald.Lease{}, Event: herald.StatusEvent{At: now}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateMessage moves b.N stored messages from queued to sending,
// one update each.
func BenchmarkUpdateMessage(b *testing.B) {
	s := memstore.New()
	ctx := b.Context()
	ids := benchIDs(b.N)
	for _, id := range ids {
		if _, _, err := s.CreateMessage(ctx, benchMessage(id)); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	u := &herald.MessageUpdate{OrgID: "org", Status: herald.StatusSending,
		ExpectStatus: []herald.Status{herald.StatusQueued}, Event: herald.StatusEvent{At: now}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u.ID = ids[i]
		if _, err := s.UpdateMessage(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClaimDue(b *testing.B) {
	for _, backlog := range []int{100, 100_000} {
		b.Run(fmt.Sprint("backlog=", backlog), func(b *testing.B) {
			s := memstore.New()
			ctx := b.Context()
			for range backlog {
				id := "m" + strconv.FormatInt(benchSeq.Add(1), 10)
				if _, _, err := s.CreateMessage(ctx, benchMessage(id)); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				// Leases of a minute, a minute apart: every call finds the
				// whole backlog due again.
				p := herald.ClaimParams{Owner: "w", Now: now.Add(time.Duration(i) * time.Minute), LeaseFor: time.Minute, Limit: 10}
				got, err := s.ClaimDue(ctx, p)
				if err != nil || len(got) != 10 {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
