package message

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 1},
		{"160 GSM-7", strings.Repeat("a", 160), 1},
		{"161 GSM-7 is concatenated", strings.Repeat("a", 161), 2},
		{"306 GSM-7 fits two parts", strings.Repeat("a", 306), 2},
		{"307 GSM-7 needs three", strings.Repeat("a", 307), 3},
		{"GSM-7 accents stay GSM-7", strings.Repeat("é", 160), 1},
		{"extended characters count twice", strings.Repeat("€", 80), 1},
		{"81 extended characters overflow", strings.Repeat("€", 81), 2},
		{"one non-GSM character switches to UCS-2", "ó" + strings.Repeat("a", 69), 1},
		{"71 UCS-2 is concatenated", "ó" + strings.Repeat("a", 70), 2},
		{"134 UCS-2 fits two parts", strings.Repeat("確", 134), 2},
		{"astral characters are two UTF-16 units", strings.Repeat("😀", 35), 1},
		{"36 astral characters overflow", strings.Repeat("😀", 36), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := segments(tc.text); got != tc.want {
				t.Errorf("segments = %d, want %d", got, tc.want)
			}
		})
	}
}

// Every table tag must already be canonical, or Resolve's fast path would
// never find it (buildKnown panics at init, this names the culprit).
func TestTablesCanonical(t *testing.T) {
	for tag := range voiceProfiles {
		norm, _, ok := normalise(tag, nil)
		if !ok || string(norm) != tag {
			t.Errorf("voiceProfiles key %q normalises to %q (ok=%v)", tag, norm, ok)
		}
	}
	for code, pk := range packs {
		if pk.code != code {
			t.Errorf("packs[%q].code = %q", code, pk.code)
		}
		for _, r := range Reasons() {
			if r != PreviewPlaceholder && pk.refusals[r] == "" {
				t.Errorf("packs[%q] has no sentence for %s", code, r)
			}
		}
	}
}
