package message

import (
	"cmp"
	"slices"
	"strings"
)

// Voice is one speech profile an 8x8 account has (from
// GET …/speech-profiles).
type Voice struct {
	Code   string // speechProfileCode: the say voiceProfile ("en-US-Jenny")
	Locale string // localeCode ("en-US"); empty: read from Code
}

// Voices chooses the 8x8 voice profile for a locale. Availability is per
// 8x8 account, and a profile the account lacks fails every call that names
// it, so the choice is made among the account's own profiles. A Voices is
// immutable and safe for concurrent use.
type Voices struct {
	fromAccount bool
	has         map[string]bool
	byLocale    map[string][]string // lang-REGION → codes, preferred first
	byLang      map[string][]string // language → codes, preferred first
	all         []string            // every code, preferred first
}

// BuiltinVoices chooses from the built-in table alone, for when the
// account's list could not be read.
func BuiltinVoices() *Voices { return &Voices{} }

// NewVoices chooses among the profiles the account has. For each locale:
// the built-in table's profile if the account has it; else one of the
// account's profiles of that exact locale; else of the built-in profile's
// locale (es-MX for es-AR); else of the language (its default locale
// first, es-ES for es); else English (en-US first). Within a locale,
// neural voices come first, then the order of the codes. A list with no
// usable profile gives BuiltinVoices.
func NewVoices(available []Voice) *Voices {
	v := &Voices{
		fromAccount: true,
		has:         make(map[string]bool, len(available)),
		byLocale:    make(map[string][]string),
		byLang:      make(map[string][]string),
	}
	type entry struct{ code, locale, lang string }
	var entries []entry
	for _, a := range available {
		code := strings.TrimSpace(a.Code)
		if code == "" || v.has[code] {
			continue
		}
		v.has[code] = true
		loc, lang := voiceLocale(a.Locale)
		if loc == "" {
			loc, lang = voiceLocale(localeOfCode(code))
		}
		entries = append(entries, entry{code, loc, lang})
	}
	if len(entries) == 0 {
		return BuiltinVoices()
	}
	// One stable order serves every bucket: the language's default locale
	// first (en-US for en), then neural voices, then by locale and code.
	rank := func(e entry) (r int) {
		if loc, _ := voiceLocale(localeOfCode(voiceProfiles[e.lang])); e.locale == "" || e.locale != loc {
			r += 2
		}
		if !neural(e.code) {
			r++
		}
		return r
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.lang, b.lang), cmp.Compare(rank(a), rank(b)),
			cmp.Compare(a.locale, b.locale), cmp.Compare(a.code, b.code))
	})
	for _, e := range entries {
		v.all = append(v.all, e.code)
		if e.locale != "" {
			v.byLocale[e.locale] = append(v.byLocale[e.locale], e.code)
			v.byLang[e.lang] = append(v.byLang[e.lang], e.code)
		}
	}
	return v
}

// For is the voice profile for l.
func (v *Voices) For(l Lang) string {
	builtin := l.builtinProfile()
	if v == nil || !v.fromAccount || v.has[builtin] {
		return builtin
	}
	lang := l.p().code
	var lists [][]string // the candidates, best first
	// The tag's own locale only when the text is in its language: a
	// Swedish voice must not read the English text sent for sv-SE.
	if _, pt, ok := parse(l.Tag()); ok && pt.lang == lang {
		lists = append(lists, v.byLocale[pt.lang+"-"+pt.region])
	}
	builtinLocale, _ := voiceLocale(localeOfCode(builtin))
	var jenny []string
	if en := voiceProfiles[english.code]; v.has[en] {
		jenny = []string{en}
	}
	// Last, when the account speaks no English: any voice beats one 8x8 refuses.
	lists = append(lists, v.byLocale[builtinLocale], v.byLang[lang], jenny, v.byLang[english.code], v.all)
	for _, codes := range lists {
		if len(codes) > 0 {
			return codes[0]
		}
	}
	return ""
}

// Has reports whether the account's list (NewVoices) has code.
func (v *Voices) Has(code string) bool { return v != nil && v.has[code] }

// FromAccount reports whether the choice is made from an account's list;
// only then does a missing profile (Has false) mean the account lacks it.
func (v *Voices) FromAccount() bool { return v != nil && v.fromAccount }

// Choices is the profile chosen for every locale the built-in table names,
// for the start-up log line. The map is the caller's.
func (v *Voices) Choices() map[string]string {
	out := make(map[string]string, len(voiceProfiles))
	for tag := range voiceProfiles {
		out[tag] = v.For(Resolve(tag))
	}
	return out
}

// voiceLocale canonicalises an 8x8 localeCode ("en-US", "en_us",
// "cmn-CN") to lang-REGION with a language Resolve uses: "" unless it has
// a region.
func voiceLocale(s string) (locale, lang string) {
	_, pt, ok := parse(s)
	if !ok || pt.region == "" {
		return "", ""
	}
	if alias, ok := macrolanguage[pt.lang]; ok {
		pt.lang = alias
	}
	return pt.lang + "-" + pt.region, pt.lang
}

// localeOfCode is the locale a profile name starts with: "en-US" for
// "en-US-Jenny".
func localeOfCode(code string) string {
	parts := strings.SplitN(code, "-", 3)
	return strings.Join(parts[:min(len(parts), 2)], "-")
}

// macrolanguage maps the codes some TTS engines use (Google's "cmn-CN",
// "yue-HK") to the language the packs are keyed by.
var macrolanguage = map[string]string{"cmn": "zh", "yue": "zh"}

// neural reports whether a profile is one of the neural voices (Azure's
// "…Neural", Google's "Neural2" and "Wavenet"), which read codes better.
func neural(code string) bool {
	return strings.Contains(code, "Neural") || strings.Contains(code, "Wavenet")
}
