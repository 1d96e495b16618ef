package okta

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: any body either parses into a request with the required
// fields, or fails with a *FieldError that never carries the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS","locale":"en-US","otpExpires":"2026-03-14T09:31:53.417Z","msgTemplate":"Your code is 482913"}}}`))
	f.Add([]byte(`{"eventId":"e1","data":{"messageProfile":{"phoneNumber":9876543210,"otpCode":11111,"deliveryChannel":"SMS"}}}`))
	f.Add([]byte(`{"eventId":1,"data":{"messageProfile":{"phoneNumber":[],"otpCode":{},"deliveryChannel":true}}}`))
	f.Add([]byte(`{"data":{"context":{"request":{"url":{"value":"/generatePreview"}}}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"eventId":"\u0000","data":{"messageProfile":null}}`))
	// The Okta fixtures, when the shared contracts are beside the repo.
	if m, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "contracts", "okta", "fixtures", "*.json")); m != nil {
		for _, p := range m {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is %T, not *FieldError: %v", err, err)
			}
			// The error names a field, never a value from the body: values
			// are at least 6 bytes long in a leak worth worrying about.
			var probe struct {
				Data struct {
					MessageProfile map[string]any `json:"messageProfile"`
				} `json:"data"`
			}
			if json.Unmarshal(body, &probe) == nil {
				for _, k := range []string{"otpCode", "phoneNumber", "msgTemplate"} {
					if s, ok := probe.Data.MessageProfile[k].(string); ok && len(s) >= 6 && strings.Contains(err.Error(), s) {
						t.Fatalf("error echoes %s: %v", k, err)
					}
				}
			}
			return
		}
		if r.EventID == "" || r.Phone.IsZero() || r.OTP.IsZero() || r.OTP.Len() > 16 || len(r.EventID) > 128 {
			t.Fatalf("parsed a request without its required fields: %+v", r)
		}
		if r.Channel != SMS && r.Channel != Voice {
			t.Fatalf("channel %v", r.Channel)
		}
	})
}
