package eightbyeight_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A Call or a Message can end up in a log line or an error by accident:
// none of their printable forms carries the number or the code.
func TestCallAndMessageNeverPrintSecrets(t *testing.T) {
	values := []struct {
		name    string
		v       any
		secrets []string
	}{
		{"call", call, []string{"33612345678", "612345678", voiceText, "9. 0. 5. 1. 2. 7"}},
		{"message", sms, []string{"14155550123", "4155550123", smsText, "482913"}},
		{"pointer to call", &call, []string{"33612345678", voiceText}},
	}
	for _, tt := range values {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("sending", "request", tt.v)
			outputs := map[string]string{
				"%v":   fmt.Sprintf("%v", tt.v),
				"%+v":  fmt.Sprintf("%+v", tt.v),
				"%#v":  fmt.Sprintf("%#v", tt.v),
				"%s":   fmt.Sprintf("%s", tt.v),
				"slog": logged.String(),
			}
			for form, out := range outputs {
				for _, s := range tt.secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s prints %q: %s", form, s, out)
					}
				}
				if !strings.Contains(out, "[redacted]") {
					t.Errorf("%s shows no placeholder for the text: %s", form, out)
				}
			}
		})
	}
}
