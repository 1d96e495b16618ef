package logging

import (
	"encoding"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// appendText writes "15:04:05.000 INFO message key=value group.key=value"
// for a terminal. Values are the resolved ones, so redaction holds here too.
func (h *handler) appendText(b []byte, r slog.Record) []byte {
	if !r.Time.IsZero() {
		b = r.Time.AppendFormat(b, "15:04:05.000")
		b = append(b, ' ')
	}
	b = append(b, severity(r.Level)...)
	b = append(b, ' ')
	if needsQuote(r.Message, true) {
		b = strconv.AppendQuote(b, r.Message)
	} else {
		b = append(b, r.Message...)
	}
	e := textEncoder{buf: append(b, h.pre...), prefix: textPrefix(h.groups)}
	r.Attrs(func(a slog.Attr) bool {
		e.attr(a)
		return true
	})
	b = e.buf
	if r.Level >= slog.LevelError && r.PC != 0 {
		f := frame(r.PC)
		b = append(b, " source="...)
		b = append(b, filepath.Base(f.File)...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(f.Line), 10)
	}
	return append(b, '\n')
}

func textPrefix(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	return strings.Join(groups, ".") + "."
}

type textEncoder struct {
	buf    []byte
	prefix string
}

func (e *textEncoder) attr(a slog.Attr) {
	a.Value = a.Value.Resolve()
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		as := v.Group()
		p := e.prefix
		if a.Key != "" {
			e.prefix = p + a.Key + "."
		}
		for _, ga := range as {
			e.attr(ga)
		}
		e.prefix = p
		return
	case slog.KindAny:
		if a.Key == "" && v.Any() == nil {
			return
		}
	}
	e.buf = append(e.buf, ' ')
	e.buf = appendTextString(e.buf, e.prefix+a.Key)
	e.buf = append(e.buf, '=')
	e.buf = appendTextValue(e.buf, v)
}

func appendTextValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendTextString(b, v.String())
	case slog.KindTime:
		return v.Time().AppendFormat(b, time.RFC3339Nano)
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case HTTPRequest:
			s = x.summary()
		case *HTTPRequest:
			if x == nil {
				s = "<nil>"
			} else {
				s = x.summary()
			}
		case encoding.TextMarshaler:
			t, err := x.MarshalText()
			if err != nil {
				s = "!ERROR:" + err.Error()
			} else {
				s = string(t)
			}
		default:
			s = fmt.Sprintf("%+v", x)
		}
		return appendTextString(b, s)
	}
	return append(b, v.String()...) // numbers, bools, durations ("1.5s")
}

func (r HTTPRequest) summary() string {
	s := r.Method + " " + r.URL + " " + strconv.Itoa(r.Status)
	if r.Latency != 0 {
		s += " " + r.Latency.String()
	}
	return s
}

func appendTextString(b []byte, s string) []byte {
	if needsQuote(s, false) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuote reports whether s must be quoted to stay on one line and
// unambiguous: empty, invalid UTF-8, non-printable runes, and (for values)
// spaces, '=' and '"'.
func needsQuote(s string, spacesOK bool) bool {
	if s == "" {
		return !spacesOK
	}
	for i, r := range s {
		if r < utf8.RuneSelf { // ASCII fast path
			if r > ' ' && r < 0x7f && r != '=' && r != '"' {
				continue
			}
			if r == ' ' && spacesOK {
				continue
			}
			if r == '=' || r == '"' {
				if spacesOK {
					continue
				}
			}
			return true
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return true
			}
		}
		if !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}
