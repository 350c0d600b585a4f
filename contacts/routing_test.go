package contacts

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/heraldmsg/herald"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultOwner(t *testing.T) {
	ctx := context.Background()
	got, err := DefaultOwner("desk@example.com").Route(ctx, &herald.InboundMessage{OrgID: "o"})
	require.NoError(t, err)
	assert.Equal(t, "desk@example.com", got)
	_, err = DefaultOwner("").Route(ctx, &herald.InboundMessage{OrgID: "o"})
	assert.ErrorIs(t, err, ErrNoOwner)
}

func TestRoundRobin(t *testing.T) {
	ctx := context.Background()
	owners := map[string][]string{"a": {"ann", "bob", "cat"}, "b": {"zed"}}
	rr := NewRoundRobin(func(_ context.Context, org string) ([]string, error) { return owners[org], nil })
	var got []string
	for range 5 {
		o, err := rr.Route(ctx, &herald.InboundMessage{OrgID: "a"})
		require.NoError(t, err)
		got = append(got, o)
	}
	assert.Equal(t, []string{"ann", "bob", "cat", "ann", "bob"}, got)
	o, err := rr.Route(ctx, &herald.InboundMessage{OrgID: "b"})
	require.NoError(t, err)
	assert.Equal(t, "zed", o, "organizations turn separately")
	_, err = rr.Route(ctx, &herald.InboundMessage{OrgID: "none"})
	assert.ErrorIs(t, err, ErrNoOwner)

	// Concurrent routes are spread evenly.
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 300 {
		wg.Go(func() {
			o, _ := rr.Route(ctx, &herald.InboundMessage{OrgID: "a"})
			mu.Lock()
			counts[o]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"ann": 100, "bob": 100, "cat": 100}, counts)

	boom := NewRoundRobin(func(context.Context, string) ([]string, error) { return nil, errors.New("down") })
	_, err = boom.Route(ctx, &herald.InboundMessage{OrgID: "a"})
	assert.ErrorContains(t, err, "down")
}

func TestLeastLoaded(t *testing.T) {
	ctx := context.Background()
	loads := map[string]int{"ann": 5, "bob": 2, "cat": 2, "dan": 9}
	ll := NewLeastLoaded(
		func(context.Context, string) ([]string, error) { return []string{"ann", "bob", "cat", "dan"}, nil },
		func(_ context.Context, _ string, owners []string) (map[string]int, error) { return loads, nil },
	)
	var got []string
	for range 4 {
		o, err := ll.Route(ctx, &herald.InboundMessage{OrgID: "a"})
		require.NoError(t, err)
		got = append(got, o)
	}
	assert.Equal(t, []string{"bob", "cat", "bob", "cat"}, got, "ties are taken in turn")
	loads["cat"] = 1
	o, err := ll.Route(ctx, &herald.InboundMessage{OrgID: "a"})
	require.NoError(t, err)
	assert.Equal(t, "cat", o)
	loads = map[string]int{} // missing owners count zero
	o, _ = ll.Route(ctx, &herald.InboundMessage{OrgID: "a"})
	assert.Contains(t, []string{"ann", "bob", "cat", "dan"}, o)

	none := NewLeastLoaded(func(context.Context, string) ([]string, error) { return nil, nil }, nil)
	_, err = none.Route(ctx, &herald.InboundMessage{OrgID: "a"})
	assert.ErrorIs(t, err, ErrNoOwner)

	var r Router = RouterFunc(func(context.Context, *herald.InboundMessage) (string, error) { return "x", nil })
	o, _ = r.Route(ctx, nil)
	assert.Equal(t, "x", o)
}

func TestTimezoneFor(t *testing.T) {
	tests := []struct{ zip, phone, want string }{
		{"02139", "", "America/New_York"},
		{"60601-1234", "+14155552671", "America/Chicago"}, // zip wins over the phone
		{"32501", "", "America/Chicago"},                  // Pensacola
		{"33101", "", "America/New_York"},                 // Miami
		{"79901", "", "America/Denver"},                   // El Paso
		{"85001", "", "America/Phoenix"},
		{"83814", "", "America/Los_Angeles"}, // Coeur d'Alene
		{"83702", "", "America/Boise"},
		{"96813", "", "Pacific/Honolulu"},
		{"99501", "", "America/Anchorage"},
		{"00901", "", "America/Puerto_Rico"},
		{"37201", "", "America/Chicago"},  // Nashville
		{"37902", "", "America/New_York"}, // Knoxville
		{"", "+14155552671", "America/Los_Angeles"},
		{"", "(212) 555-0100", "America/New_York"},
		{"SW1A 1AA", "+442079460958", "Europe/London"},
		{"", "+33612345678", "Europe/Paris"},
	}
	for _, tt := range tests {
		got, ok := TimezoneFor(tt.zip, tt.phone)
		assert.True(t, ok, "%s %s", tt.zip, tt.phone)
		assert.Equal(t, tt.want, got, "%s %s", tt.zip, tt.phone)
	}
	for _, tt := range []struct{ zip, phone string }{
		{"", ""}, {"abc", "12345"}, {"", "+447400123456"}, {"", "+18002752273"}, // several zones: UK mobiles, toll-free
	} {
		_, ok := TimezoneFor(tt.zip, tt.phone)
		assert.False(t, ok, "%s %s", tt.zip, tt.phone)
	}
}
