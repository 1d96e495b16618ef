package logtest

import (
	"slices"
	"testing"
)

func TestLeaks(t *testing.T) {
	secrets := []string{"okta-shared-secret-Zq7rX2"}
	numbers := []string{"+14155550123", "482913", "+33612345678"}
	for _, tt := range []struct {
		name string
		logs string
		want []string
	}{
		{"clean", `{"to":"+1********23","eventId":"ev17f3a9c2b4","latencyMs":12.5}`, nil},
		{"the code inside a longer id is not a leak", `{"eventId":"ev1764612482913004"}`, nil},
		{"the code inside a hex id is not a leak", `{"eventId":"dup482913aa"}`, []string{`number "482913" (as "482913")`}},
		{"the code alone", `{"text":"code 482913"}`, []string{`number "482913" (as "482913")`}},
		{"E.164", `{"to":"+14155550123"}`, []string{`number "+14155550123" (as "14155550123")`}},
		{"national number", `{"to":"(415) 5550123"}`, nil}, // split runs: not the number
		{"national number whole", `{"to":"4155550123"}`, []string{`number "+14155550123" (as "4155550123")`}},
		{"French number in national form", `{"to":"0612345678"}`, []string{`number "+33612345678" (as "612345678")`}},
		{"secret anywhere", `{"auth":"xokta-shared-secret-Zq7rX2x"}`, []string{`secret "okta-shared-secret-Zq7rX2"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Leaks(tt.logs, secrets, numbers); !slices.Equal(got, tt.want) {
				t.Errorf("Leaks = %q, want %q", got, tt.want)
			}
		})
	}
}
