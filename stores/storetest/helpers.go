package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"iter"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
)

// runID makes the suite's IDs unique across runs against a shared database.
var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

var idSeq atomic.Uint64

// uid returns an ID unique in this process and, very likely, across runs.
func uid(prefix string) string {
	return prefix + "-" + runID + "-" + strconv.FormatUint(idSeq.Add(1), 10)
}

// uniquePhone returns an E.164 number no other call returns (for the first
// ten million calls of a process).
func uniquePhone() string {
	return fmt.Sprintf("+1555%07d", idSeq.Add(1)%10_000_000)
}

// fixture is one subtest's store and identity.
type fixture struct {
	t   *testing.T
	s   herald.Store
	ctx context.Context
	// org and org2 are two organizations of this subtest.
	org, org2 string
	// base is "now" for the subtest: whole milliseconds, UTC.
	base time.Time
}

func setup(t *testing.T, newStore newStoreFunc) *fixture {
	t.Helper()
	s := newStore(t)
	require.NotNil(t, s, "newStore returned nil")
	return &fixture{
		t:    t,
		s:    s,
		ctx:  t.Context(),
		org:  uid("org"),
		org2: uid("org"),
		base: time.Now().UTC().Truncate(time.Millisecond),
	}
}

// in returns a copy of f that reports to t, for subtests sharing f's store.
func (f *fixture) in(t *testing.T) *fixture {
	c := *f
	c.t = t
	return &c
}

// at returns base+d.
func (f *fixture) at(d time.Duration) time.Time { return f.base.Add(d) }

// newMsg returns a complete, valid, unsaved message of f.org, queued and
// created at base, with every reference field filled so copies are checked.
func (f *fixture) newMsg(mods ...func(*herald.Message)) *herald.Message {
	id := uid("msg")
	m := &herald.Message{
		ID:             id,
		IdempotencyKey: "key-" + id,
		OrgID:          f.org,
		CampaignID:     "",
		ContactID:      "",
		Channel:        herald.ChannelSMS,
		To:             "+15555550100",
		From:           "+15555550199",
		Body:           "hello " + id,
		Media:          []string{"https://example.com/a.png"},
		Data:           map[string]string{"d": "1"},
		Urgency:        herald.UrgencyNormal,
		Status:         herald.StatusQueued,
		CreatedAt:      f.base,
		UpdatedAt:      f.base,
		Meta:           map[string]string{"m": "1"},
	}
	for _, mod := range mods {
		mod(m)
	}
	return m
}

// create stores m, requiring that it is created, and returns the stored copy.
func (f *fixture) create(m *herald.Message) *herald.Message {
	f.t.Helper()
	got, created, err := f.s.CreateMessage(f.ctx, m)
	require.NoError(f.t, err, "CreateMessage")
	require.True(f.t, created, "CreateMessage created")
	require.NotNil(f.t, got)
	return got
}

// createMsg builds and stores a message.
func (f *fixture) createMsg(mods ...func(*herald.Message)) *herald.Message {
	f.t.Helper()
	return f.create(f.newMsg(mods...))
}

func (f *fixture) get(orgID, id string) *herald.Message {
	f.t.Helper()
	m, err := f.s.GetMessage(f.ctx, orgID, id)
	require.NoError(f.t, err, "GetMessage")
	return m
}

func (f *fixture) events(orgID, id string) []herald.StatusEvent {
	f.t.Helper()
	evs, err := f.s.MessageEvents(f.ctx, orgID, id)
	require.NoError(f.t, err, "MessageEvents")
	return evs
}

func (f *fixture) claimParams(owner string, now time.Time, limit int) herald.ClaimParams {
	return herald.ClaimParams{Owner: owner, Now: now, LeaseFor: time.Minute, Limit: limit}
}

// Message modifiers.

func withStatus(s herald.Status) func(*herald.Message) {
	return func(m *herald.Message) { m.Status = s }
}

func withOrg(org string) func(*herald.Message) {
	return func(m *herald.Message) { m.OrgID = org }
}

func withSendAt(t time.Time) func(*herald.Message) {
	return func(m *herald.Message) { m.SendAt = t }
}

