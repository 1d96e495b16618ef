package monitoring

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/monitoringfake"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// The monitoring is only as good as its filters: each log-based metric
// and log-match alert is evaluated against the lines the real service
// writes (the buildpack's main, run as a process as on Cloud Run, and played a
// sign-in, Okta's events, a delivery receipt, refused callers, SIGTERM
// and a failed configuration). A metric that matches no line, or whose
// EXTRACT names a field the matching lines lack, fails: renaming a log
// field breaks this test, not the charts in production.
func TestMonitoringMatchesTheServicesLines(t *testing.T) {
	entries := serviceLines(t)
	defer func() {
		if t.Failed() {
			for _, e := range entries {
				t.Logf("%s %v", e["severity"], e["jsonPayload"])
			}
		}
	}()
	set, err := Load(vars)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range set.Metrics {
		r, err := monitoringfake.EvaluateMetric(m, entries)
		if err != nil {
			t.Fatal(err)
		}
		if r.Matched == 0 {
			t.Errorf("metric %s matches none of the %d lines the service wrote", m.Name, len(entries))
		}
		for _, x := range r.Empty {
			t.Errorf("metric %s: %s finds nothing in the %d lines it matches", m.Name, x, r.Matched)
		}
	}
	for _, a := range set.Alerts {
		for _, c := range a.Conditions {
			log := c.GetConditionMatchedLog()
			if log == nil {
				continue
			}
			matched := false
			for _, e := range entries {
				ok, err := monitoringfake.Matches(log.Filter, e)
				if err != nil {
					t.Fatalf("alert %s: %v", Key(a), err)
				}
				matched = matched || ok
			}
			if !matched && !inSource(t, log.Filter) {
				t.Errorf("alert %s: no line matches %s, and no source file writes its message", Key(a), log.Filter)
			}
		}
	}
}

