package telephonyhook

// The hook side by side with floorreq, issue 13's floor of the work every
// correct hook must do (internal/benchtest.FloorReq: encoding/json,
// phonenumbers.Parse + IsValidNumber + GetNumberType, one keep-alive 8x8
// POST, one slog.JSONHandler line, the answer). Each benchmark prints its
// figures as metrics, each with its ratio to floorreq (x-floorreq-…), and
// a "goal" line per goal of the issue, met or missed. One core, as the
// issue's table; each skips under -short:
//
// In process, the registered function (New, a deployed configuration,
// header auth, memory guard, JSON logs to a discarding writer) and
// floorreq, 32 clients over loopback HTTP, a fast fake 8x8; returning
// users (Hook) and the flood of distinct numbers, users and eventIds
// (Flood). Profile the hook alone with -bench 'Flood/hook$':
//
//	go test -run '^$' -bench 'Hook|Flood' -cpu 1 -benchtime 20000x -count 3 .
//
// As processes (GOMAXPROCS=1; server CPU and peak RSS from /proc), the
// buildpack's main that Cloud Run runs (internal/buildpackmain) and the
// floorreq command: the flood at full speed for 8 s, then a flood that
// fills the guard's caps (the defaults, no memory limit: 100,000 answers,
// 100,000 windows) and one with the caps sized from GOMEMLIMIT:
//
//	go test -run '^$' -bench '^BenchmarkProcess$' -cpu 1 -benchtime 1x -count 3 .
//
// Cold start, exec → first answered hook request, the buildpack main
// against the card floor (internal/benchtest/cardfloor) and floorreq,
// interleaved, medians:
//
//	go test -run '^$' -bench '^BenchmarkColdStart$' -cpu 1 -benchtime 41x -count 3 .
//
// The hook's process profiled under the flood (CPU, allocations, locks;
// see BenchmarkProcessProfile):
//
//	HOOK_PROFILE_DIR=/tmp/prof go test -run '^$' -bench ProcessProfile -cpu 1 -benchtime 1x .
//
// The bytes per remembered answer and per rate window are internal/guard's
// (go test -run '^$' -bench MemoryMillionKeys -benchtime 1x ./internal/guard).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/benchtest"
)

// benchClients is the 32 concurrent clients.
const benchClients = 32

// benchEventSecret turns the event hook on, and with it the conversion
// tracker where the build has one: the flood then pays for its Check and
// Sent as a deployment that tracks conversion does.
const benchEventSecret = "okta-event-hook-secret-Bn7Qw2"

// The goals.
const (
	goalReqPerSec   = 0.95 // × floorreq's, on the flood
	goalP99         = 1.25 // × floorreq's, on the flood
	goalFloodRSSMiB = 48   // peak RSS over an 8 s flood at full speed
	goalCapsRSSMiB  = 96   // RSS with the guard at its caps
	goalColdStart   = 1.1  // × the card floor's
)

// goal prints whether a figure meets its goal: "≤" goals are met at or
// under want, "≥" ones at or over.
func goal(b *testing.B, name string, got, want float64, atMost bool, unit string) {
	b.Helper()
	verdict := "met"
	if (atMost && got > want) || (!atMost && got < want) {
		verdict = fmt.Sprintf("MISSED by %.0f%%", 100*(got/want-1))
		if !atMost {
			verdict = fmt.Sprintf("MISSED by %.0f%%", 100*(1-got/want))
		}
	}
	op := "≥"
	if atMost {
		op = "≤"
	}
	b.Logf("goal: %s %.3f%s %s %.3g%s: %s", name, got, unit, op, want, unit, verdict)
}

func newFast8x8(tb testing.TB) *httptest.Server {
	s := httptest.NewServer(benchtest.Fast8x8())
	tb.Cleanup(s.Close)
	return s
}

// benchLogSink discards log lines, except the first few, which join the
// suite's leak scan (TestMain fails a run that logged nothing).
type benchLogSink struct{ n atomic.Int64 }

func (s *benchLogSink) Write(p []byte) (int, error) {
	if s.n.Add(1) <= 4 {
		_, _ = suite.Write(p)
	}
	return len(p), nil
}

// benchEnv is the deployed configuration the benchmarks run: header
// auth, the guard in memory with its default limits (5/15m per phone,
// 10/1h per user: a flood of distinct keys opens windows and is never
// refused), the event hook on, JSON logs.
func benchEnv(fake8x8 string) map[string]string {
	env := deployedEnv(fake8x8, fake8x8)
	env["OKTA_EVENT_HOOK_SECRET"] = benchEventSecret
	env["LOG_FORMAT"] = "json"
	return env
}

// benchHook builds the function as deployed, loaded.
func benchHook(tb testing.TB, env map[string]string) http.Handler {
	f := New(Options{Getenv: func(k string) string { return env[k] }, Stdout: &benchLogSink{}})
	if _, err := f.Ready(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return f
}

func benchFloor(fake8x8 string) http.Handler {
	return benchtest.FloorReq(benchtest.FloorConfig{VoiceURL: fake8x8, Subaccount: testSub, APIKey: testAPIKey,
		CallerID: testCaller, Log: &benchLogSink{}})
}

// newLoad drives url with the benchmark's clients.
func newLoad(url string, q *benchtest.Requests) benchtest.Load {
	return benchtest.Load{URL: url, Client: benchtest.NewClient(benchClients), Secret: testSecret,
		Clients: benchClients, Body: q.Append}
}

// firstAnswer posts body until it is answered SUCCESSFUL (a process
// starting up), polling every 250 µs; it gives up when exited is closed or
// after 10 s.
func firstAnswer(url string, body []byte, exited <-chan struct{}) error {
	l := benchtest.Load{URL: url, Secret: testSecret,
		Client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}}
	deadline := time.Now().Add(10 * time.Second)
	t := time.NewTicker(250 * time.Microsecond)
	defer t.Stop()
	for {
		err := l.Post(body)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within 10s: %w", err)
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited: %w", err)
		case <-t.C:
		}
	}
}

// outputSink stands for Cloud Run's log agent: it drains a process's
// stdout pipe as fast as it is written and keeps the first lines for the
// suite's leak scan.
type outputSink struct {
	lines atomic.Int64
	bytes atomic.Int64
}

func (s *outputSink) Write(p []byte) (int, error) {
	s.bytes.Add(int64(len(p)))
	if s.lines.Add(int64(bytes.Count(p, []byte{'\n'}))) <= 8 {
		_, _ = suite.Write(p)
	}
	return len(p), nil
}

var _ io.Writer = (*outputSink)(nil)
