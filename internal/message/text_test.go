package message

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// gsm7 is the GSM 03.38 alphabet, basic and extended, for checking that the
// Latin-script SMS texts stay in one 160-character segment.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"

var latinScript = map[string]bool{"en": true, "es": true, "fr": true, "de": true, "it": true, "pt": true, "nl": true}

// Each required language, spoken, texted and refused in its own words.
func TestEveryLanguage(t *testing.T) {
	const otp = "482913"
	en := Resolve("en")
	for _, code := range slices.Sorted(maps.Keys(packs)) {
		t.Run(code, func(t *testing.T) {
			l := Resolve(code)
			if l.p().code != code {
				t.Fatalf("Resolve(%q).p().code = %q", code, l.p().code)
			}
			if p := l.builtinProfile(); !strings.HasPrefix(p, code+"-") {
				t.Errorf("builtinProfile() = %q, want a %s voice", p, code)
			}

			voice := l.VoiceText(otp)
			rest := voice
			for _, d := range otp {
				i := strings.IndexRune(rest, d)
				if i < 0 {
					t.Fatalf("VoiceText(%q) = %q: digits missing or out of order", otp, voice)
				}
				rest = rest[i+utf8.RuneLen(d):]
			}
			if strings.Contains(voice, otp) {
				t.Errorf("VoiceText(%q) = %q: code spoken as one number, not digit by digit", otp, voice)
			}
			if code != "en" && voice == en.VoiceText(otp) {
				t.Errorf("VoiceText is the English text")
			}
			// An 8x8 error quoting the text it was given must not carry
			// the code into a log, in any script's punctuation.
			for _, text := range []string{voice, l.smsText(otp)} {
				if masked := redact.Text(text); strings.ContainsAny(masked, "0123456789") {
					t.Errorf("redact.Text(%q) = %q: digits of the code survive", text, masked)
				}
			}

			sms := l.smsText(otp)
			if !strings.Contains(sms, otp) {
				t.Errorf("smsText(%q) = %q: no code", otp, sms)
			}
			if code != "en" && sms == en.smsText(otp) {
				t.Errorf("smsText is the English text")
			}
			n := utf8.RuneCountInString(sms)
			if latinScript[code] {
				for _, r := range sms {
					if !strings.ContainsRune(gsm7, r) {
						t.Errorf("smsText %q: %q is outside GSM-7", sms, r)
					}
				}
				if n > 160 {
					t.Errorf("smsText is %d characters, over one GSM-7 segment", n)
				}
			} else if n > 70 {
				t.Errorf("smsText is %d characters, over one UCS-2 segment", n)
			}

			seen := map[string]Reason{}
			for _, r := range append(slices.Collect(maps.Keys(english.refusals)), PreviewPlaceholder) {
				s := l.Refusal(r)
				if prev, ok := seen[s]; ok || s == "" {
					t.Errorf("Refusal(%s) = %q, empty or the sentence of %s", r, s, prev)
				}
				seen[s] = r
				if r != PreviewPlaceholder && code != "en" && s == en.Refusal(r) {
					t.Errorf("Refusal(%s) is the English sentence", r)
				}
				if strings.Contains(strings.ToLower(s), "8x8") {
					t.Errorf("Refusal(%s) = %q names the provider", r, s)
				}
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name, locale string
		reason       Reason
		want         string
	}{
		{"preview placeholder is for the admin, in English", "ja", PreviewPlaceholder, "Click Edit"},
		{"preview placeholder names the placeholder", "en", PreviewPlaceholder, "9876543210"},
		{"invalid number", "en-GB", InvalidNumber, "can't receive a verification code"},
		{"rate limited in French", "fr-CA", RateLimited, "Trop de codes"},
		{"expired in German", "de", Expired, "abgelaufen"},
		{"unknown reason gets the generic sentence", "es", Reason("no_such_reason"), "no está disponible temporalmente"},
		{"unknown locale in English", "xx", Country, "this country"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(tc.locale).Refusal(tc.reason); !strings.Contains(got, tc.want) {
				t.Errorf("Refusal(%s) = %q, want it to contain %q", tc.reason, got, tc.want)
			}
		})
	}
}

func TestVoiceText(t *testing.T) {
	tests := []struct {
		name, locale, otp, want string
	}{
		{"English six digits", "en-US", "482913", "Your verification code is: 4. 8. 2. 9. 1. 3."},
		{"German avoids ordinal periods", "de", "4829", "Ihr Bestätigungscode lautet: 4, 8, 2, 9."},
		{"Japanese native punctuation", "ja", "4829", "確認コードをお知らせします。4、8、2、9。"},
		{"Chinese full-width comma", "zh-CN", "4829", "您的验证码是：4，8，2，9。"},
		{"non-digits spoken as they are, spaces dropped", "en", "AB 1-2", "Your verification code is: A. B. 1. -. 2."},
		{"empty code does not crash", "fr", "", "Votre code de vérification est : ."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(tc.locale).VoiceText(tc.otp); got != tc.want {
				t.Errorf("VoiceText(%q) = %q, want %q", tc.otp, got, tc.want)
			}
		})
	}
}

func TestSMSBody(t *testing.T) {
	fr := Resolve("fr-FR")
	tests := []struct {
		name, template, otp, want string
	}{
		{"template with the code is used as-is", "Acme: your code is 482913", "482913", "Acme: your code is 482913"},
		{"template without the code is replaced", "Acme: your code is ${code}", "482913", fr.smsText("482913")},
		{"template with another code is replaced", "Your code is 111111", "482913", fr.smsText("482913")},
		{"empty template", "", "482913", fr.smsText("482913")},
		{"empty code never matches a template", "anything", "", fr.smsText("")},
		{"six GSM-7 segments is allowed", strings.Repeat("a", 918-6) + "482913", "482913", strings.Repeat("a", 918-6) + "482913"},
		{"seven GSM-7 segments is replaced", strings.Repeat("a", 919-6) + "482913", "482913", fr.smsText("482913")},
		{"six UCS-2 segments is allowed", strings.Repeat("確", 402-6) + "482913", "482913", strings.Repeat("確", 402-6) + "482913"},
		{"seven UCS-2 segments is replaced", strings.Repeat("確", 403-6) + "482913", "482913", fr.smsText("482913")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SMSBody(tc.template, tc.otp, fr); got != tc.want {
				t.Errorf("SMSBody(%q, %q) = %q, want %q", tc.template, tc.otp, got, tc.want)
			}
		})
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 1},
		{"160 GSM-7", strings.Repeat("a", 160), 1},
		{"161 GSM-7 is concatenated", strings.Repeat("a", 161), 2},
		{"306 GSM-7 fits two parts", strings.Repeat("a", 306), 2},
		{"307 GSM-7 needs three", strings.Repeat("a", 307), 3},
		{"GSM-7 accents stay GSM-7", strings.Repeat("é", 160), 1},
		{"extended characters count twice", strings.Repeat("€", 80), 1},
		{"81 extended characters overflow", strings.Repeat("€", 81), 2},
		{"one non-GSM character switches to UCS-2", "ó" + strings.Repeat("a", 69), 1},
		{"71 UCS-2 is concatenated", "ó" + strings.Repeat("a", 70), 2},
		{"134 UCS-2 fits two parts", strings.Repeat("確", 134), 2},
		{"astral characters are two UTF-16 units", strings.Repeat("😀", 35), 1},
		{"36 astral characters overflow", strings.Repeat("😀", 36), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := segments(tc.text); got != tc.want {
				t.Errorf("segments = %d, want %d", got, tc.want)
			}
		})
	}
}
