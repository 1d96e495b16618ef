// Package httpjson writes JSON answers (never cached; with Content-Length,
// so one flushed during the SIGTERM drain is whole on the wire) and reads
// webhooks' lenient JSON fields.
package httpjson

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Write sends body with status.
func Write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Text reads any JSON scalar as its text, trimmed; null, objects and
// arrays read as "". Webhooks are not contracts: a field of an unexpected
// type must not fail the whole delivery.
type Text string

func (t *Text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || b[0] == 'n' || b[0] == '{' || b[0] == '[':
		*t = ""
	case b[0] == '"':
		var v string
		err := json.Unmarshal(b, &v)
		*t = Text(strings.TrimSpace(v))
		return err
	default:
		*t = Text(b)
	}
	return nil
}
