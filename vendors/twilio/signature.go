package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"slices"
	"strings"
)

// SignatureHeader is the header Twilio signs webhooks in.
const SignatureHeader = "X-Twilio-Signature"

// Signature returns the X-Twilio-Signature of a request to rawURL with the
// posted params under authToken: base64 of HMAC-SHA1 over the URL followed
// by each parameter name and value, names sorted, a repeated name's
// distinct values sorted. For JSON bodies params is empty and the URL
// carries bodySHA256. Tests use it to sign requests as Twilio does.
func Signature(authToken, rawURL string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(rawURL))
	mac.Write(appendParams(nil, params))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// appendParams appends the signed form of params to b: names sorted, each
// followed by its value; a repeated name once per distinct value, sorted.
func appendParams(b []byte, params url.Values) []byte {
	var small [16]string
	keys := small[:0]
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vals := params[k]
		if len(vals) > 1 {
			vals = slices.Compact(slices.Sorted(slices.Values(vals)))
		}
		for _, val := range vals {
			b = append(b, k...)
			b = append(b, val...)
		}
	}
	return b
}

// ValidSignature reports whether signature is Twilio's signature of a
// request to rawURL with params under authToken, trying the URL as Twilio's
// validators do: normalised (lower-case scheme and host, escaped path)
// without and with the scheme's default port, each with the query as
// received and re-encoded the legacy way, and exactly as given. The
// comparison is constant-time.
func ValidSignature(authToken, signature, rawURL string, params url.Values) bool {
	if authToken == "" || signature == "" {
		return false
	}
	var pbuf [1024]byte
	signed := appendParams(pbuf[:0], params)
	got := []byte(signature)
	mac := hmac.New(sha1.New, []byte(authToken))
	var sum [sha1.Size]byte
	var want [28]byte // base64 of 20 bytes
	ok := false
	for _, u := range urlVariants(rawURL) {
		mac.Reset()
		io.WriteString(mac, u)
		mac.Write(signed)
		base64.StdEncoding.Encode(want[:], mac.Sum(sum[:0]))
		if subtle.ConstantTimeCompare(got, want[:]) == 1 {
			ok = true
		}
	}
	return ok
}

// ValidBodySignature checks a JSON-bodied webhook: the URL's bodySHA256
// parameter must be the hex SHA-256 of body, and the signature must cover
// the URL (with no parameters).
func ValidBodySignature(authToken, signature, rawURL string, body []byte) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	want := u.Query().Get("bodySHA256")
	sum := sha256.Sum256(body)
	got := hex.EncodeToString(sum[:])
	hashOK := want != "" && subtle.ConstantTimeCompare([]byte(strings.ToLower(want)), []byte(got)) == 1
	sigOK := ValidSignature(authToken, signature, rawURL, nil)
	return hashOK && sigOK
}

// urlVariants returns the URLs a signature may have been computed over:
// without and with the default port, and each with the legacy query
// encoding when that differs. Unparseable URLs are tried as given.
func urlVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return []string{raw}
	}
	scheme := strings.ToLower(u.Scheme)
	defPort := ""
	switch scheme {
	case "https":
		defPort = "443"
	case "http":
		defPort = "80"
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	prefix := scheme + "://"
	if u.User != nil {
		prefix += u.User.String() + "@"
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	rest := path
	if u.RawQuery != "" || u.ForceQuery {
		rest += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		rest += "#" + u.EscapedFragment()
	}
	without := prefix + host
	if port != "" && port != defPort {
		without += ":" + port
	}
	without += rest
	with := prefix + host
	switch {
	case port != "":
		with += ":" + port
	case defPort != "":
		with += ":" + defPort
	}
	with += rest
	out := []string{without, with}
	if raw != without && raw != with {
		// The URL exactly as received, when normalising changed it: a
		// signature over it is as good as over the normal forms.
		out = append(out, raw)
	}
	if u.RawQuery != "" {
		if legacy := legacyQuery(u.RawQuery); legacy != u.RawQuery {
			i := strings.IndexByte(without, '?')
			j := strings.IndexByte(with, '?')
			out = append(out, without[:i+1]+legacy, with[:j+1]+legacy)
			if u.Fragment != "" {
				// A fragment never reaches a server; keep the variants simple.
				out = out[:len(out)-2]
			}
		}
	}
	return out
}

// legacyQuery re-encodes a query as Node's querystring module does
// (parse, then stringify): names grouped in first-seen order, values
// percent-decoded ('+' as space) and re-escaped keeping A-Z a-z 0-9 and
// -_.!~*'() as they are.
func legacyQuery(q string) string {
	type kv struct {
		k    string
		vals []string
	}
	var order []*kv
	byKey := map[string]*kv{}
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		k, val = qsUnescape(k), qsUnescape(val)
		e := byKey[k]
		if e == nil {
			e = &kv{k: k}
			byKey[k] = e
			order = append(order, e)
		}
		e.vals = append(e.vals, val)
	}
	var b strings.Builder
	for _, e := range order {
		for _, val := range e.vals {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(qsEscape(e.k))
			b.WriteByte('=')
			b.WriteString(qsEscape(val))
		}
	}
	return b.String()
}

func qsUnescape(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

func qsEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
