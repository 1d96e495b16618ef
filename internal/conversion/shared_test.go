package conversion

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
)

func redisBackends() []backend {
	bs := []backend{miniredisBackend}
	if b, ok := realRedisBackend(); ok {
		bs = append(bs, b)
	}
	return bs
}

// instances are Trackers sharing one store, one clock and one 8x8 account,
// each with its own log.
type instances struct {
	clock *oktatest.Clock
	rep   *recorder
	tr    []*Tracker
	logs  []*logtest.Buffer
}

func newInstances(t *testing.T, b backend, n int, cfg Config, start time.Time) *instances {
	st := b.open(t)
	in := &instances{clock: oktatest.NewClock(start), rep: &recorder{}}
	for range n {
		l := &logtest.Buffer{}
		in.logs = append(in.logs, l)
		in.tr = append(in.tr, New(cfg, st, in.rep, slog.New(slog.NewJSONHandler(l, nil)), in.clock.Now))
	}
	return in
}

func (in *instances) settleAll(t *testing.T) {
	var wg sync.WaitGroup
	for _, tr := range in.tr {
		wg.Go(func() {
			if _, err := tr.Settle(context.Background()); err != nil {
				t.Errorf("Settle: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestTwoInstancesOneReportPerUmid(t *testing.T) {
	for _, b := range redisBackends() {
		t.Run(b.name, func(t *testing.T) {
			in := newInstances(t, b, 2, testConfig(Record), aliceSent)
			a, bb := in.tr[0], in.tr[1]
			// Alice's code sent by one instance, her verification delivered
			// to the other.
			a.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
			in.clock.Set(aliceVerified)
			mustPost(t, bb.Handler(auth()), fixture(t, "reconstructed-auth-via-mfa-sms-success.json"))
			mustPost(t, a.Handler(auth()), fixture(t, "reconstructed-batch-mixed-with-redelivery.json"))
			in.settleAll(t)

			// Forty codes from both instances expire; both settle at once,
			// several times over.
			const n = 40
			for i := range n {
				in.tr[i%2].Sent(t.Context(), smsTo("00uUSER"+strconv.Itoa(i), "umid-"+strconv.Itoa(i), aliceVerified, "LV", "+3712000"))
			}
			for _, step := range []time.Duration{6 * time.Minute, 7 * time.Minute, time.Hour} {
				in.clock.Set(aliceVerified.Add(step))
				in.settleAll(t)
				in.settleAll(t)
			}
			got := map[string][]report{}
			for _, r := range in.rep.attempts() {
				got[r.umid] = append(got[r.umid], r)
			}
			if len(got) != n+1 {
				t.Fatalf("%d umids reported, want %d", len(got), n+1)
			}
			for umid, rs := range got {
				if len(rs) != 1 {
					t.Fatalf("%s reported %d times: %+v", umid, len(rs), rs)
				}
				if want := umid == "umid-alice"; rs[0].success != want {
					t.Fatalf("%s reported success=%v", umid, rs[0].success)
				}
			}
			// Each instance saw the other's work: one settled line per code
			// across both logs.
			settled := 0
			for _, l := range in.logs {
				settled += len(logLines(t, l, MsgSettled))
			}
			if settled != n+1 {
				t.Fatalf("%d settled lines across instances, want %d", settled, n+1)
			}
		})
	}
}

func TestTwoInstancesShareCounts(t *testing.T) {
	for _, b := range redisBackends() {
		t.Run(b.name, func(t *testing.T) {
			in := newInstances(t, b, 2, testConfig(Enforce), t0)
			a, bb := in.tr[0], in.tr[1]
			// Sends split over both instances; verifications to one.
			var events []string
			for i := range 25 {
				user := "00uUS" + strconv.Itoa(i)
				in.tr[i%2].Sent(t.Context(), smsTo(user, "umid-us-"+strconv.Itoa(i), t0, "US", "+1415555"))
				if i < 22 {
					events = append(events, eventJSON(newUUID(), user, "SMS_FACTOR", "SUCCESS", t0.Add(time.Minute)))
				}
				in.tr[i%2].Sent(t.Context(), smsTo("00uLV"+strconv.Itoa(i), "umid-lv-"+strconv.Itoa(i), t0, "LV", "+3712000"))
			}
			in.clock.Advance(time.Minute)
			mustPost(t, bb.Handler(auth()), eventBody(events...))
			in.clock.Advance(6 * time.Minute)
			_, _ = bb.Settle(t.Context()) // one instance settles everything
			_, _ = a.Settle(t.Context())  // the other only refreshes
			for i, tr := range in.tr {
				v := tr.Check(t.Context(), "LV", "+3712000")
				if v == nil || !v.Refuse || v.Settled != 25 || v.Verified != 0 {
					t.Fatalf("instance %d: Check(LV) = %+v, want a refusal on 25 settled", i, v)
				}
				if v := tr.Check(t.Context(), "US", "+1415555"); v != nil {
					t.Fatalf("instance %d: Check(US) = %+v", i, v)
				}
			}
			// Each transition is logged once, by whichever instance saw it.
			suspect := 0
			for _, l := range in.logs {
				suspect += len(logLines(t, l, MsgSuspect))
			}
			if suspect != 2 {
				t.Fatalf("%d suspect lines across instances, want 2 (LV, +3712000)", suspect)
			}
		})
	}
}

// TestRedisDownMidPOST: Redis goes away between the send and Okta's
// event; the POST still answers 200, the event is kept in memory, and
// Redis is used again once it is back.
func TestRedisDownMidPOST(t *testing.T) {
	st, mr := openMiniredis(t)
	r := &rig{t: t, clock: oktatest.NewClock(aliceSent), store: st, rep: &recorder{}, logs: &logtest.Buffer{}}
	cfg := testConfig(Record)
	cfg.RedisTimeout = time.Second
	tr := r.tracker(cfg)
	h := tr.Handler(auth())
	tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))

	mr.Close()
	tr.Sent(t.Context(), smsTo(carolID, "umid-carol", aliceSent.Add(5*time.Second), "GB", "+4477009"))
	r.clock.Set(aliceVerified)
	w := post(t, h, fixture(t, "reconstructed-auth-via-mfa-sms-success.json"))
	if w.Code != 200 {
		t.Fatalf("POST with Redis down answered %d", w.Code)
	}
	l := lastLine(t, r.logs, msgDelivery)
	if l["store"] != "memory" || num64(l, "unmatched") != 1 {
		t.Fatalf("summary %v: want the event handled in memory, unmatched (its send is in Redis)", l)
	}
	warn := logLines(t, r.logs, msgRedisDown)
	if len(warn) != 1 || warn[0]["error_class"] != "connection_refused" {
		t.Fatalf("redis warnings %v, want one naming the class", warn)
	}

	// Redis is back. Okta redelivers the batch: Alice's event (new to
	// Redis) finds her send there; Carol's send, recorded in memory
	// during the outage, is found in memory.
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(3 * time.Second)
	mustPost(t, h, fixture(t, "reconstructed-batch-mixed-with-redelivery.json"))
	l = lastLine(t, r.logs, msgDelivery)
	if l["store"] != "redis" || num64(l, "verified") != 2 {
		t.Fatalf("summary after recovery %v, want both verified", l)
	}
	got := map[string]bool{}
	for _, rep := range r.rep.delivered() {
		got[rep.umid] = rep.success
	}
	if len(got) != 2 || !got["umid-alice"] || !got["umid-carol"] {
		t.Fatalf("reports %v, want both successes", got)
	}
	if len(logLines(t, r.logs, msgRedisBack)) != 1 {
		t.Fatalf("no recovery line:\n%s", r.logs)
	}
}

// TestStalledRedis: Redis accepts connections and never answers. Okta
// still gets its 200 well within 3 s, and Sent stays within its bound.
func TestStalledRedis(t *testing.T) {
	st := NewRedisStore(newClient(t, "redis://"+proctest.BlackHole(t)))
	r := &rig{t: t, clock: oktatest.NewClock(aliceSent), store: st, rep: &recorder{}, logs: &logtest.Buffer{}}
	cfg := testConfig(Enforce)
	cfg.RedisTimeout = 250 * time.Millisecond
	cfg.SentTimeout = 50 * time.Millisecond
	tr := r.tracker(cfg)

	start := time.Now()
	tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Sent took %v with Redis stalled (bound 50 ms)", d)
	}
	r.clock.Set(aliceVerified)
	start = time.Now()
	w := post(t, tr.Handler(auth()), fixture(t, "reconstructed-auth-via-mfa-sms-success.json"))
	if d := time.Since(start); w.Code != 200 || d > 2*time.Second {
		t.Fatalf("POST answered %d after %v with Redis stalled; Okta waits 3 s", w.Code, d)
	}
	// The send fell back to memory, and so did the event: they met there.
	if st := tr.Stats(); st.Verified != 1 || st.StoreFallbacks == 0 {
		t.Fatalf("stats %+v", st)
	}
	if l := lastLine(t, r.logs, msgRedisDown); l["error_class"] != "timeout" {
		t.Fatalf("redis warning %v", l)
	}
}

// TestLateVerification: Okta's event arrives after its code was settled
// unverified. The counts are corrected; the report already sent stands,
// and a report not yet sent becomes a success.
func TestLateVerification(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		var failCarol sync.Once
		r.rep.fail = func(_ int, rep report) error {
			if rep.umid == "umid-carol" {
				err := errors.New("8x8 unreachable")
				ok := false
				failCarol.Do(func() { ok = true })
				if ok {
					return err
				}
			}
			return nil
		}
		tr := r.tracker(testConfig(Record))
		h := tr.Handler(auth())
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		tr.Sent(t.Context(), smsTo(carolID, "umid-carol", aliceSent, "GB", "+4477009"))
		r.clock.Set(aliceSent.Add(6 * time.Minute))
		settle(t, tr) // both settle unverified; Alice's failure goes out, Carol's fails
		// Okta's delivery of verifications made at 09:30 was delayed.
		r.clock.Advance(2 * time.Second)
		mustPost(t, h, eventBody(
			eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceSent.Add(3*time.Minute)),
			eventJSON(newUUID(), carolID, "SMS_FACTOR", "SUCCESS", aliceSent.Add(4*time.Minute)),
		))
		l := lastLine(t, r.logs, msgDelivery)
		if num64(l, "late") != 2 || num64(l, "verified") != 0 {
			t.Fatalf("summary %v, want 2 late", l)
		}
		r.clock.Advance(10 * time.Second)
		settle(t, tr)
		got := map[string]bool{}
		for _, rep := range r.rep.delivered() {
			got[rep.umid] = rep.success
		}
		if len(got) != 2 || got["umid-alice"] || !got["umid-carol"] {
			t.Fatalf("reports %v: want Alice's failure to stand and Carol's success", got)
		}
		if n := len(logLines(t, r.logs, MsgLate)); n != 2 {
			t.Fatalf("%d late lines, want 2", n)
		}
	})
}

