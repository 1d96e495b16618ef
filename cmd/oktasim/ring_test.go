package main

// The README's pumping run, in process: oktasim -serve-8x8 plays 8x8, the
// function delivers through it with CONVERSION_GUARD=enforce, and oktasim
// plays Okta: the hook requests, Okta's send events and what users do
// with their codes. Every event oktasim posts is checked against the
// shape of the shared fixture of its kind.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	telephonyhook "github.com/telephony-hooks/okta-8x8"
	"github.com/telephony-hooks/okta-8x8/internal/app"
	"github.com/telephony-hooks/okta-8x8/internal/config"
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// stepClock is the run's one clock: each time oktasim reads it, it moves
// on by step and the event batcher is told to flush. The function reads
// it too, so a code settles (otpExpires passes) a few requests after it
// was sent, with no sleeping.
type stepClock struct {
	*oktatest.Clock
	step time.Duration
	tick chan time.Time
}

func (c *stepClock) env() env {
	return env{
		getenv: func(string) string { return "" },
		now: func() time.Time {
			c.Advance(c.step)
			t := c.Now()
			select {
			case c.tick <- t:
			default:
			}
			return t
		},
		ticker: func(time.Duration) (<-chan time.Time, func()) { return c.tick, func() {} },
	}
}

// startServe8x8 runs oktasim -serve-8x8 on a free loopback port. stop ends it
// and returns its summary line and what it said 8x8 would not accept.
func startServe8x8(t *testing.T) (url string, stop func() (summary, complaints string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runWith(ctx, []string{"-serve-8x8", "127.0.0.1:0"}, realEnv(), &out, pw)
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	banner, err := r.ReadString('\n')
	m := regexp.MustCompile(`playing 8x8 on (http://\S+) `).FindStringSubmatch(banner)
	if err != nil || m == nil {
		cancel()
		t.Fatalf("no banner from -serve-8x8: %q, %v", banner, err)
	}
	var rest bytes.Buffer
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(&rest, r); close(drained) }()
	return m[1], func() (string, string) {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("-serve-8x8 = %v", err)
		}
		<-drained
		return out.String(), rest.String()
	}
}

