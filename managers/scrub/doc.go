// Package scrub is the scrub-bad-mobilenums service manager: it looks up
// every number of a draft campaign through the organization's vendor (a
// paid lookup), removes the contacts that cannot take texts (lookup status
// below zero: landline, nonexistent, wrong country, not found), and keeps
// the campaign from starting until that is done.
//
// # What it does, hook by hook
//
//   - CampaignData: reports how many of the campaign's numbers still need
//     a lookup ("pending"), the job's progress, and FullyConfigured false
//     while numbers are pending or a job runs, so that
//     dispatch.Dispatcher.StartCampaign refuses to start the campaign.
//     With the organization feature SCRUB_MOBILE_OPTIONAL set to "true" it
//     never objects. A vendor that does not implement
//     [herald.ContactLookup] is reported in Data ("lookupSupported" false,
//     "error"). A job that a restart interrupted is resumed here (see
//     below).
//   - OnCampaignUpdate: {"scrub": true} starts the lookup job in the
//     background and returns at once with StartPolling true;
//     {"cancel": true} stops it (numbers looked up so far stay cached, and
//     a later {"scrub": true} continues where it stopped). A campaign must
//     be a draft to be scrubbed.
//   - OnCampaignContactLoad: removes at once the loaded contacts whose
//     numbers are already known to be bad (from the organization's lookup
//     cache, or the contact's own Lookup), and resets the campaign's scrub
//     progress: new contacts need scrubbing again.
//
// # The lookup job
//
// A job belongs to the [Manager] that started it and runs in goroutines
// the Manager owns, beyond the context of the call that started it. It is:
//
//   - rate-limited: at most Options.LookupsPerSecond paid lookups per second
//     per organization and Manager, with bursts of Options.Burst (a
//     golang.org/x/time/rate token bucket); the organization feature
//     SCRUB_LOOKUPS_PER_SECOND overrides the rate;
//   - bounded: Options.Concurrency lookups at most in flight;
//   - cancellable: by {"cancel": true}, by a new contact load, and by
//     [Manager.Close];
//   - observable: CampaignData Data carries "status", "total", "done",
//     "paid", "cached", "failed", "lastError", "removed", "pending";
//   - resumable: each number's result is written to the manager's State
//     (namespaced to the organization) as soon as it is paid for, and the
//     job's progress is written every Options.ProgressInterval with a lease
//     (Options.LeaseDuration). A Manager that is closed marks its jobs
//     interrupted, and a new Manager on the same store resumes them on the
//     next CampaignData or OnCampaignUpdate for the campaign; a job whose
//     process died is resumed the same way once its lease expired. Two
//     Managers sharing a store never run one campaign's job at once;
//   - paid once per number: results are cached per organization (State
//     key "number/" + the E.164 number), shared by every campaign of the
//     organization, and checked before each lookup; within one Manager two
//     jobs never look the same number up at once. A lookup in flight when
//     Close is called is allowed to finish (bounded by
//     Options.LookupTimeout) and its result is saved, so a restart does not
//     pay for it again. (Only a process that dies between a vendor's answer
//     and the State write, or two Managers in different processes scrubbing
//     overlapping campaigns of one organization at the same moment, can pay
//     twice for a number.)
//
// When every number has a result, the job records each contact's lookup on
// the contact (Contact.Lookup) and deletes the contacts whose status is
// below zero, then reports status "finished". Lookup errors are never
// swallowed: a number whose lookup failed (after Options.MaxAttempts tries
// for temporary and rate-limited failures) stays pending and is counted in
// "failed" with the last error in "lastError" (numbers shortened to their
// last four digits), and logged; the campaign stays blocked until a new
// {"scrub": true} settles it. An authentication or configuration error,
// or more than Options.MaxErrors failed numbers, stops the job with status
// "failed".
//
// Host applications must call [Manager.Close] when they shut down (it
// stops every job and waits for its goroutines); [Manager.Wait] waits for
// running jobs to finish.
//
// # Configuration
//
// Organization features:
//
//   - SCRUB_MOBILE_OPTIONAL ([FeatureOptional]): "true" makes scrubbing
//     optional: CampaignData never blocks a start.
//   - SCRUB_LOOKUPS_PER_SECOND ([FeatureLookupsPerSecond]): a positive
//     decimal that replaces Options.LookupsPerSecond for the organization.
//
// Process-wide settings are the fields of [Options].
//
// Spoke's OPTOUTS_SHARE_ALL_ORGS (sharing lookups between organizations)
// has no equivalent: the cache is per organization, as State is.
//
// # Cost
//
// Every lookup is paid for at the vendor (Twilio Lookup, for example). The
// money-spending operations (ManagerMetadata.MoneySpendingOperations) are
// OnCampaignUpdate, which starts a job, and CampaignData, which resumes an
// interrupted one. A campaign of N distinct numbers costs at most N
// lookups, fewer when the organization looked some of them up before.
//
// # Order
//
// The manager has no ordering constraint with others. Enable it before
// per-campaign-messageservices when both are used, and reserve numbers
// after scrubbing, so that the numbers are sized for the contacts that
// remain.
package scrub
