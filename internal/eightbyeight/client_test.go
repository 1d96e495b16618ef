package eightbyeight_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
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
		RetryBackoff: 100 * time.Millisecond, MaxRetryBackoff: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waits records the client's waits between attempts instead of spending
// them; after cancelAfter waits (0: never) it cancels the context, the
// way a caller's deadline would end the retries.
type waits struct {
	mu          sync.Mutex
	got         []time.Duration
	cancelAfter int
	cancel      context.CancelFunc
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.got = append(w.got, d)
	n := len(w.got)
	w.mu.Unlock()
	if w.cancelAfter > 0 && n >= w.cancelAfter {
		w.cancel()
	}
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.got...)
}

var parser = func() *phone.Parser {
	p, err := phone.NewParser("US", 0)
	if err != nil {
		panic(err)
	}
	return p
}()

func number(raw string) phone.Number {
	n, err := parser.Parse(raw)
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
	tests := []struct {
		name     string
		faults   []F // answers, in order
		budget   time.Duration
		minRetry time.Duration     // least budget left to retry (0: 50ms)
		wantKind eightbyeight.Kind // 0: success
		wantReqs int               // requests that reached 8x8
	}{
		{"accepted", []F{OK}, time.Second, 0, 0, 1},
		{"400 refused, not retried", []F{BadRequest}, time.Second, 0, eightbyeight.Refused, 1},
		{"401 refused, not retried", []F{Unauthorized}, time.Second, 0, eightbyeight.Refused, 1},
		{"200 but rejected", []F{Rejected}, time.Second, 0, eightbyeight.Refused, 1},
		{"8x8's own 500 then ok: retried once", []F{ServerError, OK}, time.Second, 0, 0, 2},
		{"8x8's own 503 then ok: retried once", []F{Unavailable, OK}, time.Second, 0, 0, 2},
		{"429 then ok: retried once", []F{TooMany, OK}, time.Second, 0, 0, 2},
		{"8x8's own 500 twice: refused after one retry", []F{ServerError, ServerError, OK}, time.Second, 0, eightbyeight.Refused, 2},
		{"429 twice: refused after one retry", []F{TooMany, TooMany, OK}, time.Second, 0, eightbyeight.Refused, 2},
		{"8x8's own 500 with no budget left for a retry", []F{ServerError, OK}, 2 * time.Second, time.Minute, eightbyeight.Refused, 1},
		{"proxy's plain 503: unknown, exactly one request", []F{ProxyUnavailable, OK}, time.Second, 0, eightbyeight.Unknown, 1},
		{"503 with JSON not 8x8's shape: unknown, exactly one request", []F{ForeignJSON, OK}, time.Second, 0, eightbyeight.Unknown, 1},
		{"504 from a gateway (HTML): unknown, not retried", []F{Gateway, OK}, time.Second, 0, eightbyeight.Unknown, 1},
		{"8x8's own 500, then a proxy's 503 on the retry: unknown", []F{ServerError, ProxyUnavailable, OK}, time.Second, 0, eightbyeight.Unknown, 2},
		{"429, then a proxy's 503 on the retry: unknown", []F{TooMany, ProxyUnavailable, OK}, time.Second, 0, eightbyeight.Unknown, 2},
		{"hang: outcome unknown, not retried", []F{Hang, OK}, 500 * time.Millisecond, 0, eightbyeight.Unknown, 1},
		{"reset after the request was sent: unknown, not retried", []F{Reset, OK}, time.Second, 0, eightbyeight.Unknown, 1},
		{"garbled 200: unknown", []F{Garbled}, time.Second, 0, eightbyeight.Unknown, 1},
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

// A send honours Retry-After when the budget leaves room for it, and
// gives up rather than wait past the deadline.
func TestSendHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter int // seconds
		budget     time.Duration
		wantReqs   int
		wantWaits  []time.Duration
	}{
		{"Retry-After within the budget: waited, then retried", 2, 5 * time.Second, 2, []time.Duration{2 * time.Second}},
		{"Retry-After past the budget: no retry", 5, time.Second, 1, nil},
		{"Retry-After 0: the default wait", 0, time.Second, 2, []time.Duration{time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := eightbyeighttest.New(t)
			fake.RetryAfter = tt.retryAfter
			fake.Queue(eightbyeighttest.TooMany, eightbyeighttest.OK)
			c := newClient(t, fake)
			w := &waits{}
			eightbyeight.SetSleep(c, w.sleep)
			ctx, cancel := context.WithTimeout(context.Background(), tt.budget)
			defer cancel()
			_, err := c.SendSMS(ctx, sms)
			if fake.Count() != tt.wantReqs {
				t.Errorf("8x8 received %d requests, want %d (err %v)", fake.Count(), tt.wantReqs, err)
			}
			if got := w.all(); !equalDurations(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
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
