package message_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/message"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name, locale           string
		tag, language, profile string
	}{
		{"Okta sample upper case", "EN-US", "en-US", "en", "en-US-Jenny"},
		{"bare English", "en", "en", "en", "en-US-Jenny"},
		{"US English", "en-US", "en-US", "en", "en-US-Jenny"},
		{"British underscore form gets the British voice", "en_GB", "en-GB", "en", "en-GB-Emma"},
		{"British lower case", "en-gb", "en-GB", "en", "en-GB-Emma"},
		{"Irish English", "en-IE", "en-IE", "en", "en-IE-EmilyNeural"},
		{"Australian English", "en-AU", "en-AU", "en", "en-AU-NatashaNeural"},
		{"Indian English", "en_IN", "en-IN", "en", "en-IN-NeerjaNeural"},
		{"English of a region without its own voice", "en-NZ", "en-NZ", "en", "en-US-Jenny"},
		{"French defaults to France", "fr", "fr", "fr", "fr-FR-DeniseNeural"},
		{"French France", "fr-FR", "fr-FR", "fr", "fr-FR-DeniseNeural"},
		{"Canadian French", "fr-CA", "fr-CA", "fr", "fr-CA-SylvieNeural"},
		{"Swiss French falls back to the language", "fr_ch", "fr-CH", "fr", "fr-FR-DeniseNeural"},
		{"Japanese", "ja", "ja", "ja", "ja-JP-NanamiNeural"},
		{"Taiwanese Chinese", "zh-TW", "zh-TW", "zh", "zh-TW-HsiaoChenNeural"},
		{"Hong Kong Chinese", "zh_hk", "zh-HK", "zh", "zh-HK-HiuMaanNeural"},
		{"Traditional script", "zh-hant", "zh-Hant", "zh", "zh-TW-HsiaoChenNeural"},
		{"Simplified with region", "zh-Hans-CN", "zh-Hans-CN", "zh", "zh-CN-XiaoxiaoNeural"},
		{"Mainland Chinese", "zh-CN", "zh-CN", "zh", "zh-CN-XiaoxiaoNeural"},
		{"Brazilian Portuguese", "pt_BR", "pt-BR", "pt", "pt-BR-FranciscaNeural"},
		{"European Portuguese", "pt-PT", "pt-PT", "pt", "pt-PT-RaquelNeural"},
		{"Latin American Spanish", "es-419", "es-419", "es", "es-MX-DaliaNeural"},
		{"Mexican Spanish", "es-MX", "es-MX", "es", "es-MX-DaliaNeural"},
		{"US Spanish", "es-US", "es-US", "es", "es-US-PalomaNeural"},
		{"Spanish", "es", "es", "es", "es-ES-ElviraNeural"},
		{"German", "DE-de", "de-DE", "de", "de-DE-KatjaNeural"},
		{"Austrian German falls back to the language", "de-AT", "de-AT", "de", "de-DE-KatjaNeural"},
		{"Italian", "it", "it", "it", "it-IT-ElsaNeural"},
		{"Dutch", "nl-NL", "nl-NL", "nl", "nl-NL-ColetteNeural"},
		{"Korean", "ko_KR", "ko-KR", "ko", "ko-KR-SunHiNeural"},
		{"Arabic", "ar", "ar", "ar", "ar-SA-ZariyahNeural"},
		{"Egyptian Arabic", "ar-EG", "ar-EG", "ar", "ar-EG-SalmaNeural"},
		{"Hindi", "hi-IN", "hi-IN", "hi", "hi-IN-SwaraNeural"},
		{"surrounding spaces", "  fr-FR ", "fr-FR", "fr", "fr-FR-DeniseNeural"},
		{"extension subtags kept, lower case", "en-US-u-CA-gregory", "en-US-u-ca-gregory", "en", "en-US-Jenny"},
		{"unknown language speaks English", "xx", "xx", "en", "en-US-Jenny"},
		{"language we do not speak keeps its tag", "sv-SE", "sv-SE", "en", "en-US-Jenny"},
		{"unknown language with a region we have a voice for", "xx-GB", "xx-GB", "en", "en-US-Jenny"},
		{"empty", "", "en", "en", "en-US-Jenny"},
		{"punctuation", "!!", "en", "en", "en-US-Jenny"},
		{"trailing separator", "en-", "en", "en", "en-US-Jenny"},
		{"doubled separator", "en--US", "en", "en", "en-US-Jenny"},
		{"one-letter language", "e", "en", "en", "en-US-Jenny"},
		{"digits as language", "12-US", "en", "en", "en-US-Jenny"},
		{"non-ASCII", "fr-FRé", "en", "en", "en-US-Jenny"},
		{"well-formed but too long", "en" + strings.Repeat("-abcdefgh", 8), "en", "en", "en-US-Jenny"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := message.Resolve(tc.locale)
			if got := l.Tag(); got != tc.tag {
				t.Errorf("Resolve(%q).Tag() = %q, want %q", tc.locale, got, tc.tag)
			}
			if got := l.Language(); got != tc.language {
				t.Errorf("Resolve(%q).Language() = %q, want %q", tc.locale, got, tc.language)
			}
			if got := l.VoiceProfile(); got != tc.profile {
				t.Errorf("Resolve(%q).VoiceProfile() = %q, want %q", tc.locale, got, tc.profile)
			}
		})
	}
}

func TestTraditionalChineseText(t *testing.T) {
	tests := []struct {
		locale      string
		traditional bool
	}{
		{"zh", false}, {"zh-CN", false}, {"zh-SG", false}, {"zh-Hans", false},
		{"zh-TW", true}, {"zh-HK", true}, {"zh-MO", true}, {"zh-Hant", true}, {"zh-Hant-CN", true},
	}
	for _, tc := range tests {
		t.Run(tc.locale, func(t *testing.T) {
			got := message.Resolve(tc.locale).SMSText("123456")
			isTrad := got == message.Resolve("zh-TW").SMSText("123456")
			if isTrad != tc.traditional {
				t.Errorf("Resolve(%q).SMSText = %q, traditional=%v, want %v", tc.locale, got, isTrad, tc.traditional)
			}
		})
	}
}

func TestZeroLangIsEnglish(t *testing.T) {
	var zero message.Lang
	en := message.Resolve("en")
	if zero.Tag() != "en" || zero.Language() != "en" || zero.VoiceProfile() != en.VoiceProfile() ||
		zero.VoiceText("12") != en.VoiceText("12") || zero.Refusal(message.Expired) != en.Refusal(message.Expired) {
		t.Errorf("zero Lang does not behave as English")
	}
}

func TestLanguages(t *testing.T) {
	want := []string{"ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "nl", "pt", "zh"}
	got := message.Languages()
	if !slices.Equal(got, want) {
		t.Fatalf("Languages() = %v, want %v", got, want)
	}
	got[0] = "mutated"
	if message.Languages()[0] != "ar" {
		t.Error("Languages() shares its slice with the caller")
	}
}
