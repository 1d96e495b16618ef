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

func TestSpeechProfiles(t *testing.T) {
	type F = eightbyeighttest.Fault
	custom := []eightbyeighttest.SpeechProfile{
		{Code: "en-US-Standard-A", Locale: "en-US", Description: "EnglishUS", Gender: "F"},
		{Code: "", Locale: "xx-XX"}, // unusable: dropped
		{Code: "da-DK-Naja", Locale: "da-DK", Description: "Danish", Gender: "F"},
	}
	tests := []struct {
		name      string
		faults    []F
		list      []eightbyeighttest.SpeechProfile // nil: the fake's default
		budget    time.Duration
		wantCodes []string // nil with wantKind: failure
		wantKind  eightbyeight.Kind
		wantReads int
	}{
		{"the account's list", []F{eightbyeighttest.OK}, custom, time.Second, []string{"en-US-Standard-A", "da-DK-Naja"}, 0, 1},
		{"8x8's 500, then the list", []F{eightbyeighttest.ServerError, eightbyeighttest.OK}, custom, time.Second, []string{"en-US-Standard-A", "da-DK-Naja"}, 0, 2},
		{"401: refused, not retried", []F{eightbyeighttest.Unauthorized, eightbyeighttest.OK}, custom, time.Second, nil, eightbyeight.Refused, 1},
		{"hang: gives up at the deadline", []F{eightbyeighttest.Hang, eightbyeighttest.OK}, custom, 300 * time.Millisecond, nil, eightbyeight.Unknown, 1},
		{"garbled 200", []F{eightbyeighttest.Garbled}, custom, time.Second, nil, eightbyeight.Unknown, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			if tt.list != nil {
				fake.SetSpeechProfiles(tt.list)
			}
			fake.QueueFor(eightbyeighttest.SpeechProfiles, tt.faults...)
			c := newClient(t, fake)
			eightbyeight.SetSleep(c, (&waits{}).sleep)
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
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, p := range ps {
				codes = append(codes, p.Code)
			}
			if !slices.Equal(codes, tt.wantCodes) {
				t.Errorf("codes = %v, want %v", codes, tt.wantCodes)
			}
			if ps[1] != (eightbyeight.SpeechProfile{Code: "da-DK-Naja", Locale: "da-DK", Description: "Danish", Gender: "F"}) {
				t.Errorf("profile = %+v", ps[1])
			}
		})
	}
}

// The unconfigured fake serves a fully provisioned account.
func TestSpeechProfilesDefault(t *testing.T) {
	fake := eightbyeighttest.New(t)
	ps, err := newClient(t, fake).SpeechProfiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(eightbyeighttest.DefaultSpeechProfiles()) || !slices.ContainsFunc(ps, func(p eightbyeight.SpeechProfile) bool {
		return p.Code == "en-US-Jenny" && p.Locale == "en-US"
	}) {
		t.Errorf("profiles = %+v", ps)
	}
}
