package conversion

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
)

func TestVerificationGET(t *testing.T) {
	tr := newRig(t, memoryBackend, aliceSent).tracker(testConfig(Record))
	srv := httptest.NewServer(tr.Handler(auth()))
	t.Cleanup(srv.Close)
	cases := []struct {
		name string
		// raw header lines, as they go over the wire
		headers  string
		wantCode int
		wantBody string // exact, for 200
	}{
		{"okta's lower-case header, no auth", "x-okta-verification-challenge: ExAmPlEcHaLlEnGe0123456789abcdefXYZ\r\n",
			200, `{"verification":"ExAmPlEcHaLlEnGe0123456789abcdefXYZ"}`},
		{"a proxy's canonical header, with auth", "X-Okta-Verification-Challenge: abc\r\nAuthorization: " + secret + "\r\n",
			200, `{"verification":"abc"}`},
		{"upper case", "X-OKTA-VERIFICATION-CHALLENGE: abc\r\n", 200, `{"verification":"abc"}`},
		{"quotes and markup are encoded, not echoed raw", `x-okta-verification-challenge: a"b\c<script>` + "\r\n",
			200, `{"verification":"a\"b\\c\u003cscript\u003e"}`},
		{"no challenge header", "Authorization: " + secret + "\r\n", 400, ""},
		{"empty challenge", "x-okta-verification-challenge: \r\n", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := rawGET(t, srv.Listener.Addr().String(), tc.headers)
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d (%s)", code, tc.wantCode, body)
			}
			if ctype != "application/json" {
				t.Fatalf("Content-Type %q", ctype)
			}
			if tc.wantCode != 200 {
				if strings.Contains(body, "verification\"") {
					t.Fatalf("a refused GET echoed something: %s", body)
				}
				return
			}
			if strings.TrimSpace(body) != tc.wantBody {
				t.Fatalf("body %s, want %s", body, tc.wantBody)
			}
			var v struct{ Verification string }
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
		})
	}
}

// Anyone may send the verification GET: without the secret its log lines
// are sampled (5 a minute, then a count), so a flood of GETs cannot flood
// the logs; Okta's own, with the secret, are each logged.
func TestVerificationGETLogsAreSampled(t *testing.T) {
	r := newRig(t, memoryBackend, aliceSent)
	cfg := testConfig(Record)
	cfg.Refusals = logging.NewSampler(5, time.Minute, r.clock.Now)
	h := r.tracker(cfg).Handler(auth())
	get := func(hdr http.Header) {
		req := httptest.NewRequest(http.MethodGet, "/okta/events", nil)
		req.Header = hdr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d", w.Code)
		}
	}
	for range 1000 {
		get(http.Header{"X-Okta-Verification-Challenge": {"abc"}})
	}
	for range 3 {
		get(http.Header{"X-Okta-Verification-Challenge": {"abc"}, "Authorization": {secret}})
	}
	lines := logLines(t, r.logs, msgHookVerified)
	var anon, authed int
	for _, l := range lines {
		if l["authenticated"] == true {
			authed++
		} else {
			anon++
		}
	}
	if anon != 5 || authed != 3 {
		t.Errorf("%d lines without the secret for 1000 GETs (want 5), %d with it (want 3)", anon, authed)
	}
}

