package hook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// The request log line: one per hook call, Cloud Logging fields, trace
// correlation from traceparent, the caller's IP from X-Forwarded-For,
// nothing secret.
func TestRequestLogLine(t *testing.T) {
	h := newHarness(t)
	hdr := oktatest.Headers()
	hdr.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	hdr.Set("X-Forwarded-For", "198.51.100.23, 169.254.1.1")
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
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"right secret", oktatest.Webhook, 200},
		{"wrong secret", "nope", 401},
		{"Okta's secret is not 8x8's", oktatest.Secret, 401},
		{"none", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			hdr := http.Header{"Content-Type": {"application/json"}}
			if tt.auth != "" {
				hdr.Set("Authorization", tt.auth)
			}
			if resp := h.do(http.MethodPost, "/8x8/events", []byte(vss), hdr); resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.Code, tt.want)
			}
			if tt.want == 200 && !strings.Contains(h.logs.String(), "8x8 delivery receipt") {
				t.Errorf("no receipt log line:\n%s", h.logs)
			}
		})
	}
}

// Refused callers cannot flood the logs (or the Cloud Logging bill): the
// first few per reason and minute are logged in full, then one line a
// minute says how many were left out.
func TestRefusalLogsAreSampled(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.sampled = true })
	h.clk.Set(time.Date(2026, 12, 1, 12, 3, 0, 0, time.UTC))
	const flood = 10000
	body := sms("+14155550123", "482913").Body()
	for i := range flood {
		hdr := http.Header{"Content-Type": {"application/json"}}
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

// With LOG_SINK=cloudlogging each answer waits for the buffered logs to
// be sent, up to the deadline. When the Logging API stalls, requests do
// not pile up a goroutine each: one Flush runs, and the requests that came
// meanwhile share one more, which runs when it ends (their lines came
// after the first began).
func TestStalledLogFlush(t *testing.T) {
	gate := make(chan struct{})
	started := make(chan struct{}, 100)
	var inFlight, most atomic.Int32
	flush := func() error {
		started <- struct{}{}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-gate
		return nil
	}
	h := newHarness(t, func(s *setup) { s.flush = flush })
	const requests = 20
	var wg sync.WaitGroup
	kinds := make([]string, requests)
	for i := range requests {
		phone := "+1415555" + strconv.Itoa(1000+i)
		wg.Go(func() { kinds[i] = oktatest.Decode(t, h.hook(sms(phone, "482913").Body())).Kind() })
	}
	wg.Wait()
	for i, k := range kinds {
		if k != "SUCCESSFUL" {
			t.Errorf("request %d answered %s while the log flush stalled", i, k)
		}
	}
	if n := len(started); n != 1 {
		t.Errorf("%d Flush calls for %d requests while it stalled, want 1", n, requests)
	}
	close(gate)
	<-started
	// The queued Flush runs once the stalled one returns, with no new
	// request to start it.
	select {
	case <-started:
	case <-time.After(10 * time.Second): // a bound for the failure case only
		t.Fatal("the Flush queued behind the stalled one never ran")
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d Flush calls at once, want 1", m)
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
