package message

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxVoiceText is 8x8's limit on the `say` text, in characters.
const MaxVoiceText = 3000

// VoiceText is the sentence 8x8 speaks: a short introduction in the
// language, then the code one character at a time with a pause after each.
// 8x8's `repetition` repeats it, so the code is not repeated here. Okta
// codes are digits; any other character is spoken as it is, whitespace is
// dropped. An OTP too long for MaxVoiceText is cut short rather than have
// 8x8 refuse the call.
func (l Lang) VoiceText(otp string) string {
	pk := l.p()
	size := len(pk.voicePrefix) + len(otp)*(1+len(pk.voiceSep)) + len(pk.voiceEnd)
	// Bytes bound characters, so a text that fits in bytes needs no count.
	budget := -1
	if size > MaxVoiceText {
		budget = MaxVoiceText - utf8.RuneCountInString(pk.voicePrefix) - utf8.RuneCountInString(pk.voiceEnd)
		size = 4 * MaxVoiceText
	}
	sepLen := utf8.RuneCountInString(pk.voiceSep)
	var b strings.Builder
	b.Grow(size)
	b.WriteString(pk.voicePrefix)
	first := true
	for _, r := range otp {
		if unicode.IsSpace(r) || r == utf8.RuneError {
			continue
		}
		if budget >= 0 {
			need := 1
			if !first {
				need += sepLen
			}
			if need > budget {
				break
			}
			budget -= need
		}
		if !first {
			b.WriteString(pk.voiceSep)
		}
		b.WriteRune(r)
		first = false
	}
	b.WriteString(pk.voiceEnd)
	return b.String()
}