// rawGET sends a GET with header lines exactly as given (net/http's client
// would canonicalise the names).
func rawGET(t *testing.T, addr, headers string) (int, string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /okta/events HTTP/1.1\r\nHost: hooks.example.com\r\nAccept: application/json\r\n"+headers+"Connection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestPOSTFailsClosed(t *testing.T) {
	body := fixture(t, "reconstructed-auth-via-mfa-sms-success.json")
	cases := []struct {
		name   string
		auth   *okta.HeaderAuth
		header map[string]string
		want   int
		reason string
	}{
		{"no secret configured (nil auth)", nil, map[string]string{"Authorization": secret}, 401, "no event hook secret configured"},
		{"no secret configured (typed nil)", okta.NewHeaderAuth("Authorization", ""), map[string]string{"Authorization": ""}, 401, "no event hook secret configured"},
		{"no header", auth(), nil, 401, "authentication header does not match"},
		{"wrong secret", auth(), map[string]string{"Authorization": secret + "x"}, 401, "authentication header does not match"},
		{"secret in another header", auth(), map[string]string{"X-Okta-Secret": secret}, 401, "authentication header does not match"},
		{"the challenge header is no way in", auth(), map[string]string{"X-Okta-Verification-Challenge": "abc"}, 401, "authentication header does not match"},
		{"right secret", auth(), map[string]string{"Authorization": secret}, 200, ""},
		{"right secret, custom header name", okta.NewHeaderAuth("X-Hook-Key", secret), map[string]string{"x-hook-key": secret}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, memoryBackend, aliceSent)
			tr := r.tracker(testConfig(Record))
			tr.Sent(t.Context(), smsTo(aliceID, "umid-1", aliceSent, "US", "+1415555"))
			req := httptest.NewRequest(http.MethodPost, "/okta/events", bytes.NewReader(body))
			// A caller's own 900 KiB, then the address Google's front end saw.
			req.Header.Set("X-Forwarded-For", strings.Repeat("x", 900<<10)+", 198.51.100.7")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			tr.Handler(tc.auth).ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			st := logStats(t, r.logs)
			if tc.want == 401 {
				if st.Verified != 0 || st.Unmatched != 0 || len(r.rep.attempts()) != 0 {
					t.Fatalf("a refused POST was applied: %+v", st)
				}
				l := lastLine(t, r.logs, msgRefused)
				if l["reason"] != tc.reason {
					t.Fatalf("refusal reason %q, want %q", l["reason"], tc.reason)
				}
				if ip := l["httpRequest"].(map[string]any)["RemoteIP"]; ip != "198.51.100.7" || len(r.logs.String()) > 4096 {
					t.Fatalf("refusal line carries remoteIp %v in %d bytes of log, want the front end's address", ip, len(r.logs.String()))
				}
				if strings.Contains(r.logs.String(), secret) {
					t.Fatal("the secret reached the log")
				}
				return
			}
			if st.Verified != 1 {
				t.Fatalf("accepted POST not applied: %+v", st)
			}
		})
	}
}

func TestPOSTBodies(t *testing.T) {
	cases := []struct {
		name   string
		body   []byte
		want   int
		reason string
	}{
		{"not JSON", []byte(`{"data":{"events":[`), 400, "body is not JSON"},
		{"HTML", []byte(`<html>`), 400, "body is not JSON"},
		{"JSON, not a delivery", []byte(`{"hello":"world"}`), 400, "body is not an event hook delivery"},
		{"data is a string", []byte(`{"data":"x"}`), 400, "body is not an event hook delivery"},
		{"events is an object", []byte(`{"data":{"events":{}}}`), 400, "body is not an event hook delivery"},
		{"empty batch", []byte(`{"data":{"events":[]}}`), 200, ""},
		{"over 1 MiB", append(append([]byte(`{"data":{"events":[]},"pad":"`), bytes.Repeat([]byte("a"), maxBody)...), '"', '}'), 413, "body over 1 MiB"},
		{"just under 1 MiB", append(append([]byte(`{"data":{"events":[]},"pad":"`), bytes.Repeat([]byte("a"), maxBody-40)...), '"', '}'), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, memoryBackend, aliceSent)
			w := post(t, r.tracker(testConfig(Record)).Handler(auth()), tc.body)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.reason != "" {
				if got := lastLine(t, r.logs, msgNotUnderstood)["reason"]; got != tc.reason {
					t.Fatalf("reason %q, want %q", got, tc.reason)
				}
			}
		})
	}
}

func TestMethods(t *testing.T) {
	h := newRig(t, memoryBackend, aliceSent).tracker(testConfig(Record)).Handler(auth())
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPatch} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(m, "/okta/events", nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, POST" {
			t.Fatalf("%s: %d Allow=%q", m, w.Code, w.Header().Get("Allow"))
		}
	}
}

