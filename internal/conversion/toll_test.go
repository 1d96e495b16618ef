package conversion

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sim plays the hook and Okta minute by minute: each attempt is Check,
// then Sent unless refused, as the hook does; Okta's events for the
// minute (its send events, when subscribed, and the codes entered) come
// in one POST; then Settle runs, as Run does.
type sim struct {
	r                  *rig
	tr                 *Tracker
	h                  http.Handler
	sendEvents, silent bool // Okta posts its send events; Okta posts nothing at all
	events             []string
	sent, refused      map[string]int // by tag
	seq                int
}

func newSim(r *rig, tr *Tracker, sendEvents bool) *sim {
	return &sim{r: r, tr: tr, h: tr.Handler(auth()), sendEvents: sendEvents,
		sent: map[string]int{}, refused: map[string]int{}}
}

// attempt asks for one SMS to a new user at number in country.
func (s *sim) attempt(tag, country, number string, verify bool) {
	s.seq++
	id := tag + strconv.Itoa(s.seq)
	if v := s.tr.Check(s.r.t.Context(), country, number[:len(number)-4]); v != nil && v.Refuse {
		s.refused[tag]++
		return
	}
	now := s.r.clock.Now()
	s.tr.Sent(s.r.t.Context(), Send{UserID: "00u" + id, Channel: "sms", Country: country, Prefix: number[:len(number)-4],
		Phone: number, TxID: "umid-" + id, SentAt: now, Expires: now.Add(5 * time.Minute)})
	s.sent[tag]++
	if s.sendEvents {
		s.events = append(s.events, sendEventJSON(newUUID(), typeSendSMS, number, now, "SUCCESS", ""))
	}
	if verify {
		s.events = append(s.events, eventJSON(newUUID(), "00u"+id, "SMS_FACTOR", "SUCCESS", now.Add(20*time.Second)))
	}
}

// minute delivers the minute's events and moves on a minute.
func (s *sim) minute() {
	if len(s.events) > 0 && !s.silent {
		mustPost(s.r.t, s.h, eventBody(s.events...))
	}
	s.events = nil
	s.r.clock.Advance(time.Minute)
	settle(s.r.t, s.tr)
}

// healthy sends perHour codes spread over US, GB and DE, four in five
// entered, for the given minutes.
func (s *sim) healthy(perHour, minutes int) {
	for m := range minutes {
		for i := m * perHour / 60; i < (m+1)*perHour/60; i++ {
			country, number := [3]string{"US", "GB", "DE"}[i%3], [3]string{"+1415555", "+4477009", "+4915112"}[i%3]
			s.attempt("ok", country, number+strconv.Itoa(1000+i%9000), i%5 != 4)
		}
		s.minute()
	}
}

func sendEventJSON(uuid, typ, number string, published time.Time, result, debug string) string {
	return `{"uuid":"` + uuid + `","published":"` + published.Format(time.RFC3339Nano) + `","eventType":"` + typ +
		`","actor":{"id":"00uSOMEONE","type":"User"},"outcome":{"result":"` + result + `"},` +
		`"debugContext":{"debugData":{"phoneNumber":"` + number + `"` + debug + `}}}`
}

func failureReports(r *rig) int {
	n := 0
	for _, rep := range r.rep.attempts() {
		if !rep.success {
			n++
		}
	}
	return n
}

