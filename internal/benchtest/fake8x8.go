package benchtest

import (
	"io"
	"net/http"
	"strings"
)

// Canned 8x8 answers.
var (
	VoiceAnswer = []byte(`{"sessionId":"5a8e7c3e-376b-11ef-a28b-0582ff0039d5","sessionStatus":"CREATED","callFlowRequestId":"03cc3e8b-376b-11ef-a28b-4dd5d900ecb3","statusCode":1,"statusMessage":"Created"}`)
	SMSAnswer   = []byte(`{"umid":"0f2a9c1e-8b7d-4e6f-a5c4-3b2a1f0e9d8c","clientMessageId":"x","destination":"12025550275","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`)
)

// Fast8x8 is an 8x8 that answers every POST at once with a canned success,
// without validating it: the spec-validating eightbyeighttest fake costs
// more than the hook, so the side-by-side runs cannot use it. Anything
// but a POST (the hook's connection warm-up, its read of the account's
// speech profiles) gets 405.
func Fast8x8() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		if strings.HasSuffix(r.URL.Path, "/messages") {
			_, _ = w.Write(SMSAnswer)
			return
		}
		_, _ = w.Write(VoiceAnswer)
	})
}
