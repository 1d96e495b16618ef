package message

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// fixturesDir is the Okta fixtures folder: $SHARED_DIR/contracts/okta/fixtures
// when SHARED_DIR is set, else the shared/ tree beside the repository.
func fixturesDir(t *testing.T) string {
	t.Helper()
	shared := filepath.Join("..", "..", "..", "shared")
	if d := os.Getenv("SHARED_DIR"); d != "" {
		shared = d
	}
	dir := filepath.Join(shared, "contracts", "okta", "fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Okta fixtures not found at %s (set SHARED_DIR to the shared/ root): %v", dir, err)
	}
	return dir
}

type fixture struct {
	Data struct {
		MessageProfile struct {
			MsgTemplate string `json:"msgTemplate"`
			OTPCode     string `json:"otpCode"`
			Locale      string `json:"locale"`
		} `json:"messageProfile"`
	} `json:"data"`
}

// Admin-customised templates from Okta are sent as they are when they carry
// the code, whatever the language.
func TestSMSBodyOktaFixtures(t *testing.T) {
	dir := fixturesDir(t)
	tests := []struct {
		file     string
		language string
	}{
		{"synth-pre-enrollment-sms-es.json", "es"},
		{"synth-mfa-verification-voice-legacy-CALL-ja.json", "ja"},
		{"synth-mfa-verification-sms-en-US.json", "en"},
		{"synth-password-reset-sms-fr-FR.json", "fr"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatalf("read fixture: %v", err)
			}
			var f fixture
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatalf("decode fixture: %v", err)
			}
			mp := f.Data.MessageProfile
			l := Resolve(mp.Locale)
			if l.p().code != tc.language {
				t.Errorf("locale %q resolved to %q, want %q", mp.Locale, l.p().code, tc.language)
			}
			if mp.MsgTemplate == "" {
				t.Fatal("fixture has no msgTemplate")
			}
			if got := SMSBody(mp.MsgTemplate, mp.OTPCode, l); got != mp.MsgTemplate {
				t.Errorf("SMSBody = %q, want the template %q as-is", got, mp.MsgTemplate)
			}
			// The same template for a different code is not ours to send.
			if got := SMSBody(mp.MsgTemplate, "000000", l); got != l.smsText("000000") {
				t.Errorf("SMSBody with a code not in the template = %q, want the localised text", got)
			}
		})
	}
}
