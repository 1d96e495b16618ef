package message

import (
	"strings"
	"unicode/utf8"
)

// SMSText is the localised SMS for the code, used when Okta's template
// cannot be.
func (l Lang) SMSText(otp string) string {
	pk := l.p()
	return pk.smsPrefix + otp + pk.smsSuffix
}

// MaxTemplateSegments bounds the admin's template: 8x8 bills every segment
// of a concatenated SMS, so a runaway template (6 segments is 918 GSM-7 or
// 402 UCS-2 characters, far beyond any one-time-code message Okta renders)
// is replaced by our one-segment text instead of multiplying the cost of
// every send.
const MaxTemplateSegments = 6

// SMSBody chooses the SMS text: Okta's msgTemplate, which is the admin's
// customised text already rendered with the code, when it carries the code
// and is at most MaxTemplateSegments long; the localised text otherwise.
func SMSBody(template, otp string, l Lang) string {
	if otp != "" && strings.Contains(template, otp) && utf8.ValidString(template) &&
		segments(template) <= MaxTemplateSegments {
		return template
	}
	return l.SMSText(otp)
}

// gsm7Basic is the GSM 03.38 default alphabet (one septet each), without
// the escape character.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extended takes two septets each (escape + character).
const gsm7Extended = "\f^{}\\[~]|€"

// segments is how many SMS segments text needs: GSM-7 when every character
// is in that alphabet (160 septets, or 153 per part when concatenated),
// UCS-2 otherwise (70 UTF-16 units, or 67 per part).
func segments(text string) int {
	septets, gsm := 0, true
	units := 0
	for _, r := range text {
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
		if !gsm {
			continue
		}
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			septets++
		case strings.ContainsRune(gsm7Extended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		return parts(septets, 160, 153)
	}
	return parts(units, 70, 67)
}

func parts(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
