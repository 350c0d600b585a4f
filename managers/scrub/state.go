package scrub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/heraldmsg/herald"
)

// Status is where a campaign's scrub is.
type Status string

// The statuses, as found in Progress.Status and in CampaignData's
// "status".
const (
	// StatusIdle: no job has run since the contacts were loaded.
	StatusIdle Status = "idle"
	// StatusRunning: a job runs (here or in another Manager).
	StatusRunning Status = "running"
	// StatusInterrupted: the job's Manager was closed; the next
	// CampaignData or update resumes it.
	StatusInterrupted Status = "interrupted"
	// StatusCanceled: a user canceled the job.
	StatusCanceled Status = "canceled"
	// StatusFinished: every number was settled and bad contacts removed;
	// Pending counts the numbers whose lookup failed.
	StatusFinished Status = "finished"
	// StatusFailed: the job stopped on an error (LastError).
	StatusFailed Status = "failed"
)

// Progress is a campaign's scrub record, kept in the manager's State under
// "campaign/" + the campaign ID. A zero record reads as StatusIdle.
type Progress struct {
	Status Status `json:"status"`
	// Owner is the Manager running the job and LeaseUntil when its claim
	// lapses unless renewed.
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// Total is how many distinct numbers needed a lookup when the job
	// started; Done how many of them are settled (paid for now, or found
	// in the cache meanwhile).
	Total int `json:"total"`
	Done  int `json:"done"`
	// Paid counts the paid lookups the job made; Cached the numbers it
	// found already looked up (by another campaign's job).
	Paid   int `json:"paid"`
	Cached int `json:"cached"`
	// Failed counts numbers whose lookup failed; they stay pending.
	Failed int `json:"failed"`
	// LastError is the last failure, numbers shortened to four digits.
	LastError string `json:"lastError,omitempty"`
	// Removed counts contacts the job removed; RemovedOnLoad those the
	// contact load removed at once.
	Removed       int `json:"removed"`
	RemovedOnLoad int `json:"removedOnLoad"`
	// Pending is how many numbers still need a lookup when the record was
	// written (CampaignData counts it afresh unless a job runs).
	Pending    int       `json:"pending"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

func progressKey(campaignID string) string { return "campaign/" + campaignID }

// NumberKey is the State key under which the organization's lookup of an
// E.164 number is cached, as a JSON herald.LookupResult.
func NumberKey(number string) string { return "number/" + number }

// ReadProgress reads a campaign's record from the manager's State (the
// State the dispatcher hands the manager for the organization).
func ReadProgress(ctx context.Context, s herald.State, campaignID string) (*Progress, error) {
	p, _, err := readProgress(ctx, s, campaignID)
	return p, err
}

func readProgress(ctx context.Context, s herald.State, campaignID string) (*Progress, []byte, error) {
	b, ok, err := s.Get(ctx, progressKey(campaignID))
	if err != nil {
		return nil, nil, fmt.Errorf("scrub: reading progress: %w", err)
	}
	p := &Progress{Status: StatusIdle}
	if !ok {
		return p, nil, nil
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, nil, fmt.Errorf("scrub: progress of campaign %s is corrupt: %w", campaignID, err)
	}
	if p.Status == "" {
		p.Status = StatusIdle
	}
	return p, b, nil
}

// errNoChange makes updateProgress write nothing.
var errNoChange = errors.New("scrub: no change")

// updateProgress applies fn to the campaign's record with compare-and-swap
// and returns the record written (or read, when fn returns errNoChange).
func updateProgress(ctx context.Context, s herald.State, campaignID string, fn func(p *Progress) error) (*Progress, error) {
	for range 100 {
		p, old, err := readProgress(ctx, s, campaignID)
		if err != nil {
			return nil, err
		}
		if err := fn(p); err != nil {
			if errors.Is(err, errNoChange) {
				return p, nil
			}
			return p, err
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		ok, err := s.CompareAndSwap(ctx, progressKey(campaignID), old, b)
		if err != nil {
			return nil, fmt.Errorf("scrub: writing progress: %w", err)
		}
		if ok {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: scrub: progress of campaign %s keeps changing", herald.ErrConflict, campaignID)
}

// CachedLookup returns the organization's cached lookup of an E.164
// number from the manager's State, and whether there is one.
func CachedLookup(ctx context.Context, s herald.State, number string) (*herald.LookupResult, bool, error) {
	b, ok, err := s.Get(ctx, NumberKey(number))
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("scrub: reading the lookup cache: %w", err)
		}
		return nil, false, err
	}
	var r herald.LookupResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, false, fmt.Errorf("scrub: cached lookup of %s is corrupt: %w", last4(number), err)
	}
	return &r, true, nil
}

func cacheLookup(ctx context.Context, s herald.State, r *herald.LookupResult) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.Put(ctx, NumberKey(r.Number), b); err != nil {
		return fmt.Errorf("scrub: caching the lookup of %s: %w", last4(r.Number), err)
	}
	return nil
}
