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
)

// panicSender is a Sender with a bug.
type panicSender struct{}

func (panicSender) Call(context.Context, eightbyeight.Call) (eightbyeight.Receipt, error) {
	panic("bug in the sender")
}

func (panicSender) SendSMS(context.Context, eightbyeight.Message) (eightbyeight.Receipt, error) {
	panic("bug in the sender")
}

// A panic answers 500 (Okta falls back), logs the stack but not the body,
// and the next request is served.
func TestPanicAnswers500(t *testing.T) {
	var logs bytes.Buffer
	phones, _ := phone.NewParser("US", 0)
	g := guard.New(guard.Config{}, nil, nil, nil)
	s := hook.New(hook.Options{Policy: guard.Policy{RefusedTypes: guard.DefaultRefusedTypes()}}, hook.Deps{
		Auth:   hook.Auth{Header: okta.NewHeaderAuth("Authorization", "s3cret-value")},
		Phones: phones, Guard: g, Sender: panicSender{},
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
	for _, ev := range []string{"panic1", "panic2"} { // the instance survives
		if w := post(ev); w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"errorSummary"`) {
			t.Fatalf("%s: HTTP %d %s", ev, w.Code, w.Body)
		}
	}
	// The panic came while sending: the code may be on its way, so a repeat
	// of that eventId gets PENDING, not a second send.
	if w := post("panic1"); w.Code != 200 || !strings.Contains(w.Body.String(), `"PENDING"`) {
		t.Fatalf("repeat after a panic: HTTP %d %s", w.Code, w.Body)
	}
	out := logs.String()
	if !strings.Contains(out, "panic while handling request") || !strings.Contains(out, "goroutine") {
		t.Errorf("no panic log with a stack:\n%s", out)
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
}
