package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// -serve-8x8 plays 8x8 for the hook's own client: calls and SMS are
// taken, feedback is counted per umid (a umid reported twice shows), the
// voice list is read, and the counts are served and printed.
func TestFake8x8ServesTheHooksClient(t *testing.T) {
	f := newFake8x8()
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := eightbyeight.New(eightbyeight.Config{VoiceURL: srv.URL, SMSURL: srv.URL, SubaccountID: "sim", APIKey: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	p, err := phone.NewParser("US", 10)
	if err != nil {
		t.Fatal(err)
	}
	num, err := p.Parse("+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	call, err := c.Call(ctx, eightbyeight.Call{Destination: num, Source: "+14155550100", Text: redact.New("1. 2. 3. 4."), VoiceProfile: "en-US-JennyNeural", Repetition: 1})
	if err != nil || call.TransactionID == "" {
		t.Fatalf("call: %+v, %v", call, err)
	}
	var umids []string
	for range 2 {
		m, err := c.SendSMS(ctx, eightbyeight.Message{Destination: num, Source: "Acme", Text: redact.New("Your code is 1234")})
		if err != nil || m.TransactionID == "" {
			t.Fatalf("sms: %+v, %v", m, err)
		}
		umids = append(umids, m.TransactionID)
	}
	if umids[0] == umids[1] {
		t.Fatalf("two SMS share the umid %s", umids[0])
	}
	for _, fb := range []struct {
		umid    string
		success bool
	}{{umids[0], true}, {umids[1], false}, {umids[1], false}} {
		if err := c.Feedback(ctx, fb.umid, fb.success, time.Now()); err != nil {
			t.Fatalf("feedback: %v", err)
		}
	}
	if _, err := c.SpeechProfiles(ctx); err != nil {
		t.Fatalf("speech profiles: %v", err)
	}
	want := fake8x8Stats{Calls: 1, SMS: 2, Feedback: map[string]int{"success": 1, "failure": 2}, UMIDsReported: 2, UMIDsReportedTwice: 1}
	resp, err := http.Get(srv.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got fake8x8Stats
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("GET /stats: %s\nwant %s", got, want)
	}
}

func TestServe8x8Flags(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve, then stop at once: the counts are printed
	if err := runWith(ctx, []string{"-serve-8x8", "127.0.0.1:0"}, realEnv(), &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "8x8 stand-in: 0 calls, 0 SMS") || !strings.Contains(errOut.String(), "playing 8x8 on http://127.0.0.1:") {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if err := runWith(context.Background(), []string{"-serve-8x8", "127.0.0.1:0", "-n", "5"}, realEnv(), &out, &errOut); err != errUsage {
		t.Errorf("-serve-8x8 with -n: %v, want a usage error", err)
	}
}