// TestNightPump: a day of healthy traffic, then a pump at night when
// nobody signs in. With Okta's send events arriving, enforcement does not
// pause: the pump is refused within CONVERSION_MIN_SENDS + 5 settled codes
// and every settled code gets its failure report. Without any delivery,
// today's safety holds: no refusal, no failure report, a WARNING.
func TestNightPump(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sendEvents bool
	}{{"send events arrive", true}, {"nothing delivered at night", false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, memoryBackend, t0)
			tr := r.tracker(testConfig(Enforce))
			s := newSim(r, tr, true)
			s.healthy(60, 60)
			r.clock.Advance(8 * time.Hour) // night: the day has left the window
			s.sendEvents, s.silent = tc.sendEvents, !tc.sendEvents
			failuresByDay, settledAtRefusal := failureReports(r), -1
			for m := range 60 {
				s.attempt("pump", "LV", "+3712000"+strconv.Itoa(1000+m), false)
				if s.refused["pump"] == 1 && settledAtRefusal < 0 {
					settledAtRefusal = pumpSettled(t, r)
				}
				s.minute()
			}
			for range 20 {
				s.minute()
			}
			night := failureReports(r) - failuresByDay
			t.Logf("pump: %d sent, %d refused, %d settled at the first refusal, %d failure reports",
				s.sent["pump"], s.refused["pump"], settledAtRefusal, night)
			if !tc.sendEvents {
				if s.refused["pump"] != 0 || night != 0 || len(logLines(t, r.logs, msgPaused)) == 0 {
					t.Fatalf("with nothing delivered: %d refused, %d failure reports, want 0, 0 and a WARNING",
						s.refused["pump"], night)
				}
				return
			}
			if settledAtRefusal < 0 || settledAtRefusal > tr.cfg.MinSends+5 {
				t.Fatalf("pump refused after %d settled codes, want within %d", settledAtRefusal, tr.cfg.MinSends+5)
			}
			if night != s.sent["pump"] {
				t.Fatalf("%d failure reports for %d pumped codes", night, s.sent["pump"])
			}
		})
	}
}

// pumpSettled counts the Latvian codes settled so far.
func pumpSettled(t *testing.T, r *rig) int {
	n := 0
	for _, l := range logLines(t, r.logs, msgSettled) {
		if l["country"] == "LV" {
			n++
		}
	}
	return n
}

var ringCountries = strings.Fields("AD AE AF AG AL AM AO AR AT AZ BA BB BD BE BF BG BH BI BJ BN BO BR BS BT BW " +
	"BY BZ CD CF CG CI CL CM CO CR CU CV CY CZ DJ DM DO DZ EC EE EG ER ET FJ GA")

// TestManyCountryRing: a ring sends 19 codes an hour to each of 50
// countries that never converted: below CONVERSION_MIN_SENDS everywhere,
// it is held to the never-converted budget, while the countries with
// history keep delivering. A fresh deploy in enforce passes a healthy
// company's first hour with no refusal, and stops a ring in its first.
func TestManyCountryRing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history bool // a day of healthy traffic before
		healthy int  // healthy codes an hour during the ring's hour
		ring    int  // ring codes an hour per country
	}{
		{"ring beside countries with history", true, 60, 19},
		{"fresh deploy, healthy company", false, 200, 0},
		{"fresh deploy, ring", false, 0, 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, memoryBackend, t0)
			tr := r.tracker(testConfig(Enforce))
			s := newSim(r, tr, true)
			if tc.history {
				s.healthy(60, 60)
				r.clock.Advance(20 * time.Hour)
			}
			for m := range 60 {
				for i := m * tc.ring * 50 / 60; i < (m+1)*tc.ring*50/60; i++ {
					s.attempt("ring", ringCountries[i%50], "+99"+strconv.Itoa(100000+i), false)
				}
				for i := m * tc.healthy / 60; i < (m+1)*tc.healthy/60; i++ {
					country, number := [3]string{"US", "GB", "DE"}[i%3], [3]string{"+1415555", "+4477009", "+4915112"}[i%3]
					s.attempt("ok", country, number+strconv.Itoa(1000+i%9000), i%5 != 4)
				}
				s.minute()
			}
			t.Logf("healthy: %d sent, %d refused; ring: %d sent, %d refused", s.sent["ok"], s.refused["ok"], s.sent["ring"], s.refused["ring"])
			if s.refused["ok"] != 0 {
				t.Fatalf("%d healthy codes refused", s.refused["ok"])
			}
			if tc.ring > 0 && s.sent["ring"] > 30 {
				t.Fatalf("the ring got %d codes through in its hour, want at most the budget's 30", s.sent["ring"])
			}
		})
	}
}

