package message

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name, locale           string
		tag, language, profile string
	}{
		{"Okta sample upper case", "EN-US", "en-US", "en", "en-US-Jenny"},
		{"bare English", "en", "en", "en", "en-US-Jenny"},
		{"British underscore form gets the British voice", "en_GB", "en-GB", "en", "en-GB-Emma"},
		{"Indian English", "en_IN", "en-IN", "en", "en-IN-NeerjaNeural"},
		{"English of a region without its own voice", "en-NZ", "en-NZ", "en", "en-US-Jenny"},
		{"French defaults to France", "fr", "fr", "fr", "fr-FR-DeniseNeural"},
		{"Canadian French", "fr-CA", "fr-CA", "fr", "fr-CA-SylvieNeural"},
		{"Swiss French falls back to the language", "fr_ch", "fr-CH", "fr", "fr-FR-DeniseNeural"},
		{"Taiwanese Chinese", "zh-TW", "zh-TW", "zh", "zh-TW-HsiaoChenNeural"},
		{"Hong Kong Chinese", "zh_hk", "zh-HK", "zh", "zh-HK-HiuMaanNeural"},
		{"Traditional script", "zh-hant", "zh-Hant", "zh", "zh-TW-HsiaoChenNeural"},
		{"Simplified with region", "zh-Hans-CN", "zh-Hans-CN", "zh", "zh-CN-XiaoxiaoNeural"},
		{"Brazilian Portuguese", "pt_BR", "pt-BR", "pt", "pt-BR-FranciscaNeural"},
		{"European Portuguese", "pt-PT", "pt-PT", "pt", "pt-PT-RaquelNeural"},
		{"Latin American Spanish", "es-419", "es-419", "es", "es-MX-DaliaNeural"},
		{"US Spanish", "es-US", "es-US", "es", "es-US-PalomaNeural"},
		{"Spanish", "es", "es", "es", "es-ES-ElviraNeural"},
		{"German", "DE-de", "de-DE", "de", "de-DE-KatjaNeural"},
		{"Austrian German falls back to the language", "de-AT", "de-AT", "de", "de-DE-KatjaNeural"},
		{"Korean", "ko_KR", "ko-KR", "ko", "ko-KR-SunHiNeural"},
		{"Egyptian Arabic", "ar-EG", "ar-EG", "ar", "ar-EG-SalmaNeural"},
		{"Hindi", "hi-IN", "hi-IN", "hi", "hi-IN-SwaraNeural"},
		{"surrounding spaces", "  fr-FR ", "fr-FR", "fr", "fr-FR-DeniseNeural"},
		{"extension subtags kept, lower case", "en-US-u-CA-gregory", "en-US-u-ca-gregory", "en", "en-US-Jenny"},
		{"unknown language resolves as English", "xx", "en", "en", "en-US-Jenny"},
		{"language we do not speak keeps its tag", "sv-SE", "sv-SE", "en", "en-US-Jenny"},
		{"unknown language with a region we have a voice for", "xx-GB", "en", "en", "en-US-Jenny"},
		{"deprecated code canonicalised", "iw-IL", "he-IL", "en", "en-US-Jenny"},
		{"empty", "", "en", "en", "en-US-Jenny"},
		{"punctuation", "!!", "en", "en", "en-US-Jenny"},
		{"trailing separator", "en-", "en", "en", "en-US-Jenny"},
		{"digits as language", "12-US", "en", "en", "en-US-Jenny"},
		{"non-ASCII", "fr-FRé", "en", "en", "en-US-Jenny"},
		{"well-formed but too long", "en" + strings.Repeat("-abcdefgh", 8), "en", "en", "en-US-Jenny"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Resolve(tc.locale)
			if got := l.Tag(); got != tc.tag {
				t.Errorf("Resolve(%q).Tag() = %q, want %q", tc.locale, got, tc.tag)
			}
			if got := l.p().code; got != tc.language {
				t.Errorf("Resolve(%q).p().code = %q, want %q", tc.locale, got, tc.language)
			}
			if got := l.builtinProfile(); got != tc.profile {
				t.Errorf("Resolve(%q).builtinProfile() = %q, want %q", tc.locale, got, tc.profile)
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
			got := Resolve(tc.locale).smsText("123456")
			isTrad := got == Resolve("zh-TW").smsText("123456")
			if isTrad != tc.traditional {
				t.Errorf("Resolve(%q).smsText = %q, traditional=%v, want %v", tc.locale, got, isTrad, tc.traditional)
			}
		})
	}
}

func TestZeroLangIsEnglish(t *testing.T) {
	var zero Lang
	en := Resolve("en")
	if zero.Tag() != "en" || zero.p().code != "en" || zero.builtinProfile() != en.builtinProfile() ||
		zero.VoiceText("12") != en.VoiceText("12") || zero.Refusal(Expired) != en.Refusal(Expired) {
		t.Errorf("zero Lang does not behave as English")
	}
}

func TestLanguages(t *testing.T) {
	want := []string{"ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "nl", "pt", "zh"}
	if got := slices.Sorted(maps.Keys(packs)); !slices.Equal(got, want) {
		t.Fatalf("languages = %v, want %v", got, want)
	}
	for code, pk := range packs {
		if pk.code != code {
			t.Errorf("packs[%q].code = %q", code, pk.code)
		}
	}
}

// Every table tag must be canonical, or profileFor would never find it.
func TestVoiceTableCanonical(t *testing.T) {
	for tag := range voiceProfiles {
		if norm, _, ok := parse(tag); !ok || norm != tag {
			t.Errorf("voiceProfiles key %q normalises to %q (ok=%v)", tag, norm, ok)
		}
	}
}
