package fcm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/heraldmsg/herald"
)

// option returns the route's Extra value for key, else the message's Meta.
func option(req *herald.SendRequest, key string) string {
	if req.Route != nil {
		if s, ok := req.Route.Extra[key]; ok {
			return s
		}
	}
	return req.Message.Meta[key]
}

// reservedData reports whether k may not be a data key.
func reservedData(k string) bool {
	switch k {
	case "from", "notification", "message_type":
		return true
	}
	return strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.")
}

// localError is a refusal decided before any request.
func (v *Vendor) localError(class herald.ErrorClass, code, msg string) *herald.VendorError {
	return &herald.VendorError{Vendor: v.name, Class: class, Code: code, Message: msg + " (not sent)",
		Err: herald.ErrInvalidInput}
}

// message builds the v1 request body of req.
func (v *Vendor) message(req *herald.SendRequest) ([]byte, *herald.VendorError) {
	m := req.Message
	tok := m.To
	if req.Device != nil && req.Device.Token != "" {
		tok = req.Device.Token
	}
	if tok == "" {
		return nil, v.localError(herald.ClassInvalidAddress, CodeInvalidArgument, "no registration token")
	}
	msg := map[string]any{"token": tok}
	alert := m.Subject != "" || m.Body != ""
	if alert {
		n := map[string]any{}
		if m.Subject != "" {
			n["title"] = m.Subject
		}
		if m.Body != "" {
			n["body"] = m.Body
		}
		if s := option(req, MetaImage); s != "" {
			n["image"] = s
		}
		msg["notification"] = n
	}
	if len(m.Data) > 0 {
		for k := range m.Data {
			if reservedData(k) {
				return nil, v.localError(herald.ClassPermanent, CodeBadOption, fmt.Sprintf("data key %q is reserved by FCM", k))
			}
		}
		msg["data"] = m.Data
	}

	now := v.clock.Now()
	var ttl time.Duration
	if m.TTL > 0 {
		ttl = m.TTL
	}
	if !m.SendBefore.IsZero() {
		left := m.SendBefore.Sub(now)
		if left <= 0 {
			return nil, v.localError(herald.ClassPermanent, CodeBadOption, "the message expired before it was sent")
		}
		if ttl == 0 || left < ttl {
			ttl = left
		}
	}
	ttl = min(ttl, MaxTTL)
	collapse := option(req, MetaCollapseKey)
	high := m.Urgency == herald.UrgencyHigh
	lowAPNs := m.Urgency == herald.UrgencyLow || m.Urgency == herald.UrgencyVeryLow

	android := map[string]any{"priority": "NORMAL"}
	if high {
		android["priority"] = "HIGH"
	}
	apnsHeaders := map[string]any{"apns-priority": "10"}
	if lowAPNs {
		apnsHeaders["apns-priority"] = "5"
	}
	apns := map[string]any{"headers": apnsHeaders}
	if !alert {
		apnsHeaders["apns-priority"] = "5"
		apnsHeaders["apns-push-type"] = "background"
		apns["payload"] = map[string]any{"aps": map[string]any{"content-available": 1}}
	}
	webHeaders := map[string]any{"Urgency": string(m.Urgency.OrDefault())}
	webpush := map[string]any{"headers": webHeaders}
	if ttl > 0 {
		secs := int64((ttl + time.Second - 1) / time.Second)
		android["ttl"] = strconv.FormatInt(secs, 10) + "s"
		apnsHeaders["apns-expiration"] = strconv.FormatInt(now.Unix()+secs, 10)
		webHeaders["TTL"] = strconv.FormatInt(secs, 10)
	}
	if collapse != "" {
		android["collapse_key"] = collapse
		if len(collapse) <= 64 {
			apnsHeaders["apns-collapse-id"] = collapse
		}
		if webTopic(collapse) {
			webHeaders["Topic"] = collapse
		}
	}
	for _, o := range []struct {
		key   string
		block map[string]any
	}{{MetaAndroid, android}, {MetaAPNs, apns}, {MetaWebpush, webpush}} {
		s := option(req, o.key)
		if s == "" {
			continue
		}
		var over map[string]any
		if err := json.Unmarshal([]byte(s), &over); err != nil || over == nil {
			return nil, v.localError(herald.ClassPermanent, CodeBadOption, o.key+" must be a JSON object")
		}
		merge(o.block, over)
	}
	msg["android"], msg["apns"], msg["webpush"] = android, apns, webpush
	if s := option(req, MetaAnalyticsLabel); s != "" {
		msg["fcm_options"] = map[string]any{"analytics_label": s}
	}
	body, err := json.Marshal(map[string]any{"message": msg})
	if err != nil {
		return nil, v.localError(herald.ClassPermanent, CodeBadOption, "encoding: "+err.Error())
	}
	return body, nil
}

// merge copies src over dst: objects merge key by key, anything else
// (including null) replaces.
func merge(dst, src map[string]any) {
	for k, sv := range src {
		if so, ok := sv.(map[string]any); ok {
			if do, ok := dst[k].(map[string]any); ok {
				merge(do, so)
				continue
			}
		}
		dst[k] = sv
	}
}

// webTopic reports whether s can be a web push Topic: at most 32
// characters of the URL-safe base64 alphabet.
func webTopic(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}
