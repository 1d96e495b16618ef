package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// standIn plays the hook with its event route, the way the conversion
// guard behaves: it answers SUCCESSFUL to every send until the pumped
// country has had k codes, then refuses that country with the
// conversion_suspect error object; its event route checks the event hook
// header and records every delivery.
type standIn struct {
	standInConfig
	url string

	mu         sync.Mutex
	sends      map[string]int    // country → SUCCESSFUL answered
	sentUsers  map[string]string // userId → channel of the codes answered SUCCESSFUL
	last       hookRequest
	posts      []delivery    // event POSTs, in arrival order, whatever the answer
	eventPosts chan struct{} // one value per event POST answered
}

// standInConfig is how a stand-in behaves.
type standInConfig struct {
	pumped      string // country caught after k sends ("" none)
	k           int
	header      string // event hook header name
	secret      string
	fail5xx     int    // the first fail5xx event POSTs answer 503
	otherReason string // when set, the pumped country is refused with this reason instead
}

// delivery is one event POST as the stand-in received it.
type delivery struct {
	authorized bool
	status     int
	body       map[string]any
	raw        []byte
}

func (d delivery) events() []map[string]any {
	data, _ := d.body["data"].(map[string]any)
	list, _ := data["events"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}

func startStandIn(t *testing.T, cfg standInConfig) *standIn {
	t.Helper()
	s := &standIn{standInConfig: cfg}
	if s.header == "" {
		s.header = "Authorization"
	}
	s.sends, s.sentUsers = map[string]int{}, map[string]string{}
	s.eventPosts = make(chan struct{}, 1000)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.hook)
	mux.HandleFunc("POST /okta/events", s.events)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/"
	return s
}

func countryOf(phone string) string {
	switch {
	case strings.HasPrefix(phone, "+371"):
		return "LV"
	case strings.HasPrefix(phone, "+44"):
		return "GB"
	case strings.HasPrefix(phone, "+1"):
		return "US"
	}
	return "??"
}

