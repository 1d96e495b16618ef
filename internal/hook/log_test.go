package hook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// The request log line: one per hook call, Cloud Logging fields, trace
// correlation from traceparent, the caller's IP as Google's front end saw
// it (the last X-Forwarded-For entry: the first is the caller's own
// text), nothing secret.
func TestRequestLogLine(t *testing.T) {
	h := newHarness(t)
	hdr := oktatest.Headers()
	hdr.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	hdr.Set("X-Forwarded-For", "203.0.113.66, 198.51.100.23")
	r := voice("+33612345678", "905127", "fr-FR")
	r.EventID = "logLineEventQx7"
	if resp := h.do(http.MethodPost, "/", r.Body(), hdr); resp.Code != 200 {
		t.Fatalf("HTTP %d", resp.Code)
	}
	line := onlyLine(t, h.logs.String(), "okta telephony hook")
	want := map[string]any{
		"severity":                             "INFO",
		"logging.googleapis.com/trace":         "projects/acme-hooks/traces/4bf92f3577b34da6a3ce929d0e0e4736",
		"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
		"logging.googleapis.com/trace_sampled": true,
		"eventId":                              "logLineEventQx7",
		"outcome":                              "SUCCESSFUL",
		"channel":                              "voice",
		"country":                              "FR",
		"locale":                               "fr-FR",
		"requestType":                          "mfa-verification",
		"preview":                              false,
		"phone":                                "+33*******78",
		"providerCode":                         "1",
		"auth":                                 "header",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	for _, k := range []string{"transactionId", "latencyMs", "budgetLeftMs", "httpRequest", "time"} {
		if _, ok := line[k]; !ok {
			t.Errorf("request log line lacks %s", k)
		}
	}
	if hr, _ := line["httpRequest"].(map[string]any); hr["requestMethod"] != "POST" || hr["status"] != float64(200) || hr["remoteIp"] != "198.51.100.23" {
		t.Errorf("httpRequest = %v", line["httpRequest"])
	}
}

// onlyLine returns the one log line whose message is msg.
func onlyLine(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		if m["message"] == msg {
			if line != nil {
				t.Fatalf("two %q lines", msg)
			}
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no %q line:\n%s", msg, logs)
	}
	return line
}

// 8x8's delivery receipts reach their route, behind their own secret.
func TestReceiptsRoute(t *testing.T) {
	vss := `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","payload":{"sessionId":"0b6e2f4d-1","sessionStatus":"COMPLETED","details":{"callA":{"destination":"+14155550123","callStatus":"COMPLETED","callDuration":21}}}}`
	for auth, want := range map[string]int{oktatest.Webhook: 200, "nope": 401, oktatest.Secret: 401, "": 401} {
		h := newHarness(t)
		hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {auth}}
		if resp := h.do(http.MethodPost, "/8x8/events", []byte(vss), hdr); resp.Code != want {
			t.Fatalf("Authorization %q: HTTP %d, want %d", auth, resp.Code, want)
		}
		if want == 200 && !strings.Contains(h.logs.String(), "8x8 delivery receipt") {
			t.Errorf("no receipt log line:\n%s", h.logs)
		}
	}
}

// Refused callers cannot flood the logs (or the Cloud Logging bill): the
// first few per reason and minute are logged in full, then one line a
// minute says how many were left out. Nor can what they write in their
// headers: 10,000 refusals, each with a 900 KiB X-Forwarded-For and
// User-Agent, write 10 lines of at most 1 KiB each, and log the address
// Google's front end appended, not the caller's text.
func TestRefusalLogsAreSampled(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.sampled = true })
	h.clk.Set(time.Date(2026, 12, 1, 12, 3, 0, 0, time.UTC))
	const flood = 10000
	huge := strings.Repeat("A", 900<<10)
	forwarded := huge + ", 198.51.100.23" // Google's front end appends the address it saw
	body := sms("+14155550123", "482913").Body()
	for i := range flood {
		hdr := http.Header{"Content-Type": {"application/json"}, "User-Agent": {huge}, "X-Forwarded-For": {forwarded}}
		if i%2 == 0 {
			hdr.Set("Authorization", "wrong-secret")
		}
		if resp := h.do(http.MethodPost, "/", body, hdr); resp.Code != http.StatusUnauthorized {
			t.Fatalf("HTTP %d", resp.Code)
		}
	}
	during := h.logs.String()
	if n := strings.Count(during, `"message":"okta telephony hook"`); n != 10 {
		t.Errorf("%d refusal lines for %d refusals in a minute, want 5 per reason (2 reasons)", n, flood)
	}
	if len(during) > 10<<10 {
		t.Errorf("%d refusals wrote %d log bytes, want at most 10 KiB", flood, len(during))
	}
	for _, l := range strings.Split(strings.TrimSpace(during), "\n") {
		if len(l) > 1<<10 || !strings.Contains(l, `"remoteIp":"198.51.100.23"`) {
			t.Fatalf("a refusal line of %d bytes, want at most 1 KiB with the front end's remoteIp: %.300s", len(l), l)
		}
	}
	// The next minute's first refusal brings the counts of the last.
	h.clk.Set(h.clk.Now().Add(time.Minute))
	h.do(http.MethodPost, "/", body, http.Header{"Content-Type": {"application/json"}})
	after := strings.TrimPrefix(h.logs.String(), during)
	for _, want := range []string{`"reason":"unauthorized: no credentials","suppressed":4995`, `"reason":"unauthorized: wrong Authorization header","suppressed":4995`} {
		if !strings.Contains(after, want) {
			t.Errorf("no summary %s:\n%s", want, after)
		}
	}
	t.Logf("%d unauthenticated requests in a minute: %d log bytes (%d lines), then %d bytes of summary", flood, len(during), strings.Count(during, "\n"), len(after))
	if h.fake.Count() != 0 {
		t.Error("8x8 called")
	}
}

// suspectAll calls every destination suspect, by its country or its prefix.
type suspectAll struct{ kind string }

func (c suspectAll) Check(_ context.Context, country, prefix string) *conversion.Verdict {
	dest := country
	if c.kind == "prefix" {
		dest = prefix
	}
	return &conversion.Verdict{Destination: dest, Kind: c.kind, Settled: 20, Window: time.Hour}
}

func (suspectAll) Sent(context.Context, conversion.Send) {}

// The hook's line carries the number's last two digits and the send's
// ids (which other lines share): it names a suspect prefix without its
// last two digits, as every line does, so that four digits stay unknown.
func TestSuspectPrefixHidesTheLastDigits(t *testing.T) {
	for _, tc := range []struct{ kind, dest, phone string }{
		{"country", "US", "+1********23"},
		{"prefix", "+14155**", "+1********23"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			h := newHarness(t, func(s *setup) { s.conversion = suspectAll{tc.kind} })
			if k := h.kind(sms("+14155550123", "482913")); k != "SUCCESSFUL" {
				t.Fatalf("answer %s (record mode never refuses)", k)
			}
			line := onlyLine(t, h.logs.String(), "okta telephony hook")
			conv, _ := line["conversion"].(map[string]any)
			if conv["kind"] != tc.kind || conv["destination"] != tc.dest || line["phone"] != tc.phone || strings.Contains(h.logs.String(), "1415555") {
				t.Errorf("conversion.destination %v, phone %v; want %s, %s", conv["destination"], line["phone"], tc.dest, tc.phone)
			}
		})
	}
}
