// Package webpush is the herald vendor for the Web Push protocol (RFC 8030)
// with VAPID authentication (RFC 8292) and aes128gcm payload encryption
// (RFC 8291), built on github.com/SherClockHolmes/webpush-go.
//
// A browser subscribes with PushManager.subscribe and hands the host its
// subscription as JSON (endpoint and keys p256dh and auth). The host
// registers it on a contact with dispatch's RegisterDevice (the JSON in
// herald.Device.Subscription; the device's token is the endpoint); the
// dispatcher then sends one message per subscription, with the message's
// To set to the endpoint and the device on the SendRequest.
//
// What a send does:
//
//   - the payload is the JSON of a [Notification] (message ID, Subject as
//     title, Body, Data), encrypted for the subscription; a payload larger
//     than [MaxPayload] bytes is refused before any request with a
//     permanent error whose code is [CodePayloadTooLarge];
//   - TTL is the message's TTL rounded up to whole seconds, or
//     Options.DefaultTTL when the message has none, shortened to the time
//     left until Message.SendBefore (a message past it is refused, not
//     sent): never 0 by accident (a TTL of 0 lets the push service drop
//     the message when the device is offline);
//   - the Urgency header is the message's urgency (normal when empty);
//   - the Topic header, which makes the push service replace an undelivered
//     message with the same topic, comes from Message.Meta[MetaTopic] or
//     Route.Extra[MetaTopic]; it must be at most 32 characters of the URL-safe
//     base64 alphabet;
//   - VAPID signs a token for the endpoint's origin with Options.VAPIDKeys.
//
// The push service's answers map to herald error classes: 201 (and any
// 2xx) is sent, with the Location header (or a hash of the endpoint and
// message ID when there is none) as vendor message ID; 404 and 410 are
// herald.ClassGone, so the dispatcher removes the subscription from its
// contact; 429 is herald.ClassRateLimited with the Retry-After header;
// 413 is permanent ([CodePayloadTooLarge]); 400 is permanent; 401 and 403
// (a VAPID key the subscription was not made with) are herald.ClassAuth;
// 5xx is temporary. A failure before the request was written is
// temporary; one after it (a timeout waiting for the answer) is
// herald.ClassMaybeDelivered.
package webpush
