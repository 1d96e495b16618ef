// Package httpjson writes the JSON answers of every route the same way:
// with Content-Length, so an answer flushed while the process drains on
// SIGTERM is complete on the wire even if the process exits right after
// (without it net/http would send it chunked and write its end only after
// the handler returns), and never cached.
package httpjson

import (
	"net/http"
	"strconv"
)

var (
	contentType = []string{"application/json"}
	noStore     = []string{"no-store"}
)

// Write sends body with status.
func Write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentType
	h["Cache-Control"] = noStore
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