// TestFixtureDeliveries plays the shared fixtures in order, as Okta would
// deliver them, after the hook sent the codes they verify.
func TestFixtureDeliveries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		tr := r.tracker(testConfig(Record))
		h := tr.Handler(auth())
		ctx := t.Context()
		tr.Sent(ctx, smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		tr.Sent(ctx, smsTo(carolID, "umid-carol", aliceSent.Add(5*time.Second), "GB", "+4477009"))
		tr.Sent(ctx, Send{UserID: bobID, Channel: "voice", Country: "FR", Prefix: "+3361234", TxID: "session-bob",
			SentAt: time.Date(2026, 3, 14, 10, 1, 20, 0, time.UTC)})
		tr.Sent(ctx, Send{UserID: frankID, Channel: "sms", Country: "CA", Prefix: "+1416555", TxID: "umid-frank",
			SentAt: time.Date(2026, 3, 14, 13, 44, 50, 0, time.UTC)})

		type want struct {
			events, relevant, verified, unmatched, failed, abandoned, duplicates, ignored, malformed int
		}
		steps := []struct {
			file string
			want want
		}{
			{"official-docs-envelope-user-session-start.json", want{events: 1, ignored: 1}},
			// Send events: none of them verifies anything.
			{"reconstructed-oie-send-phone-verification-sms.json", want{events: 2, relevant: 2}},
			{"reconstructed-classic-send-phone-verification-call.json", want{events: 1, relevant: 1}},
			{"reconstructed-auth-via-mfa-sms-success.json", want{events: 1, relevant: 1, verified: 1}},
			// Carol's recovery code verified; reset_password and the Okta
			// Verify push ignored; Mallory's abandoned SMS; Alice's event
			// again, byte for byte, under a new envelope eventId.
			{"reconstructed-batch-mixed-with-redelivery.json", want{events: 5, relevant: 3, verified: 1, abandoned: 1, duplicates: 1, ignored: 2}},
			{"reconstructed-auth-via-mfa-call-failure.json", want{events: 1, relevant: 1, failed: 1}},
			{"reconstructed-user-mfa-factor-activate-sms.json", want{events: 1, relevant: 1, verified: 1}},
			// The whole batch again (Okta's retry after a timeout).
			{"reconstructed-batch-mixed-with-redelivery.json", want{events: 5, relevant: 3, abandoned: 1, duplicates: 2, ignored: 2}},
		}
		for _, s := range steps {
			mustPost(t, h, fixture(t, s.file))
			l := lastLine(t, r.logs, msgDelivery)
			got := want{num64(l, "events"), num64(l, "relevant"), num64(l, "verified"), num64(l, "unmatched"),
				num64(l, "failed"), num64(l, "abandoned"), num64(l, "duplicates"), num64(l, "ignored"), num64(l, "malformed")}
			if got != s.want {
				t.Fatalf("%s: counts %+v, want %+v", s.file, got, s.want)
			}
		}
		// Two SMS verified in time: one success report each, stamped with
		// Okta's verification time. Frank's came at 13:45, long after the
		// clock here (09:26): its report waits for nothing, the Settle at
		// the end of the POST sent it.
		got := r.rep.delivered()
		wantReports := map[string]time.Time{
			"umid-alice": aliceVerified,
			"umid-carol": time.Date(2026, 3, 14, 9, 27, 44, 441_000_000, time.UTC),
			"umid-frank": time.Date(2026, 3, 14, 13, 45, 21, 880_000_000, time.UTC),
		}
		if len(got) != len(wantReports) {
			t.Fatalf("reports %+v, want one per verified SMS", got)
		}
		for _, rep := range got {
			if at, ok := wantReports[rep.umid]; !ok || !rep.success || !rep.at.Equal(at) {
				t.Fatalf("report %+v, want success at %v", rep, at)
			}
		}
		if n := len(logLines(t, r.logs, msgSettled)); n != 3 {
			t.Fatalf("%d %q lines, want 3", n, msgSettled)
		}
		for _, leak := range []string{aliceID, carolID, "alice.martin@example.com", "+14155550123", "4155550123", secret} {
			if strings.Contains(r.logs.String(), leak) {
				t.Fatalf("log holds %q", leak)
			}
		}
	})
}

