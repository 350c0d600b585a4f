package sms

// The GSM 03.38 default alphabet (3GPP TS 23.038, section 6.2.1), as the
// Unicode characters it can carry. gsmBasic takes one septet each; ESC
// (0x1B) is not a character and is left out. gsmExtension is the default
// extension table: each character is sent as ESC plus one septet, so it
// takes two.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
		" !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
		"¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// latin1Septets holds the septets of U+0000 to U+00FF: 0 when the
// character is not in the alphabet, 1 in the basic table, 2 in the
// extension table. Characters above U+00FF are few (Greek capitals and the
// euro sign) and are handled in Septets.
var latin1Septets = func() (t [256]uint8) {
	for _, r := range gsmBasic {
		if r < 256 {
			t[r] = 1
		}
	}
	for _, r := range gsmExtension {
		if r < 256 {
			t[r] = 2
		}
	}
	return t
}()

// Septets returns how many septets r takes in GSM-7: 1 for a character of
// the basic table, 2 for one of the extension table (an escape pair), and 0
// when r cannot be sent in GSM-7 at all.
func Septets(r rune) int {
	if r < 256 {
		if r < 0 {
			return 0
		}
		return int(latin1Septets[r])
	}
	switch r {
	case 'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ':
		return 1
	case '€':
		return 2
	}
	return 0
}

// IsGSM7 reports whether every character of text can be sent in GSM-7.
func IsGSM7(text string) bool {
	for i := 0; i < len(text); i++ {
		if b := text[i]; b < 0x80 {
			if latin1Septets[b] == 0 {
				return false
			}
			continue
		}
		for _, r := range text[i:] {
			if Septets(r) == 0 {
				return false
			}
		}
		return true
	}
	return true
}
