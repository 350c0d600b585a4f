package main

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/heraldmsg/herald"
)

// errKilled is what a killed in-process worker's store and vendor answer.
var errKilled = errors.New("worker killed")

// In goroutine mode a worker cannot be killed like a process, so its store
// and vendor are wrapped: once dead is set they fail every call, and its
// NATS connection is closed. The worker then records nothing more, exactly
// as a process killed at that instant: messages it holds stay claimed or in
// sending until their lease expires, its unsettled jobs are redelivered
// after AckWait, and a send it had on the wire may have reached the API.

type killableStore struct {
	herald.Store
	dead *atomic.Bool
}

func (s killableStore) CreateMessage(ctx context.Context, m *herald.Message) (*herald.Message, bool, error) {
	if s.dead.Load() {
		return nil, false, errKilled
	}
	return s.Store.CreateMessage(ctx, m)
}

func (s killableStore) GetMessage(ctx context.Context, orgID, id string) (*herald.Message, error) {
	if s.dead.Load() {
		return nil, errKilled
	}
	return s.Store.GetMessage(ctx, orgID, id)
}

func (s killableStore) UpdateMessage(ctx context.Context, u *herald.MessageUpdate) (*herald.Message, error) {
	if s.dead.Load() {
		return nil, errKilled
	}
	return s.Store.UpdateMessage(ctx, u)
}

func (s killableStore) ClaimDue(ctx context.Context, p herald.ClaimParams) ([]*herald.Message, error) {
	if s.dead.Load() {
		return nil, errKilled
	}
	return s.Store.ClaimDue(ctx, p)
}

func (s killableStore) ClaimMessage(ctx context.Context, orgID, id string, p herald.ClaimParams) (*herald.Message, error) {
	if s.dead.Load() {
		return nil, errKilled
	}
	return s.Store.ClaimMessage(ctx, orgID, id, p)
}

func (s killableStore) ReleaseLease(ctx context.Context, orgID, id, owner string) error {
	if s.dead.Load() {
		return errKilled
	}
	return s.Store.ReleaseLease(ctx, orgID, id, owner)
}

type killableVendor struct {
	herald.Vendor
	dead *atomic.Bool
}

func (v killableVendor) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if v.dead.Load() {
		return nil, &herald.VendorError{Vendor: "smsapi", Class: herald.ClassTemporary, Err: errKilled}
	}
	return v.Vendor.Send(ctx, req)
}

// killable wraps a worker's store and vendor on one switch.
func killable(dead *atomic.Bool) func(herald.Store, herald.Vendor) (herald.Store, herald.Vendor) {
	return func(s herald.Store, v herald.Vendor) (herald.Store, herald.Vendor) {
		return killableStore{Store: s, dead: dead}, killableVendor{Vendor: v, dead: dead}
	}
}
