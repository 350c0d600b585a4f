package twilio

// formBody is an application/x-www-form-urlencoded body built in place, in
// the order fields are added and escaped as url.QueryEscape escapes: the
// Messages API call without url.Values' map, sort and copies.
type formBody []byte

// add appends one key=value field.
func (f formBody) add(key, value string) formBody {
	if len(f) > 0 {
		f = append(f, '&')
	}
	f = appendQueryEscaped(f, key)
	f = append(f, '=')
	return appendQueryEscaped(f, value)
}

const upperHex = "0123456789ABCDEF"

// appendQueryEscaped appends s escaped for a query component: letters,
// digits and -_.~ as they are, a space as +, every other byte as %XX.
func appendQueryEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}
