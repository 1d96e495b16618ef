package conversion

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
)

func settle(t testing.TB, tr *Tracker) int {
	t.Helper()
	n, err := tr.Settle(context.Background())
	if err != nil {
		t.Fatalf("Settle: %v", err)
	}
	return n
}

func wantReports(t testing.TB, got []report, want ...report) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("reports %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].umid != want[i].umid || got[i].success != want[i].success || !got[i].at.Equal(want[i].at) {
			t.Fatalf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestVerifiedSMSOneSuccessReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		tr := r.tracker(testConfig(Record))
		h := tr.Handler(auth())
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))

		r.clock.Set(aliceVerified.Add(2 * time.Second)) // Okta delivers a couple of seconds later
		mustPost(t, h, fixture(t, "reconstructed-auth-via-mfa-sms-success.json"))
		want := report{umid: "umid-alice", success: true, at: aliceVerified}
		wantReports(t, r.rep.delivered(), want)

		// Redelivered (inside a batch), settled again, expired, past 15
		// minutes: still one report.
		mustPost(t, h, fixture(t, "reconstructed-batch-mixed-with-redelivery.json"))
		settle(t, tr)
		r.clock.Set(aliceExpires.Add(2 * time.Minute))
		settle(t, tr)
		r.clock.Set(aliceSent.Add(20 * time.Minute))
		settle(t, tr)
		wantReports(t, r.rep.attempts(), want)
		if st := logStats(t, r.logs); st.Verified != 1 || st.Duplicates != 1 || st.Reports != 1 || st.Settled != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestExpiredSMSOneFailureReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		tr := r.tracker(testConfig(Record))
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))

		// Up to otpExpires + grace (one minute) nothing is reported: a
		// verification may still be on its way.
		for _, at := range []time.Duration{time.Minute, 5 * time.Minute, 6*time.Minute - time.Millisecond} {
			r.clock.Set(aliceSent.Add(at))
			settle(t, tr)
			if got := r.rep.attempts(); len(got) != 0 {
				t.Fatalf("at +%v: reported %+v before expiry + grace", at, got)
			}
		}
		r.clock.Set(aliceSent.Add(6 * time.Minute))
		if n := settle(t, tr); n != 2 {
			t.Fatalf("Settle did %d, want 2 (one settled, one reported)", n)
		}
		want := report{umid: "umid-alice", success: false} // no timestamp: nothing happened
		wantReports(t, r.rep.delivered(), want)
		for _, at := range []time.Duration{7 * time.Minute, 14 * time.Minute, time.Hour} {
			r.clock.Set(aliceSent.Add(at))
			settle(t, tr)
		}
		wantReports(t, r.rep.attempts(), want)
		// No transactionId: joined with the hook's line, the prefix and
		// the last two digits would leave two digits of the number unknown.
		l := lastLine(t, r.logs, msgSettled)
		if l["verified"] != false || l["country"] != "US" || l["prefix"] != "+14155**" || l["channel"] != "sms" || l["transactionId"] != nil {
			t.Fatalf("settled line %v", l)
		}
		if st := logStats(t, r.logs); st.Settled != 1 || st.Reports != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestNoReport(t *testing.T) {
	cases := []struct {
		name     string
		send     Send
		feedback bool
	}{
		{"voice: no feedback API", Send{UserID: aliceID, Channel: "voice", Country: "US", TxID: "session-1", SentAt: aliceSent}, true},
		{"PENDING: no umid", Send{UserID: aliceID, Channel: "sms", Country: "US", SentAt: aliceSent}, true},
		{"feedback off", smsTo(aliceID, "umid-1", aliceSent, "US", "+1415555"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				r := newRig(t, b, aliceSent)
				cfg := testConfig(Record)
				cfg.Feedback = tc.feedback
				tr := r.tracker(cfg)
				tr.Sent(t.Context(), tc.send)
				// One verified (if the channel matches), then one more send that expires.
				factor := "SMS_FACTOR"
				if tc.send.Channel == "voice" {
					factor = "CALL_FACTOR"
				}
				r.clock.Set(aliceVerified)
				mustPost(t, tr.Handler(auth()), successEvent(newUUID(), aliceID, factor, aliceVerified))
				s2 := tc.send
				s2.SentAt = aliceVerified.Add(time.Minute)
				tr.Sent(t.Context(), s2)
				r.clock.Set(aliceSent.Add(time.Hour))
				settle(t, tr)
				if got := r.rep.attempts(); len(got) != 0 {
					t.Fatalf("reported %+v", got)
				}
				// Still measured: one verified, one settled unverified.
				if st := logStats(t, r.logs); st.Verified != 1 || st.Settled != 1 {
					t.Fatalf("stats %+v", st)
				}
			})
		})
	}
}

func TestFailingReporterRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		r.rep.fail = func(n int, _ report) error {
			if n <= 2 {
				return errUnavailable
			}
			return nil
		}
		tr := r.tracker(testConfig(Record))
		h := tr.Handler(auth())
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		r.clock.Set(aliceVerified)
		mustPost(t, h, fixture(t, "reconstructed-auth-via-mfa-sms-success.json")) // attempt 1 fails
		if got := r.rep.attempts(); len(got) != 1 || len(r.rep.delivered()) != 0 {
			t.Fatalf("after the POST: attempts %+v", got)
		}
		// Before the backoff (5 s) nothing is retried, however often
		// Settle runs (another POST, the loop, another instance).
		r.clock.Advance(4 * time.Second)
		settle(t, tr)
		if n := len(r.rep.attempts()); n != 1 {
			t.Fatalf("retried within the backoff: %d attempts", n)
		}
		r.clock.Advance(time.Second)
		settle(t, tr) // attempt 2 fails; next in 20 s
		r.clock.Advance(19 * time.Second)
		settle(t, tr)
		if n := len(r.rep.attempts()); n != 2 {
			t.Fatalf("%d attempts, want 2", n)
		}
		r.clock.Advance(time.Second)
		settle(t, tr) // attempt 3 succeeds
		for range 3 {
			r.clock.Advance(time.Minute)
			settle(t, tr)
		}
		wantReports(t, r.rep.delivered(), report{umid: "umid-alice", success: true, at: aliceVerified})
		if n := len(r.rep.attempts()); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
		if n := len(logLines(t, r.logs, msgFeedbackFailed)); n != 2 {
			t.Fatalf("%d failure warnings, want 2", n)
		}
		if st := logStats(t, r.logs); st.Reports != 1 || st.ReportFailures != 2 || st.ReportsDropped != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestReportDeadline: 8x8 takes feedback only within 15 minutes of the
// send; a report that cannot go out in time is dropped and counted.
func TestReportDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		r.rep.fail = func(int, report) error { return errUnavailable }
		tr := r.tracker(testConfig(Record))
		tr.Sent(t.Context(), smsTo(aliceID, "umid-down", aliceSent, "US", "+1415555"))
		// A code valid 14 minutes: its failure is due after 8x8's limit.
		long := smsTo(carolID, "umid-late", aliceSent, "GB", "+4477009")
		long.Expires = aliceSent.Add(14 * time.Minute)
		tr.Sent(t.Context(), long)
		for at := 6 * time.Minute; at <= 20*time.Minute; at += 10 * time.Second {
			r.clock.Set(aliceSent.Add(at))
			settle(t, tr)
		}
		for _, a := range r.rep.attempts() {
			if a.umid == "umid-late" {
				t.Fatalf("a report past 8x8's 15 minutes was attempted: %+v", a)
			}
		}
		if n := len(r.rep.attempts()); n < 3 || n > 8 {
			t.Fatalf("%d attempts for umid-down, want a few (backoff 5 s, 20 s, 80 s, 2 min)", n)
		}
		if st := logStats(t, r.logs); st.ReportsDropped != 2 || st.Reports != 0 {
			t.Fatalf("stats %+v, want both reports dropped", st)
		}
		if n := len(logLines(t, r.logs, msgFeedbackDropped)); n != 2 {
			t.Fatalf("%d drop warnings, want 2", n)
		}
	})
}