// TestOddEvents: nothing inside an event fails the delivery. Each case is
// one event in a batch beside a good one.
func TestOddEvents(t *testing.T) {
	good := eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified)
	cases := []struct {
		name      string
		event     string
		malformed int
		ignored   int
		relevant  int
	}{
		{"actor.id is a number", strings.Replace(eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified), `"`+aliceID+`"`, `12345`, 1), 1, 0, 1},
		{"uuid missing", strings.Replace(eventJSON("", aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified), `"uuid":"",`, ``, 1), 1, 0, 1},
		{"published null", strings.Replace(eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified), `"published":"`+aliceVerified.Format(time.RFC3339Nano)+`"`, `"published":null`, 1), 1, 0, 1},
		{"published not a time", strings.Replace(eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified), aliceVerified.Format(time.RFC3339Nano), "yesterday", 1), 1, 0, 1},
		{"outcome.result is an object", strings.Replace(eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified), `"result":"SUCCESS"`, `"result":{"v":1}`, 1), 1, 0, 1},
		{"no factor anywhere", `{"uuid":"` + newUUID() + `","eventType":"user.authentication.auth_via_mfa","outcome":{"result":"SUCCESS"},"actor":{"id":"x"}}`, 1, 0, 0},
		{"event is a string", `"user.authentication.auth_via_mfa"`, 1, 0, 0},
		{"event is null", `null`, 1, 0, 0},
		{"eventType is a number", `{"eventType":7}`, 1, 0, 0},
		{"irrelevant event with an odd actor", `{"uuid":"x","eventType":"user.session.start","actor":"admin"}`, 0, 1, 0},
		{"empty object", `{}`, 1, 0, 0},
		{"nulls everywhere", `{"uuid":null,"published":null,"eventType":"user.authentication.auth_via_mfa","actor":null,"outcome":null,"target":null,"debugContext":null}`, 1, 0, 0},
		{"debugData is a string (the target says Phone)", `{"uuid":"` + newUUID() + `","published":"2026-03-14T09:27:50Z","eventType":"user.authentication.auth_via_mfa","actor":{"id":"` + bobID + `"},"outcome":{"result":"SUCCESS"},"debugContext":{"debugData":"n/a"},"target":[{"type":"AuthenticatorEnrollment","displayName":"Phone","detailEntry":null}]}`, 1, 0, 1},
		{"targets of odd shapes (one says Phone)", `{"uuid":"` + newUUID() + `","published":"2026-03-14T09:27:50Z","eventType":"user.authentication.auth_via_mfa","actor":{"id":"` + bobID + `"},"outcome":{"result":"SUCCESS"},"target":[7,"x",null,{"type":"AuthenticatorEnrollment","displayName":"Phone","detailEntry":{"methodTypeUsed":5}}]}`, 1, 0, 1},
		{"factor is a number", strings.Replace(eventJSON(newUUID(), bobID, "SMS_FACTOR", "SUCCESS", aliceVerified), `"factor":"SMS_FACTOR"`, `"factor":42`, 1), 0, 1, 0},
		{"non-phone factor success", eventJSON(newUUID(), aliceID, "OKTA_VERIFY_PUSH", "SUCCESS", aliceVerified), 0, 1, 0},
		{"reason names the factor", `{"uuid":"` + newUUID() + `","published":"2026-03-14T09:27:50Z","eventType":"user.mfa.factor.activate","actor":{"id":"` + bobID + `"},"outcome":{"result":"SUCCESS","reason":"User set up CALL_FACTOR factor"}}`, 0, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, memoryBackend, aliceSent)
			tr := r.tracker(testConfig(Record))
			tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
			mustPost(t, tr.Handler(auth()), eventBody(tc.event, good))
			l := lastLine(t, r.logs, msgDelivery)
			if num64(l, "events") != 2 || num64(l, "verified") != 1 || num64(l, "malformed") != tc.malformed ||
				num64(l, "ignored") != tc.ignored || num64(l, "relevant") != tc.relevant+1 {
				t.Fatalf("summary %v; want malformed %d, ignored %d, relevant %d, the good event verified",
					l, tc.malformed, tc.ignored, tc.relevant+1)
			}
		})
	}
}

func TestFactorOf(t *testing.T) {
	cases := []struct {
		factor, reason, ttype, display, method string
		want                                   factorClass
	}{
		{factor: "SMS_FACTOR", want: factorSMS},
		{factor: "sms", want: factorSMS},
		{factor: "CALL_FACTOR", want: factorVoice},
		{factor: "call", want: factorVoice},
		{factor: "OKTA_VERIFY_PUSH", want: factorOther},
		{factor: "EMAIL_FACTOR", reason: "SMS_FACTOR", want: factorOther},
		{reason: "User set up SMS_FACTOR factor", want: factorSMS},
		{reason: "INVALID_CREDENTIALS", ttype: "AuthenticatorEnrollment", display: "Phone", method: "VOICE", want: factorVoice},
		{ttype: "AuthenticatorEnrollment", display: "Phone", method: "Voice call", want: factorVoice},
		{ttype: "AuthenticatorEnrollment", display: "phone", want: factorPhone},
		{ttype: "AuthenticatorEnrollment", display: "Okta Verify", method: "Get a push notification", want: factorOther},
		{ttype: "AppInstance", display: "Phone", want: factorUnknown},
		{want: factorUnknown},
	}
	for _, tc := range cases {
		ev := logEvent{}
		ev.DebugContext.DebugData.Factor = text(tc.factor)
		ev.Outcome.Reason = text(tc.reason)
		if tc.ttype != "" {
			tg := target{Type: text(tc.ttype), DisplayName: text(tc.display)}
			tg.DetailEntry.MethodTypeUsed = text(tc.method)
			ev.Target = []target{tg}
		}
		if got := factorOf(&ev); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc, got, tc.want)
		}
	}
}
