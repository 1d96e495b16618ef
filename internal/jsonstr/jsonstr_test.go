package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

var cases = []string{"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\b\f\x00\x1f",
	"\u2028\u2029", "bad \xff utf8 \xc3", "é日本語🙂", strings.Repeat("x", 300)}

// Append is byte-identical to encoding/json.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := Append(nil, s); string(got) != string(want) {
			t.Errorf("Append(%q) = %s, want %s", s, got, want)
		}
	}
}

// AppendEscaped leaves HTML characters alone and still round-trips.
func TestAppendEscapedRoundTrips(t *testing.T) {
	for _, s := range cases {
		got := AppendEscaped([]byte{'"'}, s)
		got = append(got, '"')
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var want string
		std, _ := json.Marshal(s)
		_ = json.Unmarshal(std, &want)
		if back != want {
			t.Errorf("round trip %q -> %q, want %q", s, back, want)
		}
		if strings.Contains(s, "<") && !strings.Contains(string(got), "<") {
			t.Errorf("AppendEscaped escaped HTML: %s", got)
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := Append(nil, s); string(got) != string(want) {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
	})
}