// inSource says whether a message the run above does not reach (a pump
// takes codes expiring unentered for minutes) is still written, as a
// string literal, somewhere in the service's code.
func inSource(t *testing.T, filter string) bool {
	_, msg, _ := strings.Cut(filter, `jsonPayload.message:"`)
	msg, _, _ = strings.Cut(msg, `"`)
	found := false
	err := filepath.WalkDir("../../../../..", func(path string, d os.DirEntry, err error) error {
		if err != nil || found || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "/setup/") {
			return err
		}
		b, err := os.ReadFile(path)
		found = bytes.Contains(b, []byte(`"`+msg))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

const service = "okta-telephony-hook"

func serviceLines(t *testing.T) []monitoringfake.Entry {
	t.Helper()
	fake := eightbyeighttest.New(t)
	bin := proctest.Build(t, "github.com/telephony-hooks/okta-8x8/internal/buildpackmain")
	port := proctest.FreePort(t)
	base := "http://127.0.0.1:" + port
	p := proctest.Start(t, bin, proctest.Options{Env: map[string]string{
		"PORT": port, "FUNCTION_TARGET": "OktaTelephonyHook", "LOG_FORMAT": "json",
		"OKTA_SECRET":                oktatest.Secret,
		"EIGHTYEIGHTX_SUBACCOUNT_ID": "acme-sub", "EIGHTYEIGHTX_API_KEY": "test-api-key-not-real",
		"EIGHTYEIGHTX_VOICE_URL": fake.VoiceURL(), "EIGHTYEIGHTX_SMS_URL": fake.SMSURL(),
		"EIGHTYEIGHTX_SOURCE_NUMBER": "+14155550100", "EIGHTYEIGHTX_WEBHOOK_SECRET": "webhook-secret-0123456789",
		"OKTA_EVENT_HOOK_SECRET": "event-hook-secret-0123456789",
		// The recommended topology: the conversion guard is on by default
		// where every instance shares Redis.
		"REDIS_URL": "redis://" + miniredis.RunT(t).Addr() + "/0", "REDIS_KEY_SECRET": "redis-key-secret-0123456789",
	}})
	if err := p.WaitHealthy(base+"/healthz", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	post := func(path string, h http.Header, body []byte, want int) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	const user = "00u8k2pQz4XyTb7Wd5d7" // the actor of the event fixture
	sms := oktatest.SMS(oktatest.Phones[0], oktatest.OTPs[0])
	sms.UserID, sms.Expires = user, time.Now().Add(5*time.Minute)
	post("/", oktatest.Headers(), sms.Body(), 200)
	post("/okta/events", http.Header{"Authorization": {"event-hook-secret-0123456789"}, "Content-Type": {"application/json"}}, verification(t, user), 200)
	post("/okta/events", http.Header{"Authorization": {"event-hook-secret-0123456789"}, "Content-Type": {"application/json"}}, sendEvents(t, sms.Phone), 200)
	receipt, err := os.ReadFile("../../../../../internal/receipts/testdata/sms-dr-undelivered.json")
	if err != nil {
		t.Fatal(err)
	}
	post("/8x8/events", http.Header{"Authorization": {"webhook-secret-0123456789"}, "Content-Type": {"application/json"}}, receipt, 200)
	for range 7 { // more than the sampler writes in full: a summary at shutdown
		post("/", http.Header{"Content-Type": {"application/json"}}, sms.Body(), 401)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	out := p.Stdout.String()

	// A deployed instance whose configuration cannot load.
	port = proctest.FreePort(t)
	broken := proctest.Start(t, bin, proctest.Options{Env: map[string]string{"PORT": port, "FUNCTION_TARGET": "OktaTelephonyHook", "K_SERVICE": service, "LOG_FORMAT": "json"}})
	for deadline := time.Now().Add(30 * time.Second); ; { // until it listens
		resp, err := http.Post("http://127.0.0.1:"+port+"/", "application/json", bytes.NewReader(sms.Body()))
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		select {
		case <-broken.Exited():
			t.Fatalf("exited: %s", broken.Stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := broken.Stdout.WaitFor("configuration not loaded", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	broken.Kill()
	out += broken.Stdout.String()

	var entries []monitoringfake.Entry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		e, err := monitoringfake.CloudRunEntry(service, []byte(line))
		if err != nil {
			t.Fatalf("stdout carries a line that is not JSON: %q", line)
		}
		entries = append(entries, e)
	}
	return entries
}

// event is the first event of an Okta event hook fixture, fresh: a new
// uuid, published now.
func event(t *testing.T, fixture string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(sharedtest.Path(t, "contracts/okta/event-hook", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data struct{ Events []map[string]any }
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	ev := body.Data.Events[0]
	ev["uuid"], ev["published"] = oktatest.EventID(), time.Now().UTC().Format(time.RFC3339Nano)
	return ev
}

// delivery is the body of one event hook POST.
func delivery(events ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"eventType": "com.okta.event_hook", "eventId": oktatest.EventID(),
		"data": map[string]any{"events": events}})
	return b
}

// verification is Okta's event that user entered a code sent by SMS.
func verification(t *testing.T, user string) []byte {
	ev := event(t, "reconstructed-auth-via-mfa-sms-success.json")
	ev["actor"].(map[string]any)["id"] = user
	return delivery(ev)
}

// sendEvents is a delivery of Okta's two kinds of send event worth a
// line: one Okta blocked (DENY, as the fixture is) and one Okta sent
// itself because the hook failed, to phone.
func sendEvents(t *testing.T, phone string) []byte {
	const fixture = "reconstructed-oie-send-phone-verification-sms.json"
	failover := event(t, fixture)
	failover["outcome"] = map[string]any{"result": "SUCCESS"}
	debug := failover["debugContext"].(map[string]any)["debugData"].(map[string]any)
	debug["phoneNumber"], debug["countryCallingCode"], debug["isSmsHookFailover"] = phone, "1", "true"
	return delivery(event(t, fixture), failover)
}
