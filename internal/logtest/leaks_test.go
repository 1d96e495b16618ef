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
		{"national number, formatted", `{"to":"(415) 555-0123"}`, []string{`number "+14155550123" (as "4155550123")`}},
		{"E.164, formatted", `{"to":"+1 415-555-0123"}`, []string{`number "+14155550123" (as "14155550123")`}},
		{"the code spoken digit by digit", `{"text":"Your code is 4, 8, 2, 9, 1, 3."}`, []string{`number "482913" (as "482913")`}},
		{"the code spoken in Japanese", `{"text":"確認コードをお知らせします。4、8、2、9、1、3。"}`, []string{`number "482913" (as "482913")`}},
		{"the code spoken in Arabic", `{"text":"رمز التحقق هو 4، 8، 2، 9، 1، 3."}`, []string{`number "482913" (as "482913")`}},
		{"digits apart by more than two separators", `{"a":"415 - 555 - 0123"}`, nil},
		{"a timestamp and a latency", `{"time":"2026-12-01T21:13:23.482913004Z","latencyMs":482.913}`, nil},
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
