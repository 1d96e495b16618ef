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
	t.Setenv("GCE_METADATA_HOST", meta.Listener.Addr().String())
	if got := ProjectID(context.Background()); got != "meta-proj" {
		t.Errorf("got %q, want the metadata server's meta-proj", got)
	}
}
