package conversion

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	rs "github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// traffic sends n SMS codes to one destination from distinct users at the
// clock's time, and has Okta report verified of them 30 s later (one
// POST). Unverified codes settle once Settle runs after expiry + grace.
func (r *rig) traffic(tr *Tracker, h http.Handler, country, prefix string, n, verified int) {
	r.t.Helper()
	now := r.clock.Now()
	tag := country + prefix + strconv.FormatInt(now.UnixNano(), 36)
	var events []string
	for i := range n {
		user := "00u" + tag + "-" + strconv.Itoa(i)
		tr.Sent(r.t.Context(), smsTo(user, "umid-"+tag+"-"+strconv.Itoa(i), now, country, prefix))
		if i < verified {
			events = append(events, eventJSON(newUUID(), user, "SMS_FACTOR", "SUCCESS", now.Add(30*time.Second)))
		}
	}
	if len(events) > 0 {
		mustPost(r.t, h, eventBody(events...))
	}
}

// failures has Okta report a mistyped code: proof the event hook works,
// no conversion.
func (r *rig) failures(h http.Handler) {
	mustPost(r.t, h, eventBody(eventJSON(newUUID(), "00uSOMEONE", "SMS_FACTOR", "FAILURE", r.clock.Now())))
}

func wantVerdict(t testing.TB, tr *Tracker, country, prefix string, want *Verdict) {
	t.Helper()
	got := tr.Check(t.Context(), country, prefix)
	switch {
	case want == nil && got == nil:
		return
	case want == nil:
		t.Fatalf("Check(%s, %s) = %+v, want nil", country, prefix, got)
	case got == nil:
		t.Fatalf("Check(%s, %s) = nil, want %+v", country, prefix, want)
	}
	if got.Destination != want.Destination || got.Kind != want.Kind || got.Refuse != want.Refuse || got.Paused != want.Paused ||
		(want.Settled != 0 && (got.Settled != want.Settled || got.Verified != want.Verified)) {
		t.Fatalf("Check(%s, %s) = %+v, want %+v", country, prefix, got, want)
	}
}

// pumped sets up, at t0: a healthy US (45 codes, 42 verified), a pumped
// Latvian range (25 codes, none verified), and a pumped US range
// (+1900555: 20 codes, none verified) that the US's own figures hide.
// Then it lets the unverified codes settle.
func pumped(r *rig, tr *Tracker) {
	h := tr.Handler(auth())
	r.traffic(tr, h, "US", "+1415555", 45, 42)
	r.traffic(tr, h, "LV", "+3712000", 25, 0)
	r.traffic(tr, h, "US", "+1900555", 20, 0)
	r.clock.Advance(7 * time.Minute)
	settle(r.t, tr)
}

func TestEnforceRefusesPumpedDestination(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, t0)
		tr := r.tracker(testConfig(Enforce))
		pumped(r, tr)
		wantVerdict(t, tr, "LV", "+3712000", &Verdict{Destination: "LV", Kind: "country", Settled: 25, Verified: 0, Refuse: true})
		wantVerdict(t, tr, "LV", "", &Verdict{Destination: "LV", Kind: "country", Refuse: true})
		wantVerdict(t, tr, "US", "+1900555", &Verdict{Destination: "+1900555", Kind: "prefix", Settled: 20, Verified: 0, Refuse: true})
		// The healthy range keeps delivering, in the same country.
		wantVerdict(t, tr, "US", "+1415555", nil)
		wantVerdict(t, tr, "US", "", nil)
		wantVerdict(t, tr, "GB", "+4477009", nil)
		// The log names the prefix and the figures, never a number.
		lines := logLines(t, r.logs, msgSuspect)
		if len(lines) != 3 {
			t.Fatalf("%d suspect lines, want 3:\n%s", len(lines), r.logs)
		}
		for _, l := range lines {
			if l["level"] != "WARN" || l["enforced"] != true || l["mode"] != "enforce" || l["windowSeconds"] != 3600.0 {
				t.Fatalf("suspect line %v", l)
			}
		}
	})
}

