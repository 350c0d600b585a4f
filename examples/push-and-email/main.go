// Command push-and-email sends one notification to one contact on every
// channel herald has besides SMS: web push to a browser, APNs to an iPhone,
// FCM to an Android phone and email through SendGrid, then takes SendGrid's
// signed Event Webhook for the email.
//
// The four services are local fakes that the program starts itself (see
// fakes.go): a push service that checks VAPID and decrypts the payload as
// the browser would, an HTTP/2 APNs that checks the provider token, Google's
// OAuth token endpoint and FCM's v1 API, and SendGrid's Mail Send API. The
// vendors are configured exactly as in production, only pointed at other
// hosts, so they run their real code:
//
//   - webpush: VAPID keys and a subscriber; Options.HTTPClient trusts the
//     fake's certificate;
//   - apns: a .p8 key, key ID, team ID and bundle ID; Options.Host and
//     Options.TLSConfig point it at the fake;
//   - fcm: a service account key file; Options.BaseURL, TokenURL and
//     HTTPClient point it at the fake;
//   - sendgrid: an API key, a sender and the Event Webhook verification
//     key; Options.BaseURL and HTTPClient point it at the fake.
//
// The program registers a contact's devices with Dispatcher.RegisterDevice
// (a web push subscription with real P-256 keys, two APNs tokens, one FCM
// token), sends with Dispatcher.SendToContact on each channel and prints
// every outcome. One of the APNs tokens belongs to an iPad whose app was
// uninstalled: APNs answers 410 Unregistered and the dispatcher removes the
// device. Finally SendGrid's signed events reach Dispatcher.Webhooks() and
// the email becomes delivered, then opened.
//
// Run it with:
//
//	go run ./examples/push-and-email
//
// It needs no configuration and no network beyond loopback, and exits with
// a non-zero status when any step does not go as described.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/dispatch"
	"github.com/heraldmsg/herald/stores/memstore"
	"github.com/heraldmsg/herald/vendors/apns"
	"github.com/heraldmsg/herald/vendors/fcm"
	"github.com/heraldmsg/herald/vendors/sendgrid"
	"github.com/heraldmsg/herald/vendors/webpush"
)

// The organization, the contact, and the credentials the services issue
// (Apple's developer site, the Firebase console, SendGrid's settings).
const (
	orgID     = "acme"
	contactID = "ada"

	apnsKeyID      = "ABC123DEFG"
	apnsTeamID     = "DEF123GHIJ"
	appBundleID    = "com.acme.shop"
	fcmProject     = "acme-shop"
	sendgridAPIKey = "SG.demo-api-key"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err := run(ctx, os.Stdout)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "push-and-email:", err)
		os.Exit(1)
	}
}