func withCreatedAt(t time.Time) func(*herald.Message) {
	return func(m *herald.Message) { m.CreatedAt, m.UpdatedAt = t, t }
}

func withTo(to string) func(*herald.Message) {
	return func(m *herald.Message) { m.To = to }
}

func ids(ms []*herald.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func contactIDs(cs []*herald.Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func numbersOf(ns []herald.OwnedNumber) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Number
	}
	return out
}

// collect drains a contact iterator, requiring no error.
func collect(t *testing.T, seq iter.Seq2[*herald.Contact, error]) []*herald.Contact {
	t.Helper()
	var out []*herald.Contact
	for c, err := range seq {
		require.NoError(t, err, "ListContacts")
		out = append(out, c)
	}
	return out
}

// parallel runs fn(i) for i in [0, n) on n goroutines released together,
// and waits for them.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func ptr[T any](v T) *T { return &v }

// Normalisation: what the suite compares is the value, not its
// representation. Times become UTC without a monotonic reading; empty maps
// and slices become nil.

func nt(t time.Time) time.Time { return t.UTC() }

func nmap[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nslice[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normMsg(m *herald.Message) *herald.Message {
	if m == nil {
		return nil
	}
	c := m.Clone()
	c.Media, c.Data, c.Meta = nslice(c.Media), nmap(c.Data), nmap(c.Meta)
	c.SendAt, c.SendBefore, c.LeaseUntil = nt(c.SendAt), nt(c.SendBefore), nt(c.LeaseUntil)
	c.CreatedAt, c.UpdatedAt, c.SentAt = nt(c.CreatedAt), nt(c.UpdatedAt), nt(c.SentAt)
	return c
}

func normEvents(evs []herald.StatusEvent) []herald.StatusEvent {
	if len(evs) == 0 {
		return nil
	}
	out := make([]herald.StatusEvent, len(evs))
	for i, e := range evs {
		e.At = nt(e.At)
		out[i] = e
	}
	return out
}

func normContact(c *herald.Contact) *herald.Contact {
	if c == nil {
		return nil
	}
	d := c.Clone()
	d.CustomFields = nmap(d.CustomFields)
	d.Devices = nslice(d.Devices)
	for i := range d.Devices {
		d.Devices[i].CreatedAt = nt(d.Devices[i].CreatedAt)
	}
	if d.Lookup != nil {
		d.Lookup.LookedUpAt = nt(d.Lookup.LookedUpAt)
	}
	d.CreatedAt, d.UpdatedAt = nt(d.CreatedAt), nt(d.UpdatedAt)
	return d
}

func normCampaign(c *herald.Campaign) *herald.Campaign {
	if c == nil {
		return nil
	}
	d := c.Clone()
	d.Features = nmap(d.Features)
	d.CreatedAt, d.UpdatedAt = nt(d.CreatedAt), nt(d.UpdatedAt)
	return d
}

func normOrg(o *herald.Organization) *herald.Organization {
	if o == nil {
		return nil
	}
	c := o.Clone()
	c.Features = nmap(c.Features)
	for k, v := range c.VendorConfig {
		c.VendorConfig[k] = nmap(v)
	}
	c.VendorConfig = nmap(c.VendorConfig)
	c.CreatedAt = nt(c.CreatedAt)
	return c
}

func normOptOut(o *herald.OptOut) *herald.OptOut {
	if o == nil {
		return nil
	}
	c := *o
	c.At = nt(c.At)
	return &c
}

func normNumbers(ns []herald.OwnedNumber) []herald.OwnedNumber {
	if len(ns) == 0 {
		return nil
	}
	out := make([]herald.OwnedNumber, len(ns))
	for i, n := range ns {
		n.AllocatedAt, n.CreatedAt = nt(n.AllocatedAt), nt(n.CreatedAt)
		out[i] = n
	}
	return out
}

func normReport(r *herald.DeliveryReport) *herald.DeliveryReport {
	if r == nil {
		return nil
	}
	c := *r
	c.Raw = nmap(maps.Clone(c.Raw))
	c.At = nt(c.At)
	return &c
}
