// Package sendgrid is the herald vendor for email through Twilio SendGrid's
// Mail Send v3 API and its signed Event Webhook, built on
// github.com/sendgrid/sendgrid-go.
//
// # Sending
//
// Each Send builds its own request (sendgrid-go's shared Client is not safe
// for concurrent use) and posts it with the Client's *http.Client:
//
//   - from: Route.From, else Message.From, else the organization's or the
//     Options' From ("Name <addr>" or a bare address);
//   - to: Message.To, named after the contact when there is one;
//   - subject, then content text/plain (Body) before text/html (HTML);
//   - categories: Options.Categories plus Message.Meta[MetaCategories]
//     (comma-separated), at most 10;
//   - custom args: [ArgMessageID] (herald's message ID), [ArgOrgID] and, in a
//     campaign, [ArgCampaignID]; SendGrid echoes them on every event;
//   - reply-to: Message.Meta[MetaReplyTo];
//   - attachments: each Message.Media URL is fetched (at most
//     Options.MaxAttachmentBytes each) and attached, base64-encoded, with
//     the file name from the URL and the type the server answered.
//
// The 202 answer's X-Message-Id header is the vendor message ID. Answers map
// to error classes: 400 is permanent (invalid-address when SendGrid names a
// recipient or sender field), 401 and 403 are herald.ClassAuth, 413 is
// permanent, 429 is herald.ClassRateLimited with Retry-After (or
// X-RateLimit-Reset), 5xx is temporary. A failure before the request was
// written is temporary; one after it is herald.ClassMaybeDelivered, since
// SendGrid does not deduplicate sends.
//
// # Configuration
//
// Options hold the process-wide API key, sender and webhook verification
// key. The Client is a herald.OrgConfigurer: an organization may carry its
// own (VendorConfig["sendgrid"] keys ConfigAPIKey, ConfigFrom,
// ConfigWebhookPublicKey), which win over the Options; a route's
// Credentials[ConfigAPIKey] wins over both for one message.
//
// # Event Webhook
//
// The Client is a herald.WebhookHandler: mount dispatch's Webhooks() and
// point SendGrid's signed Event Webhook at {PublicBaseURL}/{org}/sendgrid/events.
// Every post is verified before it is read: the ECDSA P-256 signature
// (header X-Twilio-Email-Event-Webhook-Signature) over the timestamp header
// followed by the raw body, with the organization's verification key (a
// base64 DER public key, VendorConfig["sendgrid"][ConfigWebhookPublicKey],
// else Options.WebhookPublicKey); a timestamp further than
// Options.WebhookTolerance from now is refused as a replay. A key that is
// not a P-256 public key is refused, never a panic.
//
// One post holds many events; each becomes a herald.DeliveryReport with
// EventID sg_event_id (the dispatcher deduplicates on it) and
// VendorMessageID the X-Message-Id part of sg_message_id:
//
//	processed                      sent
//	deferred                       sent, ErrorCode "deferred" (recorded, changes nothing)
//	delivered                      delivered
//	bounce                         failed, ErrorCode the SMTP status ("5.1.1") or "bounce"
//	dropped                        failed, ErrorCode "dropped"; OptedOut when the
//	                               reason is an unsubscribed or spam-reporting address
//	open, click                    Engagement opened, clicked
//	unsubscribe, group_unsubscribe delivered, OptedOut
//	spamreport                     delivered, OptedOut
//
// Other events (group_resubscribe, new kinds) are skipped. Every report
// carries the event's email as To, so an opt-out event for mail herald has
// no record of still opts that address out of email (see
// dispatch.Dispatcher.HandleReport).
package sendgrid
