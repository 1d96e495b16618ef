package conversion

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/internal/conversion/budget"
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// A fault of the shared store, injected into a live store and then healed.
type fault struct {
	name  string
	reply string // an error reply to every command; "" for a stall
}

// The error replies a Redis gives while it refuses writes, and a stall:
// a Redis that takes the commands and answers late, as one stopped by
// SIGSTOP and continued.
var faults = []fault{
	{"NOREPLICAS", "NOREPLICAS Not enough good replicas to write."},
	{"READONLY", "READONLY You can't write against a read only replica."},
	{"OOM", "OOM command not allowed when used memory > 'maxmemory'."},
	{"LOADING", "LOADING Redis is loading the dataset in memory"},
	{"stall", ""},
}

// faultRig is a rig on miniredis behind a proxy that can hold answers.
type faultRig struct {
	*rig
	mr *miniredis.Miniredis
	px *holdingProxy
}

func newFaultRig(t *testing.T) *faultRig {
	mr := miniredis.RunT(t)
	px := newHoldingProxy(t, mr.Addr())
	st := redisstore.NewConversion(newClient(t, "redis://"+px.ln.Addr().String()))
	r := &rig{t: t, clock: oktatest.NewClock(aliceSent), store: st, rep: &recorder{}, logs: &logtest.Buffer{}}
	return &faultRig{rig: r, mr: mr, px: px}
}

// inject starts f; the function it returns heals it.
func (r *faultRig) inject(tr *Tracker, f fault) (heal func()) {
	if f.reply != "" {
		r.mr.SetError(f.reply)
		return func() { r.mr.SetError("") }
	}
	r.px.hold()
	tr.postTimeout, tr.sentTimeout = storeTimeout, storeTimeout
	return func() {
		r.px.release()
		tr.postTimeout, tr.sentTimeout = 10*time.Second, 10*time.Second
	}
}

// TestStoreFailureDuringEventPOST: the store fails while Okta delivers
// Alice's verification. The POST answers 503, so Okta delivers it again;
// once the store is back, the code counts verified once: one success
// report, one settled line, never a failure.
func TestStoreFailureDuringEventPOST(t *testing.T) {
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			r := newFaultRig(t)
			tr := r.tracker(testConfig(Record))
			h := tr.Handler(auth())
			tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
			r.clock.Set(aliceVerified.Add(2 * time.Second))
			body := fixture(t, "reconstructed-auth-via-mfa-sms-success.json")

			heal := r.inject(tr, f)
			if w := post(t, h, body); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("POST with the store failing answered %d %s, want 503", w.Code, w.Body)
			}
			heal()
			r.clock.Advance(3 * time.Second) // Okta's redelivery
			mustPost(t, h, body)
			r.clock.Set(aliceSent.Add(time.Hour))
			settle(t, tr)

			wantReports(t, r.rep.attempts(), report{umid: "umid-alice", success: true, at: aliceVerified})
			settled := logLines(t, r.logs, msgSettled)
			if len(settled) != 1 || settled[0]["verified"] != true {
				t.Fatalf("settled lines %v, want one, verified", settled)
			}
			if l := lastLine(t, r.logs, msgStoreFailed); l["error_class"] == "" {
				t.Fatalf("store failure line %v names no class", l)
			}
		})
	}
}

// TestStoreFailureInSent: the store fails while the hook records an SMS.
// Sent returns within its bound; that SMS alone loses its record, and a
// WARNING names its umid. Every SMS gets exactly one report, or that
// WARNING.
func TestStoreFailureInSent(t *testing.T) {
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			r := newFaultRig(t)
			tr := r.tracker(testConfig(Record))
			h := tr.Handler(auth())
			tr.Sent(t.Context(), smsTo(carolID, "umid-carol", aliceSent, "GB", "+4477009"))

			heal := r.inject(tr, f)
			start := time.Now()
			tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Sent took %v with the store failing", d)
			}
			heal()
			r.clock.Set(aliceVerified)
			mustPost(t, h, eventBody(
				eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", aliceVerified),
				eventJSON(newUUID(), carolID, "SMS_FACTOR", "SUCCESS", aliceVerified)))
			for _, at := range []time.Duration{7 * time.Minute, 20 * time.Minute} {
				r.clock.Set(aliceSent.Add(at))
				settle(t, tr)
			}

			reports := map[string]int{}
			for _, rep := range r.rep.attempts() {
				reports[rep.umid]++
			}
			warned := map[string]bool{}
			for _, l := range logLines(t, r.logs, msgSendLost) {
				warned[l["transactionId"].(string)] = l["level"] == "WARN"
			}
			if reports["umid-carol"] != 1 {
				t.Fatalf("umid-carol: %d reports, want 1", reports["umid-carol"])
			}
			if !warned["umid-alice"] || reports["umid-alice"] > 1 {
				t.Fatalf("umid-alice: %d reports, warned %v; want a WARNING naming it, and at most one report",
					reports["umid-alice"], warned["umid-alice"])
			}
			if f.reply != "" && reports["umid-alice"] != 0 {
				t.Fatalf("umid-alice reported %d times though its record was refused", reports["umid-alice"])
			}
			if strings.Contains(r.logs.String(), "+14155550") {
				t.Fatal("a log line holds the number")
			}
		})
	}
}

