package message

import (
	"maps"
	"testing"
)

// fullAccount has every profile of the built-in table.
func fullAccount() []Voice {
	var vs []Voice
	for _, code := range BuiltinVoices().Choices() {
		vs = append(vs, Voice{Code: code})
	}
	return vs
}

// without is fullAccount minus some profiles, plus others.
func without(drop []string, add ...Voice) []Voice {
	var vs []Voice
	for _, v := range fullAccount() {
		keep := true
		for _, d := range drop {
			keep = keep && v.Code != d
		}
		if keep {
			vs = append(vs, v)
		}
	}
	return append(vs, add...)
}

func TestVoicesFor(t *testing.T) {
	tests := []struct {
		name    string
		account []Voice
		locale  string
		want    string
	}{
		{"account has the built-in profile", fullAccount(), "fr-FR", "fr-FR-DeniseNeural"},
		{"built-in profile first, even with a closer regional voice", append(fullAccount(), Voice{"fr-BE-CharlineNeural", "fr-BE"}), "fr-BE", "fr-FR-DeniseNeural"},
		{"missing profile: another voice of the locale, neural first",
			without([]string{"fr-FR-DeniseNeural"}, Voice{"fr-FR-Julie", "fr-FR"}, Voice{"fr-FR-HenriNeural", "fr-FR"}), "fr-FR", "fr-FR-HenriNeural"},
		{"bare language takes the built-in profile's locale",
			without([]string{"fr-FR-DeniseNeural"}, Voice{"fr-FR-HenriNeural", "fr-FR"}), "fr", "fr-FR-HenriNeural"},
		{"no voice of the locale: the exact regional voice of the tag",
			without([]string{"fr-FR-DeniseNeural"}, Voice{"fr-BE-CharlineNeural", "fr-BE"}), "fr-BE", "fr-BE-CharlineNeural"},
		{"no voice of the locale: another locale of the language",
			without([]string{"fr-FR-DeniseNeural"}), "fr-FR", "fr-CA-SylvieNeural"},
		{"es-AR: its own voice before the Mexican one",
			without([]string{"es-MX-DaliaNeural"}, Voice{"es-MX-JorgeNeural", "es-MX"}, Voice{"es-AR-ElenaNeural", "es-AR"}), "es-AR", "es-AR-ElenaNeural"},
		{"es-CO: the built-in profile's locale (es-MX)",
			without([]string{"es-MX-DaliaNeural"}, Voice{"es-MX-JorgeNeural", "es-MX"}, Voice{"es-AR-ElenaNeural", "es-AR"}), "es-CO", "es-MX-JorgeNeural"},
		{"language fallback prefers the language's default locale",
			without([]string{"es-ES-ElviraNeural"}, Voice{"es-ES-Lucia", "es-ES"}), "es", "es-ES-Lucia"},
		{"language missing: English, en-US first",
			without([]string{"ja-JP-NanamiNeural"}), "ja-JP", "en-US-Jenny"},
		{"language and en-US-Jenny missing: another en-US voice",
			[]Voice{{"en-GB-Emma", "en-GB"}, {"en-US-Guy", "en-US"}, {"en-US-AriaNeural", "en-US"}}, "ja", "en-US-AriaNeural"},
		{"English text is never read by the tag's own voice",
			without([]string{"en-US-Jenny"}, Voice{"sv-SE-SofieNeural", "sv-SE"}, Voice{"en-US-AriaNeural", "en-US"}), "sv-SE", "en-US-AriaNeural"},
		{"English region without a built-in voice, account has one",
			without([]string{"en-US-Jenny"}, Voice{"en-NZ-MollyNeural", "en-NZ"}, Voice{"en-US-AriaNeural", "en-US"}), "en-NZ", "en-NZ-MollyNeural"},
		{"Google's macrolanguage codes count as Chinese",
			without([]string{"zh-CN-XiaoxiaoNeural"}, Voice{"cmn-CN-Wavenet-A", "cmn-CN"}, Voice{"cmn-CN-Standard-A", "cmn-CN"}), "zh-CN", "cmn-CN-Wavenet-A"},
		{"Traditional script: the Taiwanese locale",
			without([]string{"zh-TW-HsiaoChenNeural"}, Voice{"zh-TW-YunJheNeural", "zh-TW"}), "zh-Hant", "zh-TW-YunJheNeural"},
		{"locale missing from 8x8's entry: read from the code",
			without([]string{"de-DE-KatjaNeural"}, Voice{Code: "de-DE-ConradNeural"}), "de", "de-DE-ConradNeural"},
		{"8x8's locale in another case and separator",
			without([]string{"it-IT-ElsaNeural"}, Voice{"it-IT-DiegoNeural", "it_it"}), "it-IT", "it-IT-DiegoNeural"},
		{"an account without English: any voice rather than one 8x8 refuses",
			[]Voice{{"de-DE-KatjaNeural", "de-DE"}}, "ja", "de-DE-KatjaNeural"},
		{"unparsable locale resolves as English", fullAccount(), "!!", "en-US-Jenny"},
		{"empty account list: the built-in table", nil, "fr-CA", "fr-CA-SylvieNeural"},
		{"account of blank codes: the built-in table", []Voice{{" ", "en-US"}}, "pt", "pt-BR-FranciscaNeural"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVoices(tt.account)
			if got := v.For(Resolve(tt.locale)); got != tt.want {
				t.Errorf("For(%q) = %q, want %q", tt.locale, got, tt.want)
			}
		})
	}
}

