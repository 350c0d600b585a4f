package sendgrid

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/mail"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	sgmail "github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/heraldmsg/herald"
)

// Name is the vendor's registry name.
const Name = "sendgrid"

// Keys of Organization.VendorConfig["sendgrid"] (and, for ConfigAPIKey, of
// Route.Credentials) that override the Options for one organization.
const (
	ConfigAPIKey           = "api_key"
	ConfigWebhookPublicKey = "webhook_public_key"
	ConfigFrom             = "from"
)

// Message.Meta keys the vendor reads.
const (
	// MetaReplyTo is the Reply-To address ("Name <addr>" or bare).
	MetaReplyTo = "sendgrid.reply_to"
	// MetaCategories is a comma-separated list of SendGrid categories.
	MetaCategories = "sendgrid.categories"
)

// Custom args the vendor sets on every mail; SendGrid echoes them as
// top-level fields of every event.
const (
	ArgMessageID  = "herald_message_id"
	ArgOrgID      = "herald_org_id"
	ArgCampaignID = "herald_campaign_id"
)

// DefaultBaseURL is SendGrid's API host.
const DefaultBaseURL = "https://api.sendgrid.com"

const sendPath = "/v3/mail/send"

// Options configures a Client.
type Options struct {
	// APIKey authenticates sends. Required unless every organization has
	// its own (VendorConfig ConfigAPIKey).
	APIKey string
	// From is the default sender.
	From string
	// BaseURL is the API host. Default DefaultBaseURL; use
	// "https://api.eu.sendgrid.com" for EU data residency.
	BaseURL string
	// HTTPClient sends the requests and fetches attachments. Default: a
	// client with a 30 s timeout.
	HTTPClient *http.Client
	// Categories are added to every mail.
	Categories []string
	// SandboxMode asks SendGrid to validate mails without delivering them.
	SandboxMode bool
	// MaxAttachmentBytes caps each attachment fetched from Message.Media.
	// Default 10 MiB.
	MaxAttachmentBytes int64
	// WebhookPublicKey is the Event Webhook verification key (base64 DER,
	// as SendGrid's settings page shows it), used for organizations
	// without their own.
	WebhookPublicKey string
	// WebhookTolerance is how far a webhook's timestamp may be from now.
	// Default 5 minutes; negative turns the check off.
	WebhookTolerance time.Duration
	// Now is the clock for timestamp checks. Default time.Now.
	Now func() time.Time
}

// Client sends email through SendGrid and parses its Event Webhook. It is
// safe for concurrent use: every send builds its own request.
type Client struct {
	o    Options
	rest *rest.Client
	from *sgmail.Email
	keys sync.Map // public key string -> *ecdsa.PublicKey
}

// Compile-time capability checks.
var (
	_ herald.Vendor         = (*Client)(nil)
	_ herald.WebhookHandler = (*Client)(nil)
	_ herald.ErrorDescriber = (*Client)(nil)
	_ herald.OrgConfigurer  = (*Client)(nil)
)

// New checks o and returns a Client.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: sendgrid: BaseURL %q is not an http(s) URL", herald.ErrConfig, o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 10 << 20
	}
	if o.WebhookTolerance == 0 {
		o.WebhookTolerance = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{o: o, rest: &rest.Client{HTTPClient: o.HTTPClient}}
	if o.From != "" {
		if c.from, err = parseAddress(o.From); err != nil {
			return nil, fmt.Errorf("%w: sendgrid: From: %v", herald.ErrConfig, err)
		}
	}
	if o.WebhookPublicKey != "" {
		if _, err := c.publicKey(o.WebhookPublicKey); err != nil {
			return nil, fmt.Errorf("%w: sendgrid: WebhookPublicKey: %v", herald.ErrConfig, err)
		}
	}
	return c, nil
}

// Metadata describes the vendor.
func (c *Client) Metadata() herald.VendorMetadata {
	return herald.VendorMetadata{Name: Name, DisplayName: "Twilio SendGrid", Channels: []herald.Channel{herald.ChannelEmail},
		SupportsOrgConfig: true}
}

// orgConfig returns the organization's value for key, if any.
func orgConfig(org *herald.Organization, key string) string {
	if org == nil {
		return ""
	}
	return org.VendorConfig[Name][key]
}

