package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/heraldmsg/herald"
	"github.com/heraldmsg/herald/contacts"
)

// RegisterDevice adds a push destination to a contact: an APNs or FCM
// token, or a web push subscription (the browser's JSON in
// Device.Subscription; Token may be left empty and is then its endpoint).
// A device with the same token replaces the older one and goes first
// (newest first). A token belongs to one contact per organization: when
// another contact had it (a phone that changed hands), that contact loses
// it. The contact must exist.
func (d *Dispatcher) RegisterDevice(ctx context.Context, orgID, contactID string, dev herald.Device) error {
	if !dev.Channel.IsPush() {
		return fmt.Errorf("%w: device channel %q is not a push channel", herald.ErrInvalidInput, dev.Channel)
	}
	if dev.Channel == herald.ChannelWebPush {
		endpoint, err := subscriptionEndpoint(dev.Subscription)
		if err != nil {
			return err
		}
		if dev.Token == "" {
			dev.Token = endpoint
		} else if dev.Token != endpoint {
			return fmt.Errorf("%w: web push token is not the subscription's endpoint", herald.ErrInvalidInput)
		}
	}
	token, err := contacts.NormalizeAddress(dev.Channel, dev.Token, "")
	if err != nil {
		return fmt.Errorf("device token: %w", err)
	}
	dev.Token = token
	if dev.CreatedAt.IsZero() {
		dev.CreatedAt = d.clock.Now()
	}
	if err := d.store.PutDevice(ctx, orgID, contactID, dev); err != nil {
		return fmt.Errorf("dispatch: registering device: %w", err)
	}
	return nil
}

// subscriptionEndpoint checks a web push subscription's JSON (endpoint and
// keys p256dh and auth, as PushSubscription.toJSON gives them) and returns
// its endpoint.
func subscriptionEndpoint(raw string) (string, error) {
	var sub struct {
		Endpoint string `json:"endpoint"`
		Keys     struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(raw), &sub); err != nil {
		return "", fmt.Errorf("%w: web push subscription is not JSON: %v", herald.ErrInvalidInput, err)
	}
	if !strings.HasPrefix(sub.Endpoint, "https://") {
		return "", fmt.Errorf("%w: web push subscription needs an https endpoint", herald.ErrInvalidInput)
	}
	if sub.Keys.P256dh == "" || sub.Keys.Auth == "" {
		return "", fmt.Errorf("%w: web push subscription needs keys p256dh and auth", herald.ErrInvalidInput)
	}
	return sub.Endpoint, nil
}

// RemoveDevice removes a contact's device by token. The dispatcher also
// removes a device by itself when its vendor answers that it is gone
// (herald.ClassGone), never on a transient error: from the message's
// contact, else from whichever contact has the token (a message sent to a
// token without ContactID).
func (d *Dispatcher) RemoveDevice(ctx context.Context, orgID, contactID, token string) error {
	return d.store.RemoveDevice(ctx, orgID, contactID, token)
}

// SendToContact sends m to the contact m.ContactID on m.Channel: for a
// push channel one message to each of the contact's devices of that
// channel, newest first; otherwise one message to the contact's phone (sms,
// mms) or email. m.To must be empty. Each message gets its own idempotency
// key, derived from m.IdempotencyKey (when set) and the address, so a
// repeated call sends nothing twice. The results are SendBatch's, one per
// message; the error is for a contact that does not exist or has no address
// on the channel.
func (d *Dispatcher) SendToContact(ctx context.Context, m *herald.Message) ([]BatchResult, error) {
	if m == nil || m.OrgID == "" || m.ContactID == "" {
		return nil, fmt.Errorf("%w: SendToContact needs a message with OrgID and ContactID", herald.ErrInvalidInput)
	}
	if m.To != "" {
		return nil, fmt.Errorf("%w: SendToContact addresses the message itself; leave To empty", herald.ErrInvalidInput)
	}
	c, err := d.store.GetContact(ctx, m.OrgID, m.ContactID)
	if err != nil {
		return nil, fmt.Errorf("dispatch: loading contact %s: %w", m.ContactID, err)
	}
	var to []string
	switch {
	case m.Channel.IsPush():
		for _, dev := range c.Devices {
			if dev.Channel == m.Channel {
				to = append(to, dev.Token)
			}
		}
	case m.Channel.IsPhone():
		if c.Phone != "" {
			to = append(to, c.Phone)
		}
	case m.Channel == herald.ChannelEmail:
		if c.Email != "" {
			to = append(to, c.Email)
		}
	}
	if len(to) == 0 {
		return nil, fmt.Errorf("%w: contact %s has no %s address", herald.ErrInvalidInput, c.ID, m.Channel)
	}
	msgs := make([]*herald.Message, len(to))
	for i, addr := range to {
		n := m.Clone()
		n.To = addr
		if m.IdempotencyKey != "" {
			n.IdempotencyKey = m.IdempotencyKey + "|" + addr
		}
		msgs[i] = n
	}
	return d.SendBatch(ctx, msgs), nil
}
