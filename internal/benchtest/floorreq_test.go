package benchtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recording8x8 answers like 8x8 (or with status and body when set) and
// keeps what it was sent.
type recording8x8 struct {
	mu     sync.Mutex
	paths  []string
	auths  []string
	bodies [][]byte
	status int
	answer []byte
}

func (f *recording8x8) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.bodies = append(f.bodies, b)
	f.mu.Unlock()
	if f.status != 0 {
		w.WriteHeader(f.status)
		_, _ = w.Write(f.answer)
		return
	}
	Fast8x8().ServeHTTP(w, r)
}

func TestFloorReq(t *testing.T) {
	now := time.Now()
	flood := Flood("ev", now, NewNumbers())
	for _, tt := range []struct {
		name      string
		body      []byte
		eightStat int // 8x8's status (0: a success)
		eightBody string
		status    int
		answer    string // in the answer
		calls     int    // POSTs to 8x8
		logLines  int
	}{
		{name: "voice request: one call, SUCCESSFUL with 8x8's sessionId", body: flood.Body(7),
			status: 200, answer: `"status":"SUCCESSFUL","provider":"8x8","transactionId":"5a8e7c3e-376b-11ef-a28b-0582ff0039d5"`, calls: 1, logLines: 1},
		{name: "invalid number: refused, no call", body: bytes.Replace(flood.Body(7), []byte(`"phoneNumber":"+1`), []byte(`"phoneNumber":"+1999`), 1),
			status: 200, answer: `"errorSummary":"The phone number is not valid."`},
		{name: "premium-rate number: refused, no call", body: replacePhone(flood.Body(7), "+19005550123"),
			status: 200, answer: `"errorSummary":"The phone number is not valid."`},
		{name: "not JSON: 400, no call", body: []byte(`{"eventId":`), status: 400, answer: "bad request"},
		{name: "8x8 refuses: FAILED", body: flood.Body(8), eightStat: 400, eightBody: `{"statusCode":-1001,"statusMessage":"Invalid destination"}`,
			status: 200, answer: `"status":"FAILED"`, calls: 1, logLines: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := &recording8x8{status: tt.eightStat, answer: []byte(tt.eightBody)}
			srv8 := httptest.NewServer(fake)
			defer srv8.Close()
			var logs bytes.Buffer
			h := FloorReq(FloorConfig{VoiceURL: srv8.URL + "/", Subaccount: "acme_otp", APIKey: "key-1", CallerID: "+14155550100", Log: &logs})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tt.body)))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.answer) {
				t.Fatalf("HTTP %d %s; want %d with %s", w.Code, w.Body, tt.status, tt.answer)
			}
			if len(fake.paths) != tt.calls {
				t.Fatalf("%d calls to 8x8 (%v), want %d", len(fake.paths), fake.paths, tt.calls)
			}
			if tt.calls > 0 {
				if fake.paths[0] != "POST /api/v1/subaccounts/acme_otp/callflows" || fake.auths[0] != "Bearer key-1" {
					t.Errorf("8x8 got %s with %q", fake.paths[0], fake.auths[0])
				}
				var call struct {
					Callflow []struct {
						Action string `json:"action"`
						Params struct {
							Destination string `json:"destination"`
							Text        string `json:"text"`
						} `json:"params"`
					} `json:"callflow"`
				}
				if err := json.Unmarshal(fake.bodies[0], &call); err != nil || len(call.Callflow) != 3 ||
					!strings.HasPrefix(call.Callflow[0].Params.Destination, "+1") || !strings.HasPrefix(call.Callflow[1].Params.Text, "Your code is ") {
					t.Errorf("callflow %s (%v)", fake.bodies[0], err)
				}
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if logs.Len() == 0 {
				lines = nil
			}
			if len(lines) != tt.logLines {
				t.Fatalf("%d log lines, want %d:\n%s", len(lines), tt.logLines, logs.String())
			}
			for _, l := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] != "okta telephony hook" || rec["eventId"] == nil {
					t.Errorf("log line %s (%v)", l, err)
				}
			}
		})
	}
}

func replacePhone(body []byte, phone string) []byte {
	i := bytes.Index(body, []byte(`"phoneNumber":"`)) + len(`"phoneNumber":"`)
	j := i + bytes.IndexByte(body[i:], '"')
	return append(append(append([]byte{}, body[:i]...), phone...), body[j:]...)
}