// recorder keeps the event hook deliveries on their way to the function.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
	txIDs  map[string]bool // the hook requests' data.context.request.id
	last   map[string]any  // the last hook request
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var d struct {
			Data struct {
				Events  []map[string]any `json:"events"`
				Context struct {
					Request struct{ ID string } `json:"request"`
				} `json:"context"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &d)
		var whole map[string]any
		_ = json.Unmarshal(body, &whole)
		rec.mu.Lock()
		if r.URL.Path == eventsPath {
			rec.events = append(rec.events, d.Data.Events...)
		} else {
			rec.txIDs[d.Data.Context.Request.ID] = true
			rec.last = whole
		}
		rec.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// startEnforcing builds the function as the README's run configures it,
// delivering through the 8x8 at url8x8, on clock.
func startEnforcing(t *testing.T, url8x8 string, clock *oktatest.Clock) (hookURL string, rec *recorder) {
	t.Helper()
	vars := map[string]string{
		config.OktaSecret: e2eSecret, config.EventHookSecret: e2eEventSecret,
		config.ConversionGuard: "enforce", config.ConversionGrace: "0s", config.SMSFeedback: "on",
		config.Subaccount: "sim", config.APIKey: "sim", config.SourceNumber: "+14155550100",
		config.VoiceURL: url8x8, config.SMSURL: url8x8,
		config.RatePerPhone: "0", config.RatePerUser: "0", config.Project: "oktasim-e2e", config.LogLevel: "warn",
	}
	var logs logtest.Buffer
	fn := telephonyhook.New(telephonyhook.Options{Getenv: func(k string) string { return vars[k] }, Stdout: &logs,
		App: app.Options{Now: clock.Now}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := fn.Ready(ctx); err != nil {
		t.Fatalf("the function's configuration did not load: %v", err)
	}
	rec = &recorder{txIDs: map[string]bool{}}
	srv := httptest.NewServer(rec.wrap(fn))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := fn.Shutdown(ctx); err != nil {
			t.Errorf("the function did not shut down: %v", err)
		}
		if t.Failed() {
			t.Logf("the function's logs:\n%s", logs.String())
		}
	})
	return srv.URL + "/", rec
}

func TestEndToEndPumpingRing(t *testing.T) {
	const n = 120
	tests := []struct {
		name        string
		args        []string
		wantRefused bool // by the conversion guard
		// anyVerdict: the guard's verdict on healthy traffic under this
		// compressed clock is the conversion package's to test; this case
		// holds the verification events to their fixtures.
		anyVerdict bool
		wantOut    []string
	}{
		{
			name:       "day: users enter or mistype most codes",
			args:       []string{"-verify-rate", "LV=0.7", "-mistype", "0.5"},
			anyVerdict: true,
			wantOut:    []string{"(Identity Engine shape): 0 Okta failovers, 0 DENY"},
		},
		{
			name:        "night, Identity Engine send events: the ring is refused",
			args:        []string{"-verify-rate", "LV=0"},
			wantRefused: true,
			wantOut:     []string{"0 Okta failovers, 0 DENY", "LV caught by the conversion guard after "},
		},
		{
			name:        "night, Classic send events with Okta's failovers and DENYs: the ring is refused",
			args:        []string{"-verify-rate", "*=0", "-send-events", "classic", "-failover-rate", "0.2", "-deny-rate", "0.1"},
			wantRefused: true,
			wantOut:     []string{"posted (Classic shape)", "LV caught by the conversion guard after "},
		},
		{
			// Nothing tells a dead event hook from a quiet night: the guard
			// pauses and holds the failure reports.
			name:    "night in an org that emits no send events: nothing refused",
			args:    []string{"-verify-rate", "LV=0", "-send-events", "off"},
			wantOut: []string{"SUCCESSFUL       120", "send events: none (-send-events off)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url8x8, stop := startServe8x8(t)
			clock := &stepClock{Clock: oktatest.NewClock(time.Now()), step: time.Second, tick: make(chan time.Time, 1)}
			hookURL, rec := startEnforcing(t, url8x8, clock.Clock)
			args := append([]string{"-url", hookURL, "-secret", e2eSecret, "-event-secret", e2eEventSecret,
				"-n", fmt.Sprint(n), "-c", "1", "-phone", "+37120000101", "-otp-lifetime", "10s", "-seed", "42"}, tc.args...)
			out, _, err := runTest(t, clock.env(), args...)
			if err != nil {
				t.Fatalf("run = %v\n%s", err, out)
			}
			for _, w := range append(tc.wantOut, ", 0 not answered 2xx") {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if refused := strings.Contains(out, "× conversion_"); refused != tc.wantRefused && !tc.anyVerdict {
				t.Errorf("refused by the conversion guard: %v, want %v\n%s", refused, tc.wantRefused, out)
			}
			checkEvents(t, rec, out)
			// The hook request has exactly the keys of Okta's (testdata/README.md).
			var okta map[string]any
			raw, err := os.ReadFile(filepath.Join("testdata", "okta-request-mfa-verification-sms.json"))
			if err == nil {
				err = json.Unmarshal(raw, &okta)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := shapeDiff(rec.last, okta, regexp.MustCompile(`^$`)); len(d) > 0 {
				t.Errorf("the hook request differs from Okta's shape:\n  %s", strings.Join(d, "\n  "))
			}

			summary, complaints := stop()
			if complaints != "" {
				t.Errorf("-serve-8x8 says 8x8 would not accept the function's requests:\n%s", complaints)
			}
			var calls, sms, success, failure, umids, twice int
			if _, err := fmt.Sscanf(summary, "8x8 stand-in: %d calls, %d SMS; feedback %d success, %d failure; %d umids reported, %d of them more than once",
				&calls, &sms, &success, &failure, &umids, &twice); err != nil {
				t.Fatalf("-serve-8x8's summary %q: %v", summary, err)
			}
			if twice != 0 || success+failure != umids || umids > sms {
				t.Errorf("8x8 got %d SMS, %d umids reported (%d more than once), %d reports: want each umid reported once at most", sms, umids, twice, success+failure)
			}
			if strings.Contains(out, "send events: none") && failure != 0 {
				t.Errorf("%d failure reports with no send events: want them held", failure)
			}
			if tc.wantRefused && failure == 0 {
				t.Error("no failure report for the ring's codes")
			}
		})
	}
}

// fixtureEvent is event i of a shared event hook fixture.
func fixtureEvent(t *testing.T, name string, i int) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(sharedtest.Require(t), "contracts", "okta", "event-hook", name))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Data struct {
			Events []map[string]any `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || len(d.Data.Events) <= i {
		t.Fatalf("%s: %v", name, err)
	}
	return d.Data.Events[i]
}

// checkEvents holds each posted event to its fixture's shape, and the
// send events to what Okta's carry: the hook request's id, the number in
// the shape's place, the flags, counted as the summary says.
func checkEvents(t *testing.T, rec *recorder, out string) {
	t.Helper()
	fixtures := map[string]map[string]any{
		"oie " + eventSendSMS:        fixtureEvent(t, "reconstructed-oie-send-phone-verification-sms.json", 1),
		"oie DENY":                   fixtureEvent(t, "reconstructed-oie-send-phone-verification-sms.json", 0),
		"classic " + eventSendSMS:    fixtureEvent(t, "reconstructed-classic-send-phone-verification-call.json", 0),
		eventAuthViaMFA + " SUCCESS": fixtureEvent(t, "reconstructed-auth-via-mfa-sms-success.json", 0),
		eventAuthViaMFA + " FAILURE": fixtureEvent(t, "reconstructed-auth-via-mfa-call-failure.json", 0),
		"classic DENY":               fixtureEvent(t, "reconstructed-classic-send-phone-verification-call.json", 0),
	}
	// Keys whose values the fixtures invent (MANIFEST), and the flag they
	// lack.
	optional := regexp.MustCompile(`^\.debugContext\.debugData\.(smsProvider|callProvider|transactionId|isSmsHookFailover|isCallHookFailover)$`)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sends, failovers, denied int
	for _, ev := range rec.events {
		typ, result := lookupPath(ev, ".eventType"), lookupPath(ev, ".outcome.result")
		shape := "oie "
		if lookupPath(ev, ".target[1].type") == "MobilePhone" {
			shape = "classic "
		}
		key := typ + " " + result
		if typ == eventSendSMS {
			key = shape + typ
			if result == "DENY" {
				key = shape + "DENY"
			}
		}
		want, ok := fixtures[key]
		if !ok {
			t.Errorf("an event %s the run should not post", key)
			continue
		}
		if d := shapeDiff(ev, want, optional); len(d) > 0 {
			t.Errorf("%s differs from its fixture's shape:\n  %s", key, strings.Join(d, "\n  "))
		}
		if typ != eventSendSMS {
			continue
		}
		sends++
		number := lookupPath(ev, ".debugContext.debugData.phoneNumber")
		if shape == "classic " {
			number = lookupPath(ev, ".target[1].alternateId")
		} else if cc := lookupPath(ev, ".debugContext.debugData.countryCallingCode"); cc != "371" {
			t.Errorf("countryCallingCode = %q, want 371", cc)
		}
		if !strings.HasPrefix(number, "+37120000") {
			t.Errorf("%s number %q: want the E.164 number the hook was asked to send to", key, number)
		}
		tx := lookupPath(ev, ".transaction.id")
		if result == "DENY" {
			denied++
			if rec.txIDs[tx] {
				t.Errorf("a DENY for a request the hook got (%s)", tx)
			}
		} else if !rec.txIDs[tx] {
			t.Errorf("send event transaction.id %q is none of the hook's requests", tx)
		}
		if f, _ := ev["debugContext"].(map[string]any)["debugData"].(map[string]any)["isSmsHookFailover"].(bool); f {
			failovers++
		}
	}
	if want := fmt.Sprintf("send events: %d posted", sends); sends > 0 && !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if want := fmt.Sprintf(": %d Okta failovers, %d DENY", failovers, denied); sends > 0 && !strings.Contains(out, want) {
		t.Errorf("output lacks %q (the events posted):\n%s", want, out)
	}
}

// shapeDiff compares two events' structure: every key path, and the JSON
// type at each (a null matches any type: the fixtures have nulls where
// Okta may write a value). Paths optional matches may be on either side.
func shapeDiff(got, want map[string]any, optional *regexp.Regexp) []string {
	g, w := map[string]string{}, map[string]string{}
	shapeOf(got, "", g)
	shapeOf(want, "", w)
	var diff []string
	for p, wt := range w {
		gt, ok := g[p]
		switch {
		case !ok && !optional.MatchString(p):
			diff = append(diff, "missing "+p)
		case ok && gt != wt && gt != "null" && wt != "null":
			diff = append(diff, p+" is "+gt+", the fixture has "+wt)
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok && !optional.MatchString(p) {
			diff = append(diff, "extra "+p)
		}
	}
	return diff
}

func shapeOf(v any, path string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[path] = "object"
		for k, c := range x {
			shapeOf(c, path+"."+k, out)
		}
	case []any:
		out[path] = "array"
		for i, c := range x {
			shapeOf(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case nil:
		out[path] = "null"
	default:
		out[path] = fmt.Sprintf("%T", x)
	}
}

// lookupPath reads a string at a path such as ".target[1].type".
func lookupPath(v any, path string) string {
	for _, k := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		name, idx, hasIdx := strings.Cut(k, "[")
		m, _ := v.(map[string]any)
		v = m[name]
		if hasIdx {
			var i int
			_, _ = fmt.Sscanf(idx, "%d]", &i)
			a, _ := v.([]any)
			if i >= len(a) {
				return ""
			}
			v = a[i]
		}
	}
	s, _ := v.(string)
	return s
}
