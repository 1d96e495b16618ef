// Package jsonstr writes JSON strings by appending to a byte slice: the
// hot-path encoder for Okta answers, 8x8 request bodies and log lines,
// without encoding/json's reflection.
package jsonstr

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// safe and htmlSafe mark the ASCII bytes written as they are.
var safe, htmlSafe = func() (t, h [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
		h[c] = t[c] && c != '<' && c != '>' && c != '&'
	}
	return t, h
}()

// Append appends s as a quoted JSON string exactly as encoding/json writes
// it (HTML-safe: <, > and & escaped).
func Append(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s, &htmlSafe)
	return append(b, '"')
}

// AppendEscaped appends the escaping of s without quotes, leaving <, > and
// & as they are (for logs, which are not HTML).
func AppendEscaped(b []byte, s string) []byte { return appendEscaped(b, s, &safe) }

// appendEscaped escapes quote, backslash and control characters, replaces
// invalid UTF-8 with U+FFFD and escapes U+2028/U+2029 (they end lines in
// JavaScript), as encoding/json does.
func appendEscaped(b []byte, s string, ok *[utf8.RuneSelf]bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ok[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