func TestRecordNeverRefuses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, t0)
		tr := r.tracker(testConfig(Record))
		pumped(r, tr)
		wantVerdict(t, tr, "LV", "+3712000", &Verdict{Destination: "LV", Kind: "country", Settled: 25, Refuse: false})
		wantVerdict(t, tr, "US", "+1900555", &Verdict{Destination: "+1900555", Kind: "prefix", Refuse: false})
		wantVerdict(t, tr, "US", "+1415555", nil)

		// More settles and refreshes: still one warning per destination.
		for range 5 {
			r.clock.Advance(time.Minute)
			r.failures(tr.Handler(auth()))
			settle(t, tr)
		}
		got := map[string]int{}
		for _, l := range logLines(t, r.logs, msgSuspect) {
			got[l["destination"].(string)+"/"+l["kind"].(string)]++
			if l["enforced"] != false || l["level"] != "WARN" {
				t.Fatalf("record-mode line %v", l)
			}
		}
		want := map[string]int{"LV/country": 1, "+37120**/prefix": 1, "+19005**/prefix": 1}
		if len(got) != len(want) {
			t.Fatalf("suspect lines %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("suspect lines %v, want %v", got, want)
			}
		}
		// The window slides past the pumped codes: each clears once.
		r.clock.Advance(time.Hour)
		r.failures(tr.Handler(auth()))
		settle(t, tr)
		settle(t, tr)
		wantVerdict(t, tr, "LV", "+3712000", nil)
		cleared := logLines(t, r.logs, msgCleared)
		if len(cleared) != 3 {
			t.Fatalf("%d cleared lines, want 3:\n%s", len(cleared), r.logs)
		}
	})
}

func TestOffNeverJudges(t *testing.T) {
	r := newRig(t, memoryBackend, t0)
	tr := r.tracker(testConfig(Off))
	pumped(r, tr)
	wantVerdict(t, tr, "LV", "+3712000", nil)
	if n := len(logLines(t, r.logs, msgSuspect)); n != 0 {
		t.Fatalf("%d suspect lines in off mode", n)
	}
	// Feedback still works in off mode.
	if n := len(r.rep.delivered()); n != 90 {
		t.Fatalf("%d reports, want 90 (42 success, 48 failure)", n)
	}
}

// TestHealthyCompaniesNeverJudged: the defaults leave alone a small
// company (a handful of sign-ins an hour per country, even if none
// converts) and a normal one (70–95 % conversion).
func TestHealthyCompaniesNeverJudged(t *testing.T) {
	cases := []struct {
		name    string
		perHour int
		rate    float64
	}{
		{"small company, nobody converts", 10, 0},
		{"small company, 60 % converts", 20, 0.6},
		{"normal company, 70 %", 200, 0.7},
		{"normal company, 95 %", 200, 0.95},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, memoryBackend, t0)
			tr := r.tracker(testConfig(Enforce))
			h := tr.Handler(auth())
			rng := rand.New(rand.NewPCG(1, uint64(tc.perHour)))
			// Six hours, sends spread in ten slices per hour.
			for slice := range 60 {
				n := tc.perHour / 10
				v := 0
				for range n {
					if rng.Float64() < tc.rate {
						v++
					}
				}
				r.traffic(tr, h, "FR", "+3361234", n, v)
				r.clock.Advance(6 * time.Minute)
				settle(t, tr)
				if v := tr.Check(t.Context(), "FR", "+3361234"); v != nil {
					t.Fatalf("slice %d: judged %+v", slice, v)
				}
			}
			if n := len(logLines(t, r.logs, msgSuspect)); n != 0 {
				t.Fatalf("%d suspect lines", n)
			}
		})
	}
}

// TestFeedbackSilencePausesEnforcement: codes settle but no verification
// arrives at all: the event hook is broken, not the whole world pumping.
func TestFeedbackSilencePausesEnforcement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, t0)
		tr := r.tracker(testConfig(Enforce))
		h := tr.Handler(auth())
		r.failures(h) // deliveries arrive, but none verifies anything
		r.traffic(tr, h, "US", "+1415555", 25, 0)
		r.traffic(tr, h, "GB", "+4477009", 25, 0)
		r.clock.Advance(7 * time.Minute)
		r.failures(h)
		settle(t, tr)
		wantVerdict(t, tr, "US", "+1415555", &Verdict{Destination: "US", Kind: "country", Refuse: false, Paused: true})
		// One warning, not one per refresh.
		for range 10 {
			r.clock.Advance(time.Minute)
			settle(t, tr)
		}
		paused := logLines(t, r.logs, msgPaused)
		if len(paused) != 1 || paused[0]["level"] != "WARN" || paused[0]["reason"] != "no verification at all in the window, and no Okta send event for our sends" {
			t.Fatalf("paused warnings %v", paused)
		}
		r.clock.Advance(5 * time.Minute)
		settle(t, tr)
		if n := len(logLines(t, r.logs, msgPaused)); n != 2 {
			t.Fatalf("%d paused warnings after 16 minutes, want 2", n)
		}
		// One verification anywhere proves the channel: enforcement resumes.
		r.traffic(tr, h, "DE", "+4915112", 1, 1)
		settle(t, tr)
		wantVerdict(t, tr, "US", "+1415555", &Verdict{Destination: "US", Kind: "country", Refuse: true})
		if n := len(logLines(t, r.logs, msgResumed)); n != 1 {
			t.Fatalf("%d resumed lines, want 1", n)
		}
	})
}

