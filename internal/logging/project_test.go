package logging

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProjectID(t *testing.T) {
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Path != "/computeMetadata/v1/project/project-id" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("meta-proj"))
	}))
	defer meta.Close()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"GOOGLE_CLOUD_PROJECT", map[string]string{"GOOGLE_CLOUD_PROJECT": "a", "GCP_PROJECT": "b"}, "a"},
		{"GCP_PROJECT, on older runtimes", map[string]string{"GCP_PROJECT": "b"}, "b"},
		{"the metadata server", nil, "meta-proj"},
	}
	t.Setenv("GCE_METADATA_HOST", meta.Listener.Addr().String())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if got := ProjectID(context.Background(), getenv); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