// run is the whole example; it writes what happens to out.
func run(ctx context.Context, out io.Writer) error {
	p := printer{out: out}

	// 1. The services. The application server's VAPID key pair is made
	//    once and kept (LoadVAPIDKeys on start); browsers subscribe with
	//    its public half.
	p.step("start the fake services and point the vendors at them")
	vapidKeys, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		return err
	}
	svc, err := startServices(vapidKeys.Public)
	if err != nil {
		return err
	}
	defer svc.close()
	vendors, closeVendors, err := newVendors(svc, vapidKeys)
	if err != nil {
		return err
	}
	defer closeVendors()
	for _, v := range vendors {
		md := v.Metadata()
		p.line("%-8s %s", md.Name, md.DisplayName)
	}

	// 2. The dispatcher, on the in-memory store. Each vendor serves one
	//    channel, so the dispatcher picks the vendor by the channel.
	store := memstore.New()
	d, err := dispatch.New(dispatch.Config{Store: store, Vendors: vendors})
	if err != nil {
		return err
	}

	// 3. A contact and the addresses she can be reached at.
	p.step("register Ada's browser, phones and email")
	if _, err := store.PutContact(ctx, &herald.Contact{
		ID: contactID, OrgID: orgID, FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
	}); err != nil {
		return err
	}
	// The browser's PushSubscription.toJSON(): endpoint and keys.
	subscription, err := svc.push.subscribe("ada-laptop")
	if err != nil {
		return err
	}
	iPhone, iPad := randomHex(32), randomHex(32) // APNs device tokens are hex
	svc.apns.uninstall(iPad)                     // the app was deleted from the iPad
	pixel := randomID(22) + ":APA91b" + randomID(134)
	devices := []herald.Device{
		{Channel: herald.ChannelWebPush, Subscription: subscription, Platform: "firefox"},
		{Channel: herald.ChannelAPNs, Token: iPad, Platform: "ipados"},
		{Channel: herald.ChannelAPNs, Token: iPhone, Platform: "ios"},
		{Channel: herald.ChannelFCM, Token: pixel, Platform: "android"},
	}
	for _, dev := range devices {
		if err := d.RegisterDevice(ctx, orgID, contactID, dev); err != nil {
			return fmt.Errorf("registering %s device: %w", dev.Channel, err)
		}
	}
	if err := p.devices(ctx, store); err != nil {
		return err
	}

	// 4. One notification, sent on every channel. SendToContact makes one
	//    message per device of the channel (newest first) or one to the
	//    contact's email, each with an idempotency key derived from ours
	//    and the address: running this again would send nothing twice.
	p.step("send the notification on every channel")
	note := herald.Message{
		OrgID: orgID, ContactID: contactID,
		Subject:        "Your order has shipped",
		Body:           "Order #1042 is on its way and arrives Thursday.",
		Data:           map[string]string{"order": "1042"},
		Urgency:        herald.UrgencyHigh,
		IdempotencyKey: "order-1042-shipped",
	}
	p.line("%-8s %-20s %-7s %s", "VENDOR", "TO", "STATUS", "VENDOR MESSAGE ID / ERROR")
	var email *herald.Message
	var failures []error
	for _, ch := range []herald.Channel{herald.ChannelWebPush, herald.ChannelAPNs, herald.ChannelFCM, herald.ChannelEmail} {
		m := note
		m.Channel = ch
		results, err := d.SendToContact(ctx, &m)
		if err != nil {
			return fmt.Errorf("sending on %s: %w", ch, err)
		}
		for _, r := range results {
			if r.Result == nil { // not even stored: bad input
				failures = append(failures, r.Err)
				continue
			}
			msg := r.Message
			switch {
			case r.Err == nil:
				p.line("%-8s %-20s %-7s %s", msg.Vendor, short(msg.To), msg.Status, msg.VendorMessageID)
			case errors.Is(r.Err, herald.ClassGone) && msg.To == iPad:
				p.line("%-8s %-20s %-7s %s: the app is gone, so the device was removed", msg.Vendor, short(msg.To), msg.Status, msg.ErrorCode)
			default:
				p.line("%-8s %-20s %-7s %v", msg.Vendor, short(msg.To), msg.Status, r.Err)
				failures = append(failures, r.Err)
			}
			if ch == herald.ChannelEmail {
				email = msg
			}
		}
	}
	if err := errors.Join(failures...); err != nil {
		return fmt.Errorf("unexpected send failures: %w", err)
	}

	// 5. What arrived at the other end.
	p.step("what the services received")
	for _, n := range svc.push.received("ada-laptop") {
		p.line("browser  decrypted %s", n)
	}
	for _, n := range svc.apns.payloads() {
		p.line("iPhone   %s", n)
	}
	for _, n := range svc.fcm.messages() {
		p.line("Android  %s", n)
	}
	mails := svc.sendgrid.sent()
	for _, m := range mails {
		p.line("mailbox  %q from %s to %s", m.Subject, m.From, m.To)
	}

	// 6. The iPad is no longer one of Ada's devices.
	p.step("Ada's devices after APNs said the iPad is unregistered")
	if err := p.devices(ctx, store); err != nil {
		return err
	}
	c, err := store.GetContact(ctx, orgID, contactID)
	if err != nil {
		return err
	}
	for _, dev := range c.Devices {
		if dev.Token == iPad {
			return errors.New("the unregistered iPad is still registered")
		}
	}

	// 7. SendGrid reports on the email through its signed Event Webhook.
	//    A host mounts Webhooks() on its HTTP server and gives SendGrid
	//    {PublicBaseURL}/{org}/sendgrid/events; the dispatcher has the
	//    vendor verify the signature, then records each event.
	p.step("SendGrid posts signed events to Dispatcher.Webhooks()")
	if email == nil || len(mails) != 1 {
		return errors.New("no email to report on")
	}
	hooks := httptest.NewServer(d.Webhooks())
	defer hooks.Close()
	url := hooks.URL + "/" + orgID + "/sendgrid/events"
	status, err := svc.sendgrid.postEvents(ctx, url,
		svc.sendgrid.event("processed", mails[0]),
		svc.sendgrid.event("delivered", mails[0]),
		svc.sendgrid.event("open", mails[0]))
	if err != nil {
		return err
	}
	p.line("POST /%s/sendgrid/events (processed, delivered, open) → %d %s", orgID, status, http.StatusText(status))
	if status != http.StatusOK {
		return fmt.Errorf("the webhook answered %d", status)
	}
	events, err := store.MessageEvents(ctx, orgID, email.ID)
	if err != nil {
		return err
	}
	p.line("the email's history:")
	for _, e := range events {
		what := string(e.Status)
		if e.Engagement != "" {
			what = "engagement: " + string(e.Engagement)
		}
		source := string(e.Source)
		if e.Engagement == "" && !e.Applied {
			source += ": already sent, recorded without a change"
		}
		p.line("· %-20s (%s)", what, source)
	}
	final, err := store.GetMessage(ctx, orgID, email.ID)
	if err != nil {
		return err
	}
	if final.Status != herald.StatusDelivered {
		return fmt.Errorf("the email is %s, want delivered", final.Status)
	}
	return nil
}

