package conversion

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// benchBatch is an event hook POST of 100 events shaped like the shared
// fixtures (about 2.3 KiB each): 60 SMS verifications, 20 mistyped voice
// codes, 20 sign-ins (ignored). uuids are rewritten in place per
// iteration, so no event is a duplicate.
type benchBatch struct {
	body  []byte
	uuids []int // offsets of the 12-digit uuid tails
}

func newBenchBatch(users int) *benchBatch {
	pad := `"client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36","os":"Windows 10","browser":"CHROME"},"zone":"null","device":"Computer","id":null,"ipAddress":"203.0.113.45","geographicalContext":{"city":"San Francisco","state":"California","country":"United States","postalCode":"94105","geolocation":{"lat":37.7898,"lon":-122.3942}}},` +
		`"authenticationContext":{"authenticationProvider":"FACTOR_PROVIDER","credentialProvider":"OKTA_CREDENTIAL_PROVIDER","credentialType":null,"issuer":null,"interface":null,"authenticationStep":0,"externalSessionId":"idxEXAMPLESESSION0000000101","rootSessionId":"idxEXAMPLESESSION0000000101"},` +
		`"securityContext":{"asNumber":64496,"asOrg":"example isp","isp":"example isp","domain":"example.net","isProxy":false},` +
		`"request":{"ipChain":[{"ip":"203.0.113.45","geographicalContext":{"city":"San Francisco","state":"California","country":"United States","postalCode":"94105","geolocation":{"lat":37.7898,"lon":-122.3942}},"version":"V4","source":null}]},`
	var b bytes.Buffer
	bb := &benchBatch{}
	b.WriteString(`{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"https://org.example.com/api/v1/eventHooks/whoEXAMPLE0000000001","eventId":"00000000-0000-4000-8000-000000000101","data":{"events":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		typ, factor, result, method := "user.authentication.auth_via_mfa", "SMS_FACTOR", "SUCCESS", "SMS"
		switch {
		case i%5 == 3:
			factor, result, method = "CALL_FACTOR", "FAILURE", "VOICE"
		case i%5 == 4:
			typ = "user.session.start"
		}
		b.WriteString(`{"uuid":"00000000-0000-4000-8000-`)
		bb.uuids = append(bb.uuids, b.Len())
		b.WriteString(`000000000000","published":"2026-03-14T09:27:41.318Z","eventType":"` + typ + `","version":"0","displayMessage":"Authentication of user via MFA","severity":"INFO","legacyEventType":"core.user.factor.attempt_success",`)
		fmt.Fprintf(&b, `"actor":{"id":"00uBENCH%012d","type":"User","alternateId":"user@example.com","displayName":"A User","detailEntry":null},`, i%users)
		b.WriteString(pad)
		b.WriteString(`"outcome":{"result":"` + result + `","reason":null},"target":[{"id":"00uBENCH","type":"User","alternateId":"user@example.com","displayName":"A User","detailEntry":null},{"id":"smsEXAMPLE0000000001","type":"AuthenticatorEnrollment","alternateId":"unknown","displayName":"Phone","detailEntry":{"methodTypeUsed":"` + method + `","methodUsedVerifiedProperties":"[USER_PRESENCE]"}}],`)
		b.WriteString(`"transaction":{"type":"WEB","id":"ExampleTxn0000000000000102","detail":{}},"debugContext":{"debugData":{"requestId":"ExampleTxn0000000000000102","requestUri":"/idp/idx/challenge/answer","url":"/idp/idx/challenge/answer?","factor":"` + factor + `","factorIntent":"LOGIN","authenticatorMethodChallengeTime":"2026-03-14T09:26:53.000Z","threatSuspected":"false"}}}`)
	}
	b.WriteString(`]},"eventTime":"2026-03-14T09:27:43.502Z","contentType":"application/json"}`)
	bb.body = b.Bytes()
	return bb
}

func (bb *benchBatch) stamp(iter int) {
	for j, off := range bb.uuids {
		v := strconv.AppendInt(nil, int64(iter)*100+int64(j), 10)
		tail := bb.body[off : off+12]
		for k := range tail {
			tail[k] = '0'
		}
		copy(tail[12-len(v):], v)
	}
}

func benchPOST(b *testing.B, store Store) {
	clock := oktatest.NewClock(aliceVerified)
	cfg := testConfig(Record)
	cfg.RedisTimeout = time.Second
	tr := New(cfg, store, nopReporter{}, slog.New(slog.DiscardHandler), clock.Now)
	h := tr.Handler(auth())
	// Half the verified users have a pending send: matches and misses.
	for i := range 30 {
		tr.Sent(b.Context(), smsTo(fmt.Sprintf("00uBENCH%012d", i), "umid-"+strconv.Itoa(i), aliceSent, "US", "+1415555"))
	}
	bb := newBenchBatch(60)
	b.SetBytes(int64(len(bb.body)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bb.stamp(i)
		req := httptest.NewRequest(http.MethodPost, "/okta/events", bytes.NewReader(bb.body))
		req.Header.Set("Authorization", secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		i++
	}
}

// BenchmarkEventPOST100 is one event hook POST of 100 events, end to end
// through the handler (auth, read, parse, dedupe and match, the Settle at
// the end with nothing due).
func BenchmarkEventPOST100(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchPOST(b, nil) })
	b.Run("miniredis", func(b *testing.B) {
		mr := miniredis.RunT(b)
		benchPOST(b, NewRedisStore(newClient(b, "redis://"+mr.Addr())))
	})
	if rb, ok := realRedisBackend(); ok {
		b.Run("redis-server", func(b *testing.B) { benchPOST(b, rb.open(b)) })
	}
}

// benchHook is the hook's added cost per request: Check before the send,
// Sent after it, with a verdict cache holding a few suspects. The clock
// moves 100 ms per request (a busy company: 10 codes a second) and the
// background Settle runs every 15 s of it, its cost shared out.
func benchHook(b *testing.B, store Store, withSent bool) {
	clock := oktatest.NewClock(t0)
	tr := New(testConfig(Enforce), store, nopReporter{}, slog.New(slog.DiscardHandler), clock.Now)
	tr.snap.Store(&snapshot{at: t0,
		countries: map[string]figure{"LV": {dest: "c:LV", settled: 40}},
		prefixes:  map[string]figure{"+3712000": {dest: "p:+3712000", settled: 40}, "+1900555": {dest: "p:+1900555", settled: 25}}})
	users := make([]string, 4096)
	for i := range users {
		users[i] = "00u" + strconv.Itoa(1_000_000+i)
	}
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	var settleTime time.Duration
	for b.Loop() {
		if v := tr.Check(ctx, "US", "+1415555"); v != nil {
			b.Fatal(v)
		}
		if withSent {
			clock.Advance(100 * time.Millisecond)
			now := clock.Now()
			tr.Sent(ctx, Send{UserID: users[i%len(users)], Channel: "sms", Country: "US", Prefix: "+1415555",
				TxID: "bda3d56d-1424-e711-813c-06ed3428fe67", SentAt: now, Expires: now.Add(5 * time.Minute)})
			if i%150 == 149 {
				// Background work, not the request's: timed apart.
				b.StopTimer()
				start := time.Now()
				_, _ = tr.Settle(ctx)
				settleTime += time.Since(start)
				tr.snap.Store(&snapshot{at: now, countries: map[string]figure{"LV": {dest: "c:LV", settled: 40}}})
				b.StartTimer()
			}
		}
		i++
	}
	if withSent {
		b.ReportMetric(float64(settleTime.Nanoseconds())/float64(i), "settle-ns/send")
	}
}

type nopReporter struct{}

func (nopReporter) Feedback(context.Context, string, bool, time.Time) error { return nil }

func BenchmarkCheck(b *testing.B) { benchHook(b, nil, false) }

func BenchmarkCheckSent(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchHook(b, nil, true) })
	b.Run("miniredis", func(b *testing.B) {
		mr := miniredis.RunT(b)
		st := NewRedisStore(newClient(b, "redis://"+mr.Addr()))
		benchHook(b, st, true)
	})
	if rb, ok := realRedisBackend(); ok {
		b.Run("redis-server", func(b *testing.B) { benchHook(b, rb.open(b), true) })
	}
}

// BenchmarkMemoryPerSend reports the heap one pending send takes in the
// memory store (100,000 sends, the default cap). Run with -benchtime=1x.
func BenchmarkMemoryPerSend(b *testing.B) {
	const n = DefaultMaxPending
	for b.Loop() {
		before := heapInUse()
		tr := New(testConfig(Record), nil, &recorder{}, nil, oktatest.NewClock(t0).Now)
		for i := range n {
			tr.Sent(b.Context(), Send{UserID: "00u" + strconv.Itoa(10_000_000+i), Channel: "sms", Country: "US",
				Prefix: "+1415555", TxID: "bda3d56d-1424-e711-813c-06ed3428" + strconv.Itoa(1000+i%9000), SentAt: t0})
		}
		after := heapInUse()
		if s, _, _ := tr.mem.lens(); s != n {
			b.Fatalf("held %d sends", s)
		}
		b.ReportMetric(float64(after-before)/n, "heap-B/send")
		runtime.KeepAlive(tr)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
