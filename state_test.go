package herald_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/stores/memstore"
)

func TestNamespacedState(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	a := herald.NamespacedState(store, "org1", "sticky-sender")
	other := herald.NamespacedState(store, "org2", "sticky-sender")

	_, ok, err := a.Get(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok)
	swapped, err := a.CompareAndSwap(ctx, "k", nil, []byte("v1"))
	require.NoError(t, err)
	assert.True(t, swapped)
	swapped, err = a.CompareAndSwap(ctx, "k", nil, []byte("v2"))
	require.NoError(t, err)
	assert.False(t, swapped, "set only when absent")
	v, ok, err := a.Get(ctx, "k")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "v1", string(v))

	_, ok, err = other.Get(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok, "organizations do not share state")
	raw, err := store.GetState(ctx, herald.StateKey{OrgID: "org1", Namespace: "sticky-sender", Key: "k"})
	require.NoError(t, err)
	assert.Equal(t, "v1", string(raw), "the dispatcher's namespacing")

	require.NoError(t, a.Put(ctx, "k", []byte("v3")))
	require.NoError(t, a.Delete(ctx, "k"))
	require.NoError(t, a.Delete(ctx, "k"), "deleting an absent key is fine")
	_, ok, err = a.Get(ctx, "k")
	require.NoError(t, err)
	assert.False(t, ok)
}
