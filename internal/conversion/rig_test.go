package conversion

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// The scenarios run against each backend: memory only, Redis through
// miniredis, and a real redis-server at REDIS_TEST_URL when it is set.

// Alice's SMS in the shared fixtures: the hook request at 09:26:53, the
// code expires 09:31:53, Okta logs the verification at 09:27:41.318.
var (
	aliceSent     = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	aliceExpires  = time.Date(2026, 3, 14, 9, 31, 53, 0, time.UTC)
	aliceVerified = time.Date(2026, 3, 14, 9, 27, 41, 318_000_000, time.UTC)
)

const (
	aliceID = "00u8k2pQz4XyTb7Wd5d7"
	carolID = "00uEXAMPLEUSER000003"
	bobID   = "00uEXAMPLEUSER000002"
	frankID = "00uEXAMPLEUSER000007"
	secret  = "event-hook-s3cret"
)

// report is one call to the Reporter double.
type report struct {
	umid    string
	success bool
	at      time.Time
}

// recorder is the Reporter double: it records every call, and fails the
// calls that fail says should.
type recorder struct {
	mu    sync.Mutex
	calls []report
	ok    []report // calls that succeeded
	fail  func(n int, r report) error
	seen  chan report // when set, every call is sent here too
}

func (r *recorder) Feedback(_ context.Context, umid string, success bool, at time.Time) error {
	rep := report{umid: umid, success: success, at: at}
	r.mu.Lock()
	r.calls = append(r.calls, rep)
	n := len(r.calls)
	fail := r.fail
	r.mu.Unlock()
	if r.seen != nil {
		r.seen <- rep
	}
	if fail != nil {
		if err := fail(n, rep); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.ok = append(r.ok, rep)
	r.mu.Unlock()
	return nil
}

func (r *recorder) delivered() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report(nil), r.ok...)
}

func (r *recorder) attempts() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report(nil), r.calls...)
}

var errUnavailable = errors.New("8x8 answered 503")

type backend struct {
	name string
	// open returns the shared store of one test (nil: memory only); every
	// Tracker of the test gets the same one.
	open func(t testing.TB) *redisstore.Conversion
}

var memoryBackend = backend{name: "memory", open: func(testing.TB) *redisstore.Conversion { return nil }}

var miniredisBackend = backend{name: "miniredis", open: func(t testing.TB) *redisstore.Conversion {
	return redisstore.NewConversion(newClient(t, sharedtest.Miniredis(t)))
}}

// newClient is a client on the server at url.
func newClient(t testing.TB, url string) *redis.Client {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = 1
	opt.DialerRetries = 1
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// realRedisBackend is the redis-server at REDIS_TEST_URL, in this
// package's database, emptied for each test.
func realRedisBackend() (backend, bool) {
	if os.Getenv("REDIS_TEST_URL") == "" {
		return backend{}, false
	}
	return backend{name: "redis-server", open: func(t testing.TB) *redisstore.Conversion {
		url, _ := sharedtest.RealRedis(t, sharedtest.DBConversion)
		return redisstore.NewConversion(newClient(t, url))
	}}, true
}

func backends() []backend {
	bs := []backend{memoryBackend, miniredisBackend}
	if b, ok := realRedisBackend(); ok {
		bs = append(bs, b)
	}
	return bs
}

// forEachBackend runs a scenario on every backend.
func forEachBackend(t *testing.T, run func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { run(t, b) })
	}
}

type rig struct {
	t     testing.TB
	clock *oktatest.Clock
	store *redisstore.Conversion // nil: memory
	rep   *recorder
	logs  *logtest.Buffer
}

func newRig(t testing.TB, b backend, start time.Time) *rig {
	return &rig{t: t, clock: oktatest.NewClock(start), store: b.open(t), rep: &recorder{}, logs: &logtest.Buffer{}}
}

func testConfig(mode Mode) Config {
	cfg := DefaultConfig()
	cfg.Mode = mode
	cfg.Feedback = true
	cfg.KeySecret = []byte("key-secret")
	return cfg
}