// holdingProxy forwards to a Redis; while held, it forwards the commands
// but keeps the answers until released: a Redis that runs a command and
// answers too late.
type holdingProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	gate chan struct{} // closed: answers pass
}

func newHoldingProxy(t *testing.T, upstream string) *holdingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{ln: ln, gate: make(chan struct{})}
	close(p.gate)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = c.Close()
				continue
			}
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := u.Read(buf)
					if n > 0 {
						p.mu.Lock()
						gate := p.gate
						p.mu.Unlock()
						<-gate
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

func (p *holdingProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gate = make(chan struct{})
}

func (p *holdingProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.gate)
}

// TestSlowRedisNoSecondReport: Redis runs Sent's script but answers after
// SentTimeout. The send lives in Redis and as a shadow in memory; the code
// still gets exactly one report and one settled line.
func TestSlowRedisNoSecondReport(t *testing.T) {
	mr := miniredis.RunT(t)
	// Scripts loaded already, as in a Redis that has served a while: the
	// first EVALSHA runs at once.
	if err := addScript.Load(t.Context(), newClient(t, "redis://"+mr.Addr())).Err(); err != nil {
		t.Fatal(err)
	}
	px := newHoldingProxy(t, mr.Addr())
	client := newClient(t, "redis://"+px.ln.Addr().String())
	if err := client.Ping(t.Context()).Err(); err != nil { // a warm connection
		t.Fatal(err)
	}
	st := NewRedisStore(client)
	r := &rig{t: t, clock: oktatest.NewClock(aliceSent), store: st, rep: &recorder{}, logs: &logtest.Buffer{}}
	cfg := testConfig(Record)
	cfg.SentTimeout = 100 * time.Millisecond
	tr := r.tracker(cfg)
	px.hold()
	tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
	if st := tr.Stats(); st.StoreFallbacks != 1 {
		t.Fatalf("stats %+v: want Sent to have fallen back", st)
	}
	px.release()
	// Redis did run it: the record is there.
	if len(mr.Keys()) == 0 {
		t.Fatal("the send did not reach Redis")
	}
	r.clock.Set(aliceSent.Add(6 * time.Minute))
	settle(t, tr)
	r.clock.Set(aliceSent.Add(7 * time.Minute))
	settle(t, tr)
	wantReports(t, r.rep.attempts(), report{umid: "umid-alice"})
	if n := len(logLines(t, r.logs, MsgSettled)); n != 1 {
		t.Fatalf("%d settled lines, want 1", n)
	}
}

