package receipts

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

const secret = "Basic c2VjcmV0LXdlYmhvb2s="

// numbersInTests are the bodies' phone numbers: none may reach a log line.
var numbersInTests = []string{
	"2025550293", "2025550199", "68332048", "91178965", "31589338",
	"4155550123", "2314377870", "83891703225", "2150996455",
}

// logBuf collects JSON log lines; the handler may log from several
// goroutines at once.
type logBuf struct{ logtest.Buffer }

func (l *logBuf) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		out = append(out, m)
	}
	return out
}

func newTestHandler(secret string) (http.Handler, *logBuf) {
	buf := &logBuf{}
	logger := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return NewHandler(secret, logger, nil), buf
}

func post(h http.Handler, auth *string, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/8x8/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != nil {
		req.Header.Set("Authorization", *auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantLog is a log record: its level, message and a subset of its attrs.
// A nil value in attrs means the attr must be absent.
type wantLog struct {
	level string
	msg   string
	attrs map[string]any
}

func ptr(s string) *string { return &s }

func TestHandler(t *testing.T) {
	sms := func(state, extra string) string {
		return `{"namespace":"SMS","eventType":"outbound_message_status_changed","description":"SMS outbound message delivery receipt",
		"payload":{"umid":"0d6f8b1e-5c1a-4f7e-9a55-2b1f0c9e7a11","clientMessageId":"Jk3vQ9sLRmWb2nXe7TfYpA","subAccountId":"acme_hq",
		"source":"ACME","destination":"+12025550293","status":{"state":"` + state + `","timestamp":"2026-03-14T09:26:58.12Z"` + extra + `},
		"price":{"total":0.0075,"perSms":0.0075,"currency":"USD"},"smsCount":1}}`
	}
	vss := func(status, extra string) string {
		return `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","description":"Summary of a completed call session",
		"payload":{"sessionId":"5b7c0e2a-1f3d-11f1-9a7e-3b1d2c4e5f60","subAccountId":"acme_hq","sessionStatus":"` + status + `",
		"lastAction":"MAKE_CALL","callCount":1` + extra + `,"details":{"callA":{"callDirection":"OUTBOUND","callType":"PSTN",
		"source":"+12314377870","destination":"+14155550123","destinationCountryCode":"US","callStatus":"` + status + `","callDuration":0}}}}`
	}

	tests := []struct {
		name     string
		noSecret bool
		auth     *string // nil: the right secret; "": none
		body     string
		wantCode int
		wantBody string
		wantLogs []wantLog
	}{
		{name: "VSS completed: the code was heard",
			body: fixture(t, "vss-voice-messaging-completed.json"),
			wantLogs: []wantLog{{"INFO", msgOutcome, map[string]any{
				"transactionId": "1f048a84-ea6d-11ee-911b-078f7290bf52", "channel": "voice", "delivered": true,
				"status": "COMPLETED", "callDurationSeconds": 13.0, "country": "SG", "destination": "+65******48",
				"errorCode": nil, "errorMessage": nil,
			}}}},
		{name: "VSS error with 8x8 error details",
			body: fixture(t, "vss-voice-messaging-error.json"),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{
				"transactionId": "47f19e66-2163-11ee-8ccd-27b543a164ea", "channel": "voice", "delivered": false,
				"status": "ERROR", "errorCode": "-2004", "errorMessage": "No coverage available for requested area",
				"callDurationSeconds": 0.0, "destination": "+65******65", "country": "SG",
			}}}},
		{name: "VSS busy: the outbound leg is callB",
			body: fixture(t, "vss-ivr-busy.json"),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{
				"transactionId": "ece96728-f059-11f0-baa6-c147150ab00e", "delivered": false, "status": "BUSY",
				"destination": "+65******38", "callDurationSeconds": 0.0,
			}}}},
		{name: "VSS failed with top-level error fields",
			body: vss("FAILED", `,"errorCode":"-2008","errorMessage":"The provided source MSISDN or caller ID is not whitelisted"`),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{
				"delivered": false, "status": "FAILED", "errorCode": "-2008",
				"errorMessage": "The provided source MSISDN or caller ID is not whitelisted",
			}}}},
		{name: "SMS delivered",
			body: sms("delivered", `,"detail":"delivered_to_recipient"`),
			wantLogs: []wantLog{{"INFO", msgOutcome, map[string]any{
				"transactionId": "0d6f8b1e-5c1a-4f7e-9a55-2b1f0c9e7a11", "channel": "sms", "delivered": true,
				"status": "delivered", "clientMessageId": "Jk3vQ9sLRmWb2nXe7TfYpA", "destination": "+1********93",
				"country": "US", "callDurationSeconds": nil, "errorCode": nil,
			}}}},
		{name: "SMS undelivered with error code (8x8's sample)",
			body: fixture(t, "sms-dr-undelivered.json"),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{
				"transactionId": "9e09ac86-bd74-5465-851d-1eb5a5fdbb9a", "channel": "sms", "delivered": false,
				"status": "undelivered", "errorCode": "15", "errorMessage": "Invalid destination",
				"clientMessageId": "1e09ac86-bd74-5465-851d-1eb5a5fdbb9b", "destination": "+1********93",
			}}}},
		// 8x8's error text can quote the number or the message: it is
		// masked before it reaches a log.
		{name: "SMS error text quoting the destination",
			body: sms("undelivered", `,"errorCode":"15","errorMessage":"Invalid destination +14155550123 for text 'code 482913'"`),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{
				"errorMessage": "Invalid destination [number] for text 'code [number]'",
			}}}},
		{name: "voice error text quoting the destination",
			body:     vss("FAILED", `,"errorDetails":{"errorCode":"-2004","errorMsg":"Call to 1 (415) 555-0123 failed"}`),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{"errorMessage": "Call to [number] failed"}}}},
		// A code or status field holding anything but a short code is
		// masked like free text.
		{name: "error code and status quoting a number",
			body:     vss("FAILED +14155550123", `,"errorDetails":{"errorCode":"bad 4155550123","errorMsg":"x"}`),
			wantLogs: []wantLog{{"WARN", msgOutcome, map[string]any{"status": "FAILED [number]", "errorCode": "bad [number]"}}}},
		{name: "SMS queued is intermediate and its text is never logged",
			body:     fixture(t, "sms-dr-queued-outbound-content.json"),
			wantLogs: []wantLog{{"DEBUG", msgProgress, map[string]any{"status": "queued", "channel": "sms"}}}},
		{name: "key case variants",
			body: `{"Namespace":"voice","EventType":"Session_Summary","Payload":{"SessionId":"c0ffee00-0000-4000-8000-000000000001",
				"SessionStatus":"completed","ErrorDetails":null,"Details":{"CALLA":{"CallDirection":"outbound","Destination":"+14155550123",
				"CallDuration":"21"}}}}`,
			wantLogs: []wantLog{{"INFO", msgOutcome, map[string]any{
				"transactionId": "c0ffee00-0000-4000-8000-000000000001", "delivered": true, "status": "COMPLETED",
				"callDurationSeconds": 21.0, "destination": "+1********23", "country": "US",
			}}}},
		{name: "wrong secret", auth: ptr("Basic d3Jvbmc="),
			body:     sms("delivered", ""),
			wantCode: 401, wantBody: `{"error":"unauthorized"}`,
			wantLogs: []wantLog{{"WARN", msgRefused, map[string]any{"headerPresent": true}}}},
		{name: "missing Authorization header", auth: ptr(""),
			body:     sms("delivered", ""),
			wantCode: 401, wantBody: `{"error":"unauthorized"}`,
			wantLogs: []wantLog{{"WARN", msgRefused, map[string]any{"headerPresent": false}}}},
		{name: "no secret configured refuses every request", noSecret: true,
			body:     sms("delivered", ""),
			wantCode: 401, wantBody: `{"error":"unauthorized"}`,
			wantLogs: []wantLog{{"WARN", msgRefused, nil}},
		},
		{name: "malformed JSON",
			body:     `{"namespace":"SMS",`,
			wantCode: 400, wantBody: `{"error":"body is not JSON"}`,
		},
		{name: "oversized body",
			body:     `{"namespace":"SMS","pad":"` + strings.Repeat("x", 64<<10) + `"}`,
			wantCode: 413, wantBody: `{"error":"body too large"}`,
		},
		{name: "unknown event: call status",
			body:     fixture(t, "call-status-initiated.json"),
			wantLogs: []wantLog{{"DEBUG", msgIgnored, map[string]any{"namespace": "VOICE", "eventType": "CALL_STATUS"}}}},
		{name: "known event without payload",
			body:     `{"namespace":"VOICE","eventType":"SESSION_SUMMARY"}`,
			wantLogs: []wantLog{{"WARN", "8x8 event not understood", map[string]any{"error": "payload missing"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newTestHandler(map[bool]string{false: secret}[tc.noSecret])
			if tc.auth == nil {
				tc.auth = ptr(secret)
			} else if *tc.auth == "" {
				tc.auth = nil
			}
			if tc.wantCode == 0 {
				tc.wantCode, tc.wantBody = 200, `{"status":"ok"}`
			}
			rec := post(h, tc.auth, tc.body)
			if rec.Code != tc.wantCode {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantCode)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tc.wantBody {
				t.Errorf("body = %s, want %s", got, tc.wantBody)
			}
			checkLogs(t, logs, tc.wantLogs)
			if strings.Contains(logs.String(), "Hello World") {
				t.Error("message text leaked into the logs")
			}
		})
	}
}

