package hook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
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
// The stack is logged, never the body.
func TestPanics(t *testing.T) {
	for _, tt := range []struct {
		name       string
		guard      func(*guard.Guard) hook.Guard
		sender     hook.Sender
		wantStatus int
		wantBody   string
		wantPanics int // the repeat of a panic while sending never reaches the bug
	}{
		{"panic before sending", func(g *guard.Guard) hook.Guard { return panicGuard{g} }, panicSender{}, 500, `"errorSummary"`, 3},
		{"panic while sending", func(g *guard.Guard) hook.Guard { return g }, panicSender{}, 200, `"PENDING"`, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			phones, _ := phone.NewParser("US", 0)
			g, err := guard.New(guard.Config{KeySecret: redisstore.DeriveSecret("test key material")}, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := hook.New(hook.Options{Policy: guard.Policy{RefusedTypes: guard.DefaultRefusedTypes()}}, hook.Deps{
				Auth:   hook.Auth{Header: okta.NewHeaderAuth("Authorization", "s3cret-value")},
				Phones: phones, Guard: tt.guard(g), Sender: tt.sender,
				Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			post := func(eventID string) *httptest.ResponseRecorder {
				body := `{"eventId":"` + eventID + `","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS","msgTemplate":"Your code is 482913"}}}`
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				r.Header.Set("Authorization", "s3cret-value")
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				return w
			}
			// The same eventId twice (a repeat after the panic), then another.
			for _, ev := range []string{"panic1", "panic1", "panic2"} {
				w := post(ev)
				if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
					t.Fatalf("%s: HTTP %d %s, want %d %s", ev, w.Code, w.Body, tt.wantStatus, tt.wantBody)
				}
			}
			out := logs.String()
			if strings.Count(out, "panic while handling request") != tt.wantPanics || !strings.Contains(out, "goroutine") {
				t.Errorf("want a panic log with a stack for each request that reached the bug:\n%s", out)
			}
			for _, leak := range []string{"482913", "4155550123", "s3cret-value"} {
				if strings.Contains(out, leak) {
					t.Errorf("the panic log carries %q", leak)
				}
			}
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Errorf("healthz after panics: %d", w.Code)
			}
		})
	}
}
