package airtable_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
	"github.com/heraldmsg/herald/contacts/airtable"
)

func newClient(t *testing.T, f *fakeAirtable, opts airtable.Options) *airtable.Client {
	t.Helper()
	opts.BaseID, opts.Table, opts.BaseURL = f.base, f.table, f.URL
	if opts.Token == "" {
		opts.Token = f.token
	}
	if opts.RequestsPerSecond == 0 {
		opts.RequestsPerSecond = -1
	}
	c, err := airtable.New(opts)
	require.NoError(t, err)
	return c
}

func TestClientCRUDAndMapping(t *testing.T) {
	f := newFakeAirtable(time.Second)
	defer f.Close()
	id := f.add(map[string]any{"id": float64(42), "name": "Ada Lovelace", "sms": "+14155552671", "email": "Ada@Example.COM",
		"owner": "grace@example.com", "notes": "VIP", "opt_out": true})
	lim := rate.NewLimiter(airtable.DefaultPace, 1) // shared by the clients of the base
	c := newClient(t, f, airtable.Options{View: "Grid view", Limiter: lim})
	ctx := context.Background()

	got, err := c.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, got.ID)
	assert.Equal(t, "42", got.ExternalID, "numbers are read as text")
	assert.Equal(t, "Ada", got.FirstName)
	assert.Equal(t, "Lovelace", got.LastName)
	assert.Equal(t, "+14155552671", got.Phone)
	assert.Equal(t, "Ada@example.com", got.Email)
	assert.Equal(t, "grace@example.com", got.Owner)
	assert.Equal(t, map[string]string{"notes": "VIP", "opt_out": "true"}, got.CustomFields)
	assert.False(t, got.CreatedAt.IsZero())

	created, err := c.Create(ctx, &herald.Contact{FirstName: "Bob", LastName: "Smith", Phone: "+14155552672", Owner: "grace@example.com",
		CustomFields: map[string]string{"notes": "new"}})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(created.ID, "rec"))
	assert.Equal(t, "Bob", created.FirstName)

	created.Owner = "alan@example.com"
	updated, err := c.Update(ctx, created)
	require.NoError(t, err)
	assert.Equal(t, "alan@example.com", updated.Owner)
	assert.Equal(t, "new", updated.CustomFields["notes"])

	found, err := c.FindByAddress(ctx, "+14155552672")
	require.NoError(t, err)
	assert.Equal(t, created.ID, found.ID)
	_, err = c.FindByAddress(ctx, "+1415555267")
	assert.ErrorIs(t, err, herald.ErrNotFound, "exact match, not substring")

	require.NoError(t, c.Delete(ctx, created.ID))
	_, err = c.Get(ctx, created.ID)
	assert.ErrorIs(t, err, herald.ErrNotFound)
	var apiErr *airtable.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "MODEL_ID_NOT_FOUND", apiErr.Type)
	assert.ErrorIs(t, c.Delete(ctx, created.ID), herald.ErrNotFound)

	bad := newClient(t, f, airtable.Options{Token: "wrong", Limiter: lim})
	_, err = bad.Get(ctx, id)
	assert.ErrorIs(t, err, herald.ErrConfig)
	assert.NotContains(t, err.Error(), "wrong")

	_, err = airtable.New(airtable.Options{BaseID: "app"})
	assert.ErrorIs(t, err, herald.ErrConfig)
}

func TestClientListPagesByOwner(t *testing.T) {
	f := newFakeAirtable(time.Second)
	defer f.Close()
	for i := range 250 {
		owner := "ann"
		if i%5 == 0 {
			owner = "bob"
		}
		f.add(map[string]any{"name": fmt.Sprintf("P %d", i), "sms": fmt.Sprintf("+1415555%04d", i), "owner": owner})
	}
	c := newClient(t, f, airtable.Options{RequestsPerSecond: 4.5})
	ctx := context.Background()
	all, err := contacts.ListAll(ctx, c, contacts.ListParams{Owner: "ann"})
	require.NoError(t, err)
	assert.Len(t, all, 200)
	for _, ct := range all {
		require.Equal(t, "ann", ct.Owner)
	}
	requests, limited := f.stats()
	assert.Equal(t, 2, requests, "200 records in pages of 100")
	assert.Zero(t, limited)

	page, next, err := c.List(ctx, contacts.ListParams{Owner: "bob", PageSize: 30})
	require.NoError(t, err)
	assert.Len(t, page, 30)
	assert.NotEmpty(t, next)
	page, next, err = c.List(ctx, contacts.ListParams{Owner: "bob", PageSize: 30, Cursor: next})
	require.NoError(t, err)
	assert.Len(t, page, 20)
	assert.Empty(t, next)
}

