package hook_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// blocked refuses codes to the countries cc.
func blocked(cc ...string) func(*setup) {
	return func(s *setup) {
		s.opt.Policy.Blocked = map[string]bool{}
		for _, c := range cc {
			s.opt.Policy.Blocked[c] = true
		}
	}
}

func TestPolicyRefusals(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*setup)
		r    oktatest.Request
		want string
	}{
		{"premium rate number", nil, sms("+19005550123", "482913"), "error:number_type_refused"},
		{"UK premium rate", nil, voice("+449098790000", "482913", "en-GB"), "error:number_type_refused"},
		{"blocked country", blocked("FR"), voice("+33612345678", "905127", "fr"), "error:country_not_allowed"},
		{"outside the allow-list", func(s *setup) { s.opt.Policy.Allowed = map[string]bool{"US": true, "CA": true} }, sms("+34612345678", "739104"), "error:country_not_allowed"},
		{"invalid number", nil, sms("+1415555", "482913"), "error:invalid_number"},
		{"expired code", nil, oktatest.Request{Phone: "+14155550123", OTP: "482913", Channel: "SMS", Expires: time.Now().Add(-time.Minute)}, "error:otp_expired"},
		{"preview placeholder where it is a valid number", func(s *setup) { s.region = "IN" },
			oktatest.Request{Phone: "9876543210", OTP: "11111", Channel: "Voice", URL: "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"}, "error:preview_placeholder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.edit)
			a := oktatest.Decode(t, h.hook(tt.r.Body()))
			if a.Kind() != tt.want {
				t.Fatalf("answer %s, want %s", a.Kind(), tt.want)
			}
			if h.fake.Count() != 0 {
				t.Errorf("8x8 called for a refused request")
			}
			if strings.Contains(a.Error.ErrorSummary, "+") || strings.Contains(a.Error.ErrorSummary, "8x8") {
				t.Errorf("errorSummary echoes input or names the provider: %q", a.Error.ErrorSummary)
			}
		})
	}
	t.Run("refusal is in the user's language", func(t *testing.T) {
		h := newHarness(t, blocked("FR"))
		fr := oktatest.Decode(t, h.hook(voice("+33612345678", "905127", "fr-FR").Body()))
		en := oktatest.Decode(t, h.hook(voice("+33612345678", "905127", "en-US").Body()))
		if fr.Error.ErrorSummary == en.Error.ErrorSummary {
			t.Errorf("French and English refusals are the same: %q", fr.Error.ErrorSummary)
		}
	})
}

// limited posts reqs in order and checks each answer and the sends.
func limited(t *testing.T, h *harness, reqs []oktatest.Request, want ...string) {
	t.Helper()
	var kinds []string
	sends := 0
	for i, r := range reqs {
		kinds = append(kinds, h.kind(r))
		if want[i] == "SUCCESSFUL" {
			sends++
		}
	}
	if fmt.Sprint(kinds) != fmt.Sprint(want) || h.fake.Count() != sends {
		t.Errorf("answers %v and %d sends, want %v and %d", kinds, h.fake.Count(), want, sends)
	}
}

func TestRateLimitPerPhone(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.guard.PerPhone = guard.Limit{N: 3, Window: 15 * time.Minute} })
	r := sms("+14155550123", "482913")
	limited(t, h, []oktatest.Request{r, r, r, r, r}, "SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL", "error:rate_limited_phone", "error:rate_limited_phone")
	// The window slides: 15 minutes later the phone may receive codes again.
	h.clk.Set(h.clk.Now().Add(16 * time.Minute))
	if k := h.kind(r); k != "SUCCESSFUL" {
		t.Errorf("after the window: %s", k)
	}
}

// RATE_LIMIT_PER_USER counts one Okta user's codes across their numbers
// (an attacker adding number after number to one account).
func TestRateLimitPerUser(t *testing.T) {
	h := newHarness(t, func(s *setup) {
		s.guard.PerPhone, s.guard.PerUser = guard.Limit{}, guard.Limit{N: 2, Window: time.Hour}
	})
	var reqs []oktatest.Request
	for i, user := range []string{"00uSameUser000000001", "00uSameUser000000001", "00uSameUser000000001", "00uOtherUser00000001"} {
		reqs = append(reqs, sms(oktatest.Phones[i], "482913"))
		reqs[i].UserID = user
	}
	limited(t, h, reqs, "SUCCESSFUL", "SUCCESSFUL", "error:rate_limited_user", "SUCCESSFUL")
}

// RATE_LIMIT_PER_COUNTRY caps sends to one country across numbers and users.
func TestRateLimitPerCountry(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.guard.PerCountry = guard.Limit{N: 2, Window: time.Hour} })
	reqs := []oktatest.Request{sms("+14155550123", "482913"), sms("+14155550199", "482913"), sms("+12025550175", "482913"), voice("+33612345678", "905127", "fr")}
	for i := range reqs {
		reqs[i].UserID = fmt.Sprintf("00uCountry%010d", i)
	}
	limited(t, h, reqs, "SUCCESSFUL", "SUCCESSFUL", "error:rate_limited_country", "SUCCESSFUL")
}

