// Package fcm is herald's Firebase Cloud Messaging vendor: the fcm channel
// through the FCM HTTP v1 API (projects.messages.send), authenticated with
// a Google service account through golang.org/x/oauth2.
//
//	v, err := fcm.New(fcm.Options{ServiceAccountJSON: keyFileJSON})
//	d, err := dispatch.New(dispatch.Config{Vendors: []herald.Vendor{v}})
//	err = d.RegisterDevice(ctx, "org", "contact", herald.Device{Channel: herald.ChannelFCM, Token: registrationToken})
//	results, err := d.SendToContact(ctx, &herald.Message{OrgID: "org", ContactID: "contact",
//		Channel: herald.ChannelFCM, Subject: "Title", Body: "Hello", Data: map[string]string{"k": "v"}})
//
// # Credentials
//
// A service account key file (the JSON Google's console downloads, type
// "service_account") signs an RS256 assertion that the OAuth 2.0 token
// endpoint exchanges for an access token with the
// https://www.googleapis.com/auth/firebase.messaging scope. Tokens are
// cached and refreshed shortly before they expire (oauth2.ReuseTokenSource),
// one token source per service account, so one token serves every send
// until it is stale. The project is the key file's project_id unless
// Options.ProjectID (or the organization's project_id) says otherwise.
//
// The token endpoint is always Options.TokenURL (Google's by default),
// never the key file's token_uri: a key file saved by an organization
// cannot point the vendor at another server. Options.TokenSource replaces
// service-account keys altogether (workload identity, tests).
//
// Every send resolves its credentials in this order: Route.Credentials, the
// organization's VendorConfig["fcm"] (ConfigServiceAccountJSON and
// ConfigProjectID, saved through UpdateOrgConfig), then Options. A source
// is used whole when it carries a service account.
//
// # Messages
//
// A message becomes one v1 message to SendRequest.Device's token (else
// Message.To):
//
//   - notification: title = Subject, body = Body (left out when both are
//     empty: a data message), image = MetaImage;
//   - data: Message.Data (string values; FCM's reserved keys "from",
//     "notification", "message_type" and the "google." and "gcm." prefixes
//     are refused before any request);
//   - android: priority HIGH for urgency high, NORMAL otherwise; ttl from
//     Message.TTL (or the time left until Message.SendBefore, whichever is
//     sooner; at most FCM's 28 days); collapse_key from MetaCollapseKey;
//   - apns: apns-priority 10 for urgency high and normal, 5 for low and
//     very-low (as the apns vendor), apns-expiration from the TTL,
//     apns-collapse-id from MetaCollapseKey; a data message is sent to iOS
//     as a background push (content-available, priority 5);
//   - webpush: the Urgency header from the message's urgency, TTL, and
//     Topic from MetaCollapseKey when it is a valid web push topic;
//   - overrides: MetaAndroid, MetaAPNs and MetaWebpush hold JSON objects
//     merged over the generated android, apns and webpush blocks (objects
//     merge key by key, anything else replaces), so a host can set any
//     field of FCM's AndroidConfig, ApnsConfig or WebpushConfig;
//   - fcm_options.analytics_label from MetaAnalyticsLabel.
//
// Route.Extra's keys win over Message.Meta's. The v1 API has no
// idempotency key, so Metadata().IdempotentSend is false. The v1 API has
// no multicast either (the batch endpoint was retired), so the vendor does
// not implement herald.BatchSender: the dispatcher sends concurrently.
//
// # Errors
//
// The error body's details[].errorCode decides the class (falling back to
// error.status, then to the HTTP status), see Classify: UNREGISTERED →
// herald.ClassGone (the dispatcher removes the device); INVALID_ARGUMENT
// about the token (a field violation on message.token, or FCM's "not a
// valid FCM registration token") → invalid address, otherwise permanent;
// QUOTA_EXCEEDED and RESOURCE_EXHAUSTED → rate-limited with Retry-After;
// UNAVAILABLE and INTERNAL → temporary, with Retry-After when FCM sends
// one; SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR, UNAUTHENTICATED and
// PERMISSION_DENIED → auth; other 4xx permanent, other 5xx temporary. A
// body that is not JSON (a proxy's HTML 502 page) is classified by its
// HTTP status. A token endpoint failure is auth when Google refused the
// key (4xx), else temporary: nothing reached FCM. A context that ended
// before the message was written is temporary; after, maybe-delivered.
// DescribeError explains every code in Codes.
package fcm
