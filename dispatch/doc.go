// Package dispatch is herald's Dispatcher: it takes messages from the host,
// runs the organization's service managers in order, sends through vendors,
// records every status change in the Store, takes vendor webhooks, and never
// sends a message twice.
//
// Build one with New and a Config; only Vendors is required:
//
//	d, err := dispatch.New(dispatch.Config{
//		Vendors:         []herald.Vendor{fake.New(fake.Options{})},
//		Managers:        []herald.ServiceManager{example.New()},
//		EnabledManagers: []string{"example"},
//	})
//
// Then:
//
//   - Send sends one message and returns its outcome; SendBatch many, with
//     bounded concurrency and one result each.
//   - Enqueue stores a message for Run, the worker loop that sends queued
//     and scheduled messages and retries temporary failures with
//     exponential backoff, jitter and the vendor's Retry-After. Run shuts
//     down gracefully and loses nothing: work lives in the Store.
//   - HandleReport and HandleInbound take what vendors report: reports are
//     deduplicated by event ID (an event that could not be recorded is
//     forgotten, so the vendor's retry is handled) and applied forward
//     only; inbound STOP-style keywords
//     opt the sender out, START lifts it, and replies are routed to the
//     contact's owner through Config.OnInbound.
//   - Webhooks returns an http.Handler that mounts every vendor's
//     callbacks, verified by the vendor, size-capped, per organization.
//   - OptOut and UndoOptOut record and lift opt-outs by hand.
//   - RegisterDevice and RemoveDevice keep a contact's push devices;
//     SendToContact sends one message per device of a channel (or to the
//     contact's phone or email). A device a vendor reports gone is removed.
//   - CreateCampaign, LoadContacts, StartCampaign, ArchiveCampaign and
//     UnarchiveCampaign run the campaign lifecycle with its hooks; the
//     dispatcher itself refuses to start a campaign a manager reports not
//     fully configured, or to unarchive one a manager reports not
//     unarchivable.
//   - CampaignData, UpdateCampaign, OrganizationData, UpdateOrganization,
//     UpdateVendorConfig, VendorFullyConfigured and BuyNumbers reach the
//     managers' and vendors' configuration hooks.
//
// # One process or many
//
// Run takes work from Config.Queue and polls the Store for what the queue
// did not bring. The defaults (NewLocalQueue, NewLocalLimiter) serve one
// process. Dispatchers in several processes share one Store (a shared
// stores/sqlstore database) and, to share jobs at once and hold rate
// limits in aggregate, one Queue and one Limiter: queues/jetstream
// provides both on NATS JetStream. Leases in the Store make sure a message
// is worked on by one dispatcher at a time; a dispatcher that dies leaves
// its messages to the others once their leases expire (examples/cluster).
//
// # Which managers run
//
// One resolver answers "which managers, in which order" for every path
// (sends, retries, reports, opt-outs, campaigns): the organization's
// SERVICE_MANAGERS feature when set, which replaces Config.EnabledManagers,
// else Config.EnabledManagers. A list naming an unregistered manager, or
// breaking a manager's RunsBefore/RunsAfter, is a configuration error
// (herald.ErrConfig), never skipped silently.
//
// # Errors
//
// Bad input returns an error wrapping herald.ErrInvalidInput and stores
// nothing. Vendor failures are acted on by class (herald.ErrorClass):
// temporary and rate-limited failures are retried, opted-out records an
// opt-out, gone removes the device, maybe-delivered ends the message unknown
// unless the vendor deduplicates sends, the rest fail the message.
package dispatch