// TestSettleBudgetReleasesReports: reports not started when Settle's ctx
// ends are released, not lost, and go out at the next Settle.
func TestSettleBudgetReleasesReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		tr := r.tracker(testConfig(Record))
		ctx, cancel := context.WithCancel(t.Context())
		const n = 20
		var calls atomic.Int32
		r.rep.fail = func(int, report) error {
			if calls.Add(1) == 1 {
				cancel() // the POST's budget runs out during the first report
				return context.Canceled
			}
			return nil
		}
		for i := range n {
			tr.Sent(t.Context(), smsTo("00uUSER"+strconv.Itoa(i), "umid-"+strconv.Itoa(i), aliceSent, "US", "+1415555"))
		}
		r.clock.Set(aliceSent.Add(6 * time.Minute))
		if _, err := tr.Settle(ctx); err == nil {
			t.Fatal("Settle with its ctx spent reported no error")
		}
		r.clock.Advance(10 * time.Second)
		settle(t, tr)
		got := map[string]int{}
		for _, rep := range r.rep.delivered() {
			got[rep.umid]++
		}
		if len(got) != n {
			t.Fatalf("%d umids reported, want %d: %v", len(got), n, got)
		}
		for u, c := range got {
			if c != 1 {
				t.Fatalf("%s reported %d times", u, c)
			}
		}
	})
}

// TestJoin: a verification matches the user's latest unverified code on
// the same channel whose validity (SentAt … otpExpires + grace, with 5 s
// for clock skew) covers Okta's published time.
func TestJoin(t *testing.T) {
	settleAt := aliceExpires.Add(time.Minute)
	phoneOnly := func(uuid, user string, at time.Time) []byte {
		return eventBody(`{"uuid":"` + uuid + `","published":"` + at.Format(time.RFC3339Nano) +
			`","eventType":"user.authentication.auth_via_mfa","actor":{"id":"` + user +
			`"},"outcome":{"result":"SUCCESS"},"target":[{"type":"AuthenticatorEnrollment","displayName":"Phone"}]}`)
	}
	cases := []struct {
		name  string
		body  []byte
		match bool
	}{
		{"in the middle", successEvent(newUUID(), aliceID, "SMS_FACTOR", aliceVerified), true},
		{"at expiry + grace", successEvent(newUUID(), aliceID, "SMS_FACTOR", settleAt), true},
		{"after expiry + grace", successEvent(newUUID(), aliceID, "SMS_FACTOR", settleAt.Add(time.Millisecond)), false},
		{"Okta's clock 4 s behind", successEvent(newUUID(), aliceID, "SMS_FACTOR", aliceSent.Add(-4*time.Second)), true},
		{"before the send", successEvent(newUUID(), aliceID, "SMS_FACTOR", aliceSent.Add(-6*time.Second)), false},
		{"another user", successEvent(newUUID(), carolID, "SMS_FACTOR", aliceVerified), false},
		{"the voice factor", successEvent(newUUID(), aliceID, "CALL_FACTOR", aliceVerified), false},
		{"phone, channel unknown", phoneOnly(newUUID(), aliceID, aliceVerified), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				r := newRig(t, b, aliceSent)
				tr := r.tracker(testConfig(Record))
				tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
				r.clock.Set(aliceVerified)
				mustPost(t, tr.Handler(auth()), tc.body)
				r.clock.Set(settleAt.Add(time.Second))
				settle(t, tr)
				st := logStats(t, r.logs)
				got := r.rep.delivered()
				if tc.match != (st.Verified == 1) || len(got) != 1 || got[0].success != tc.match {
					t.Fatalf("stats %+v, reports %+v; want match=%v", st, got, tc.match)
				}
			})
		})
	}
}

// TestRunSettlesInBackground: Run settles due work by itself (the
// deployment's always-allocated CPU), and stops with its ctx.
func TestRunSettlesInBackground(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		r.rep.seen = make(chan report, 1)
		tr := r.tracker(testConfig(Record))
		tr.settleEvery = 10 * time.Millisecond
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		r.clock.Set(aliceSent.Add(6 * time.Minute))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			tr.Run(ctx)
			close(done)
		}()
		select {
		case rep := <-r.rep.seen:
			if rep.umid != "umid-alice" || rep.success {
				t.Fatalf("report %+v", rep)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not settle the expired code")
		}
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its ctx ended")
		}
	})
}