func TestNoDeliveriesPausesEnforcement(t *testing.T) {
	r := newRig(t, memoryBackend, t0)
	tr := r.deafTracker(testConfig(Enforce))
	// The hook sends, but Okta never delivers an event (hook not verified,
	// wrong secret): no POST is ever authenticated.
	for i := range 30 {
		tr.Sent(t.Context(), smsTo("00u"+strconv.Itoa(i), "umid-"+strconv.Itoa(i), t0, "US", "+1415555"))
	}
	r.clock.Advance(7 * time.Minute)
	settle(t, tr)
	wantVerdict(t, tr, "US", "", &Verdict{Destination: "US", Kind: "country", Refuse: false, Paused: true})
	l := lastLine(t, r.logs, msgPaused)
	if l["reason"] != "no authenticated Okta event hook delivery in the window" {
		t.Fatalf("paused line %v", l)
	}
}

// TestStaleVerdictsNotEnforced: without Run or event POSTs nothing
// refreshes the cache; an old verdict is reported but not enforced.
func TestStaleVerdictsNotEnforced(t *testing.T) {
	r := newRig(t, memoryBackend, t0)
	tr := r.tracker(testConfig(Enforce))
	pumped(r, tr)
	wantVerdict(t, tr, "LV", "", &Verdict{Destination: "LV", Kind: "country", Refuse: true})
	r.clock.Advance(61 * time.Second)
	wantVerdict(t, tr, "LV", "", &Verdict{Destination: "LV", Kind: "country", Refuse: false, Paused: true})
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"off": Off, "record": Record, "ENFORCE": Enforce, " Record ": Record} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("on"); err == nil || !strings.Contains(err.Error(), "off, record or enforce") {
		t.Errorf("ParseMode(on) error %v", err)
	}
}

// TestLateVerificationOutOfTheWindow: a verification of a send settled
// unverified so long ago that its bucket has left the window counts
// nowhere and judges nothing, in the memory store as in the Lua scripts:
// the destination it made suspect clears at the next refresh, not here.
func TestLateVerificationOutOfTheWindow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		var st store = newMemoryStore(MemoryCaps{})
		if c := b.open(t); c != nil {
			st = c
		}
		ctx, sent := t.Context(), t0.UnixMilli()
		window, width := time.Hour.Milliseconds(), (5 * time.Minute).Milliseconds()
		at := func(now int64) rs.ConvParams {
			return rs.ConvParams{Now: now, Width: width, MinSends: 1, MinRate: 0.5, MaxSuspects: 10,
				DestTTL: 2 * window, PostTTL: 2 * window, SeenTTL: window, Lease: 30_000, Skew: 5000,
				Retain: 3 * window, MatchWindow: 120_000}
		}
		send := rs.ConvSend{ID: "1", User: "user:s", Channel: chSMS, Country: "LV", Prefix: "+3712000",
			SentAt: sent, SettleAt: sent + 6*60_000, FeedbackBy: sent + 15*60_000}
		if err := st.AddSend(ctx, at(sent), send); err != nil {
			t.Fatal(err)
		}
		_, ch, err := st.Take(ctx, at(send.SettleAt), 10)
		if err != nil || len(ch.Transitions) != 2 {
			t.Fatalf("settled: %+v, %v; want LV and its prefix suspect", ch.Transitions, err)
		}
		late := send.SettleAt + window + width // its bucket has left the window
		res, ch, err := st.Apply(ctx, at(late), []rs.ConvItem{{UUID: "e1", Published: sent + 60_000, Users: []string{send.User}}})
		if err != nil || len(res) != 1 || res[0].Outcome != rs.ConvLate {
			t.Fatalf("applied: %+v, %v; want a late verification", res, err)
		}
		if len(ch.Transitions) != 0 {
			t.Fatalf("the late verification judged: %+v, want nothing", ch.Transitions)
		}
		_, ch, err = st.Refresh(ctx, at(late))
		if err != nil || len(ch.Transitions) != 2 || ch.Transitions[0].Suspect || ch.Transitions[1].Suspect {
			t.Fatalf("refreshed: %+v, %v; want LV and its prefix cleared", ch.Transitions, err)
		}
	})
}
