package conversion

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMemoryBoundedUnderFlood: a flood of distinct users and prefixes
// cannot grow memory past the caps; evicted sends are judged (settled
// unverified), never forgotten, and their reports are counted as dropped.
func TestMemoryBoundedUnderFlood(t *testing.T) {
	r := newRig(t, memoryBackend, t0)
	cfg := testConfig(Enforce)
	cfg.Memory = MemoryCaps{Pending: 64, Destinations: 64, Seen: 64}
	tr := r.tracker(cfg)
	h := tr.Handler(auth())
	// Ten codes verified and reported: the event hook works.
	r.traffic(tr, h, "US", "+1415555", 10, 10)
	const n = 1000
	for i := range n {
		tr.Sent(t.Context(), smsTo("00uBOT"+strconv.Itoa(i), "umid-"+strconv.Itoa(i), t0, "LV", "+37120"+strconv.Itoa(10000+i)))
	}
	sends, dests, _ := tr.mem.lens()
	if sends > 64 || dests > 64 {
		t.Fatalf("held %d sends, %d destinations; caps are 64", sends, dests)
	}
	st := tr.Stats()
	if st.Settled != n-64 || st.ReportsDropped != n-64 {
		t.Fatalf("stats %+v: want %d evicted sends settled unverified and their reports dropped", st, n-64)
	}
	// The country is never evicted: the flood made it suspect.
	settle(t, tr)
	if v := tr.Check(t.Context(), "LV", "+3712099"); v == nil || v.Kind != "country" || !v.Refuse || v.Settled < n-64 {
		t.Fatalf("Check(LV) = %+v after a flood of %d", v, n)
	}

	// A flood of distinct events stays within the uuid cap.
	var events []string
	for range 300 {
		events = append(events, eventJSON(newUUID(), "00uNOBODY", "SMS_FACTOR", "SUCCESS", t0))
	}
	mustPost(t, h, eventBody(events...))
	if _, _, seen := tr.mem.lens(); seen > 64 {
		t.Fatalf("held %d event uuids; cap is 64", seen)
	}
}

// TestOnlyLatestCodesMatch: a user with more codes in flight than the
// store keeps per user can have only the latest four matched.
func TestOnlyLatestCodesMatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		r := newRig(t, b, t0)
		tr := r.tracker(testConfig(Record))
		for i := range 6 {
			tr.Sent(t.Context(), smsTo(aliceID, "umid-"+strconv.Itoa(i), t0.Add(time.Duration(i)*30*time.Second), "US", "+1415555"))
		}
		r.clock.Set(t0.Add(3 * time.Minute))
		// Two verifications: each takes the most recent code not yet
		// verified whose validity covers it.
		mustPost(t, tr.Handler(auth()), eventBody(
			eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", t0.Add(3*time.Minute)),
			eventJSON(newUUID(), aliceID, "SMS_FACTOR", "SUCCESS", t0.Add(3*time.Minute+time.Second)),
		))
		var got []string
		for _, rep := range r.rep.delivered() {
			got = append(got, rep.umid)
		}
		if strings.Join(got, ",") != "umid-5,umid-4" && strings.Join(got, ",") != "umid-4,umid-5" {
			t.Fatalf("reports for %v, want the two latest codes", got)
		}
	})
}

func TestSeenKey(t *testing.T) {
	a := newSeenKey("00000000-0000-4000-8000-00000000b101")
	if a.String() != "00000000000040008000"+"00000000b101" {
		t.Fatalf("canonical uuid kept as %s", a)
	}
	if newSeenKey("00000000-0000-4000-8000-00000000b101") != a {
		t.Fatal("not deterministic")
	}
	for _, odd := range []string{"", "x", "00000000-0000-4000-8000-00000000b10g", strings.Repeat("a", 200)} {
		if k := newSeenKey(odd); k == a || k != newSeenKey(odd) {
			t.Fatalf("odd uuid %q keyed %s", odd, k)
		}
	}
}

func TestDestKey(t *testing.T) {
	for _, tc := range []struct {
		kind byte
		v    string
		ok   bool
	}{{'c', "US", true}, {'p', "+1415555", true}, {'p', "+12345678901234", true}, {'p', "+123456789012345", false}, {'c', "", false}} {
		k, ok := newDestKey(tc.kind, tc.v)
		if ok != tc.ok || (ok && (k.value() != tc.v || k.String() != string(tc.kind)+":"+tc.v)) {
			t.Errorf("newDestKey(%c, %q) = %q, %v", tc.kind, tc.v, k.String(), ok)
		}
	}
}

// The caps fit the budget they are sized from.
func TestCapsFor(t *testing.T) {
	if c := CapsFor(0); c != (MemoryCaps{}) {
		t.Errorf("CapsFor(0) = %+v, want the defaults", c)
	}
	const budget = 40 << 20 // a fifth of a 256 MiB instance's limit
	c := CapsFor(budget)
	if used := int64(c.Pending)*bytesPerSend + int64(c.Seen)*bytesPerSeen; used > budget || c.Pending < 50_000 {
		t.Errorf("CapsFor(%d) = %+v: %d bytes planned", budget, c, used)
	}
}