// TestCloseSettlesDueWork: at shutdown, Close reports what is due.
func TestCloseSettlesDueWork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		tr := r.tracker(testConfig(Record))
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		tr.Sent(t.Context(), smsTo(carolID, "umid-carol", aliceSent.Add(2*time.Minute), "GB", "+4477009"))
		r.clock.Set(aliceSent.Add(6 * time.Minute))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := tr.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// Alice's code is due; Carol's still has two minutes to go.
		wantReports(t, r.rep.delivered(), report{umid: "umid-alice"})
	})
}

// TestFailureReportsWaitForTheEventHook: a failure report says nobody
// entered the code, which only Okta's event hook can tell. While it is
// silent (never subscribed, deactivated: no authenticated delivery in the
// window) a verified code would look unverified, so failure reports wait,
// and are dropped, not sent, if the silence outlasts 8x8's 15 minutes.
// Deliveries without verifications (a pump) are not silence.
func TestFailureReportsWaitForTheEventHook(t *testing.T) {
	cases := []struct {
		name  string
		heard bool          // an empty delivery before the send
		post  time.Duration // an empty delivery this long after the send (0: none)
		sent  bool          // the failure report goes out
	}{
		{"silent throughout", false, 0, false},
		{"heard while the report waits", false, 7 * time.Minute, true},
		{"deliveries but no verification: a pump", true, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				r := newRig(t, b, aliceSent)
				tr := r.deafTracker(testConfig(Record))
				if tc.heard {
					mustPost(t, tr.Handler(auth()), eventBody())
				}
				tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
				if !tc.sent {
					tr.Sent(t.Context(), smsTo(carolID, "umid-carol", aliceSent, "GB", "+4477009"))
				}
				for at := 6 * time.Minute; at <= 16*time.Minute; at += 30 * time.Second {
					r.clock.Set(aliceSent.Add(at))
					if tc.post != 0 && at == tc.post {
						mustPost(t, tr.Handler(auth()), eventBody())
					}
					settle(t, tr)
				}
				got := r.rep.attempts()
				if tc.sent {
					wantReports(t, got, report{umid: "umid-alice", success: false})
					// Waiting is not trying: the report went out at its
					// first attempt (a later failure backs off from 5 s).
					if l := lastLine(t, r.logs, msgFeedbackSent); num64(l, "attempt") != 1 {
						t.Fatalf("sent line %v, want attempt 1", l)
					}
					return
				}
				if len(got) != 0 {
					t.Fatalf("reports %+v sent while the event hook was silent", got)
				}
				// The first such drop is a WARNING, whatever the mode; the
				// rest within 15 minutes are INFO.
				levels := map[string]int{}
				for _, l := range logLines(t, r.logs, msgFeedbackDropped) {
					if l["reason"] != dropDeaf {
						t.Fatalf("drop line %v", l)
					}
					levels[l["level"].(string)]++
				}
				if levels["WARN"] != 1 || levels["INFO"] != 1 {
					t.Fatalf("drop lines by level %v, want one WARN and one INFO", levels)
				}
				if st := logStats(t, r.logs); st.ReportsDropped != 2 || st.Reports != 0 {
					t.Fatalf("stats %+v", st)
				}
			})
		})
	}
}

// TestRefusedReportDropped: a report 8x8 refuses with a 4xx other than
// 429 would be refused again: it is tried once, then dropped and counted,
// not retried until 8x8's 15 minutes are up.
func TestRefusedReportDropped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		r.rep.fail = func(int, report) error {
			return &eightbyeight.Error{Kind: eightbyeight.Refused, HTTPStatus: 400}
		}
		tr := r.tracker(testConfig(Record))
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		for at := 6 * time.Minute; at <= 20*time.Minute; at += 10 * time.Second {
			r.clock.Set(aliceSent.Add(at))
			settle(t, tr)
		}
		if n := len(r.rep.attempts()); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
		if st := logStats(t, r.logs); st.ReportsDropped != 1 || st.Reports != 0 {
			t.Fatalf("stats %+v, want the report dropped", st)
		}
		if l := lastLine(t, r.logs, msgFeedbackDropped); l["reason"] != dropRefused {
			t.Fatalf("drop line %v, want reason %q", l, dropRefused)
		}
	})
}
