package eightbyeight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// newClient is a client of fake whose waits between attempts take no time.
func newClient(t *testing.T, fake *eightbyeighttest.Server) *eightbyeight.Client {
	t.Helper()
	c, err := eightbyeight.New(eightbyeight.Config{
		VoiceURL: fake.VoiceURL(), SMSURL: fake.SMSURL(), SubaccountID: "acme_otp", APIKey: "test-api-key-123",
	})
	if err != nil {
		t.Fatal(err)
	}
	eightbyeight.SetSleep(c, (&waits{}).sleep)
	return c
}

// waits records the client's waits between attempts instead of spending
// them; after cancelAfter waits (0: never) it cancels the context, the
// way a caller's deadline would end the retries. The client waits on the
// caller's goroutine, so got is read after the call returns.
type waits struct {
	got         []time.Duration
	cancelAfter int
	cancel      context.CancelFunc
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.got = append(w.got, d)
	if w.cancelAfter > 0 && len(w.got) >= w.cancelAfter {
		w.cancel()
	}
	return ctx.Err()
}

func number(raw string) phone.Number {
	p, err := phone.NewParser("US")
	if err != nil {
		panic(err)
	}
	n, err := p.Parse(raw)
	if err != nil {
		panic(raw + ": " + err.Error())
	}
	return n
}

const (
	voiceText = "Votre code est : 9. 0. 5. 1. 2. 7."
	smsText   = "Your verification code is 482913"
)

var (
	call = eightbyeight.Call{
		Destination: number("+33612345678"), Source: "+14155550100",
		Text: redact.New(voiceText), VoiceProfile: "fr-FR-Denise", Repetition: 2,
		ValidUntil: time.Date(2026, 3, 14, 10, 7, 11, 902e6, time.UTC),
	}
	sms = eightbyeight.Message{
		Destination: number("+14155550123"), Source: "Acme", Text: redact.New(smsText),
		ClientMessageID: "Jk3vQ9sLRmWb2nXe7TfYpA", ClientIP: "203.0.113.7", Track: true,
	}
)

// send sends on the given channel.
func send(ctx context.Context, c *eightbyeight.Client, voice bool) (eightbyeight.Receipt, error) {
	if voice {
		return c.Call(ctx, call)
	}
	return c.SendSMS(ctx, sms)
}