// TestSendEvents: Okta's send events in both shapes, with failover flags
// as booleans or strings, DENYs, no number, an unknown country. None
// counts as a verification; each failover and each DENY is one line,
// with the country and channel, never the number.
func TestSendEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		tr := r.tracker(testConfig(Record))
		tr.Sent(t.Context(), Send{UserID: aliceID, Channel: "sms", Country: "US", Prefix: "+1415555", Phone: "+14155550123",
			TxID: "umid-alice", SentAt: aliceSent, Expires: aliceExpires})
		at := aliceSent.Add(time.Second)
		failover := sendEventJSON(newUUID(), typeSendSMS, "+14155550123", at, "SUCCESS", `,"isSmsHookFailover":true`)
		events := []string{
			failover,
			sendEventJSON(newUUID(), typeSendSMS, "+37120000101", at, "SUCCESS", `,"isSmsHookFailover":"true"`),
			sendEventJSON(newUUID(), typeSendCall, "+447911123456", at, "SUCCESS", `,"isCallHookFailover":"TRUE"`),
			sendEventJSON(newUUID(), typeSendSMS, "+447911123456", at, "SUCCESS", `,"isSmsHookFailover":"false"`),
			sendEventJSON(newUUID(), typeSendSMS, "", at, "SUCCESS", `,"isSmsHookFailover":true`),      // no number
			sendEventJSON(newUUID(), typeSendSMS, "+999123456789", at, "DENY", ""),                     // unknown country
			sendEventJSON(newUUID(), typeSendCall, "+14155550123", at, "DENY", `,"factor":"nonsense"`), // our number, denied
			`{"uuid":"` + newUUID() + `","published":"` + at.Format(time.RFC3339Nano) + `","eventType":"` + typeSendCall +
				`","outcome":{"result":"SUCCESS"},"target":[{"type":"MobilePhone","alternateId":"+14155550142"}],` +
				`"debugContext":{"debugData":{"isCallHookFailover":true}}}`, // Classic
		}
		h := tr.Handler(auth())
		mustPost(t, h, eventBody(events...))
		mustPost(t, h, eventBody(failover)) // redelivered: counted once
		mustPost(t, h, fixture(t, "reconstructed-oie-send-phone-verification-sms.json"))
		mustPost(t, h, fixture(t, "reconstructed-classic-send-phone-verification-call.json"))

		if st := logStats(t, r.logs); st.Verified != 0 || st.Late != 0 {
			t.Fatalf("send events counted as verifications: %+v", st)
		}
		fo := logLines(t, r.logs, msgFailover)
		got := map[string]int{}
		for _, l := range fo {
			got[l["country"].(string)+"/"+l["channel"].(string)+"/"+l["ourAnswer"].(string)]++
		}
		want := map[string]int{"US/sms/sent": 1, "LV/sms/unknown": 1, "GG/voice/unknown": 1, "unknown/sms/unknown": 1, "US/voice/unknown": 1}
		if len(fo) != 5 || len(got) != len(want) {
			t.Fatalf("failover lines %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("failover lines %v, want %v", got, want)
			}
		}
		if fo[0]["transactionId"] != "umid-alice" {
			t.Fatalf("failover of our send %v, want our transaction id", fo[0])
		}
		if n := len(logLines(t, r.logs, msgDenied)); n != 3 {
			t.Fatalf("%d denied lines, want 3", n)
		}
		for _, leak := range []string{"4155550123", "20000101", "7911123456", "999123456789", "4155550142"} {
			if strings.Contains(r.logs.String(), leak) {
				t.Fatalf("a log line holds the number %s", leak)
			}
		}
		// Alice's code is still pending: a send event is no verification.
		r.clock.Set(aliceSent.Add(7 * time.Minute))
		settle(t, tr)
		wantReports(t, r.rep.attempts(), report{umid: "umid-alice"})
	})
}
