package benchtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/okta"
)

// The flood's numbers are distinct and valid, spread over many area
// codes; past the last one is a bug in the benchmark, not a repeat.
func TestNumbers(t *testing.T) {
	n := NewNumbers()
	if n.Blocks() < 500 {
		t.Fatalf("%d blocks: too few area codes for a flood", n.Blocks())
	}
	const count = 60_000
	seen := make(map[string]bool, count)
	npas := map[string]bool{}
	for i := range count {
		p := n.Phone(i)
		if seen[p] {
			t.Fatalf("number %d repeats an earlier one", i)
		}
		seen[p] = true
		npas[p[2:5]] = true
		if i%997 == 0 && !usable(p) {
			t.Fatalf("number %d (%s) is not a valid fixed or mobile number", i, p)
		}
	}
	if len(npas) < 200 {
		t.Errorf("%d area codes", len(npas))
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic past the last number")
		}
	}()
	n.Phone(n.Len())
}

// The flood writes requests the hook's parser takes, each with its own
// eventId, user and number.
func TestRequests(t *testing.T) {
	nums := NewNumbers()
	for _, tt := range []struct {
		name        string
		q           *Requests
		sameAs      int // the request with the same user and number as request 0 (-1: none)
		wantPhoneOf func(i int) string
	}{
		{"flood", Flood("fl", time.Now(), nums), -1, nums.Phone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			events, users := map[string]int{}, map[string]int{}
			for i := range 7 {
				r, err := okta.Parse(tt.q.Body(i))
				if err != nil {
					t.Fatalf("request %d: %v\n%s", i, err, tt.q.Body(i))
				}
				if r.Phone.Reveal() != tt.wantPhoneOf(i) || r.Channel != okta.Voice || r.OTPExpires.Before(time.Now()) {
					t.Errorf("request %d: phone %s, channel %v, expires %v", i, r.Phone.Reveal(), r.Channel, r.OTPExpires)
				}
				if _, dup := events[r.EventID]; dup {
					t.Errorf("request %d repeats eventId %s", i, r.EventID)
				}
				events[r.EventID] = i
				if j, dup := users[r.UserID]; dup && !(tt.sameAs > 0 && i-j == tt.sameAs) {
					t.Errorf("requests %d and %d share user %s", j, i, r.UserID)
				}
				users[r.UserID] = i
			}
		})
	}
}

// The load checks every answer: a target that stops answering SUCCESSFUL
// fails the run, with the request that failed.
func TestLoadChecksAnswers(t *testing.T) {
	fake := httptest.NewServer(Fast8x8())
	defer fake.Close()
	floor := FloorReq(FloorConfig{VoiceURL: fake.URL, Subaccount: "s", APIKey: "k", Log: discard{}})
	failAfter := 50
	var served atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) > int64(failAfter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		floor.ServeHTTP(w, r)
	}))
	defer target.Close()
	q := Flood("ld", time.Now(), NewNumbers())
	l := Load{URL: target.URL, Client: NewClient(1), Secret: "x", Clients: 1, Body: q.Append}
	res, err := l.Count(0, failAfter)
	if err != nil || res.N != failAfter || len(res.Latencies) != failAfter || res.Quantile(0.99) <= 0 {
		t.Fatalf("%d answered, err %v", res.N, err)
	}
	if _, err := l.Count(failAfter, 10); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("a 503 passed: %v", err)
	}
	var v any
	if json.Unmarshal(q.Body(0), &v) != nil {
		t.Fatal("a body is not JSON")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