func TestFormulaQuoting(t *testing.T) {
	f := newFakeAirtable(time.Second)
	defer f.Close()
	f.add(map[string]any{"name": "A", "sms": "+14155550001", "owner": "ann"})
	f.add(map[string]any{"name": "B", "sms": "+14155550002", "owner": `o'brien "the" \boss`})
	c := newClient(t, f, airtable.Options{RequestsPerSecond: 4.5})
	ctx := context.Background()

	// An owner crafted to end the string and add "OR TRUE()" matches
	// nobody instead of everybody.
	for _, evil := range []string{`x' , TRUE(), '`, `x" , TRUE(), "`, `x\", TRUE(), \"`, "x}\n{owner"} {
		list, _, err := c.List(ctx, contacts.ListParams{Owner: evil})
		require.NoError(t, err, evil)
		assert.Empty(t, list, evil)
	}
	list, _, err := c.List(ctx, contacts.ListParams{Owner: `o'brien "the" \boss`})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "B", list[0].FirstName)

	assert.Equal(t, `"a\"b\'c\\d\ne"`, airtable.QuoteString("a\"b'c\\d\ne"))
	formula, err := c.Formula(contacts.ListParams{Owner: "ann", ModifiedSince: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, `AND({owner} = "ann", NOT(IS_BEFORE(LAST_MODIFIED_TIME(), DATETIME_PARSE("2026-01-02T03:04:05Z"))))`, formula)

	bad := newClient(t, f, airtable.Options{Fields: airtable.FieldMap{Name: "name", Owner: "own{er}"}})
	_, _, err = bad.List(ctx, contacts.ListParams{Owner: "ann"})
	assert.ErrorIs(t, err, herald.ErrConfig)
}

func TestClientRateLimitAndPenalty(t *testing.T) {
	const penalty = 300 * time.Millisecond
	f := newFakeAirtable(penalty)
	defer f.Close()
	id := f.add(map[string]any{"name": "A", "sms": "+14155550001", "owner": "ann"})
	ctx := context.Background()

	// Unpaced, the sixth request in a second is refused, and so is every
	// request during the penalty.
	c := newClient(t, f, airtable.Options{RequestsPerSecond: -1, Penalty: penalty})
	var err error
	n := 0
	for ; n < 10; n++ {
		if _, err = c.Get(ctx, id); err != nil {
			break
		}
	}
	assert.Equal(t, 5, n)
	rl, ok := contacts.IsRateLimited(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, penalty, rl.RetryAfter)
	time.Sleep(penalty / 2)
	_, err = c.Get(ctx, id)
	_, ok = contacts.IsRateLimited(err)
	assert.True(t, ok, "still in the penalty")
	time.Sleep(penalty + time.Second) // the penalty and the window

	// Paced at the default, a burst of requests is never refused.
	paced := newClient(t, f, airtable.Options{RequestsPerSecond: airtable.DefaultPace, Penalty: penalty})
	_, before := f.stats()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := paced.Get(ctx, id)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	_, after := f.stats()
	assert.Equal(t, before, after)
}

func TestCachedAirtable(t *testing.T) {
	const penalty = 200 * time.Millisecond
	f := newFakeAirtable(penalty)
	defer f.Close()
	for i := range 14 {
		owner := []string{"ann", "bob"}[i%2]
		f.add(map[string]any{"name": fmt.Sprintf("P%d", i), "sms": fmt.Sprintf("+1415555%04d", i), "owner": owner})
	}
	// The client is not paced, and the cache's own limit is off: the
	// fake refuses bursts, and the cache must wait the penalty out.
	c := newClient(t, f, airtable.Options{RequestsPerSecond: -1, Penalty: penalty})
	cache := contacts.NewCachedSource(c, contacts.CacheOptions{TTL: time.Millisecond, RateLimit: -1, PageSize: 1, MaxRetries: 5})
	ctx := context.Background()

	list, _, err := cache.List(ctx, "ann", contacts.PageRequest{})
	require.NoError(t, err)
	assert.Len(t, list, 7)
	_, limited := f.stats()
	assert.Positive(t, limited, "the burst of page requests hit the limit")

	// Changes are fetched incrementally with LAST_MODIFIED_TIME.
	newID := f.add(map[string]any{"name": "New", "sms": "+14155559999", "owner": "ann"})
	time.Sleep(5 * time.Millisecond)
	list, _, err = cache.List(ctx, "ann", contacts.PageRequest{})
	require.NoError(t, err)
	assert.Len(t, list, 8)
	assert.Contains(t, f.formulas[len(f.formulas)-1], "LAST_MODIFIED_TIME()")
	ct, err := cache.FindByAddress(ctx, "(415) 555-9999", "US")
	require.NoError(t, err)
	assert.Equal(t, newID, ct.ID)

	bob, _, err := cache.List(ctx, "bob", contacts.PageRequest{})
	require.NoError(t, err)
	for _, b := range bob {
		assert.Equal(t, "bob", b.Owner)
	}
}
