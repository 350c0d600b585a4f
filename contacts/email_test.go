package contacts

import (
	"strings"
	"testing"
	"unicode"

	"github.com/heraldmsg/herald"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"plain", "bob@example.com", "bob@example.com"},
		{"domain lower-cased, local kept", "Bob.Smith@Example.COM", "Bob.Smith@example.com"},
		{"trimmed", " \tbob@example.com\n", "bob@example.com"},
		{"plus tag", "bob+news@mail.example.co.uk", "bob+news@mail.example.co.uk"},
		{"atext symbols", "o'brien_{x}=y@example.com", "o'brien_{x}=y@example.com"},
		{"dotted local", "bob.j.smith@example.com", "bob.j.smith@example.com"},
		{"short labels", "a@b.co", "a@b.co"},
		{"digits in domain", "bob@123mail.example", "bob@123mail.example"},
		{"hyphen in domain", "bob@my-mail.example.com", "bob@my-mail.example.com"},
		{"IDN unicode domain", "bob@bücher.de", "bob@bücher.de"},
		{"IDN unicode domain upper", "bob@BÜCHER.DE", "bob@bücher.de"},
		{"IDN punycode domain", "bob@XN--BCHER-KVA.de", "bob@xn--bcher-kva.de"},
		{"IDN cyrillic", "ivan@пример.рф", "ivan@пример.рф"},
		{"UTF-8 local part", "bøb@example.com", "bøb@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := NormalizeEmail(got)
			require.NoError(t, err)
			assert.Equal(t, got, again)
		})
	}
}

func TestNormalizeEmailErrors(t *testing.T) {
	tests := []struct{ name, raw, wantMsg string }{
		{"empty", "", "empty"},
		{"blank", "   ", "empty"},
		{"display name", "Bob <bob@example.com>", "display name"},
		{"quoted display name", `"Bob Smith" <bob@example.com>`, "display name"},
		{"encoded display name", "=?utf-8?q?Bob?= <bob@example.com>", "display name"},
		{"angle brackets", "<bob@example.com>", "bare address"},
		{"comment", "bob@example.com (Bob)", "display name or comment"},
		{"quoted local part", `"bob smith"@example.com`, "bare address"},
		{"missing @", "bob.example.com", "missing '@'"},
		{"only domain", "@example.com", "not a valid address"},
		{"only local", "bob@", "not a valid address"},
		{"two @", "bob@smith@example.com", "single"},
		{"list", "bob@example.com, carl@example.com", "single"},
		{"no dot in domain", "bob@localhost", "no dot"},
		{"space before @", "bob @example.com", "not a valid address"},
		{"space after @", "bob@ example.com", "bare address"},
		{"space in domain", "bob@exa mple.com", ""},
		{"space in local", "bob smith@example.com", ""},
		{"newline inside", "bob\n@example.com", ""},
		{"empty label", "bob@example..com", ""},
		{"leading dot label", "bob@.example.com", ""},
		{"trailing dot", "bob@example.com.", ""},
		{"leading hyphen label", "bob@-example.com", "'-'"},
		{"trailing hyphen label", "bob@example-.com", "'-'"},
		{"underscore in domain", "bob@exa_mple.com", "character"},
		{"IP address", "bob@192.0.2.1", "IP address"},
		{"domain literal", "bob@[192.0.2.1]", "domain literal"},
		{"local part too long", strings.Repeat("a", 65) + "@example.com", "local part too long"},
		{"label too long", "bob@" + strings.Repeat("a", 64) + ".com", "label too long"},
		{"address too long", "bob@" + strings.Repeat("abcdefghi.", 26) + "com", "too long"},
		{"invalid UTF-8", "b\xffb@example.com", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.raw)
			require.Error(t, err)
			assert.Empty(t, got)
			assert.ErrorIs(t, err, herald.ErrInvalidInput)
			assert.Contains(t, err.Error(), tt.wantMsg)
			if s := strings.TrimSpace(tt.raw); len(s) >= 4 {
				assert.NotContains(t, err.Error(), s, "error repeats the address")
			}
			assert.NotContains(t, err.Error(), "example", "error repeats part of the address")
		})
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"bob@example.com", "Bob.Smith@Example.COM", " bob@example.com ", "Bob <bob@example.com>",
		"<bob@example.com>", "bob@example.com (Bob)", `"a b"@example.com`, "bob@localhost",
		"bob@bücher.de", "bob@BÜCHER.DE", "bob@İSTANBUL.com", "bob@xn--bcher-kva.de", "bob@[1.2.3.4]",
		"bob@1.2.3.4", "a@b@c.d", "@", "", "a@b.c", "=?utf-8?q?x?= <b@x.com>", "bob@K.com",
		"bob@ǅ.com", "bob@ß.de", "\x00@x.com", "bob@x.com,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeEmail(raw)
		if err != nil {
			require.ErrorIs(t, err, herald.ErrInvalidInput)
			if s := strings.TrimSpace(raw); len(s) >= 8 {
				require.NotContains(t, err.Error(), s)
			}
			return
		}
		again, err := NormalizeEmail(got)
		require.NoError(t, err, "normalising %q again", got)
		require.Equal(t, got, again)
		require.LessOrEqual(t, len(got), maxEmailLen)
		require.Equal(t, 1, strings.Count(got, "@"))
		domain := got[strings.IndexByte(got, '@')+1:]
		require.Equal(t, strings.ToLower(domain), domain)
		require.Contains(t, domain, ".")
		require.Equal(t, -1, strings.IndexFunc(got, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }))
	})
}
