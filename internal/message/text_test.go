package message_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/telephony-hooks/okta-8x8/internal/message"
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
	en := message.Resolve("en")
	for _, code := range message.Languages() {
		t.Run(code, func(t *testing.T) {
			l := message.Resolve(code)
			if l.Language() != code {
				t.Fatalf("Resolve(%q).Language() = %q", code, l.Language())
			}
			if p := l.VoiceProfile(); !strings.HasPrefix(p, code+"-") {
				t.Errorf("VoiceProfile() = %q, want a %s voice", p, code)
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
			for _, text := range []string{voice, l.SMSText(otp)} {
				if masked := redact.Text(text); strings.ContainsAny(masked, "0123456789") {
					t.Errorf("redact.Text(%q) = %q: digits of the code survive", text, masked)
				}
			}

			sms := l.SMSText(otp)
			if !strings.Contains(sms, otp) {
				t.Errorf("SMSText(%q) = %q: no code", otp, sms)
			}
			if code != "en" && sms == en.SMSText(otp) {
				t.Errorf("SMSText is the English text")
			}
			n := utf8.RuneCountInString(sms)
			if latinScript[code] {
				for _, r := range sms {
					if !strings.ContainsRune(gsm7, r) {
						t.Errorf("SMSText %q: %q is outside GSM-7", sms, r)
					}
				}
				if n > 160 {
					t.Errorf("SMSText is %d characters, over one GSM-7 segment", n)
				}
			} else if n > 70 {
				t.Errorf("SMSText is %d characters, over one UCS-2 segment", n)
			}

			for _, r := range message.Reasons() {
				s := l.Refusal(r)
				if s == "" {
					t.Errorf("Refusal(%s) is empty", r)
				}
				if r != message.PreviewPlaceholder && code != "en" && s == en.Refusal(r) {
					t.Errorf("Refusal(%s) is the English sentence", r)
				}
				if strings.Contains(strings.ToLower(s), "8x8") {
					t.Errorf("Refusal(%s) = %q names the provider", r, s)
				}
			}
		})
	}
}

func TestRefusalsAreDistinct(t *testing.T) {
	for _, code := range message.Languages() {
		l := message.Resolve(code)
		seen := map[string]message.Reason{}
		for _, r := range message.Reasons() {
			s := l.Refusal(r)
			if prev, ok := seen[s]; ok {
				t.Errorf("%s: Refusal(%s) is the same sentence as Refusal(%s)", code, r, prev)
			}
			seen[s] = r
		}
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		name, locale string
		reason       message.Reason
		want         string
	}{
		{"preview placeholder is for the admin, in English", "ja", message.PreviewPlaceholder, "Click Edit"},
		{"preview placeholder names the placeholder", "en", message.PreviewPlaceholder, "9876543210"},
		{"invalid number", "en-GB", message.InvalidNumber, "can't receive a verification code"},
		{"rate limited in French", "fr-CA", message.RateLimited, "Trop de codes"},
		{"expired in German", "de", message.Expired, "abgelaufen"},
		{"unknown reason gets the generic sentence", "es", message.Reason("no_such_reason"), "no está disponible temporalmente"},
		{"unknown locale in English", "xx", message.Country, "this country"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := message.Resolve(tc.locale).Refusal(tc.reason); !strings.Contains(got, tc.want) {
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
			if got := message.Resolve(tc.locale).VoiceText(tc.otp); got != tc.want {
				t.Errorf("VoiceText(%q) = %q, want %q", tc.otp, got, tc.want)
			}
		})
	}
}

func TestVoiceTextLimit(t *testing.T) {
	tests := []struct {
		name string
		otp  string
		full bool // the whole code is spoken
	}{
		{"ten-digit code", "0123456789", true},
		{"absurdly long code is cut to 8x8's limit", strings.Repeat("7", 5000), false},
		{"long multibyte code", strings.Repeat("７", 5000), false},
	}
	for _, tc := range tests {
		for _, code := range message.Languages() {
			t.Run(tc.name+"/"+code, func(t *testing.T) {
				got := message.Resolve(code).VoiceText(tc.otp)
				if n := utf8.RuneCountInString(got); n > message.MaxVoiceText {
					t.Fatalf("VoiceText is %d characters, over %d", n, message.MaxVoiceText)
				}
				if tc.full {
					for _, d := range tc.otp {
						if !strings.ContainsRune(got, d) {
							t.Errorf("digit %q missing from %q", d, got)
						}
					}
				}
			})
		}
	}
}

func TestSMSBody(t *testing.T) {
	fr := message.Resolve("fr-FR")
	tests := []struct {
		name, template, otp, want string
	}{
		{"template with the code is used as-is", "Acme: your code is 482913", "482913", "Acme: your code is 482913"},
		{"template without the code is replaced", "Acme: your code is ${code}", "482913", fr.SMSText("482913")},
		{"template with another code is replaced", "Your code is 111111", "482913", fr.SMSText("482913")},
		{"empty template", "", "482913", fr.SMSText("482913")},
		{"empty code never matches a template", "anything", "", fr.SMSText("")},
		{"six GSM-7 segments is allowed", strings.Repeat("a", 918-6) + "482913", "482913", strings.Repeat("a", 918-6) + "482913"},
		{"seven GSM-7 segments is replaced", strings.Repeat("a", 919-6) + "482913", "482913", fr.SMSText("482913")},
		{"six UCS-2 segments is allowed", strings.Repeat("確", 402-6) + "482913", "482913", strings.Repeat("確", 402-6) + "482913"},
		{"seven UCS-2 segments is replaced", strings.Repeat("確", 403-6) + "482913", "482913", fr.SMSText("482913")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := message.SMSBody(tc.template, tc.otp, fr); got != tc.want {
				t.Errorf("SMSBody(%q, %q) = %q, want %q", tc.template, tc.otp, got, tc.want)
			}
		})
	}
}

func BenchmarkResolveAndRender(b *testing.B) {
	locales := []string{"EN-US", "en_GB", "fr", "ja", "pt_BR", "es-419", "sv-SE", ""}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l := message.Resolve(locales[i%len(locales)])
		_ = l.VoiceText("482913")
		_ = l.VoiceProfile()
	}
}
