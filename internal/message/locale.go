// Package message holds the words the hook speaks and texts, in the user's
// language: the spoken OTP sentence and its 8x8 voice profile, the SMS text,
// and the end-user sentences for refusals. Everything is literal Go data
// resolved at package init; nothing is read at run time.
package message

import (
	"slices"
	"strings"
)

// Lang is a resolved locale: the tag Okta asked for (normalised) and the
// language pack and voice profile chosen for it. The zero value behaves as
// English.
type Lang struct {
	tag     string
	pack    *pack
	profile string
}

// Tag is the normalised requested locale (e.g. "en-GB" for "en_gb"). A
// locale that is empty or not a well-formed language tag resolves to "en".
func (l Lang) Tag() string {
	if l.tag == "" {
		return english.code
	}
	return l.tag
}

// Language is the code of the language pack in use ("en", "fr", "zh", …).
func (l Lang) Language() string { return l.p().code }

func (l Lang) p() *pack {
	if l.pack == nil {
		return english
	}
	return l.pack
}

// maxLocaleLen bounds the input we normalise; real locales are far shorter
// and anything longer is not worth parsing.
const maxLocaleLen = 64

// known holds a ready Lang for every tag and language the tables name, so
// the common Okta locales resolve with a map lookup and no allocation.
var known = buildKnown()

func buildKnown() map[string]Lang {
	m := make(map[string]Lang, len(voiceProfiles)+len(packs)+8)
	add := func(tag string) {
		norm, sp, ok := normalise(tag, nil)
		if !ok || string(norm) != tag {
			panic("message: table tag not in canonical form: " + tag)
		}
		m[tag] = resolveParsed(tag, sp.of(tag))
	}
	for tag := range voiceProfiles {
		add(tag)
	}
	for code := range packs {
		add(code)
	}
	for _, tag := range []string{"zh-Hans", "zh-Hant", "zh-MO", "zh-SG"} {
		add(tag)
	}
	return m
}

// Resolve maps an Okta locale (EN-US, en_GB, fr, es-419, garbage or empty)
// to a Lang: case and separators are normalised, then the exact tag, then
// its language, then English is used.
func Resolve(locale string) Lang {
	var buf [maxLocaleLen]byte
	norm, sp, ok := normalise(locale, buf[:0])
	if !ok {
		return known[english.code]
	}
	// string(norm) in a map index does not allocate.
	if l, found := known[string(norm)]; found {
		return l
	}
	tag := string(norm)
	return resolveParsed(tag, sp.of(tag))
}

type parsedTag struct {
	lang, script, region string
}

// spans locates the subtags of a normalised tag, so the fast path of
// Resolve builds no strings.
type spans struct {
	langEnd                                        int
	scriptStart, scriptEnd, regionStart, regionEnd int
}

func (s spans) of(tag string) parsedTag {
	return parsedTag{
		lang:   tag[:s.langEnd],
		script: tag[s.scriptStart:s.scriptEnd],
		region: tag[s.regionStart:s.regionEnd],
	}
}

func resolveParsed(tag string, pt parsedTag) Lang {
	pk := packFor(pt)
	return Lang{tag: tag, pack: pk, profile: profileFor(pt, pk)}
}

func packFor(pt parsedTag) *pack {
	if pt.lang == "zh" && traditional(pt) {
		return chineseTraditional
	}
	if pk, ok := packs[pt.lang]; ok {
		return pk
	}
	return english
}

// traditional reports whether a Chinese tag asks for Traditional characters:
// an explicit Hant script, or no script and a region that writes them.
func traditional(pt parsedTag) bool {
	switch pt.script {
	case "Hant":
		return true
	case "Hans":
		return false
	}
	switch pt.region {
	case "TW", "HK", "MO":
		return true
	}
	return false
}

func profileFor(pt parsedTag, pk *pack) string {
	if pk.code != pt.lang {
		// The language is not one we speak: the English default voice
		// reads the English text.
		return voiceProfiles[english.code]
	}
	// Most specific first: language-Script-REGION, language-REGION,
	// language-Script.
	var keys []string
	if pt.script != "" && pt.region != "" {
		keys = append(keys, pt.lang+"-"+pt.script+"-"+pt.region)
	}
	if pt.region != "" {
		keys = append(keys, pt.lang+"-"+pt.region)
	}
	if pt.script != "" {
		keys = append(keys, pt.lang+"-"+pt.script)
	}
	for _, key := range keys {
		if v, ok := voiceProfiles[key]; ok {
			return v
		}
	}
	if pk == chineseTraditional {
		return voiceProfiles["zh-Hant"]
	}
	return voiceProfiles[pt.lang]
}

// normalise appends the canonical form of locale to dst: '_' becomes '-',
// the language is lower case, a script Title case, a region upper case.
// It reports false when locale is not a well-formed tag (an empty subtag,
// a character other than ASCII letters and digits, a language that is not
// 2–3 letters).
func normalise(locale string, dst []byte) ([]byte, spans, bool) {
	var sp spans
	locale = strings.TrimSpace(locale)
	if locale == "" || len(locale) > maxLocaleLen {
		return nil, sp, false
	}
	hasScript := false
	for idx := 0; ; idx++ {
		sub := locale
		end := strings.IndexAny(locale, "-_")
		if end >= 0 {
			sub, locale = locale[:end], locale[end+1:]
		}
		if len(sub) == 0 || len(sub) > 8 || !alnum(sub) {
			return nil, sp, false
		}
		if idx > 0 {
			dst = append(dst, '-')
		}
		start := len(dst)
		switch {
		case idx == 0:
			if len(sub) < 2 || len(sub) > 3 || !letters(sub) {
				return nil, sp, false
			}
			dst = appendLower(dst, sub)
			sp.langEnd = len(dst)
		case idx == 1 && len(sub) == 4 && letters(sub):
			dst = append(dst, upper(sub[0]))
			dst = appendLower(dst, sub[1:])
			sp.scriptStart, sp.scriptEnd = start, len(dst)
			hasScript = true
		case (idx == 1 || idx == 2 && hasScript) && isRegion(sub):
			dst = appendUpper(dst, sub)
			sp.regionStart, sp.regionEnd = start, len(dst)
		default:
			dst = appendLower(dst, sub)
		}
		if end < 0 {
			return dst, sp, true
		}
	}
}

func isRegion(s string) bool {
	return (len(s) == 2 && letters(s)) || (len(s) == 3 && digits(s))
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func letters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func appendUpper(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, upper(s[i]))
	}
	return dst
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// Languages lists the codes of the languages the hook speaks, sorted.
func Languages() []string {
	out := make([]string, 0, len(packs))
	for code := range packs {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}