// checkLogs compares the records with want, and finds none of the test's
// phone numbers in them.
func checkLogs(t *testing.T, logs *logBuf, want []wantLog) {
	t.Helper()
	for _, n := range numbersInTests {
		if strings.Contains(logs.String(), n) {
			t.Errorf("log output contains the phone number %s: %s", n, logs)
		}
	}
	got := logs.records(t)
	if len(got) != len(want) {
		t.Fatalf("got %d log records, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g["level"] != w.level || g["msg"] != w.msg {
			t.Errorf("record %d = %v %q, want %v %q", i, g["level"], g["msg"], w.level, w.msg)
		}
		for k, v := range w.attrs {
			gv, present := g[k]
			switch {
			case v == nil && present:
				t.Errorf("record %d: %s = %v, want absent", i, k, gv)
			case v != nil && gv != v:
				t.Errorf("record %d: %s = %#v, want %#v", i, k, gv, v)
			}
		}
	}
}

func TestDuplicates(t *testing.T) {
	delivered := fixture(t, "vss-voice-messaging-completed.json")
	undelivered := fixture(t, "sms-dr-undelivered.json")

	tests := []struct {
		name   string
		bodies []string
		want   []wantLog
	}{
		{
			name:   "a retried session summary is logged once",
			bodies: []string{delivered, delivered, delivered},
			want: []wantLog{
				{"INFO", msgOutcome, map[string]any{"transactionId": "1f048a84-ea6d-11ee-911b-078f7290bf52"}},
				{"DEBUG", msgDuplicate, map[string]any{"transactionId": "1f048a84-ea6d-11ee-911b-078f7290bf52"}},
				{"DEBUG", msgDuplicate, nil},
			},
		},
		{
			name:   "a retried failure receipt is logged once",
			bodies: []string{undelivered, undelivered},
			want: []wantLog{
				{"WARN", msgOutcome, map[string]any{"status": "undelivered"}},
				{"DEBUG", msgDuplicate, map[string]any{"status": "undelivered"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newTestHandler(secret)
			for _, b := range tc.bodies {
				if rec := post(h, ptr(secret), b); rec.Code != 200 {
					t.Fatalf("status = %d", rec.Code)
				}
			}
			checkLogs(t, logs, tc.want)
		})
	}
}

func TestConcurrentDuplicatesLogOnce(t *testing.T) {
	h, logs := newTestHandler(secret)
	body := fixture(t, "vss-voice-messaging-completed.json")
	const n = 32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { post(h, ptr(secret), body) })
	}
	wg.Wait()
	var info, dup int
	for _, r := range logs.records(t) {
		switch r["msg"] {
		case msgOutcome:
			info++
		case msgDuplicate:
			dup++
		}
	}
	if info != 1 || dup != n-1 {
		t.Errorf("outcome lines = %d, duplicates = %d; want 1 and %d", info, dup, n-1)
	}
}