// TestLateVerificationDuringFailureReport: a late verification lands
// while the code's failure report is in flight. The Settle at the end of
// that POST must not report the code again.
func TestLateVerificationDuringFailureReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, aliceSent)
		started, gate := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		r.rep.fail = func(int, report) error {
			if calls.Add(1) == 1 { // only the first call waits
				close(started)
				<-gate
			}
			return nil
		}
		tr := r.tracker(testConfig(Record))
		tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
		r.clock.Set(aliceSent.Add(6 * time.Minute))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = tr.Settle(context.Background())
		}()
		<-started
		r.clock.Advance(2 * time.Second)
		mustPost(t, tr.Handler(auth()), successEvent(newUUID(), aliceID, "SMS_FACTOR", aliceSent.Add(3*time.Minute)))
		close(gate)
		<-done
		r.clock.Advance(time.Minute)
		settle(t, tr)
		wantReports(t, r.rep.attempts(), report{umid: "umid-alice"})
		if st := tr.Stats(); st.Late != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// finishCounter counts the records of report outcomes that reach Redis.
type finishCounter struct {
	Store
	n atomic.Int32
}

func (f *finishCounter) finish(ctx context.Context, p params, id string, a action, next int64) error {
	f.n.Add(1)
	return f.Store.finish(ctx, p, id, a, next)
}

