// Package message holds the words the hook speaks and texts, in the user's
// language: the spoken OTP sentence and its 8x8 voice profile, the SMS text,
// and the end-user sentences for refusals. Everything is literal Go data;
// nothing is read at run time.
package message

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Lang is a resolved locale: the tag Okta asked for (normalised) and the
// language pack and voice profile chosen for it. The zero value is English.
type Lang struct {
	tag     string
	pack    *pack
	profile string // from the built-in table; Voices.For checks the account's list
}

// Tag is the normalised requested locale ("en-GB" for "en_gb"), or "en" for
// a locale that is empty or not a well-formed, known language tag.
func (l Lang) Tag() string { return cmp.Or(l.tag, english.code) }

func (l Lang) p() *pack { return cmp.Or(l.pack, english) }

func (l Lang) builtinProfile() string { return cmp.Or(l.profile, voiceProfiles[english.code]) }

// maxLocaleLen bounds the input we parse; real locales are far shorter.
const maxLocaleLen = 64

// Resolve maps an Okta locale (EN-US, en_GB, fr, es-419, garbage or empty)
// to a Lang: the tag is normalised (BCP 47 case, '-' for '_'), then the
// exact tag's voice, then its language's, then English is used.
func Resolve(locale string) Lang {
	tag, pt, ok := parse(locale)
	if !ok {
		return Lang{}
	}
	pk := packFor(pt)
	return Lang{tag: tag, pack: pk, profile: profileFor(pt, pk)}
}

// parsedTag holds a tag's subtags as written: "" when absent (no script
// or region inferred).
type parsedTag struct {
	lang, script, region string
}

// parse normalises locale with golang.org/x/text/language. It reports
// false for a tag that is not well-formed or names an unknown subtag.
func parse(locale string) (string, parsedTag, bool) {
	locale = strings.TrimSpace(locale)
	if len(locale) > maxLocaleLen {
		return "", parsedTag{}, false
	}
	t, err := language.Parse(locale)
	if err != nil {
		return "", parsedTag{}, false
	}
	b, s, r := t.Raw()
	pt := parsedTag{lang: b.String()}
	if s != (language.Script{}) {
		pt.script = s.String()
	}
	if r != (language.Region{}) {
		pt.region = r.String()
	}
	return t.String(), pt, true
}

// packFor picks the language's pack, or English. Chinese is Traditional for
// an explicit Hant script, or for no script and a region that writes it.
func packFor(pt parsedTag) *pack {
	if pt.lang == "zh" && (pt.script == "Hant" || pt.script == "" && slices.Contains([]string{"TW", "HK", "MO"}, pt.region)) {
		return chineseTraditional
	}
	return cmp.Or(packs[pt.lang], english)
}

// latinAmerica is UN M.49 region 419: its countries' Spanish is read by
// the Latin American voice.
var latinAmerica = language.MustParseRegion("419")

func profileFor(pt parsedTag, pk *pack) string {
	if pk.code != pt.lang {
		// A language we do not speak: the English voice reads the English text.
		return voiceProfiles[english.code]
	}
	// Most specific first. A key with an empty subtag ("fr--CA", "zh-") is
	// in no table.
	for _, key := range []string{pt.lang + "-" + pt.script + "-" + pt.region, pt.lang + "-" + pt.region, pt.lang + "-" + pt.script} {
		if v, ok := voiceProfiles[key]; ok {
			return v
		}
	}
	if r, err := language.ParseRegion(pt.region); err == nil && pt.lang == "es" && latinAmerica.Contains(r) {
		return voiceProfiles["es-419"]
	}
	if pk == chineseTraditional {
		return voiceProfiles["zh-Hant"]
	}
	return voiceProfiles[pt.lang]
}

// VoiceText is the sentence 8x8 speaks: a short introduction in the
// language, then the code one character at a time with a pause after each.
// 8x8's `repetition` repeats it, so the code is not repeated here. Okta
// codes are digits; any other character is spoken as it is, whitespace is
// dropped. okta.Parse refuses codes over 16 characters, so the text stays
// far under 8x8's limit on `say` (3000 characters).
func (l Lang) VoiceText(otp string) string {
	pk := l.p()
	var chars []string
	for _, r := range otp {
		if !unicode.IsSpace(r) && r != utf8.RuneError {
			chars = append(chars, string(r))
		}
	}
	return pk.voicePrefix + strings.Join(chars, pk.voiceSep) + pk.voiceEnd
}

// maxTemplateSegments bounds the admin's template: 8x8 bills every segment
// of a concatenated SMS, so a runaway template (6 segments is 918 GSM-7 or
// 402 UCS-2 characters, far beyond any one-time-code message Okta renders)
// is replaced by our one-segment text instead of multiplying the cost of
// every send.
const maxTemplateSegments = 6

// SMSBody chooses the SMS text: Okta's msgTemplate, which is the admin's
// customised text already rendered with the code, when it carries the code
// and is at most maxTemplateSegments long; the localised text otherwise.
func SMSBody(template, otp string, l Lang) string {
	if otp != "" && strings.Contains(template, otp) && utf8.ValidString(template) &&
		segments(template) <= maxTemplateSegments {
		return template
	}
	return l.smsText(otp)
}

func (l Lang) smsText(otp string) string { return l.p().smsPrefix + otp + l.p().smsSuffix }

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
	septets, units, gsm := 0, 0, true
	for _, r := range text {
		units += utf16.RuneLen(r)
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			septets++
		case strings.ContainsRune(gsm7Extended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	n, single, multi := units, 70, 67
	if gsm {
		n, single, multi = septets, 160, 153
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