// Send sends one email. See the package documentation.
func (c *Client) Send(ctx context.Context, req *herald.SendRequest) (*herald.SendResult, error) {
	if req == nil || req.Message == nil {
		return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "request has no message", 0, nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, c.fail(herald.ClassTemporary, "", "not sent", 0, err)
	}
	key := c.o.APIKey
	if k := orgConfig(req.Organization, ConfigAPIKey); k != "" {
		key = k
	}
	if req.Route != nil && req.Route.Credentials[ConfigAPIKey] != "" {
		key = req.Route.Credentials[ConfigAPIKey]
	}
	if key == "" {
		return nil, c.fail(herald.ClassAuth, CodeNoAPIKey, "no API key configured", 0, nil)
	}
	m, err := c.build(ctx, req)
	if err != nil {
		return nil, err
	}
	r := sg.GetRequest(key, sendPath, c.o.BaseURL)
	r.Method = rest.Post
	r.Body = sgmail.GetRequestBody(m)

	var wrote atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	resp, err := c.rest.SendWithContext(tctx, r)
	if err != nil {
		if wrote.Load() {
			return nil, c.fail(herald.ClassMaybeDelivered, "", "no answer from SendGrid", 0, err)
		}
		return nil, c.fail(herald.ClassTemporary, "", "request not sent", 0, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		id := http.Header(resp.Headers).Get("X-Message-Id")
		if id == "" {
			return nil, c.fail(herald.ClassMaybeDelivered, "", "SendGrid accepted the mail without an X-Message-Id", resp.StatusCode, nil)
		}
		return &herald.SendResult{VendorMessageID: id, Status: herald.StatusSent, From: m.From.Address}, nil
	}
	return nil, c.statusError(resp.StatusCode, http.Header(resp.Headers), resp.Body, c.o.Now())
}

// build turns the request into a SendGrid mail.
func (c *Client) build(ctx context.Context, req *herald.SendRequest) (*sgmail.SGMailV3, error) {
	msg := req.Message
	from := c.from
	fromRaw := ""
	switch {
	case req.Route != nil && req.Route.From != "":
		fromRaw = req.Route.From
	case msg.From != "":
		fromRaw = msg.From
	case orgConfig(req.Organization, ConfigFrom) != "":
		fromRaw = orgConfig(req.Organization, ConfigFrom)
	}
	if fromRaw != "" {
		var err error
		if from, err = parseAddress(fromRaw); err != nil {
			return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "sender: "+err.Error(), 0, nil)
		}
	}
	if from == nil {
		return nil, c.fail(herald.ClassAuth, CodeNoSender, "no sender: set Options.From, the organization's from, or the message's From", 0, nil)
	}
	to, err := parseAddress(msg.To)
	if err != nil {
		return nil, c.fail(herald.ClassInvalidAddress, CodeInvalidRequest, "recipient: "+err.Error(), 0, nil)
	}
	if to.Name == "" && req.Contact != nil {
		to.Name = strings.TrimSpace(req.Contact.FirstName + " " + req.Contact.LastName)
	}
	if msg.Body == "" && msg.HTML == "" {
		return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "email has no body", 0, nil)
	}

	m := sgmail.NewV3Mail()
	m.SetFrom(from)
	m.Subject = msg.Subject
	p := sgmail.NewPersonalization()
	p.AddTos(to)
	m.AddPersonalizations(p)
	if msg.Body != "" {
		m.AddContent(sgmail.NewContent("text/plain", msg.Body))
	}
	if msg.HTML != "" {
		m.AddContent(sgmail.NewContent("text/html", msg.HTML))
	}
	if cats := categories(c.o.Categories, msg.Meta[MetaCategories]); len(cats) > 0 {
		m.AddCategories(cats...)
	}
	m.SetCustomArg(ArgMessageID, msg.ID)
	if msg.OrgID != "" {
		m.SetCustomArg(ArgOrgID, msg.OrgID)
	}
	if msg.CampaignID != "" {
		m.SetCustomArg(ArgCampaignID, msg.CampaignID)
	}
	if rt := msg.Meta[MetaReplyTo]; rt != "" {
		addr, err := parseAddress(rt)
		if err != nil {
			return nil, c.fail(herald.ClassPermanent, CodeInvalidRequest, "reply-to: "+err.Error(), 0, nil)
		}
		m.SetReplyTo(addr)
	}
	for _, u := range msg.Media {
		a, err := c.attachment(ctx, u)
		if err != nil {
			return nil, err
		}
		m.AddAttachment(a)
	}
	if c.o.SandboxMode {
		m.SetMailSettings(sgmail.NewMailSettings().SetSandboxMode(sgmail.NewSetting(true)))
	}
	return m, nil
}

// categories merges the fixed and per-message categories: trimmed,
// deduplicated, at most 10 (SendGrid's limit).
func categories(fixed []string, meta string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] && len(out) < 10 {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range fixed {
		add(s)
	}
	if meta != "" {
		for s := range strings.SplitSeq(meta, ",") {
			add(s)
		}
	}
	return out
}

func parseAddress(s string) (*sgmail.Email, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address", s)
	}
	return sgmail.NewEmail(a.Name, a.Address), nil
}

// attachment fetches one Media URL.
func (c *Client) attachment(ctx context.Context, raw string) (*sgmail.Attachment, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, c.fail(herald.ClassPermanent, CodeAttachment, fmt.Sprintf("attachment %q is not an http(s) URL", raw), 0, nil)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, c.fail(herald.ClassPermanent, CodeAttachment, "attachment URL", 0, err)
	}
	resp, err := c.o.HTTPClient.Do(hr)
	if err != nil {
		return nil, c.fail(herald.ClassTemporary, CodeAttachment, "fetching attachment "+u.Redacted(), 0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		class := herald.ClassPermanent
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			class = herald.ClassTemporary
		}
		return nil, c.fail(class, CodeAttachment, fmt.Sprintf("fetching attachment %s: HTTP %d", u.Redacted(), resp.StatusCode), 0, nil)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxAttachmentBytes+1))
	if err != nil {
		return nil, c.fail(herald.ClassTemporary, CodeAttachment, "reading attachment "+u.Redacted(), 0, err)
	}
	if int64(len(data)) > c.o.MaxAttachmentBytes {
		return nil, c.fail(herald.ClassPermanent, CodeAttachment,
			fmt.Sprintf("attachment %s is larger than %d bytes", u.Redacted(), c.o.MaxAttachmentBytes), 0, nil)
	}
	ctype := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ctype); err == nil {
		ctype = mt
	} else {
		ctype = "application/octet-stream"
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		name = "attachment"
	}
	if path.Ext(name) == "" {
		if exts, _ := mime.ExtensionsByType(ctype); len(exts) > 0 {
			name += exts[0]
		}
	}
	return sgmail.NewAttachment().
		SetContent(base64.StdEncoding.EncodeToString(data)).
		SetType(ctype).
		SetFilename(name).
		SetDisposition("attachment"), nil
}

var errNoKey = errors.New("no Event Webhook verification key configured")
