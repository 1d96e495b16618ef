package httpjson

import (
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, 401, []byte(`{"error":{"errorSummary":"unauthorized"}}`))
	if w.Code != 401 || w.Header().Get("Content-Length") != "41" || w.Header().Get("Content-Type") != "application/json" ||
		w.Header().Get("Cache-Control") != "no-store" || w.Body.String() != `{"error":{"errorSummary":"unauthorized"}}` {
		t.Errorf("HTTP %d %v %s", w.Code, w.Header(), w.Body)
	}
}