// RATE_LIMIT_PER_IP counts sends per end-user IP (Okta's
// data.context.request.ipAddress), across numbers and users.
func TestRateLimitPerIP(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.guard.PerIP = guard.Limit{N: 2, Window: time.Hour} })
	var reqs []oktatest.Request
	for i, ip := range []string{"203.0.113.9", "203.0.113.9", "203.0.113.9", "198.51.100.7"} {
		reqs = append(reqs, sms(oktatest.Phones[i], "482913"))
		reqs[i].UserID, reqs[i].IP = fmt.Sprintf("00uIP%015x", i), ip
	}
	limited(t, h, reqs, "SUCCESSFUL", "SUCCESSFUL", "error:rate_limited_ip", "SUCCESSFUL")
	if ip := h.fake.Requests()[0].SMS().ClientIP; ip != "203.0.113.9" {
		t.Errorf("clientIp sent to 8x8 = %q, want the end user's IP", ip)
	}
}

func TestDuplicateEventID(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		h := newHarness(t)
		r := sms("+14155550123", "482913")
		r.EventID = "dupEvent0000000000001"
		first := h.hook(r.Body()).Body.String()
		second := h.hook(r.Body()).Body.String()
		if first != second {
			t.Errorf("second answer differs:\n%s\n%s", first, second)
		}
		if h.fake.Count() != 1 {
			t.Errorf("8x8 received %d requests, want 1", h.fake.Count())
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		h := newHarness(t, func(s *setup) { s.guard.PerPhone = guard.Limit{} })
		for round := range 20 {
			r := voice("+14155550123", "482913", "en")
			r.EventID = fmt.Sprintf("concurrent%012d", round)
			var wg sync.WaitGroup
			answers := make([]string, 8)
			for i := range answers {
				wg.Go(func() { answers[i] = h.hook(r.Body()).Body.String() })
			}
			wg.Wait()
			for _, a := range answers[1:] {
				if a != answers[0] {
					t.Fatalf("round %d: answers differ: %s vs %s", round, a, answers[0])
				}
			}
		}
		if h.fake.Count() != 20 {
			t.Errorf("8x8 received %d requests for 20 distinct events, want 20", h.fake.Count())
		}
	})
}

// A repeat that cannot be given the first answer gets PENDING, never a
// second send: the first is still in flight when the repeat's own
// deadline comes.
func TestDuplicateWithoutAnAnswer(t *testing.T) {
	t.Run("the first still in flight at the repeat's deadline", func(t *testing.T) {
		h := newHarness(t)
		h.fake.SetFault(eightbyeighttest.Hang)
		r := voice("+14155550123", "482913", "en")
		r.EventID = oktatest.EventID()
		first := make(chan string, 1)
		go func() { first <- oktatest.Decode(t, h.hook(r.Body())).Kind() }()
		for h.fake.Count() == 0 { // the first holds the eventId and is at 8x8
			runtime.Gosched()
		}
		// The repeat arrived (at Cloud Run's front end) long enough ago
		// that its deadline comes before the first's answer.
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(r.Body()))
		req.Header = oktatest.Headers()
		req = req.WithContext(hook.WithArrival(req.Context(), time.Now().Add(-defaults().opt.Deadline+100*time.Millisecond)))
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, req)
		if k := oktatest.Decode(t, w).Kind(); k != "PENDING" {
			t.Errorf("repeat answered %s, want PENDING", k)
		}
		if k := <-first; k != "PENDING" {
			t.Errorf("first answered %s, want PENDING (8x8 hung)", k)
		}
		if h.fake.Count() != 1 {
			t.Errorf("8x8 received %d requests, want 1", h.fake.Count())
		}
		if !strings.Contains(h.logs.String(), `"duplicate":true`) {
			t.Errorf("no request line says duplicate:\n%s", h.logs)
		}
	})
}

func TestDryRunAndPreview(t *testing.T) {
	preview := sms("+14155550123", "482913")
	preview.URL = "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"
	// What the Admin Console really sends: Okta's placeholder number.
	placeholder := voice("9876543210", "482913", "en")
	placeholder.URL = preview.URL
	for _, tt := range []struct {
		name   string
		edit   func(*setup)
		r      oktatest.Request
		dryRun bool
	}{
		{"DRY_RUN sends nothing", func(s *setup) { s.opt.DryRun = true }, sms("+14155550123", "482913"), true},
		{"PREVIEW_MODE=dry-run: preview not sent", func(s *setup) { s.opt.PreviewDryRun = true }, preview, true},
		{"PREVIEW_MODE=dry-run: sign-in still sent", func(s *setup) { s.opt.PreviewDryRun = true }, sms("+14155550123", "482913"), false},
		{"PREVIEW_MODE=deliver: preview sent", nil, preview, false},
		{"PREVIEW_MODE=dry-run: the placeholder answers like a dry run", func(s *setup) { s.opt.PreviewDryRun = true }, placeholder, true},
		{"DRY_RUN: the placeholder answers like a dry run", func(s *setup) { s.opt.DryRun = true }, placeholder, true},
		{"open local dry run (no credentials)", func(s *setup) { s.opt.DryRun, s.open, s.secret = true, true, "" }, voice("+14155550123", "482913", "en"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.edit)
			a := oktatest.Decode(t, h.hook(tt.r.Body()))
			if a.Kind() != "SUCCESSFUL" {
				t.Fatalf("answer %s", a.Kind())
			}
			id := a.Commands[0].Value[0].TransactionID
			if got := strings.HasPrefix(id, "dry-run-"); got != tt.dryRun {
				t.Errorf("transactionId %q, dry run %v", id, tt.dryRun)
			}
			if md := a.Commands[0].Value[0].TransactionMetadata; md != "sms" && md != "voice" {
				t.Errorf("transactionMetadata %q: DESIGN says the channel", md)
			}
			if want := map[bool]int{true: 0, false: 1}[tt.dryRun]; h.fake.Count() != want {
				t.Errorf("8x8 received %d requests, want %d", h.fake.Count(), want)
			}
		})
	}
}
