package apns

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// apsFields are the aps dictionary's fields a message sets.
type apsFields struct {
	title, body, sound, category, threadID string
	badge                                  int // -1: none
	mutableContent, contentAvailable       bool
}

// appendPayload appends the notification's JSON payload to dst: the aps
// dictionary, then the custom data in key order. Written by hand (no
// reflection, no intermediate maps): it is on every send's path.
func appendPayload(dst []byte, a *apsFields, data map[string]string) []byte {
	dst = append(dst, `{"aps":{`...)
	n := len(dst)
	sep := func() {
		if len(dst) > n {
			dst = append(dst, ',')
		}
	}
	if a.title != "" || a.body != "" {
		dst = append(dst, `"alert":{`...)
		if a.title != "" {
			dst = append(dst, `"title":`...)
			dst = appendString(dst, a.title)
		}
		if a.body != "" {
			if a.title != "" {
				dst = append(dst, ',')
			}
			dst = append(dst, `"body":`...)
			dst = appendString(dst, a.body)
		}
		dst = append(dst, '}')
	}
	if a.badge >= 0 {
		sep()
		dst = append(dst, `"badge":`...)
		dst = strconv.AppendInt(dst, int64(a.badge), 10)
	}
	if a.sound != "" {
		sep()
		dst = append(dst, `"sound":`...)
		dst = appendString(dst, a.sound)
	}
	if a.category != "" {
		sep()
		dst = append(dst, `"category":`...)
		dst = appendString(dst, a.category)
	}
	if a.threadID != "" {
		sep()
		dst = append(dst, `"thread-id":`...)
		dst = appendString(dst, a.threadID)
	}
	if a.mutableContent {
		sep()
		dst = append(dst, `"mutable-content":1`...)
	}
	if a.contentAvailable {
		sep()
		dst = append(dst, `"content-available":1`...)
	}
	dst = append(dst, '}')
	switch len(data) {
	case 0:
	case 1:
		for k, v := range data {
			dst = appendPair(dst, k, v)
		}
	default:
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = appendPair(dst, k, data[k])
		}
	}
	return append(dst, '}')
}

func appendPair(dst []byte, k, v string) []byte {
	dst = append(dst, ',')
	dst = appendString(dst, k)
	dst = append(dst, ':')
	return appendString(dst, v)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json
// does).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