// holdingProxy forwards to a Redis; while held, it forwards the commands
// but keeps the answers until released: a Redis that runs a command and
// answers too late.
type holdingProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	gate chan struct{} // closed: answers pass
}

func newHoldingProxy(t testing.TB, upstream string) *holdingProxy {
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
			go p.answer(c, u)
		}
	}()
	return p
}

func (p *holdingProxy) answer(c, u net.Conn) {
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

// TestMemoryBoundedUnderFlood: a flood of sends and events stays within
// the memory store's caps, and each SMS pushed out gets its report or a
// WARNING naming it.
func TestMemoryBoundedUnderFlood(t *testing.T) {
	r := newRig(t, memoryBackend, aliceSent)
	cfg := testConfig(Record)
	cfg.Memory = MemoryCaps{Pending: 100, Seen: 100, destinations: 50}
	tr := r.tracker(cfg)
	for i := range 1000 {
		tr.Sent(t.Context(), smsTo("00u"+strconv.Itoa(i), "umid-"+strconv.Itoa(i), aliceSent, "US", "+1"+strconv.Itoa(4155550+i)))
		mustPost(t, tr.Handler(auth()), eventBody(eventJSON(newUUID(), "00uX", "SMS_FACTOR", "FAILURE", aliceSent)))
	}
	m := tr.store.(*memoryStore)
	if len(m.sends) > 100 || len(m.seen) > 100 || len(m.dests) > 50 {
		t.Fatalf("%d sends, %d uuids, %d destinations held; caps 100, 100, 50", len(m.sends), len(m.seen), len(m.dests))
	}
	r.clock.Set(aliceSent.Add(20 * time.Minute))
	settle(t, tr)
	if st := logStats(t, r.logs); st.Reports+st.ReportsDropped != 1000 {
		t.Fatalf("%d reports and %d WARNINGs for 1000 SMS", st.Reports, st.ReportsDropped)
	}
}

// TestSentRecordsBeforeTheBudget: Sent stores the send's record (what
// joins Okta's verification) before it counts the send in the country's
// budget. A budget write that stalls costs the budget that one send, never
// the record; a record the store refuses is not counted in the budget, as
// its verification could never take it back.
func TestSentRecordsBeforeTheBudget(t *testing.T) {
	cases := []struct {
		name                      string
		stallBudget, refuseRecord bool
		wantVerified, wantCounted int
	}{
		{"both writes work", false, false, 1, 1},
		{"the budget's write stalls: the record is kept", true, false, 1, 0},
		{"the record is refused: the budget does not count the send", false, true, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				r := newRig(t, b, aliceSent)
				tr := r.tracker(testConfig(Record))
				bs := &budgetDouble{Store: budget.NewMemory(), stall: tc.stallBudget}
				tr.budget = budget.New(bs, r.clock.Now)
				tr.sentTimeout = time.Second // a stall spends it all; a record takes milliseconds
				if tc.refuseRecord {
					tr.store = refusingStore{tr.store}
				}
				tr.Sent(t.Context(), smsTo(aliceID, "umid-alice", aliceSent, "US", "+1415555"))
				r.clock.Set(aliceVerified)
				mustPost(t, tr.Handler(auth()), successEvent(newUUID(), aliceID, "SMS_FACTOR", aliceVerified))
				if st := logStats(t, r.logs); st.Verified != tc.wantVerified {
					t.Errorf("%d verifications matched, want %d", st.Verified, tc.wantVerified)
				}
				if n := int(bs.counted.Load()); n != tc.wantCounted {
					t.Errorf("the budget counted %d sends, want %d", n, tc.wantCounted)
				}
			})
		})
	}
}

// budgetDouble is the budget's store in memory, counting the sends it
// records; with stall set, its Sent answers only when its ctx ends, as a
// Redis stalled on that write.
type budgetDouble struct {
	budget.Store
	stall   bool
	counted atomic.Int32
}

func (b *budgetDouble) Sent(ctx context.Context, country string, hour, day int64) error {
	if b.stall {
		<-ctx.Done()
		return ctx.Err()
	}
	b.counted.Add(1)
	return b.Store.Sent(ctx, country, hour, day)
}

// refusingStore refuses every send's record, as a Redis refusing writes.
type refusingStore struct{ store }

func (refusingStore) AddSend(context.Context, redisstore.ConvParams, redisstore.ConvSend) error {
	return errors.New("READONLY You can't write against a read only replica.")
}