// tracker builds a Tracker on the rig's store whose event hook has been
// heard (an empty delivery at the rig's start): failure reports go out.
// deafTracker builds one that has heard nothing yet.
func (r *rig) tracker(cfg Config) *Tracker {
	tr := r.deafTracker(cfg)
	mustPost(r.t, tr.Handler(auth()), eventBody())
	return tr
}

func (r *rig) deafTracker(cfg Config) *Tracker {
	logger := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := New(cfg, r.store, r.rep, logger, r.clock.Now)
	// The race detector makes miniredis's Lua slow: a timeout here would
	// test the store failures, which have their own tests.
	tr.timeout, tr.sentTimeout, tr.postTimeout = 10*time.Second, 10*time.Second, 10*time.Second
	return tr
}

func auth() *okta.HeaderAuth { return okta.NewHeaderAuth("Authorization", secret) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedtest.Path(t, "contracts", "okta", "event-hook", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t testing.TB, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/okta/events", bytes.NewReader(body))
	req.Header.Set("Authorization", secret)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func mustPost(t testing.TB, h http.Handler, body []byte) {
	t.Helper()
	if w := post(t, h, body); w.Code != http.StatusOK {
		t.Fatalf("POST answered %d %s, want 200", w.Code, w.Body)
	}
}

// logLines parses the JSON log lines with message msg.
func logLines(t testing.TB, logs *logtest.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func lastLine(t testing.TB, logs *logtest.Buffer, msg string) map[string]any {
	t.Helper()
	l := logLines(t, logs, msg)
	if len(l) == 0 {
		t.Fatalf("no %q log line in:\n%s", msg, logs.String())
	}
	return l[len(l)-1]
}

// smsTo is an SMS to a user, sent now, expiring in five minutes.
func smsTo(user, umid string, sent time.Time, country, prefix string) Send {
	return Send{UserID: user, Channel: "sms", Country: country, Prefix: prefix, TxID: umid,
		SentAt: sent, Expires: sent.Add(5 * time.Minute)}
}

// successEvent is an event hook body with one SMS or voice verification.
func successEvent(uuid, user, factor string, published time.Time) []byte {
	return eventBody(eventJSON(uuid, user, factor, "SUCCESS", published))
}

func eventJSON(uuid, user, factor, result string, published time.Time) string {
	return `{"uuid":"` + uuid + `","published":"` + published.Format(time.RFC3339Nano) +
		`","eventType":"user.authentication.auth_via_mfa","actor":{"id":"` + user +
		`","type":"User"},"outcome":{"result":"` + result + `","reason":null},` +
		`"debugContext":{"debugData":{"factor":"` + factor + `","factorIntent":"LOGIN"}}}`
}

func eventBody(events ...string) []byte {
	return []byte(`{"eventType":"com.okta.event_hook","eventId":"` + newUUID() + `","data":{"events":[` +
		strings.Join(events, ",") + `]}}`)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// stats are what the log lines count.
type stats struct {
	Verified, Unmatched, Late, Duplicates, Settled, Reports, ReportFailures, ReportsDropped int
}

func logStats(t testing.TB, logs *logtest.Buffer) stats {
	t.Helper()
	var s stats
	for _, l := range logLines(t, logs, msgDelivery) {
		s.Verified += num64(l, "verified")
		s.Unmatched += num64(l, "unmatched")
		s.Late += num64(l, "late")
		s.Duplicates += num64(l, "duplicates")
	}
	for _, l := range logLines(t, logs, msgSettled) {
		if l["verified"] == false {
			s.Settled++
		}
	}
	s.Reports = len(logLines(t, logs, msgFeedbackSent))
	s.ReportFailures = len(logLines(t, logs, msgFeedbackFailed))
	s.ReportsDropped = len(logLines(t, logs, msgFeedbackDropped))
	return s
}

func num64(m map[string]any, k string) int {
	f, _ := m[k].(float64)
	return int(f)
}