// Whatever the account lacks, every locale gets a profile the account has.
func TestVoicesOnlyChooseWhatTheAccountHas(t *testing.T) {
	accounts := map[string][]Voice{
		"spec example": {{"en-US-Standard-A", "en-US"}, {"da-DK-Naja", "da-DK"}},
		"no English":   {{"fr-FR-HenriNeural", "fr-FR"}, {"ja-JP-KeitaNeural", "ja-JP"}},
		"half the table": without([]string{"en-US-Jenny", "fr-FR-DeniseNeural", "es-MX-DaliaNeural", "zh-TW-HsiaoChenNeural",
			"ar-SA-ZariyahNeural", "hi-IN-SwaraNeural", "pt-BR-FranciscaNeural", "ko-KR-SunHiNeural"}),
	}
	locales := []string{"en", "en-US", "en-NZ", "fr", "fr-CH", "es-419", "es-AR", "zh-TW", "zh-Hant-HK", "ar", "hi-IN", "pt", "ko", "sv-SE", "xx", "", "de-AT-u-co-phonebk"}
	for name, account := range accounts {
		v := NewVoices(account)
		for _, loc := range locales {
			if got := v.For(Resolve(loc)); !v.Has(got) {
				t.Errorf("%s: For(%q) = %q, which the account lacks", name, loc, got)
			}
		}
		for loc, got := range v.Choices() {
			if !v.Has(got) {
				t.Errorf("%s: Choices()[%q] = %q, which the account lacks", name, loc, got)
			}
		}
	}
}

func TestBuiltinVoices(t *testing.T) {
	b := BuiltinVoices()
	if b.FromAccount() {
		t.Error("BuiltinVoices().FromAccount() = true")
	}
	for _, loc := range []string{"en", "fr-CA", "es-AR", "sv-SE", "zh-HK", ""} {
		l := Resolve(loc)
		if got, want := b.For(l), l.builtinProfile(); got != want {
			t.Errorf("BuiltinVoices().For(%q) = %q, want the table's %q", loc, got, want)
		}
	}
	if b.Has("en-US-Jenny") {
		t.Error("BuiltinVoices().Has reports a profile without the account's list")
	}
	c := b.Choices()
	if c["en-GB"] != "en-GB-Emma" || c["es-419"] != "es-MX-DaliaNeural" || len(c) < 25 {
		t.Errorf("Choices() = %v", c)
	}
	var none *Voices
	if none.For(Resolve("fr")) != "fr-FR-DeniseNeural" || none.Has("en-US-Jenny") || none.FromAccount() {
		t.Error("a nil *Voices does not behave as the built-in table without an account")
	}
}

func TestVoicesImmutable(t *testing.T) {
	account := []Voice{{"fr-FR-HenriNeural", "fr-FR"}, {"en-US-AriaNeural", "en-US"}}
	v := NewVoices(account)
	if !v.FromAccount() || !v.Has("fr-FR-HenriNeural") || v.Has("fr-FR-DeniseNeural") {
		t.Fatal("NewVoices does not report the account's list")
	}
	account[0].Code = "fr-FR-Mutated"
	c := v.Choices()
	want := maps.Clone(c)
	c["fr-FR"] = "mutated"
	if got := v.For(Resolve("fr-FR")); got != "fr-FR-HenriNeural" {
		t.Errorf("after the caller's edits, For(fr-FR) = %q", got)
	}
	if !maps.Equal(v.Choices(), want) {
		t.Error("Choices() shares its map with the caller")
	}
}
