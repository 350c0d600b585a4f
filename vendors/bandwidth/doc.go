// Package bandwidth is herald's Bandwidth vendor: SMS and MMS through the
// Messaging API v2, callbacks (delivery reports and inbound messages)
// authenticated with HTTP Basic auth, and Bandwidth's extras as herald
// capabilities (number ordering through the Numbers API, list prices,
// error descriptions, per-organization credentials).
//
//	v, err := bandwidth.New(bandwidth.Options{
//		AccountID: "9900000",
//		ClientID:  "…", ClientSecret: os.Getenv("BANDWIDTH_CLIENT_SECRET"),
//		ApplicationID:    "93de2206-9669-4e07-948d-329f4b722ee2",
//		CallbackUsername: "herald", CallbackPassword: os.Getenv("BANDWIDTH_CALLBACK_PASSWORD"),
//	})
//	d, err := dispatch.New(dispatch.Config{
//		Vendors:       []herald.Vendor{v},
//		PublicBaseURL: "https://example.com/hooks", // the application's callback URL: …/{org}/bandwidth
//	})
//
// # Why plain net/http and not Bandwidth's Go SDK
//
// Bandwidth's SDKs are generated from its OpenAPI descriptions and cover
// every product (voice, MFA, lookups, ...), while the messaging vendor
// needs one JSON call, a token request and four XML calls of the Numbers
// API, which Bandwidth serves with separate clients. A generated client
// also hides what herald must see: whether a failed call reached Bandwidth (the Messaging API has no
// idempotency key, so a request that was written must never be blindly
// resent), the Retry-After header of a 429, and its base URLs are fixed.
// With net/http the package is small, takes an injected *http.Client and
// base URLs (tests point it at an httptest server that behaves like
// Bandwidth), shares connections and OAuth2 tokens across organizations,
// reads Retry-After, and tells a request that never left (ClassTemporary)
// from one that may have reached Bandwidth (ClassMaybeDelivered) by noting
// whether the request body was written to a connection.
//
// OAuth2 tokens are fetched by the package too, not with
// golang.org/x/oauth2/clientcredentials: its token source keeps the
// context it was made with, so a per-send deadline would not cover a
// stalled token request, and its errors do not say whether to retry. The
// client-credentials grant is one form POST; the package caches a token
// per client (token URL, client ID and secret), shared by every
// organization using that client, replaces it a margin
// (Options.TokenRefreshMargin, default 60 s) before it expires, fetches
// once for many concurrent sends, and forgets it when Bandwidth answers
// 401.
//
// # Credentials
//
// Every call resolves credentials in this order: Route.Credentials (a
// manager switching accounts for one message), the organization's
// VendorConfig["bandwidth"] (see the Config* keys, saved through
// UpdateOrgConfig), then Options. A source that names an account and
// leaves its secrets or defaults (application, from number, site, peer)
// empty borrows them from the next source only when that is the same
// account; an organization that names no account but an application or a
// from number uses them with the default account. Calls authenticate with OAuth2
// client credentials when client_id and client_secret are set (a Bearer
// token from DefaultTokenURL), else with the legacy API user's username and
// password over HTTP Basic auth (Bandwidth decommissions API users in
// December 2026). Both the Messaging and the Numbers API take either.
//
// # Sending
//
// Send posts {applicationId, to: [Message.To], from, text, media, tag,
// priority, expiration} to {MessagingBaseURL}/api/v2/users/{account}/messages:
//
//   - from is Route.From (what numpicker or stickysender chose), else
//     Message.From, else the configured from_number; with none the send
//     fails with ClassAuth wrapping herald.ErrConfig, before any call;
//   - applicationId is Route.MessagingServiceID, else
//     Message.MessagingServiceID, else the configured application_id;
//   - tag is herald's message ID (echoed in every callback; never PII);
//   - priority is "high" for herald.UrgencyHigh, else "default";
//   - expiration is Message.SendBefore (RFC 3339); a window already closed
//     fails the send (code 4360) without calling Bandwidth;
//   - media are Message.Media (at most 10): Bandwidth sends MMS exactly
//     when there is media, so Route.ForceMMS without media has no effect.
//
// Bandwidth sends callbacks to the URL configured on the messaging
// application, not per message: point it at the dispatcher's Webhooks()
// mount, {PublicBaseURL}/{org}/bandwidth, and set its callback credentials
// (SendRequest.StatusCallbackURL is not sent).
//
// The Messaging API has no idempotency key, so Metadata().IdempotentSend is
// false: a call that fails after its request was written (a timeout, a
// broken connection) is ClassMaybeDelivered and the dispatcher does not
// resend it; a call that fails before anything was written (an OAuth2
// token that could not be had included) is ClassTemporary.
//
// # Errors
//
// HTTP errors of the Messaging API carry {type, description} (404 comes in
// Spring's {status, error, message} shape); the VendorError's Code is the
// type (or the HTTP status), and Classify decides the class: 429 is
// rate-limited with the Retry-After header, 5xx temporary, 401, 403
// and 404 (a wrong account) auth, a validation error on "to" an invalid
// address, other 4xx permanent. The four-digit codes of message-failed
// callbacks classify the same way: 4775 (the recipient opted out) is
// ClassOptedOut, as Twilio's 21610 is, other 4xxx permanent (some invalid
// address or auth, see Codes), 5xxx temporary, 9902 (no delivery receipt)
// maybe-delivered. DescribeError explains every code in Codes with a link
// to Bandwidth's error page. Numbers API errors are XML; their class comes
// from the HTTP status alone.
//
// # Webhooks
//
// ParseWebhook takes the JSON array of events Bandwidth posts (at the
// mount, /status or /inbound). Bandwidth signs nothing: callbacks are
// authenticated only by the HTTP Basic credentials configured on the
// application, so every request must carry the organization's
// callback_username and callback_password (or Options' for organizations
// on the default account), compared in constant time. A request without
// them, with others, or for an organization with none configured is an
// error wrapping herald.ErrUnauthorized: the dispatcher answers 403 and
// records nothing. Basic auth proves the sender knows the secret, not that
// the body is intact: serve the webhooks over TLS only.
//
// Events map onto herald forward-only (the dispatcher refuses moves back):
// message-sending → sent, message-delivered → delivered, message-failed →
// failed with errorCode, message-read → an "opened" engagement;
// message-received is an inbound message (media URLs kept, the SMIL layout
// dropped, channel mms when there is media; an event with direction "out"
// is never taken for a reply). message-failed with 4775 sets
// DeliveryReport.OptedOut (the dispatcher records the opt-out), with 4720
// (invalid destination, which covers landlines) Landline, and with 9902
// it reports sent with the code instead of failed: the message may have
// been delivered. carrierName becomes DeliveryReport.Carrier. EventIDs are
// message id/event type (plus the recipient for group messages), inbound
// ones the message id, so Bandwidth's redeliveries (it retries for 24 hours
// until answered 2xx) are deduplicated by the dispatcher. Event types
// Bandwidth adds later are ignored. The answer is 200 with an empty body.
//
// # Numbers
//
// BuyNumbers, ListNumbers and ReleaseNumbers use the Numbers (Dashboard)
// API, which speaks XML: availableNumbers to search an area code (toll-free
// codes with tollFreeWildCardPattern), orders of the found numbers into
// site_id and peer_id (polled until COMPLETE, PARTIAL or FAILED),
// inserviceNumbers to list, disconnects to release. Numbers are North
// American (US and Canada); OwnedNumber.VendorID is Bandwidth's ten-digit
// form, Number the E.164 one.
package bandwidth
