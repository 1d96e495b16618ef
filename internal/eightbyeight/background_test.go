package eightbyeight_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
)

const umid = "bda3d56d-1424-e711-813c-06ed3428fe67"

func TestFeedback(t *testing.T) {
	type F = eightbyeighttest.Fault
	paris := time.FixedZone("Paris", 3600)
	verifiedAt := time.Date(2026, 3, 14, 11, 7, 11, 902_345_000, paris) // 10:07:11.902 UTC
	const base = 500 * time.Millisecond                                 // the first backoff
	tests := []struct {
		name        string
		faults      []F // feedback answers, in order
		retryAfter  int // seconds, for 429
		cancelAfter int // the caller gives up after this many waits (0: never)
		budget      time.Duration
		wantKind    eightbyeight.Kind // 0: success
		wantHTTP    int
		wantReqs    int
		// wantWaits bounds each wait: [lo, hi].
		wantWaits [][2]time.Duration
	}{
		{"accepted", []F{eightbyeighttest.OK}, 0, 0, 0, 0, 0, 1, nil},
		{"429: waits Retry-After, then sent", []F{eightbyeighttest.TooMany, eightbyeighttest.OK}, 7, 0, 0, 0, 0, 2,
			[][2]time.Duration{{7 * time.Second, 7 * time.Second}}},
		{"8x8's 500 twice: retried with growing backoff", []F{eightbyeighttest.ServerError, eightbyeighttest.ServerError, eightbyeighttest.OK}, 0, 0, 0, 0, 0, 3,
			[][2]time.Duration{{base / 2, base}, {base, 2 * base}}},
		{"a gateway's 504 is retried: a duplicate feedback is harmless", []F{eightbyeighttest.Gateway, eightbyeighttest.OK}, 0, 0, 0, 0, 0, 2,
			[][2]time.Duration{{base / 2, base}}},
		{"connection reset: retried", []F{eightbyeighttest.Reset, eightbyeighttest.OK}, 0, 0, 0, 0, 0, 2,
			[][2]time.Duration{{base / 2, base}}},
		{"400: permanent, not retried", []F{eightbyeighttest.BadRequest, eightbyeighttest.OK}, 0, 0, 0, eightbyeight.Refused, 400, 1, nil},
		{"401: permanent, not retried", []F{eightbyeighttest.Unauthorized, eightbyeighttest.OK}, 0, 0, 0, eightbyeight.Refused, 401, 1, nil},
		{"8x8's 500 until the caller gives up", []F{eightbyeighttest.ServerError, eightbyeighttest.ServerError, eightbyeighttest.ServerError, eightbyeighttest.OK}, 0, 3, 0, eightbyeight.Refused, 500, 3,
			[][2]time.Duration{{base / 2, base}, {base, 2 * base}, {2 * base, 4 * base}}},
		{"a proxy's 503 until the caller gives up: unknown", []F{eightbyeighttest.ProxyUnavailable, eightbyeighttest.ProxyUnavailable, eightbyeighttest.OK}, 0, 2, 0, eightbyeight.Unknown, 503, 2,
			[][2]time.Duration{{base / 2, base}, {base, 2 * base}}},
		{"Retry-After past the deadline: no wait, no retry", []F{eightbyeighttest.TooMany, eightbyeighttest.OK}, 60, 0, time.Second, eightbyeight.Refused, 429, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			fake.RetryAfter = tt.retryAfter
			fake.QueueFor(eightbyeighttest.Feedback, tt.faults...)
			c := newClient(t, fake)
			ctx, cancel := context.WithCancel(context.Background())
			if tt.budget > 0 {
				ctx, cancel = context.WithTimeout(context.Background(), tt.budget)
			}
			defer cancel()
			w := &waits{cancelAfter: tt.cancelAfter, cancel: cancel}
			eightbyeight.SetSleep(c, w.sleep)

			err := c.Feedback(ctx, umid, true, verifiedAt)

			fbs := fake.Feedbacks()
			if len(fbs) != tt.wantReqs {
				t.Fatalf("8x8 received %d feedbacks, want %d (err %v)", len(fbs), tt.wantReqs, err)
			}
			for _, fb := range fbs {
				if fb.UMID != umid || fb.Outcome != "success" || fb.Timestamp != "2026-03-14T10:07:11.902Z" || fb.Subaccount != "acme_otp" {
					t.Errorf("feedback = %+v", fb)
				}
			}
			if fake.Count() != 0 {
				t.Errorf("a feedback counted as %d sends", fake.Count())
			}
			got := w.got
			if len(got) != len(tt.wantWaits) {
				t.Errorf("waits = %v, want %d", got, len(tt.wantWaits))
			}
			for i := range min(len(got), len(tt.wantWaits)) {
				if got[i] < tt.wantWaits[i][0] || got[i] > tt.wantWaits[i][1] {
					t.Errorf("wait %d = %v, want within %v", i+1, got[i], tt.wantWaits[i])
				}
			}
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var e *eightbyeight.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind || e.HTTPStatus != tt.wantHTTP || e.Attempts != tt.wantReqs {
				t.Fatalf("err = %#v, want %v, HTTP %d after %d attempts", err, tt.wantKind, tt.wantHTTP, tt.wantReqs)
			}
		})
	}
}

