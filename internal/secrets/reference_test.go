package secrets_test

import (
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

func TestParseReference(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string
		wantOK   bool
		wantErr  string // substring of the error; "" means no error
		mustHide string // part of the input the error must not repeat
	}{
		{name: "sm scheme defaults to latest", in: "sm://my-proj/okta-secret", want: "projects/my-proj/secrets/okta-secret/versions/latest", wantOK: true},
		{name: "sm scheme with version number", in: "sm://my-proj/okta-secret#3", want: "projects/my-proj/secrets/okta-secret/versions/3", wantOK: true},
		{name: "sm scheme with latest", in: "sm://my-proj/okta-secret#latest", want: "projects/my-proj/secrets/okta-secret/versions/latest", wantOK: true},
		{name: "project number and underscores", in: "sm://123456789/API_KEY_2", want: "projects/123456789/secrets/API_KEY_2/versions/latest", wantOK: true},
		{name: "domain-scoped project", in: "sm://example.com:proj/k", want: "projects/example.com:proj/secrets/k/versions/latest", wantOK: true},
		{name: "resource name", in: "projects/p/secrets/s/versions/12", want: "projects/p/secrets/s/versions/12", wantOK: true},
		{name: "resource name latest", in: "projects/p/secrets/s/versions/latest", want: "projects/p/secrets/s/versions/latest", wantOK: true},

		{name: "plain value", in: "hunter2"},
		{name: "empty value", in: ""},
		{name: "URL is plain", in: "https://voice.8x8.com"},
		{name: "other scheme is plain", in: "secret://p/s"},
		{name: "projects/ without secrets segment is plain", in: "projects/p/topics/t"},
		{name: "uppercase scheme is plain", in: "SM://p/s"},

		{name: "sm without secret", in: "sm://proj", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm empty version", in: "sm://p/s#", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm empty project", in: "sm:///s", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm empty secret", in: "sm://p/", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm extra path", in: "sm://p/s/x", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm uppercase project", in: "sm://Proj/s", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm bad secret chars", in: "sm://p/hunter2!!", wantErr: "want sm://PROJECT/SECRET", mustHide: "hunter2"},
		{name: "sm bad version", in: "sm://p/s#v1", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm version zero", in: "sm://p/s#0", wantErr: "want sm://PROJECT/SECRET"},
		{name: "sm negative version", in: "sm://p/s#-1", wantErr: "want sm://PROJECT/SECRET"},
		{name: "resource without version", in: "projects/p/secrets/s", wantErr: "want projects/PROJECT/secrets/SECRET/versions/VERSION"},
		{name: "resource regional", in: "projects/p/secrets/s/locations/l/versions/1", wantErr: "want projects/PROJECT/secrets/SECRET/versions/VERSION"},
		{name: "resource bad version", in: "projects/p/secrets/s/versions/", wantErr: "want projects/PROJECT/secrets/SECRET/versions/VERSION"},
		{name: "resource secret with spaces", in: "projects/p/secrets/my pass word/versions/1", wantErr: "want projects/PROJECT/secrets/SECRET/versions/VERSION", mustHide: "pass word"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := secrets.ParseReference(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseReference(%q) = %q, %v, nil; want error containing %q", tt.in, got, ok, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if tt.mustHide != "" && strings.Contains(err.Error(), tt.mustHide) {
					t.Errorf("error %q repeats the input", err)
				}
				if ok || got != "" {
					t.Errorf("got %q, %v with an error; want \"\", false", got, ok)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReference(%q): unexpected error %v", tt.in, err)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseReference(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
