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
	byLocale    map[string][]string // canonical locale → codes, preferred first
	byLang      map[string][]string // language → codes, preferred first
	all         []string            // every code, preferred first
	fixed       map[string]string   // the choice for every tag of known
}

// BuiltinVoices chooses from the built-in table alone (Lang.VoiceProfile):
// for when the account's list could not be read. Its Has knows only the
// table's profiles, which says nothing about the account: see FromAccount.
func BuiltinVoices() *Voices {
	has := make(map[string]bool, len(voiceProfiles))
	for _, code := range voiceProfiles {
		has[code] = true
	}
	return &Voices{has: has}
}

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
	// One stable order serves every bucket: the language's default
	// locale first (en-US for en), then neural voices, then by locale and
	// code.
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(a.lang, b.lang),
			boolFirst(a.locale != "" && a.locale == defaultLocale(a.lang), b.locale != "" && b.locale == defaultLocale(b.lang)),
			boolFirst(neural(a.code), neural(b.code)),
			cmp.Compare(a.locale, b.locale),
			cmp.Compare(a.code, b.code),
		)
	})
	for _, e := range entries {
		v.all = append(v.all, e.code)
		if e.locale != "" {
			v.byLocale[e.locale] = append(v.byLocale[e.locale], e.code)
			v.byLang[e.lang] = append(v.byLang[e.lang], e.code)
		}
	}
	// v.all prefers English first: it is the last resort for any text.
	slices.SortStableFunc(v.all, func(a, b string) int {
		la, _ := voiceLocale(localeOfCode(a))
		lb, _ := voiceLocale(localeOfCode(b))
		return boolFirst(strings.HasPrefix(la, "en"), strings.HasPrefix(lb, "en"))
	})
	v.fixed = make(map[string]string, len(known))
	for tag, l := range known {
		v.fixed[tag] = v.choose(l)
	}
	return v
}

// For is the voice profile for l.
func (v *Voices) For(l Lang) string {
	if v == nil || !v.fromAccount {
		return l.VoiceProfile()
	}
	if c, ok := v.fixed[l.Tag()]; ok {
		return c
	}
	return v.choose(l)
}

// Has reports whether code is in the list the choice is made from: the
// account's profiles (NewVoices) or the built-in table (BuiltinVoices).
func (v *Voices) Has(code string) bool { return v != nil && v.has[code] }

// FromAccount reports whether the choice is made from an account's list;
// only then does a missing profile (Has false) mean the account lacks it.
func (v *Voices) FromAccount() bool { return v != nil && v.fromAccount }

// Choices is the profile chosen for every locale the built-in table names,
// for the start-up log line. The map is the caller's.
func (v *Voices) Choices() map[string]string {
	out := make(map[string]string, len(voiceProfiles))
	for tag := range voiceProfiles {
		out[tag] = v.For(known[tag])
	}
	return out
}

// choose walks the fallbacks of NewVoices for l.
func (v *Voices) choose(l Lang) string {
	builtin := l.VoiceProfile()
	if v.has[builtin] {
		return builtin
	}
	lang := l.Language()
	var buf [maxLocaleLen]byte
	if norm, sp, ok := normalise(l.Tag(), buf[:0]); ok {
		pt := sp.of(string(norm))
		// The tag's own locale only when the text is in its language: a
		// Swedish voice must not read the English text sent for sv-SE.
		if pt.lang == lang {
			for _, loc := range []string{joinTag(pt.lang, pt.script, pt.region), joinTag(pt.lang, "", pt.region), joinTag(pt.lang, pt.script, "")} {
				if c := first(v.byLocale[loc]); c != "" {
					return c
				}
			}
		}
	}
	if loc, _ := voiceLocale(localeOfCode(builtin)); loc != "" {
		if c := first(v.byLocale[loc]); c != "" {
			return c
		}
	}
	if c := first(v.byLang[lang]); c != "" {
		return c
	}
	en := voiceProfiles[english.code]
	if v.has[en] {
		return en
	}
	if c := first(v.byLang[english.code]); c != "" {
		return c
	}
	// The account speaks no English: any voice beats one 8x8 refuses.
	return first(v.all)
}

// voiceLocale canonicalises an 8x8 localeCode ("en-US", "en_us",
// "cmn-CN") to a tag whose language is one Resolve uses: "" unless it has
// a region.
func voiceLocale(s string) (locale, lang string) {
	var buf [maxLocaleLen]byte
	norm, sp, ok := normalise(s, buf[:0])
	if !ok {
		return "", ""
	}
	pt := sp.of(string(norm))
	if pt.region == "" {
		return "", ""
	}
	if alias, ok := macrolanguage[pt.lang]; ok {
		pt.lang = alias
	}
	return joinTag(pt.lang, "", pt.region), pt.lang
}

// macrolanguage maps the codes some TTS engines use (Google's "cmn-CN",
// "yue-HK") to the language the packs are keyed by.
var macrolanguage = map[string]string{"cmn": "zh", "yue": "zh"}

// localeOfCode is the locale a profile name starts with: "en-US" for
// "en-US-Jenny".
func localeOfCode(code string) string {
	i := strings.IndexByte(code, '-')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(code[i+1:], '-')
	if j < 0 {
		return code
	}
	return code[:i+1+j]
}

// defaultLocale is the locale of the built-in profile for the bare
// language: en-US for en, es-ES for es, pt-BR for pt.
func defaultLocale(lang string) string {
	loc, _ := voiceLocale(localeOfCode(voiceProfiles[lang]))
	return loc
}

// neural reports whether a profile is one of the neural voices (Azure's
// "…Neural", Google's "Neural2" and "Wavenet"), which read codes better.
func neural(code string) bool {
	return strings.Contains(code, "Neural") || strings.Contains(code, "Wavenet")
}

func joinTag(lang, script, region string) string {
	if script == "" && region == "" {
		return ""
	}
	s := lang
	if script != "" {
		s += "-" + script
	}
	if region != "" {
		s += "-" + region
	}
	return s
}

func first(codes []string) string {
	if len(codes) == 0 {
		return ""
	}
	return codes[0]
}

// boolFirst orders true before false.
func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}
