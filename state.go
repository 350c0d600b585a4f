package herald

import (
	"context"
	"errors"
)

// NamespacedState returns the State of one namespace (a manager's name) in
// one organization over a StateStore: exactly what the dispatcher hands a
// manager as Env.State. Hosts use it to seed or inspect a manager's data,
// and tests to drive hooks outside a dispatcher.
func NamespacedState(store StateStore, orgID, namespace string) State {
	return &namespacedState{store: store, org: orgID, ns: namespace}
}

type namespacedState struct {
	store   StateStore
	org, ns string
}

func (s *namespacedState) key(k string) StateKey {
	return StateKey{OrgID: s.org, Namespace: s.ns, Key: k}
}

func (s *namespacedState) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := s.store.GetState(ctx, s.key(key))
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (s *namespacedState) Put(ctx context.Context, key string, value []byte) error {
	return s.store.PutState(ctx, s.key(key), value)
}

// Delete removes key; deleting an absent key is not an error.
func (s *namespacedState) Delete(ctx context.Context, key string) error {
	err := s.store.DeleteState(ctx, s.key(key))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (s *namespacedState) CompareAndSwap(ctx context.Context, key string, old, value []byte) (bool, error) {
	return s.store.CompareAndSwapState(ctx, s.key(key), old, value)
}
