// Package apns is herald's Apple Push Notification service vendor: the apns
// channel through APNs' HTTP/2 provider API. github.com/sideshow/apns2
// signs and renews provider tokens and loads certificates; the vendor
// writes each push itself (its payload JSON by hand, canonical header
// keys, the bearer header made once per token), which costs less per push
// than apns2's Push.
//
//	v, err := apns.New(apns.Options{Credentials: apns.Credentials{
//		KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", AuthKey: p8PEM, Topic: "com.example.app",
//	}})
//	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
//	err = d.RegisterDevice(ctx, "org", "contact", herald.Device{Channel: herald.ChannelAPNs, Token: hexToken})
//	results, err := d.SendToContact(ctx, &herald.Message{OrgID: "org", ContactID: "contact",
//		Channel: herald.ChannelAPNs, Subject: "Title", Body: "Hello"})
//
// # Credentials and connections
//
// Two kinds of credentials work: token authentication (a .p8 signing key
// in PEM, its key ID and the team ID; apns2 signs an ES256 JWT and renews
// it every 50 minutes, and at once after APNs answers
// ExpiredProviderToken) and certificate authentication (a PEM holding the
// client certificate and its private key). Token authentication needs
// Topic, the app's bundle ID; with a certificate it is optional.
//
// Every send resolves its credentials in this order: Route.Credentials
// (a manager switching apps for one message), the organization's
// VendorConfig["apns"] (see the Config* keys, saved through
// UpdateOrgConfig), then Options.Credentials. A source is used whole when
// it carries an auth_key or a certificate; nothing is merged across
// sources.
//
// Apple asks providers to keep their connections open and treats rapid
// connect and disconnect as abuse, so the vendor keeps one HTTP/2 client
// (one connection, multiplexing concurrent sends as streams) per
// credential and host, created on first use and reused for every later
// send with the same credential. The cache is keyed by a SHA-256 digest of
// the credential, so changing an organization's key simply starts a new
// client; Close releases idle connections.
//
// # Hosts
//
// Credentials.Environment chooses api.push.apple.com ("production", the
// default) or api.sandbox.push.apple.com ("sandbox", for development
// builds of an app). A token from a development build sent to the
// production host is answered with BadDeviceToken, which removes the
// device (see Errors): configure the environment to match the app build.
// Options.Host replaces both (tests, proxies), and Options.TLSConfig is
// the base TLS configuration of every connection (a test's root CAs).
//
// # Notifications
//
// A message becomes one notification to SendRequest.Device's token (else
// Message.To), which must be hex (at most 200 characters; anything else
// is refused like APNs' BadDeviceToken, without a request):
//
//   - push type: Meta or Route.Extra MetaPushType ("alert", "background",
//     "voip", and APNs' other types); by default alert when the message
//     has a Subject or Body, else background. VoIP pushes go to the topic
//     with ".voip" appended;
//   - payload: aps.alert.title = Subject, aps.alert.body = Body (alert and
//     voip pushes), aps.content-available = 1 (background pushes), badge,
//     sound, category, mutable-content and thread-id from MetaBadge,
//     MetaSound, MetaCategory, MetaMutableContent and MetaThreadID, and
//     every Message.Data pair at the payload's top level ("aps" is
//     refused). At most 4096 bytes (5120 for VoIP): a larger payload fails
//     with PayloadTooLarge before any request;
//   - apns-priority: 10 for urgency high and normal (the default), 5 for
//     low and very-low; background pushes always 5, as Apple requires;
//   - apns-expiration: now + Message.TTL, or Message.SendBefore when it is
//     earlier; neither set leaves the header out (APNs' default);
//   - apns-collapse-id: MetaCollapseID (at most 64 bytes);
//   - apns-id: a UUID derived from the message ID, so every attempt of one
//     message carries the same apns-id. APNs does not deduplicate on it, so
//     Metadata().IdempotentSend is false.
//
// Route.Extra's keys win over Message.Meta's, so a service manager can
// decide them.
//
// # Errors
//
// APNs answers every push with a status and a reason; Classify maps them:
// 200 → sent, with the apns-id answered as VendorMessageID; 410
// Unregistered or ExpiredToken and 400 BadDeviceToken → herald.ClassGone
// (the dispatcher removes the device; the 410 timestamp is kept in the
// error message); other 400s → permanent (BadTopic, MissingTopic,
// TopicDisallowed and DeviceTokenNotForTopic are configuration problems:
// auth); 403 (InvalidProviderToken, ExpiredProviderToken, BadCertificate,
// BadCertificateEnvironment, ...) → auth; 413 → permanent; 429
// TooManyRequests and TooManyProviderTokenUpdates → rate-limited (APNs
// sends no Retry-After, so the dispatcher's backoff applies); 5xx →
// temporary; a rejection whose body is not APNs' JSON (a proxy's page)
// is classified by its status alone, code the status number. A context
// that ended before the request left is temporary; a failure after the
// whole request was written (a deadline, a broken connection) is
// maybe-delivered, so the message is never sent twice blindly. DescribeError explains every reason in Codes.
package apns
