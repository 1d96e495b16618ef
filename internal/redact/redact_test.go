package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := New("482913")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "otp", s, "any", any(s))
	j, _ := json.Marshal(struct{ S Secret }{s})
	for _, out := range []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %d", s, s, s, s, s, s, s),
		logs.String(), string(j),
	} {
		if strings.Contains(out, "482913") || strings.Contains(out, "3438") /* %x */ {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Reveal() != "482913" || s.Len() != 6 || s.IsZero() || !(Secret{}).IsZero() {
		t.Error("Reveal, Len or IsZero wrong")
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"Invalid destination +14155550123": "Invalid destination [number]",
		"Invalid destination 14155550123":  "Invalid destination [number]",
		"to +1 (415) 555-0123, retry":      "to [number], retry",
		"to 415.555.0123.":                 "to [number].",
		"code 482913 rejected":             "code [number] rejected",
		"error -1017":                      "error -[number]",
		"HTTP 404 v2":                      "HTTP 404 v2",
		"":                                 "",
		"no digits":                        "no digits",
		"+":                                "+",
		"a+b 12 34":                        "a+b [number]",
		"ends with a run 123456":           "ends with a run [number]",
		"trailing separators 123 - ":       "trailing separators 123 - ",
		"Invalid MSISDN format (not E.164 number)": "Invalid MSISDN format (not E.164 number)",
		"sent 2026-03-14T09:26:53Z":                "sent [number]T09:26:53Z",
		"to 1,415,555,0123 or 415/555/0123":        "to [number] or [number]",
		"Your code is 4, 8, 2, 9, 1, 3.":           "Your code is [number].",
		// Codes read out in other scripts: ideographic and Arabic commas.
		"確認コードは4、8、2、9、1、3。":                "確認コードは[number]。",
		"验证码是4，8，2，9，1，3。":                  "验证码是[number]。",
		"رمزك هو 4، 8، 2، 9، 1، 3.":         "رمزك هو [number].",
		"a\u00a0run 4\u00a08\u00a02\u00a09": "a\u00a0run [number]",
		"digits and letters 4x8y2z9":        "digits and letters 4x8y2z9",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"-1017":                 "-1017",
		"1002":                  "1002",
		"QUEUED":                "QUEUED",
		"no_answer":             "no_answer",
		"482913":                "[number]",
		"+14155550123":          "[number]",
		"failed for 4155550123": "failed for [number]",
	} {
		if got := Code(in); got != want {
			t.Errorf("Code(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhone(t *testing.T) {
	for _, tt := range []struct {
		e164 string
		cc   int
		want string
	}{
		{"+14155550123", 1, "+1********23"},
		{"+33612345678", 33, "+33*******78"},
		{"+9715012345", 971, "+971*****45"},
		{"+1234", 1, "+1*34"},
		{"+123", 1, Placeholder},
		{"14155550123", 1, Placeholder},
		{"+1", 1, Placeholder},
		{"+14155550123", 0, Placeholder},
	} {
		if got := Phone(tt.e164, tt.cc); got != tt.want {
			t.Errorf("Phone(%q, %d) = %q, want %q", tt.e164, tt.cc, got, tt.want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"+14155550123", "to +1 (415) 555-0123", "1 2 3 4", "+", "9", "a1b2c3d4", "4、8、2、9", "4، 8، 2، 9", "1\xff2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		// No run of minDigits digits survives, with or without separators.
		digits := 0
		for i := 0; i < len(out); i++ {
			switch n := SeparatorLen(out, i); {
			case isDigit(out[i]):
				digits++
				if digits >= minDigits {
					t.Fatalf("Text(%q) = %q keeps a run of %d digits", s, out, digits)
				}
			case n > 0:
				i += n - 1
			default:
				digits = 0
			}
		}
	})
}
