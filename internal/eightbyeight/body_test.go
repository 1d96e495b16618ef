package eightbyeight

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

func mustNumber(tb testing.TB, raw string) phone.Number {
	tb.Helper()
	p, err := phone.NewParser("US", 0)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := p.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

var awkward = []string{
	"Votre code est : 9. 0. 5. 1. 2. 7.", `quote " and \ backslash`, "<b>&amp;</b>",
	"tab\tnew\nline\rcr\bbs\fff\x00\x1f\x7f", "é ñ 日本 🎉", "line\u2028sep\u2029para", strings.Repeat("x", 3000),
}

// The bodies carry the values the request needs, whatever their
// characters: the full number and the revealed text.
func TestBodiesRoundTrip(t *testing.T) {
	to := mustNumber(t, "+33612345678")
	for _, s := range awkward {
		b, err := callflowBody(Call{Destination: to, Source: "+14155550100", Text: redact.New(s), VoiceProfile: "fr-FR-DeniseNeural", Repetition: 2,
			ValidUntil: time.Date(2026, 3, 14, 11, 7, 11, 902e6, time.FixedZone("Paris", 3600))})
		if err != nil {
			t.Fatal(err)
		}
		var cf callflowRequest
		cf.Callflow = []action{{Params: &makeCallParams{}}, {Params: &sayParams{}}, {}}
		if err := json.Unmarshal(b, &cf); err != nil {
			t.Fatal(err)
		}
		if mk := cf.Callflow[0].Params.(*makeCallParams); mk.Destination != "+33612345678" {
			t.Errorf("destination = %q", mk.Destination)
		}
		if say := cf.Callflow[1].Params.(*sayParams); say.Text != s || cf.ValidUntil != "2026-03-14T10:07:11.902Z" {
			t.Errorf("say text = %q, validUntil %q", say.Text, cf.ValidUntil)
		}

		b, err = messageBody(Message{Destination: to, Text: redact.New(s), Source: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		var m smsRequest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Destination != "+33612345678" || m.Text != s || m.Encoding != "AUTO" {
			t.Errorf("sms = %+v", m)
		}
	}
}

// The wait between background attempts doubles from RetryBackoff, is
// capped at MaxRetryBackoff, and is jittered within its upper half.
func TestBackoff(t *testing.T) {
	c := &Client{backoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second}
	for attempt := 1; attempt <= 100; attempt++ {
		want := 5 * time.Second
		if attempt <= 6 {
			want = min(100*time.Millisecond<<(attempt-1), want)
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := c.backoffFor(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: wait %v, want within [%v, %v]", attempt, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: 50 waits all %v: no jitter", attempt, seen)
		}
	}
}

// What a request costs us before the network. These replaced hand-written
// encoders (internal/jsonstr) and a Content-Length-sized body reader
// (internal/httpbody). Medians on a 2-vCPU VM (-count 20 -benchtime
// 300000x -cpu 1; the comparison is BenchmarkMeasure in
// zz_measure_test.go, in this package's git history):
//
//	callflow body: hand-written 0.48 µs, encoding/json 1.76 µs (saves 1.3 µs)
//	SMS body:      hand-written 0.23 µs, encoding/json 0.43 µs (saves 0.2 µs)
//	8x8 answer:    httpbody.Read 0.22–0.32 µs, io.ReadAll 0.43–1.0 µs (saves ≤ 0.7 µs)
//
// Each saving, and a voice request's sum (≤ 2 µs), is under the 2.6 µs
// (2 % of a hook request's ~130 µs of CPU) that hand-written code
// replacing the standard library must earn.
func BenchmarkCallflowBody(b *testing.B) {
	c := Call{Destination: mustNumber(b, "+33612345678"), Source: "+14155550100", Text: redact.New("Votre code de vérification est : 9. 0. 5. 1. 2. 7."),
		VoiceProfile: "fr-FR-DeniseNeural", Repetition: 2, ValidUntil: time.Date(2026, 3, 14, 10, 7, 11, 902e6, time.UTC)}
	for b.Loop() {
		if _, err := callflowBody(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessageBody(b *testing.B) {
	m := Message{Destination: mustNumber(b, "+14155550123"), Source: "Acme", Text: redact.New("Your verification code is 482913. Do not share it with anyone."),
		ClientMessageID: "Jk3vQ9sLRmWb2nXe7TfYpA", ClientIP: "203.0.113.7", Track: true}
	for b.Loop() {
		if _, err := messageBody(m); err != nil {
			b.Fatal(err)
		}
	}
}
