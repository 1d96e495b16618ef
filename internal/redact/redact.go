// Package redact is how this codebase keeps one-time codes, secrets and
// phone numbers out of logs. There are two tools, one for each kind of
// value:
//
//   - Secret holds a value we own and must never print (the OTP, Okta's
//     rendered SMS text, the raw phone number Okta sent, the text 8x8
//     speaks). Every printable form of it (String, Format, GoString,
//     LogValue, MarshalJSON) is a fixed placeholder; Reveal is for the one
//     place that needs the value, the 8x8 request body.
//   - Text masks free text a third party wrote (8x8's error messages and
//     delivery receipts), which may quote a phone number or a code.
//
// Parsed phone numbers (phone.Number) print their own redacted form,
// "+1********23", built by Phone.
package redact

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholder is what a Secret prints as.
const Placeholder = "[redacted]"

// Secret holds a value that must never be printed. The zero value is empty.
type Secret struct{ v string }

// New wraps v.
func New(v string) Secret { return Secret{v} }

// Reveal returns the value. Call it only to build the request that needs it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the value is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Len is the value's length in bytes (safe to log).
func (s Secret) Len() int { return len(s.v) }

func (s Secret) String() string             { return Placeholder }
func (s Secret) GoString() string           { return Placeholder }
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Placeholder)) }
func (s Secret) LogValue() slog.Value       { return slog.StringValue(Placeholder) }

// MarshalJSON writes the placeholder, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Placeholder + `"`), nil }

// Masked is what Text puts in place of a digit run.
const Masked = "[number]"

// minDigits is the shortest run Text masks: one-time codes have at least
// four digits, phone numbers seven or more.
const minDigits = 4

// Text masks, in text a third party supplied, every run of minDigits or
// more digits, counting the separators people write inside numbers
// ("+1 (415) 555-0123", "415.555.0123", "1,415,555,0123") as part of the
// run and a leading "+" with it. Shorter runs (an error code such as "1002" has four digits
// and is masked too; "v2", "HTTP 40" are kept) stay as they are.
func Text(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		start := i
		if s[i] == '+' && i+1 < len(s) && isDigit(s[i+1]) {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			b.WriteByte(s[start])
			i = start + 1
			continue
		}
		end, digits := scanRun(s, i)
		if digits >= minDigits {
			b.WriteString(Masked)
		} else {
			b.WriteString(s[start:end])
		}
		i = end
	}
	return b.String()
}

// scanRun returns where the digit run starting at s[i] ends (after its last
// digit) and how many digits it holds.
func scanRun(s string, i int) (end, digits int) {
	end = i
	for j := i; j < len(s); j++ {
		if isDigit(s[j]) {
			digits++
			end = j + 1
			continue
		}
		n := SeparatorLen(s, j)
		if n == 0 {
			return end, digits
		}
		// Part of the run only if a digit follows the separators.
		j += n - 1
	}
	return end, digits
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// SeparatorLen is the length in bytes of the separator at s[i], 0 when
// there is none: what people write inside numbers, and between the digits
// of a code read out one by one ("4, 8, 2, 9, 1, 3", and in other scripts
// "4、8、2" or "4، 8، 2"): the ASCII space and - . ( ) , / and any other
// Unicode space or punctuation.
func SeparatorLen(s string, i int) int {
	if c := s[i]; c < utf8.RuneSelf {
		if c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == ',' || c == '/' {
			return 1
		}
		return 0
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r != utf8.RuneError && (unicode.IsSpace(r) || unicode.IsPunct(r)) {
		return n
	}
	return 0
}

// Code is a status or error code from a third party, for a log line: an
// integer of at most five digits ("-1017", "1002": a phone number has more,
// an Okta code six) or a word of letters and '_' ("QUEUED") is kept as it
// is; anything else is masked like free text. Bound it first (a field that
// should hold a short code could hold anything).
func Code(s string) string {
	digits := strings.TrimPrefix(s, "-")
	if s == "" || len(digits) > 0 && len(digits) <= 5 && strings.Trim(digits, "0123456789") == "" ||
		strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_") == "" {
		return s
	}
	return Text(s)
}

// Phone masks a "+"-prefixed E.164 number, keeping the calling code (cc)
// and the last two digits: "+1********23". Anything else is Placeholder.
func Phone(e164 string, cc int) string {
	ccDigits := len(strconv.Itoa(cc))
	if cc <= 0 || len(e164) < 1+ccDigits+3 || e164[0] != '+' {
		return Placeholder
	}
	b := []byte(e164)
	for i := 1 + ccDigits; i < len(b)-2; i++ {
		b[i] = '*'
	}
	return string(b)
}