// newVendors configures the four vendors as for production, pointed at the
// fakes. The returned func releases the APNs connections.
func newVendors(svc *services, vapidKeys webpush.VAPIDKeys) ([]herald.Vendor, func(), error) {
	push, err := webpush.New(webpush.Options{
		VAPIDKeys:  vapidKeys,
		Subscriber: "ops@acme.example", // push services may write here
		HTTPClient: svc.push.srv.Client(),
	})
	if err != nil {
		return nil, nil, err
	}

	p8, err := svc.apns.authKey()
	if err != nil {
		return nil, nil, err
	}
	apple, err := apns.New(apns.Options{
		Credentials: apns.Credentials{AuthKey: p8, KeyID: apnsKeyID, TeamID: apnsTeamID, Topic: appBundleID},
		Host:        svc.apns.srv.URL,     // default: api.push.apple.com
		TLSConfig:   svc.apns.tlsConfig(), // default: the system's roots
		Timeout:     10 * time.Second,
	})
	if err != nil {
		return nil, nil, err
	}

	keyFile, err := svc.fcm.serviceAccountJSON()
	if err != nil {
		return nil, nil, err
	}
	google, err := fcm.New(fcm.Options{
		ServiceAccountJSON: keyFile,
		BaseURL:            svc.fcm.srv.URL,    // default: https://fcm.googleapis.com
		TokenURL:           svc.fcm.tokenURL(), // default: Google's OAuth 2.0 token endpoint
		HTTPClient:         svc.fcm.srv.Client(),
	})
	if err != nil {
		return nil, nil, err
	}

	verificationKey, err := svc.sendgrid.verificationKey()
	if err != nil {
		return nil, nil, err
	}
	mail, err := sendgrid.New(sendgrid.Options{
		APIKey:           sendgridAPIKey,
		From:             "Acme Shop <orders@acme.example>",
		WebhookPublicKey: verificationKey,
		BaseURL:          svc.sendgrid.srv.URL, // default: https://api.sendgrid.com
		HTTPClient:       svc.sendgrid.srv.Client(),
	})
	if err != nil {
		return nil, nil, err
	}

	return []herald.Vendor{push, apple, google, mail}, func() { _ = apple.Close() }, nil
}

// printer writes numbered steps and their indented lines.
type printer struct {
	out io.Writer
	n   int
}

func (p *printer) step(s string) {
	p.n++
	fmt.Fprintf(p.out, "%d. %s\n", p.n, s)
}

func (p *printer) line(format string, args ...any) {
	fmt.Fprintf(p.out, "   "+format+"\n", args...)
}

// devices prints the contact's addresses as stored.
func (p *printer) devices(ctx context.Context, store herald.Store) error {
	c, err := store.GetContact(ctx, orgID, contactID)
	if err != nil {
		return err
	}
	for _, dev := range c.Devices { // newest first
		p.line("%-8s %-20s %s", dev.Channel, short(dev.Token), dev.Platform)
	}
	p.line("%-8s %s", herald.ChannelEmail, c.Email)
	return nil
}

// short abbreviates long addresses for display: a web push endpoint to its
// path, a device token to its ends.
func short(addr string) string {
	if rest, ok := strings.CutPrefix(addr, "https://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return "…" + rest[i:]
		}
	}
	if len(addr) > 20 {
		return addr[:8] + "…" + addr[len(addr)-6:]
	}
	return addr
}