func TestFeedbackBody(t *testing.T) {
	tests := []struct {
		name          string
		umid          string
		success       bool
		at            time.Time
		wantOutcome   string // "": refused, nothing sent
		wantTimestamp string
	}{
		{"failure", umid, false, time.Date(2026, 3, 14, 10, 7, 11, 0, time.UTC), "failure", "2026-03-14T10:07:11.000Z"},
		{"no time: no timestamp", umid, true, time.Time{}, "success", ""},
		{"the umid is escaped into the path", "a b?c#d", true, time.Time{}, "success", ""},
		{"no umid: refused, nothing sent", "", true, time.Now(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			err := newClient(t, fake).Feedback(context.Background(), tt.umid, tt.success, tt.at)
			fbs := fake.Feedbacks()
			if tt.wantOutcome == "" {
				var e *eightbyeight.Error
				if !errors.As(err, &e) || e.Kind != eightbyeight.Refused || len(fbs) != 0 {
					t.Fatalf("err = %v, %d feedbacks sent", err, len(fbs))
				}
				return
			}
			if err != nil || len(fbs) != 1 || fbs[0].UMID != tt.umid || fbs[0].Outcome != tt.wantOutcome || fbs[0].Timestamp != tt.wantTimestamp {
				t.Errorf("err = %v, feedbacks = %+v", err, fbs)
			}
		})
	}
}

func TestSpeechProfiles(t *testing.T) {
	type F = eightbyeighttest.Fault
	custom := []eightbyeighttest.SpeechProfile{
		{Code: "en-US-Standard-A", Locale: "en-US", Description: "EnglishUS", Gender: "F"},
		{Code: "", Locale: "xx-XX"}, // unusable: dropped
		{Code: "da-DK-Naja", Locale: "da-DK", Description: "Danish", Gender: "F"},
	}
	usable := []eightbyeight.SpeechProfile{{Code: "en-US-Standard-A", Locale: "en-US"}, {Code: "da-DK-Naja", Locale: "da-DK"}}
	tests := []struct {
		name      string
		faults    []F
		budget    time.Duration
		want      []eightbyeight.SpeechProfile
		wantKind  eightbyeight.Kind
		wantReads int
	}{
		{"the account's list", []F{eightbyeighttest.OK}, time.Second, usable, 0, 1},
		{"8x8's 500, then the list", []F{eightbyeighttest.ServerError, eightbyeighttest.OK}, time.Second, usable, 0, 2},
		{"401: refused, not retried", []F{eightbyeighttest.Unauthorized, eightbyeighttest.OK}, time.Second, nil, eightbyeight.Refused, 1},
		{"hang: gives up at the deadline", []F{eightbyeighttest.Hang, eightbyeighttest.OK}, 300 * time.Millisecond, nil, eightbyeight.Unknown, 1},
		{"garbled 200", []F{eightbyeighttest.Garbled}, time.Second, nil, eightbyeight.Unknown, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			fake.SetSpeechProfiles(custom)
			fake.QueueFor(eightbyeighttest.SpeechProfiles, tt.faults...)
			c := newClient(t, fake)
			ctx, cancel := context.WithTimeout(context.Background(), tt.budget)
			defer cancel()

			ps, err := c.SpeechProfiles(ctx)

			if got := fake.ProfileReads(); got != tt.wantReads {
				t.Errorf("8x8 received %d reads, want %d", got, tt.wantReads)
			}
			if tt.wantKind != 0 {
				var e *eightbyeight.Error
				if !errors.As(err, &e) || e.Kind != tt.wantKind {
					t.Fatalf("err = %v, want %v", err, tt.wantKind)
				}
				return
			}
			if err != nil || !slices.Equal(ps, tt.want) {
				t.Errorf("profiles = %+v, %v; want %+v", ps, err, tt.want)
			}
		})
	}
}
