package hook_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
)

// panicSender is a Sender with a bug: it panics while sending.
type panicSender struct{}

func (panicSender) Call(context.Context, eightbyeight.Call) (eightbyeight.Receipt, error) {
	panic("bug in the sender")
}

func (panicSender) SendSMS(context.Context, eightbyeight.Message) (eightbyeight.Receipt, error) {
	panic("bug in the sender")
}

// panicGuard panics in the rate limit, before anything is sent.
type panicGuard struct{ *guard.Guard }

func (panicGuard) Allow(context.Context, guard.Subject) *guard.Refusal {
	panic("bug in the guard")
}

// A bug must not send a second code or take the instance down: before the
// send it answers 500 (Okta falls back) and releases the eventId; during the
// send it answers PENDING (the code may be on its way), and so do repeats.
// The stack is logged, never the body (the leak scan reads every line).
func TestPanics(t *testing.T) {
	for _, tt := range []struct {
		name       string
		edit       func(*setup)
		wantStatus int
		wantBody   string
		wantPanics int // the repeat of a panic while sending never reaches the bug
	}{
		{"panic before sending", func(s *setup) { s.wrapGuard = func(g *guard.Guard) hook.Guard { return panicGuard{g} } }, 500, `"errorSummary"`, 3},
		{"panic while sending", func(s *setup) { s.sender = panicSender{} }, 200, `"PENDING"`, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.edit)
			// The same eventId twice (a repeat after the panic), then another.
			for _, ev := range []string{"panic1", "panic1", "panic2"} {
				r := sms("+14155550123", "482913")
				r.EventID = ev
				if w := h.hook(r.Body()); w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
					t.Fatalf("%s: HTTP %d %s, want %d %s", ev, w.Code, w.Body, tt.wantStatus, tt.wantBody)
				}
			}
			if out := h.logs.String(); strings.Count(out, "panic while handling request") != tt.wantPanics || !strings.Contains(out, "goroutine") {
				t.Errorf("want a panic log with a stack for each request that reached the bug:\n%s", out)
			}
			if w := h.do(http.MethodGet, "/healthz", nil, nil); w.Code != 200 {
				t.Errorf("healthz after panics: %d", w.Code)
			}
		})
	}
}