// Two generations of two keys: a key is remembered while its generation
// or the next is current.
func TestSeenSetForgetsOldest(t *testing.T) {
	s := newSeenSet(2)
	for i, st := range []struct {
		key  string
		want bool
	}{
		{"a", true}, {"b", true}, {"a", false}, {"c", true}, // c starts a new generation
		{"a", false}, {"d", true}, {"e", true}, // e forgets a and b
		{"c", false}, {"a", true}, {"b", true},
	} {
		if got := s.firstTime(st.key); got != st.want {
			t.Errorf("step %d: firstTime(%q) = %v, want %v", i, st.key, got, st.want)
		}
	}
}

// A refused webhook's line names the address Google's front end saw (the
// last X-Forwarded-For entry) and stays small whatever the caller's
// headers hold: 900 KiB of X-Forwarded-For and User-Agent log under 1 KiB.
func TestRefusalNamesTheFrontEndsAddress(t *testing.T) {
	var buf logtest.Buffer
	h := NewHandler(secret, slog.New(logging.NewHandler(&buf, logging.Options{})), nil)
	huge := strings.Repeat("A", 900<<10)
	req := httptest.NewRequest(http.MethodPost, "/8x8/events", strings.NewReader(`{}`))
	req.Header = http.Header{"Authorization": {"wrong"}, "User-Agent": {huge}, "X-Forwarded-For": {huge + ", 198.51.100.23"}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if line := buf.String(); rec.Code != 401 || len(line) > 1<<10 || !strings.Contains(line, `"remoteIp":"198.51.100.23"`) {
		t.Errorf("HTTP %d, a refusal line of %d bytes, want 401 and at most 1 KiB naming 198.51.100.23: %.300s", rec.Code, len(line), line)
	}
}