func TestSendFaults(t *testing.T) {
	type F = eightbyeighttest.Fault
	const (
		OK               = eightbyeighttest.OK
		BadRequest       = eightbyeighttest.BadRequest
		Unauthorized     = eightbyeighttest.Unauthorized
		Rejected         = eightbyeighttest.Rejected
		ServerError      = eightbyeighttest.ServerError
		TooMany          = eightbyeighttest.TooMany
		Hang             = eightbyeighttest.Hang
		Reset            = eightbyeighttest.Reset
		Unavailable      = eightbyeighttest.Unavailable
		ProxyUnavailable = eightbyeighttest.ProxyUnavailable
		ForeignJSON      = eightbyeighttest.ForeignJSON
		Gateway          = eightbyeighttest.Gateway
		Garbled          = eightbyeighttest.Garbled
	)
	retried := []time.Duration{100 * time.Millisecond} // the default wait
	tests := []struct {
		name       string
		faults     []F // answers, in order
		retryAfter int // seconds, on a 429
		budget     time.Duration
		wantKind   eightbyeight.Kind // 0: success
		wantReqs   int               // requests that reached 8x8
		wantWaits  []time.Duration   // between them
	}{
		{"accepted", []F{OK}, 0, time.Second, 0, 1, nil},
		{"400 refused, not retried", []F{BadRequest}, 0, time.Second, eightbyeight.Refused, 1, nil},
		{"401 refused, not retried", []F{Unauthorized}, 0, time.Second, eightbyeight.Refused, 1, nil},
		{"200 but rejected", []F{Rejected}, 0, time.Second, eightbyeight.Refused, 1, nil},
		{"8x8's own 500 then ok: retried once", []F{ServerError, OK}, 0, time.Second, 0, 2, retried},
		{"8x8's own 503 then ok: retried once", []F{Unavailable, OK}, 0, time.Second, 0, 2, retried},
		{"429 then ok: retried once", []F{TooMany, OK}, 0, time.Second, 0, 2, retried},
		{"8x8's own 500 twice: refused after one retry", []F{ServerError, ServerError, OK}, 0, time.Second, eightbyeight.Refused, 2, retried},
		{"429 twice: refused after one retry", []F{TooMany, TooMany, OK}, 0, time.Second, eightbyeight.Refused, 2, retried},
		{"8x8's own 500 with no budget left for a retry", []F{ServerError, OK}, 0, 450 * time.Millisecond, eightbyeight.Refused, 1, nil},
		{"proxy's plain 503: unknown, exactly one request", []F{ProxyUnavailable, OK}, 0, time.Second, eightbyeight.Unknown, 1, nil},
		{"503 with JSON not 8x8's shape: unknown, exactly one request", []F{ForeignJSON, OK}, 0, time.Second, eightbyeight.Unknown, 1, nil},
		{"504 from a gateway (HTML): unknown, not retried", []F{Gateway, OK}, 0, time.Second, eightbyeight.Unknown, 1, nil},
		{"8x8's own 500, then a proxy's 503 on the retry: unknown", []F{ServerError, ProxyUnavailable, OK}, 0, time.Second, eightbyeight.Unknown, 2, retried},
		{"429, then a proxy's 503 on the retry: unknown", []F{TooMany, ProxyUnavailable, OK}, 0, time.Second, eightbyeight.Unknown, 2, retried},
		{"hang: outcome unknown, not retried", []F{Hang, OK}, 0, 500 * time.Millisecond, eightbyeight.Unknown, 1, nil},
		{"reset after the request was sent: unknown, not retried", []F{Reset, OK}, 0, time.Second, eightbyeight.Unknown, 1, nil},
		{"Retry-After within the budget: waited, then retried", []F{TooMany, OK}, 2, 5 * time.Second, 0, 2, []time.Duration{2 * time.Second}},
		{"Retry-After past the budget: refused, not retried", []F{TooMany, OK}, 5, time.Second, eightbyeight.Refused, 1, nil},
		{"garbled 200: unknown", []F{Garbled}, 0, time.Second, eightbyeight.Unknown, 1, nil},
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
				fake.RetryAfter = tt.retryAfter
				c, w := newClient(t, fake), &waits{}
				eightbyeight.SetSleep(c, w.sleep)
				ctx, cancel := context.WithTimeout(context.Background(), tt.budget)
				defer cancel()
				rec, err := send(ctx, c, voice)
				if got := fake.Count(); got != tt.wantReqs {
					t.Errorf("8x8 received %d requests, want %d", got, tt.wantReqs)
				}
				if !slices.Equal(w.got, tt.wantWaits) {
					t.Errorf("waits = %v, want %v", w.got, tt.wantWaits)
				}
				if tt.wantKind == 0 {
					if err != nil {
						t.Fatalf("err = %v, want success", err)
					}
					if rec.TransactionID == "" || rec.Attempts != tt.wantReqs {
						t.Errorf("receipt = %+v, want a transaction id after %d attempts", rec, tt.wantReqs)
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
		wantKind eightbyeight.Kind
		wantCode string
		wantHTTP int
		wantMsg  string
	}{
		{true, eightbyeighttest.BadRequest, eightbyeight.Refused, "-1017", 400, "Invalid destination [number]"},
		{false, eightbyeighttest.BadRequest, eightbyeight.Refused, "1002", 400, "Invalid MSISDN format"},
		{true, eightbyeighttest.Unauthorized, eightbyeight.Refused, "401", 401, "token invalid"},
		{false, eightbyeighttest.Unauthorized, eightbyeight.Refused, "1200", 401, "not authenticated"},
		{false, eightbyeighttest.Rejected, eightbyeight.Refused, "REJECTED", 200, "Destination is blocked"},
		{true, eightbyeighttest.Rejected, eightbyeight.Refused, "-1013", 200, "Invalid Callflow"},
		{true, eightbyeighttest.Unavailable, eightbyeight.Refused, "503", 503, "Service unavailable"},
		{false, eightbyeighttest.Unavailable, eightbyeight.Refused, "2000", 503, "temporarily unavailable"},
		// A proxy's words are not 8x8's: no code, an excerpt to tell
		// which proxy answered.
		{true, eightbyeighttest.ProxyUnavailable, eightbyeight.Unknown, "", 503, "upstream connect error or disconnect/reset before headers"},
		{false, eightbyeighttest.ForeignJSON, eightbyeight.Unknown, "", 503, `"status":"UNAVAILABLE"`},
	}
	for _, tt := range tests {
		name := "sms/" + tt.fault.String()
		if tt.voice {
			name = "voice/" + tt.fault.String()
		}
		t.Run(name, func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			fake.SetFault(tt.fault)
			_, err := send(context.Background(), newClient(t, fake), tt.voice)
			var e *eightbyeight.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind || e.Code != tt.wantCode || e.HTTPStatus != tt.wantHTTP || !strings.Contains(e.Message, tt.wantMsg) {
				t.Fatalf("err = %#v, want %v code %q HTTP %d message %q", err, tt.wantKind, tt.wantCode, tt.wantHTTP, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "test-api-key-123") || strings.Contains(err.Error(), "612345678") || strings.Contains(err.Error(), "4155550123") {
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
	plain := sms
	plain.ClientIP, plain.Track = "", false
	if _, err := c.SendSMS(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Requests()
	if len(reqs) != 3 {
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
	if say.VoiceProfile != "fr-FR-Denise" || say.Repetition != 2 || say.Text != voiceText {
		t.Errorf("say = %+v", say)
	}
	if mk := cf.Callflow[0].Params; mk.Destination != "+33612345678" || mk.Source != call.Source {
		t.Errorf("makeCall = %+v", mk)
	}
	m := reqs[1].SMS()
	if m.ClientMessageID != sms.ClientMessageID || m.Destination != "+14155550123" || m.Source != "Acme" || m.Text != smsText ||
		m.Encoding != "AUTO" || m.ClientIP != "203.0.113.7" || m.Track != "Outcome" {
		t.Errorf("sms = %+v", m)
	}
	// Without an IP or tracking, the fields are absent, not empty.
	var raw map[string]any
	if err := json.Unmarshal(reqs[2].Body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"clientIp", "track"} {
		if _, ok := raw[k]; ok {
			t.Errorf("untracked SMS carries %q: %s", k, reqs[2].Body)
		}
	}
}

func TestUnreachableIsNotSent(t *testing.T) {
	c, err := eightbyeight.New(eightbyeight.Config{
		VoiceURL: "http://127.0.0.1:1", SMSURL: "http://127.0.0.1:1",
		SubaccountID: "acme", APIKey: "k",
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
		// The API key would cross the network in the clear.
		{VoiceURL: "http://voice.8x8.com", SMSURL: "https://sms.8x8.com", SubaccountID: "s", APIKey: "k"},
		{VoiceURL: "https://voice.8x8.com", SMSURL: "http://10.0.0.7:8080", SubaccountID: "s", APIKey: "k"},
	} {
		if _, err := eightbyeight.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	// A local fake over http is fine.
	for _, host := range []string{"127.0.0.1:8089", "[::1]:8089", "localhost:8089"} {
		cfg := eightbyeight.Config{VoiceURL: "http://" + host, SMSURL: "http://" + host, SubaccountID: "s", APIKey: "k"}
		if _, err := eightbyeight.New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

// An Error built elsewhere (the hook wraps unknown errors) still prints
// masked: Error() masks Code and Message itself.
func TestErrorStringMasks(t *testing.T) {
	tests := []struct {
		name string
		e    eightbyeight.Error
		want string
	}{
		{"message quoting a number and a code", eightbyeight.Error{Kind: eightbyeight.Refused, HTTPStatus: 400, Code: "-1017", Message: "Invalid destination +33 6 12 34 56 78 for code 482913"},
			"8x8 refused: HTTP 400 code -1017: Invalid destination [number] for code [number]"},
		{"a code field holding a number", eightbyeight.Error{Kind: eightbyeight.Unknown, Code: "+14155550123"}, "8x8 unknown code [number]"},
		{"8x8's word codes kept", eightbyeight.Error{Kind: eightbyeight.Refused, HTTPStatus: 200, Code: "REJECTED"}, "8x8 refused: HTTP 200 code REJECTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A Call or a Message can end up in a log line or an error by accident:
// none of their printable forms carries the number or the code.
func TestCallAndMessageNeverPrintSecrets(t *testing.T) {
	values := []struct {
		name    string
		v       any
		secrets []string
	}{
		{"call", call, []string{"33612345678", "612345678", voiceText, "9. 0. 5. 1. 2. 7"}},
		{"message", sms, []string{"14155550123", "4155550123", smsText, "482913"}},
		{"pointer to call", &call, []string{"33612345678", voiceText}},
	}
	for _, tt := range values {
		t.Run(tt.name, func(t *testing.T) {
			var logged bytes.Buffer
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("sending", "request", tt.v)
			outputs := map[string]string{
				"%v":   fmt.Sprintf("%v", tt.v),
				"%+v":  fmt.Sprintf("%+v", tt.v),
				"%#v":  fmt.Sprintf("%#v", tt.v),
				"%s":   fmt.Sprintf("%s", tt.v),
				"slog": logged.String(),
			}
			for form, out := range outputs {
				for _, s := range tt.secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s prints %q: %s", form, s, out)
					}
				}
				if !strings.Contains(out, "[redacted]") {
					t.Errorf("%s shows no placeholder for the text: %s", form, out)
				}
			}
		})
	}
}