func (s *standIn) hook(w http.ResponseWriter, r *http.Request) {
	var req hookRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	country := countryOf(req.Data.MessageProfile.PhoneNumber)
	s.mu.Lock()
	s.last = req
	caught := country == s.pumped && s.sends[country] >= s.k
	if !caught {
		s.sends[country]++
		s.sentUsers[req.Data.UserProfile.UserID] = req.Data.MessageProfile.DeliveryChannel
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if caught {
		reason := suspectReason
		if s.otherReason != "" {
			reason = s.otherReason
		}
		_, _ = fmt.Fprintf(w, `{"error":{"errorSummary":"Codes cannot be sent right now.","errorCauses":[{"errorSummary":"paused","reason":%q,"domain":"telephony-hook"}]}}`, reason)
		return
	}
	_, _ = io.WriteString(w, statusAnswer("SUCCESSFUL"))
}

func (s *standIn) events(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	d := delivery{raw: raw, authorized: r.Header.Get(s.header) == s.secret && s.secret != ""}
	_ = json.Unmarshal(raw, &d.body)
	s.mu.Lock()
	switch {
	case !d.authorized:
		d.status = http.StatusUnauthorized
	case s.fail5xx > 0:
		s.fail5xx--
		d.status = http.StatusServiceUnavailable
	default:
		d.status = http.StatusOK
	}
	s.posts = append(s.posts, d)
	s.mu.Unlock()
	w.WriteHeader(d.status)
	s.eventPosts <- struct{}{}
}

func (s *standIn) lastRequest() hookRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// sentTo says whether a code was sent to user, and by which channel.
func (s *standIn) sentTo(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.sentUsers[user]
	return ch, ok
}

func (s *standIn) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// accepted are the events of the POSTs answered 2xx.
func (s *standIn) accepted() []map[string]any {
	var out []map[string]any
	for _, d := range s.deliveries() {
		if d.status == http.StatusOK {
			out = append(out, d.events()...)
		}
	}
	return out
}

// noTicks is a ticker that never ticks: batches then go out only when full
// and at the end of the run, so their sizes are exact.
func noTicks(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

func quietEnv(vars map[string]string) env {
	e := testEnv(vars)
	e.ticker = noTicks
	return e
}

// row finds the summary's line for a country, as fields.
func row(out, country string) []string {
	inTable := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "country" {
			inTable = true
			continue
		}
		if inTable && len(f) == 12 && f[0] == country {
			return f
		}
	}
	return nil
}

var rowColumns = []string{"country", "verify", "requests", "SUCCESSFUL", "PENDING", "FAILED", "refused", "other",
	"verified", "mistyped", "ev-non2xx", "caught-after"}

const (
	usSeed = "+14155550123"
	lvSeed = "+37120000101"
)

func TestEventHookLoadRuns(t *testing.T) {
	const secret = "ev-s3cret-Hq72"
	tests := []struct {
		name     string
		stand    standInConfig
		env      map[string]string
		args     []string
		wantErr  error // nil: the run succeeds
		wantRows map[string][]string
		// "?" in a row matches any value
		wantOut     []string
		wantBatches []int // events per event POST, in order
		check       func(t *testing.T, s *standIn, out string)
	}{
		{
			name:  "pumped LV caught after 10 sends while US users verify every code",
			stand: standInConfig{pumped: "LV", k: 10, secret: secret},
			args: []string{"-n", "80", "-c", "1", "-phone", usSeed + "," + lvSeed, "-verify-rate", "US=1,LV=0",
				"-event-secret", secret},
			wantRows: map[string][]string{
				"US": {"US", "1", "40", "40", "0", "0", "0", "0", "40", "0", "0", "-"},
				"LV": {"LV", "0", "40", "10", "0", "0", "30", "0", "0", "0", "0", "10"},
			},
			wantOut: []string{
				"requests:    80 (concurrency 1, 80 phone numbers)",
				"    LV    30× conversion_suspect",
				"LV caught by the conversion guard after 10 codes sent (SUCCESSFUL), 0 sent after its first conversion_suspect refusal",
				"event hook:  40 events in 1 POST(s) to ", "/okta/events, 0 retried, 0 not answered 2xx",
			},
			wantBatches: []int{40},
			check: func(t *testing.T, s *standIn, _ string) {
				// Every event is the verification of a code the hook sent to a US user.
				for _, ev := range s.accepted() {
					user := lookup(ev, ".actor.id")
					if ch, ok := s.sentTo(user); !ok || ch != "SMS" || !strings.HasPrefix(user, "00uoktasim00") {
						t.Errorf("event for user %q, who was not sent an SMS code or is not a US user", user)
					}
				}
			},
		},
		{
			name:  "at concurrency 8 the counts hold; caught-after cannot exceed the sends before the refusal",
			stand: standInConfig{pumped: "LV", k: 25, secret: secret},
			args: []string{"-n", "200", "-c", "8", "-phone", lvSeed + "," + usSeed, "-verify-rate", "us=1, lv=0",
				"-event-secret", secret},
			wantRows: map[string][]string{
				"LV": {"LV", "0", "100", "25", "0", "0", "75", "0", "0", "0", "0", "?"},
				"US": {"US", "1", "100", "100", "0", "0", "0", "0", "100", "0", "0", "-"},
			},
			wantBatches: []int{50, 50},
			check: func(t *testing.T, _ *standIn, out string) {
				var n int
				if _, err := fmt.Sscan(row(out, "LV")[11], &n); err != nil || n > 25 {
					t.Errorf("caught-after = %q, want at most 25", row(out, "LV")[11])
				}
			},
		},
		{
			name:  "events go out in batches of at most 50",
			stand: standInConfig{secret: secret},
			args:  []string{"-n", "120", "-c", "4", "-verify-rate", "*=1", "-event-secret", secret},
			wantRows: map[string][]string{
				"US": {"US", "1", "120", "120", "0", "0", "0", "0", "120", "0", "0", "-"},
			},
			wantBatches: []int{50, 50, 20},
			check: func(t *testing.T, s *standIn, _ string) {
				uuids, ids := map[string]bool{}, map[string]bool{}
				for _, d := range s.deliveries() {
					ids[lookup(d.body, ".eventId")] = true
					for _, ev := range d.events() {
						uuids[lookup(ev, ".uuid")] = true
					}
				}
				if len(uuids) != 120 || len(ids) != 3 {
					t.Errorf("%d distinct event uuids and %d eventIds, want 120 and 3", len(uuids), len(ids))
				}
			},
		},
		{
			name:    "a wrong event secret: every POST refused, counted per country, and the run fails",
			stand:   standInConfig{secret: secret},
			args:    []string{"-n", "20", "-phone", usSeed + "," + lvSeed, "-verify-rate", "US=1,LV=0.5", "-seed", "3", "-event-secret", "not-it"},
			wantErr: errEvents,
			wantRows: map[string][]string{
				"US": {"US", "1", "10", "10", "0", "0", "0", "0", "10", "0", "10", "-"},
				"LV": {"LV", "0.5", "10", "10", "0", "0", "0", "0", "?", "0", "?", "-"},
			},
			wantOut: []string{"1 not answered 2xx: 1× HTTP 401"},
			check: func(t *testing.T, _ *standIn, out string) {
				if r := row(out, "LV"); r[8] != r[10] {
					t.Errorf("LV verified %s but %s lost: every one was refused", r[8], r[10])
				}
			},
		},
		{
			name:  "a 503 is retried once with the same body, as Okta does",
			stand: standInConfig{secret: secret, fail5xx: 1},
			args:  []string{"-n", "10", "-verify-rate", "*=1", "-event-secret", secret},
			wantRows: map[string][]string{
				"US": {"US", "1", "10", "10", "0", "0", "0", "0", "10", "0", "0", "-"},
			},
			wantOut:     []string{"event hook:  10 events in 1 POST(s) to ", ", 1 retried, 0 not answered 2xx"},
			wantBatches: []int{10, 10},
			check: func(t *testing.T, s *standIn, _ string) {
				d := s.deliveries()
				if d[0].status != 503 || d[1].status != 200 || string(d[0].raw) != string(d[1].raw) {
					t.Errorf("POSTs answered %d then %d, same body %v; want 503 then 200 with the same body",
						d[0].status, d[1].status, string(d[0].raw) == string(d[1].raw))
				}
			},
		},
		{
			name:  "the secret from $OKTA_EVENT_HOOK_SECRET in a custom header",
			stand: standInConfig{secret: secret, header: "X-Okta-Event-Key"},
			env:   map[string]string{"OKTA_EVENT_HOOK_SECRET": secret},
			args:  []string{"-n", "5", "-verify-rate", "*=1", "-event-header", "x-okta-event-key"},
			wantRows: map[string][]string{
				"US": {"US", "1", "5", "5", "0", "0", "0", "0", "5", "0", "0", "-"},
			},
			wantBatches: []int{5},
		},
		{
			name:  "mistyped codes are FAILURE events; voice codes are CALL_FACTOR; recovery intent",
			stand: standInConfig{secret: secret},
			args: []string{"-n", "30", "-channel", "voice", "-request-type", "account-unlock", "-verify-rate", "*=0",
				"-mistype", "1", "-event-secret", secret},
			wantRows: map[string][]string{
				"US": {"US", "0", "30", "30", "0", "0", "0", "0", "0", "30", "0", "-"},
			},
			wantBatches: []int{30},
			check: func(t *testing.T, s *standIn, _ string) {
				for _, ev := range s.accepted() {
					got := []string{lookup(ev, ".eventType"), lookup(ev, ".outcome.result"), lookup(ev, ".outcome.reason"),
						lookup(ev, ".debugContext.debugData.factor"), lookup(ev, ".debugContext.debugData.factorIntent")}
					want := []string{eventAuthViaMFA, "FAILURE", "INVALID_CREDENTIALS", "CALL_FACTOR", "CREDENTIAL_RECOVERY"}
					if !slices.Equal(got, want) {
						t.Fatalf("event = %v, want %v", got, want)
					}
				}
			},
		},
		{
			name:  "the event is published -verify-delay after the answer",
			stand: standInConfig{secret: secret},
			args:  []string{"-n", "3", "-verify-rate", "*=1", "-verify-delay", "90s", "-event-secret", secret},
			wantRows: map[string][]string{
				"US": {"US", "1", "3", "3", "0", "0", "0", "0", "3", "0", "0", "-"},
			},
			wantBatches: []int{3},
			check: func(t *testing.T, s *standIn, _ string) {
				for _, ev := range s.accepted() {
					if got, want := lookup(ev, ".published"), fixedNow.Add(90*time.Second).Format(okTimeLayout); got != want {
						t.Errorf("published = %s, want %s", got, want)
					}
				}
			},
		},
		{
			name:  "other refusals are counted by reason, with no caught-after",
			stand: standInConfig{pumped: "LV", k: 2, otherReason: "country_not_allowed", secret: secret},
			args:  []string{"-n", "10", "-phone", lvSeed, "-verify-rate", "LV=0", "-event-secret", secret},
			wantRows: map[string][]string{
				"LV": {"LV", "0", "10", "2", "0", "0", "8", "0", "0", "0", "0", "-"},
			},
			wantOut: []string{"    LV    8× country_not_allowed", "event hook:  0 events in 0 POST(s)"},
			check: func(t *testing.T, _ *standIn, out string) {
				if strings.Contains(out, "caught by the conversion guard") {
					t.Errorf("a country refusal reads as a conversion catch:\n%s", out)
				}
			},
		},
		{
			name:  "without -verify-rate no event is posted (as before)",
			stand: standInConfig{secret: secret},
			args:  []string{"-n", "10", "-phone", usSeed + "," + lvSeed},
			wantRows: map[string][]string{
				"US": {"US", "-", "5", "5", "0", "0", "0", "0", "0", "0", "0", "-"},
				"LV": {"LV", "-", "5", "5", "0", "0", "0", "0", "0", "0", "0", "-"},
			},
			check: func(t *testing.T, s *standIn, out string) {
				if strings.Contains(out, "event hook:") {
					t.Errorf("event hook line without -verify-rate:\n%s", out)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startStandIn(t, tc.stand)
			args := append([]string{"-url", s.url, "-secret", "hook-s3cret"}, tc.args...)
			out, stderr, err := runTest(t, quietEnv(tc.env), args...)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("run = %v, want success\n%s", err, out)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("run = %v, want %v\n%s", err, tc.wantErr, out)
			}
			for country, want := range tc.wantRows {
				got := row(out, country)
				if len(got) != len(want) {
					t.Fatalf("no summary row for %s:\n%s", country, out)
				}
				for i := range want {
					if want[i] != "?" && got[i] != want[i] {
						t.Errorf("%s %s = %s, want %s", country, rowColumns[i], got[i], want[i])
					}
				}
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.wantBatches != nil {
				var sizes []int
				for _, d := range s.deliveries() {
					sizes = append(sizes, len(d.events()))
				}
				if !slices.Equal(sizes, tc.wantBatches) {
					t.Errorf("event POSTs carried %v events, want %v", sizes, tc.wantBatches)
				}
			}
			if tc.check != nil {
				tc.check(t, s, out)
			}
			for _, leak := range []string{secret, "hook-s3cret", "4155550", "2000010"} {
				if strings.Contains(out, leak) || strings.Contains(stderr, leak) {
					t.Errorf("output shows a secret or a full phone number (%.7s…)", leak)
				}
			}
		})
	}
}

// TestBatcherFlushes drives the batcher's clock: a partial batch waits for
// the tick, a full one does not, and close sends the rest.
func TestBatcherFlushes(t *testing.T) {
	s := startStandIn(t, standInConfig{secret: "k"})
	p := &eventPoster{client: http.DefaultClient, url: s.url + "okta/events", header: "Authorization", secret: "k", now: time.Now}
	b := newBatcher(p, 2)
	tick := make(chan time.Time)
	go b.run(t.Context(), tick)
	add := func(n, dest int) {
		for range n {
			b.add(queuedEvent{dest: dest, ev: logEvent{UUID: fmt.Sprint(dest)}})
		}
	}
	sizes := func() []int {
		var out []int
		for _, d := range s.deliveries() {
			out = append(out, len(d.events()))
		}
		return out
	}

	steps := []struct {
		name  string
		do    func()
		posts int // event POSTs to wait for
		want  []int
	}{
		// The second tick is taken only once the first flush has ended (the
		// channel is unbuffered, the queue then empty): the next step's
		// events cannot join that flush.
		{"3 events and a tick: one POST of 3", func() { add(3, 0); tick <- time.Now(); tick <- time.Now() }, 1, []int{3}},
		{"60 events: a full batch goes at once", func() { add(60, 1) }, 1, []int{3, 50}},
		{"the tick sends the 10 left", func() { tick <- time.Now() }, 1, []int{3, 50, 10}},
		{"a tick with nothing waiting sends nothing; close sends the last 7", func() { tick <- time.Now(); add(7, 0); _ = b.close() }, 1, []int{3, 50, 10, 7}},
	}
	for _, st := range steps {
		st.do()
		for range st.posts {
			<-s.eventPosts
		}
		if got := sizes(); !slices.Equal(got, st.want) {
			t.Fatalf("%s: POSTs of %v events, want %v", st.name, got, st.want)
		}
	}
	stats := b.stats
	if stats.posts != 4 || stats.events != 70 || len(stats.failed) != 0 {
		t.Errorf("stats = %+v, want 4 POSTs of 70 events, none failed", stats)
	}
}

func TestSingleRequestEvent(t *testing.T) {
	const secret = "ev-s3cret-Hq72"
	tests := []struct {
		name    string
		answer  string // the hook's answer status ("" SUCCESSFUL)
		args    []string
		wantErr error
		wantOut []string
		posts   int
	}{
		{
			name:    "verified: the event POST's status is printed",
			args:    []string{"-verify-rate", "US=1", "-event-secret", secret},
			wantOut: []string{"verification: the user types the code in (US rate 1): user.authentication.auth_via_mfa SUCCESS, SMS_FACTOR, published 2026-03-14T09:26:53.417Z", "event POST http://", "/okta/events: HTTP 200 OK"},
			posts:   1,
		},
		{
			name:    "pre-enrollment: the enrollment event",
			args:    []string{"-request-type", "pre-enrollment", "-verify-rate", "US=1", "-event-secret", secret},
			wantOut: []string{"user.mfa.factor.activate SUCCESS, SMS,", "HTTP 200 OK"},
			posts:   1,
		},
		{
			name:    "the user does not type it in: nothing posted",
			args:    []string{"-verify-rate", "US=0,LV=1", "-event-secret", secret},
			wantOut: []string{"verification: none, the user does not type the code in (US rate 0)"},
		},
		{
			name:    "no code sent: nothing to verify",
			answer:  "FAILED",
			args:    []string{"-verify-rate", "*=1", "-event-secret", secret},
			wantOut: []string{"verification: none, no code was sent (FAILED)"},
		},
		{
			name:    "the event route refuses the secret: status printed, run fails",
			args:    []string{"-verify-rate", "*=1", "-event-secret", "wrong"},
			wantErr: errEvents,
			wantOut: []string{"/okta/events: HTTP 401 Unauthorized"},
			posts:   1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startStandIn(t, standInConfig{secret: secret})
			url := s.url
			if tc.answer != "" {
				// A hook answering FAILED, with the stand-in's event route.
				failed := httptest.NewServer(answerJSON(200, statusAnswer(tc.answer)))
				t.Cleanup(failed.Close)
				url = failed.URL + "/"
				tc.args = append(tc.args, "-event-url", s.url+"okta/events")
			}
			out, stderr, err := runTest(t, testEnv(nil), append([]string{"-url", url, "-secret", "h"}, tc.args...)...)
			if (tc.wantErr == nil && err != nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("run = %v, want %v\n%s", err, tc.wantErr, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if n := len(s.deliveries()); n != tc.posts {
				t.Errorf("%d event POSTs, want %d", n, tc.posts)
			}
			if strings.Contains(out+stderr, secret) {
				t.Error("output shows the event hook secret")
			}
		})
	}
}

func TestJSONKeepsStdoutForTheAnswer(t *testing.T) {
	s := startStandIn(t, standInConfig{secret: "k"})
	out, stderr, err := runTest(t, testEnv(nil), "-url", s.url, "-secret", "h", "-json", "-verify-rate", "*=1", "-event-secret", "k")
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	if out != statusAnswer("SUCCESSFUL") {
		t.Errorf("stdout = %q, want the answer alone", out)
	}
	if !strings.Contains(stderr, "/okta/events: HTTP 200 OK") {
		t.Errorf("stderr lacks the event POST's status: %q", stderr)
	}
}

// verifiedUsers runs a load against a fresh stand-in and returns the users
// whose verification was posted, sorted.
func verifiedUsers(t *testing.T, args ...string) []string {
	t.Helper()
	s := startStandIn(t, standInConfig{secret: "k"})
	if _, _, err := runTest(t, quietEnv(nil), append([]string{"-url", s.url, "-secret", "h", "-event-secret", "k"}, args...)...); err != nil {
		t.Fatalf("run = %v", err)
	}
	var users []string
	for _, ev := range s.accepted() {
		users = append(users, lookup(ev, ".actor.id"))
	}
	sort.Strings(users)
	return users
}

func TestVerificationChoiceHonoursTheRates(t *testing.T) {
	const n = 200
	tests := []struct {
		name     string
		rate     string
		min, max int
	}{
		{"rate 0: never", "*=0", 0, 0},
		{"rate 1: always", "*=1", n, n},
		{"rate 0.25", "*=0.25", n / 8, n * 3 / 8},
		{"rate 0.9", "US=0.9", n * 8 / 10, n},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-n", fmt.Sprint(n), "-c", "8", "-verify-rate", tc.rate, "-seed", "42"}
			first := verifiedUsers(t, args...)
			if len(first) < tc.min || len(first) > tc.max {
				t.Errorf("%d of %d verified, want %d to %d", len(first), n, tc.min, tc.max)
			}
			// The same seed makes the same choices, whatever order the
			// concurrent requests finish in.
			if again := verifiedUsers(t, args...); !slices.Equal(first, again) {
				t.Errorf("with the same -seed, %d then %d users verified, not the same ones", len(first), len(again))
			}
		})
	}
	t.Run("another seed, other users", func(t *testing.T) {
		a := verifiedUsers(t, "-n", "100", "-verify-rate", "*=0.5", "-seed", "1")
		b := verifiedUsers(t, "-n", "100", "-verify-rate", "*=0.5", "-seed", "2")
		if slices.Equal(a, b) {
			t.Error("seeds 1 and 2 chose the same users")
		}
	})
}

func TestChosen(t *testing.T) {
	for _, seed := range []uint64{0, 1, 42, 1 << 63} {
		for i := range 10000 {
			if chosen(seed, i, streamVerify, 0) {
				t.Fatalf("seed %d, request %d: chosen at rate 0", seed, i)
			}
			if !chosen(seed, i, streamVerify, 1) {
				t.Fatalf("seed %d, request %d: not chosen at rate 1", seed, i)
			}
		}
	}
}
