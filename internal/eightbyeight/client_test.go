package eightbyeight_test

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
)

func newClient(t *testing.T, fake *eightbyeighttest.Server) *eightbyeight.Client {
	return newClientMin(t, fake, 50*time.Millisecond)
}

// newClientMin sets the least budget left for a retry to be tried.
func newClientMin(t *testing.T, fake *eightbyeighttest.Server, minAttempt time.Duration) *eightbyeight.Client {
	t.Helper()
	c, err := eightbyeight.New(eightbyeight.Config{
		VoiceURL: fake.VoiceURL(), SMSURL: fake.SMSURL(),
		SubaccountID: "acme_otp", APIKey: "test-api-key-123",
		MinAttempt: minAttempt, DefaultRetryAfter: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	call = eightbyeight.Call{
		Destination: "+33612345678", Source: "+14155550100",
		Text: "Votre code est : 9. 0. 5. 1. 2. 7.", VoiceProfile: "fr-FR-Denise", Repetition: 2,
		ValidUntil: time.Date(2026, 3, 14, 10, 7, 11, 902e6, time.UTC),
	}
	sms = eightbyeight.Message{Destination: "+14155550123", Source: "Acme", Text: "Your verification code is 482913", ClientMessageID: "Jk3vQ9sLRmWb2nXe7TfYpA"}
)

// send sends on the given channel.
func send(ctx context.Context, c *eightbyeight.Client, voice bool) (eightbyeight.Receipt, error) {
	if voice {
		return c.Call(ctx, call)
	}
	return c.SendSMS(ctx, sms)
}

func TestSendFaults(t *testing.T) {
	tests := []struct {
		name     string
		faults   []eightbyeighttest.Fault // answers, in order
		budget   time.Duration
		minRetry time.Duration     // least budget left to retry (0: 50ms)
		wantKind eightbyeight.Kind // 0: success
		wantReqs int               // requests that reached 8x8
		wantCode string
	}{
		{"accepted", []eightbyeighttest.Fault{eightbyeighttest.OK}, time.Second, 0, 0, 1, ""},
		{"400 refused, not retried", []eightbyeighttest.Fault{eightbyeighttest.BadRequest}, time.Second, 0, eightbyeight.Refused, 1, ""},
		{"401 refused, not retried", []eightbyeighttest.Fault{eightbyeighttest.Unauthorized}, time.Second, 0, eightbyeight.Refused, 1, ""},
		{"200 but rejected", []eightbyeighttest.Fault{eightbyeighttest.Rejected}, time.Second, 0, eightbyeight.Refused, 1, ""},
		{"500 then ok: retried once", []eightbyeighttest.Fault{eightbyeighttest.ServerError, eightbyeighttest.OK}, time.Second, 0, 0, 2, ""},
		{"429 then ok: retried once", []eightbyeighttest.Fault{eightbyeighttest.TooMany, eightbyeighttest.OK}, time.Second, 0, 0, 2, ""},
		{"500 twice: refused after one retry", []eightbyeighttest.Fault{eightbyeighttest.ServerError, eightbyeighttest.ServerError, eightbyeighttest.OK}, time.Second, 0, eightbyeight.Refused, 2, ""},
		{"500 with no budget left for a retry", []eightbyeighttest.Fault{eightbyeighttest.ServerError, eightbyeighttest.OK}, 2 * time.Second, time.Minute, eightbyeight.Refused, 1, ""},
		{"hang: outcome unknown, not retried", []eightbyeighttest.Fault{eightbyeighttest.Hang, eightbyeighttest.OK}, 500 * time.Millisecond, 0, eightbyeight.Unknown, 1, ""},
		{"reset after the request was sent: unknown, not retried", []eightbyeighttest.Fault{eightbyeighttest.Reset, eightbyeighttest.OK}, time.Second, 0, eightbyeight.Unknown, 1, ""},
		{"503 then ok: retried once", []eightbyeighttest.Fault{eightbyeighttest.Unavailable, eightbyeighttest.OK}, time.Second, 0, 0, 2, ""},
		{"504 from a gateway: unknown, not retried", []eightbyeighttest.Fault{eightbyeighttest.Gateway, eightbyeighttest.OK}, time.Second, 0, eightbyeight.Unknown, 1, ""},
		{"garbled 200: unknown", []eightbyeighttest.Fault{eightbyeighttest.Garbled}, time.Second, 0, eightbyeight.Unknown, 1, ""},
	}
	for _, voice := range []bool{true, false} {
		for _, tt := range tests {
			name := "sms/" + tt.name
			if voice {
				name = "voice/" + tt.name
			}
			t.Run(name, func(t *testing.T) {
				fake := eightbyeighttest.New(t)
				fake.Queue(tt.faults...)
				c := newClientMin(t, fake, cmp.Or(tt.minRetry, 50*time.Millisecond))
				ctx, cancel := context.WithTimeout(context.Background(), tt.budget)
				defer cancel()
				rec, err := send(ctx, c, voice)
				if got := fake.Count(); got != tt.wantReqs {
					t.Errorf("8x8 received %d requests, want %d", got, tt.wantReqs)
				}
				if tt.wantKind == 0 {
					if err != nil {
						t.Fatalf("err = %v, want success", err)
					}
					if rec.TransactionID == "" {
						t.Error("no transaction id")
					}
					return
				}
				var e *eightbyeight.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *eightbyeight.Error", err)
				}
				if e.Kind != tt.wantKind {
					t.Errorf("kind = %v, want %v (%v)", e.Kind, tt.wantKind, err)
				}
			})
		}
	}
}

func TestErrorCarries8x8Codes(t *testing.T) {
	tests := []struct {
		voice    bool
		fault    eightbyeighttest.Fault
		wantCode string
		wantHTTP int
	}{
		{true, eightbyeighttest.BadRequest, "-1017", 400},
		{false, eightbyeighttest.BadRequest, "1002", 400},
		{true, eightbyeighttest.Unauthorized, "401", 401},
		{false, eightbyeighttest.Unauthorized, "1200", 401},
		{false, eightbyeighttest.Rejected, "REJECTED", 200},
		{true, eightbyeighttest.Rejected, "-1013", 200},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			fake.SetFault(tt.fault)
			_, err := send(context.Background(), newClient(t, fake), tt.voice)
			var e *eightbyeight.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.HTTPStatus != tt.wantHTTP {
				t.Fatalf("err = %#v, want code %s HTTP %d", err, tt.wantCode, tt.wantHTTP)
			}
			if strings.Contains(err.Error(), "test-api-key-123") || strings.Contains(err.Error(), "+1415") {
				t.Errorf("error leaks the key or the number: %v", err)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	fake := eightbyeighttest.New(t)
	c := newClient(t, fake)
	if _, err := c.Call(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendSMS(context.Background(), sms); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Authorization != "Bearer test-api-key-123" || r.Subaccount != "acme_otp" {
			t.Errorf("%s: auth %q subaccount %q", r.Kind, r.Authorization, r.Subaccount)
		}
	}
	cf := reqs[0].Callflow()
	if cf.ValidUntil != "2026-03-14T10:07:11.902Z" {
		t.Errorf("validUntil = %q", cf.ValidUntil)
	}
	say := cf.Callflow[1].Params
	if say.VoiceProfile != "fr-FR-Denise" || say.Repetition != 2 || say.Text != call.Text {
		t.Errorf("say = %+v", say)
	}
	if mk := cf.Callflow[0].Params; mk.Destination != call.Destination || mk.Source != call.Source {
		t.Errorf("makeCall = %+v", mk)
	}
	m := reqs[1].SMS()
	if m.ClientMessageID != sms.ClientMessageID || m.Destination != sms.Destination || m.Source != "Acme" || m.Text != sms.Text {
		t.Errorf("sms = %+v", m)
	}
}

func TestUnreachableIsNotSent(t *testing.T) {
	c, err := eightbyeight.New(eightbyeight.Config{
		VoiceURL: "http://127.0.0.1:1", SMSURL: "http://127.0.0.1:1",
		SubaccountID: "acme", APIKey: "k", MinAttempt: 10 * time.Millisecond, DefaultRetryAfter: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(context.Background(), call)
	var e *eightbyeight.Error
	if !errors.As(err, &e) || e.Kind != eightbyeight.Unreachable || e.Attempts != 2 {
		t.Fatalf("err = %#v, want unreachable after 2 attempts", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []eightbyeight.Config{
		{VoiceURL: "https://voice.8x8.com", SMSURL: "https://sms.8x8.com", APIKey: "k"},
		{VoiceURL: "https://voice.8x8.com", SMSURL: "https://sms.8x8.com", SubaccountID: "s"},
		{VoiceURL: "voice.8x8.com", SMSURL: "https://sms.8x8.com", SubaccountID: "s", APIKey: "k"},
		{VoiceURL: "https://voice.8x8.com", SMSURL: "ftp://x", SubaccountID: "s", APIKey: "k"},
	} {
		if _, err := eightbyeight.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// 8x8's error text may quote the destination: it is masked before it can
// reach a log.
func TestErrorMessageMasksNumbers(t *testing.T) {
	fake := eightbyeighttest.New(t)
	fake.SetFault(eightbyeighttest.BadRequest)
	_, err := newClient(t, fake).Call(context.Background(), call)
	if err == nil || strings.Contains(err.Error(), "33612345678") || !strings.Contains(err.Error(), "Invalid destination [number]") {
		t.Fatalf("err = %v", err)
	}
}
