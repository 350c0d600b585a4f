// Package fake is an in-memory herald vendor for development, examples and
// tests: Spoke's fakeservice, done fully. It sends nothing anywhere; it
// answers every call the way a real SMS provider would, deterministically,
// and lets a test see what it was asked.
//
//	v := fake.New(fake.Options{ReportDelay: 10 * time.Millisecond})
//	v.Connect(dispatcher) // anything with HandleReport and HandleInbound
//	...
//	v.Wait() // every delivery report and reply has been handed over
//
// The fake implements [herald.Vendor] and every optional capability:
// [herald.WebhookHandler], [herald.ContactLookup], [herald.FreeContactLookup],
// [herald.NumberInventory], [herald.MessagingServices] (with
// [herald.MessagingServiceFinder]), [herald.CostReporter],
// [herald.ErrorDescriber], [herald.OrgConfigurer] and [herald.BatchSender].
//
// # Magic words in the message body
//
// Send looks at Message.Body:
//
//   - "autorespond": after the delivery report, the recipient replies. The
//     reply is an [herald.InboundMessage] from the message's To to its
//     sending address (Route.From, else Message.From) on the message's
//     channel, with the body "responding to " + the original body.
//   - "autorespondPicture": as autorespond, and the reply carries one media
//     URL, [PictureURL], of a PNG.
//   - "error<N>" (for example "error21610"): the send fails or is reported
//     failed with code N, see the class table below.
//   - "flaky<N>": the first call for the message's idempotency key fails
//     synchronously with code N, with the class of the table below
//     (permanent for a code outside it); every later call with that key
//     succeeds. A send without an idempotency key fails every time. Use it
//     to test retries.
//   - anything else: the send succeeds and is reported delivered.
//
// # Class table
//
// Codes that fail synchronously, returned from Send as a
// *[herald.VendorError] with that Class, Code and the vendor's Name:
//
//	code                  class              HTTP status
//	429, 20429            rate-limited       429 (RetryAfter = Options.RetryAfter, default 1s)
//	500 … 599             temporary          the code
//	21610                 opted-out          400
//	21211, 21614          invalid-address    400
//	20003, 401, 403       auth               401 (403 for 403)
//	410                   gone               410
//	408                   maybe-delivered    408
//	400                   permanent          400
//
// Any other code (the carrier failures 30003 … 30008, for example) is
// accepted by Send, which returns a VendorMessageID, and then reported
// failed: the delivery report has Status failed and ErrorCode N, and 30006
// (landline or unreachable carrier) also sets DeliveryReport.Landline.
// [Classify] gives the table in code; [Vendor.DescribeError] describes
// every code in it.
//
// A context that is canceled or past its deadline makes Send return at once
// with a *VendorError of class temporary (nothing was sent) wrapping
// ctx.Err(), so that errors.Is(err, context.Canceled) holds.
//
// # Idempotency
//
// Metadata().IdempotentSend is true: the fake deduplicates sends by
// (Organization, Message.IdempotencyKey). A Send repeated with a key that
// was accepted before returns the first result (the same VendorMessageID)
// and produces no second delivery report or reply, whatever the new
// request says. A call that failed synchronously does not count as
// accepted, so a retry with the same key is tried again. An empty key is
// never deduplicated. [Vendor.Calls], [Vendor.Accepted] and [Vendor.Sends]
// show what happened.
//
// # Reports and replies
//
// Accepted sends are reported asynchronously, after Options.ReportDelay,
// in one goroutine per send: first the [herald.DeliveryReport], then the
// reply when the body asked for one. They go to the [Sink] given to
// [Vendor.Connect]; with no sink, to SendRequest.StatusCallbackURL over
// HTTP (see below); with neither, they are only recorded ([Vendor.Reports],
// [Vendor.InboundMessages]). With ReportDelay zero a report may reach the
// sink before Send has returned to its caller, as it can with a real
// provider. [Vendor.Wait] blocks until every delivery started so far has
// finished; a delivery error is logged and kept ([Vendor.DeliveryErrors]).
// [Vendor.Report] and [Vendor.Inbound] inject events through the same path,
// synchronously, for tests. Do not call Wait from inside a Sink: it would
// wait for itself.
//
// # Webhooks over HTTP
//
// With no sink connected, the fake POSTs events as JSON (see
// [EncodeWebhook]) to the send's StatusCallbackURL; replies go to the same
// URL with a last path element "status" replaced by "inbound" (the same URL
// when the last element is something else: the body says what it holds).
// The raw body is signed with HMAC-SHA256 in lower-case hex in the header
// [SignatureHeader], keyed by the organization's secret
// (Organization.VendorConfig[name]["secret"]) or else Options.WebhookSecret.
// [Vendor.ParseWebhook] verifies the signature in constant time (a missing
// or forged one, or no secret configured at all, is an error wrapping
// [herald.ErrUnauthorized]), parses the body (malformed:
// [herald.ErrInvalidInput]) and answers 200 {"ok":true}.
//
// # Capabilities
//
//   - LookupContact (paid, counted by [Vendor.Lookups]) and FreeLookup (not
//     counted as paid) classify a number by its last digit: 2 landline
//     (status -1), 3 nonexistent (-2), 4 not found (-4), anything else
//     mobile (1); Carrier "FakeCarrier"; CallerName only when asked for.
//   - BuyNumbers invents distinct numbers in the area code, see
//     [Vendor.BuyNumbers] for the scheme; the inventory is kept per
//     organization and ReleaseNumbers and ListNumbers work on it.
//   - Messaging services get IDs "MG…" and track their member numbers.
//   - CostData is the list price: 0.0075 USD per SMS segment, 0.02 per MMS.
//   - OrgConfig keys are "account" and "secret"; see [Vendor.UpdateOrgConfig]
//     for the validation rules. An account (in the organization's
//     configuration or in Route.Credentials) containing "invalid" makes Send
//     fail with class auth.
//   - SendBatch takes up to [MaxBatchSize] requests and treats each as Send
//     would; [Vendor.Batches] records the size of each call.
//
// A Vendor is safe for concurrent use.
package fake