// TestRedisStallsWhileReporting: Redis hands out a batch of reports, then
// stops answering while they go out. The first records of their outcomes
// to time out mark Redis down, and the rest do not wait on it (each would
// cost RedisTimeout, past Okta's 3 s for the event POST that settles them,
// and past the shutdown budget for the last Settle). The leases hand the
// unrecorded reports out again later.
func TestRedisStallsWhileReporting(t *testing.T) {
	mr := miniredis.RunT(t)
	px := newHoldingProxy(t, mr.Addr())
	client := newClient(t, "redis://"+px.ln.Addr().String())
	st := &finishCounter{Store: NewRedisStore(client)}
	r := &rig{t: t, clock: oktatest.NewClock(aliceSent), store: st, rep: &recorder{}, logs: &logtest.Buffer{}}
	cfg := testConfig(Record)
	cfg.RedisTimeout = 250 * time.Millisecond
	tr := r.tracker(cfg)
	const sends = 3 * reportWorkers
	for i := range sends {
		tr.Sent(t.Context(), smsTo("00uSTALL"+strconv.Itoa(100000000000+i), "umid-"+strconv.Itoa(i), aliceSent, "US", "+1415555"))
	}
	if s := tr.Stats(); s.StoreFallbacks != 0 {
		t.Fatalf("stats %+v: the sends did not reach Redis", s)
	}
	var once sync.Once
	r.rep.fail = func(int, report) error {
		once.Do(px.hold) // Redis stalls once the first report is out
		return nil
	}
	r.clock.Set(aliceSent.Add(6 * time.Minute))
	start := time.Now()
	_, _ = tr.Settle(t.Context())
	took := time.Since(start)
	px.release()
	if got := st.n.Load(); got > reportWorkers {
		t.Errorf("%d records waited on a stalled Redis, want at most %d (the first wave): Redis was not marked down", got, reportWorkers)
	}
	if l := lastLine(t, r.logs, msgRedisDown); l["error_class"] != "timeout" {
		t.Errorf("redis warning %v, want a timeout", l)
	}
	if len(r.rep.attempts()) != sends {
		t.Errorf("%d reports sent, want %d", len(r.rep.attempts()), sends)
	}
	t.Logf("Settle with Redis stalled after the take: %v", took)
}
