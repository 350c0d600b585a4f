// Package twilio is herald's Twilio Programmable Messaging vendor: SMS and
// MMS through the Messages API, verified status and inbound webhooks, and
// Twilio's extras as herald capabilities (Lookup v2, phone number
// inventory, Messaging Services, prices, per-organization credentials).
//
//	v, err := twilio.New(twilio.Options{
//		AccountSID: "AC…", AuthToken: os.Getenv("TWILIO_AUTH_TOKEN"),
//		MessagingServiceSID: "MG…",
//	})
//	d, err := dispatch.New(dispatch.Config{
//		Vendors:       []herald.Vendor{v},
//		PublicBaseURL: "https://example.com/hooks", // Twilio posts to …/{org}/twilio/status and /inbound
//	})
//
// # Why plain net/http and not twilio-go
//
// The official github.com/twilio/twilio-go SDK is generated from Twilio's
// whole OpenAPI description, and its entry point, twilio.RestClient, holds
// a client for every Twilio product, so using it links a large amount of
// generated code for the handful of endpoints a messaging vendor needs.
// Its base URLs are fixed (pointing it at a test server takes a
// RoundTripper that rewrites hosts); it reports failures as one
// TwilioRestError without the response headers, so Retry-After is lost;
// and it cannot say whether a failed call reached Twilio, which herald
// must know to avoid sending twice. With net/http the package is small,
// takes an injected *http.Client and base URLs (tests point it at an
// httptest server that behaves like Twilio), reuses connections across
// organizations, reads Retry-After, and tells a request that never left
// (ClassTemporary) from one that may have reached Twilio
// (ClassMaybeDelivered) by noting whether the request body was written to
// a connection. The request and response shapes are small and stable (API
// version 2010-04-01), so the cost of owning them is low; the signature
// algorithm is checked against fixtures from Twilio's own validator.
//
// # Credentials
//
// Every call resolves credentials in this order: Route.Credentials (a
// manager switching accounts for one message), the organization's
// VendorConfig["twilio"] (see the Config* keys, saved through
// UpdateOrgConfig), then Options. Calls authenticate with an API key and
// secret when both are set, else with the account SID and auth token.
// Webhook signatures are always checked with an auth token (Twilio signs
// with the account's auth token, never with an API key secret): the
// organization's own, or Options.AuthToken for an organization on the
// default account (never both), then Options.AuthTokenFor for callbacks
// of other accounts. An organization that authenticates with an API key
// alone needs its auth_token saved too (or AuthTokenFor) for its webhooks
// to verify.
//
// # Sending
//
// Send posts To, Body and MediaUrl (one per Message.Media URL, at most 10),
// From (Route.From, else Message.From) and MessagingServiceSid
// (Route.MessagingServiceID, else Message.MessagingServiceID, else the
// configured messaging_service_sid); at least one of the two is required.
// StatusCallback is SendRequest.StatusCallbackURL. ValidityPeriod is the
// time left until Message.SendBefore, in whole seconds, when it is under
// Twilio's maximum (36000 s); a window already closed fails the send
// without calling Twilio. Route.ForceMMS, or the mms channel without
// media, sets SendAsMms.
//
// Twilio's Messages API has no idempotency key, so Metadata().IdempotentSend
// is false: a call that fails after its request was written (a timeout, a
// broken connection) is ClassMaybeDelivered and the dispatcher does not
// resend it; a call that fails before anything was written is
// ClassTemporary.
//
// # Errors
//
// Twilio's error body {code, message, more_info, status} and the HTTP
// status decide the class, see Classify: 21610 is ClassOptedOut (the
// dispatcher records the opt-out), 21211/21612/21614/21635 invalid address,
// 20429 and HTTP 429 rate-limited with the Retry-After header, 5xx
// temporary, 20003/401/403 and account configuration errors auth, other
// 4xx permanent. DescribeError explains every code in Codes, with a link
// to Twilio's documentation.
//
// # Webhooks
//
// ParseWebhook takes status callbacks at /status and inbound messages at
// /inbound under the dispatcher's /{org}/twilio mount (any other path is
// read by its fields). Each request must carry a valid X-Twilio-Signature:
// base64 HMAC-SHA1, under the auth token, of the public URL followed by the
// posted parameters sorted by name (each name followed by its value). As
// Twilio's own validators do, the URL is tried without and with the
// scheme's default port and with the query string re-encoded the legacy
// way; JSON bodies are covered by the bodySHA256 query parameter instead.
// Signatures are compared in constant time. A missing or forged signature
// is an error wrapping herald.ErrUnauthorized (the dispatcher answers 403
// and records nothing).
//
// Status callbacks map MessageStatus onto herald: sent → sent, delivered
// and partially_delivered → delivered, undelivered, failed and canceled →
// failed, read → delivered plus an "opened" engagement; queued, accepted,
// scheduled, sending and statuses Twilio adds later produce no report.
// ErrorCode 30006 sets DeliveryReport.Landline and 21610 OptedOut. EventIDs
// are MessageSid/MessageStatus, so a redelivered callback is deduplicated.
// Inbound messages carry Body, NumMedia/MediaUrlN (channel mms when there
// is media) and EventID MessageSid. The answer is an empty TwiML
// <Response/>, so Twilio sends no automatic reply.
package twilio
