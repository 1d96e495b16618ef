package setup

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/monitoring"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/monitoringfake"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// The whole flow: an empty project and org → setup → the hook running as
// the deployed service → Okta verifies the event hook and executes the
// telephony hook → a sign-in with a voice code and 8x8's receipt for it →
// the dashboard's metrics read those very lines.
func TestWholeFlow(t *testing.T) {
	h := newHarness(t)
	out, err := h.run("-alert-email", "oncall@example.com")
	t.Logf("setup:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `end-to-end: Okta executed the telephony hook; it answered {"commands"`) {
		t.Errorf("no end-to-end answer in the output")
	}
	for _, hk := range h.okta.EventHooks() {
		if hk.Channel.URI != h.service.URL+"/okta/events" || hk.VerificationStatus != "VERIFIED" || hk.Status != "ACTIVE" {
			t.Errorf("event hook %+v, want ACTIVE, VERIFIED, at the service", hk)
		}
	}
	if hs := h.okta.InlineHooks(); len(hs) != 1 || hs[0].Channel.URI != h.service.URL+"/" || hs[0].Status != "ACTIVE" {
		t.Errorf("inline hooks %+v, want one ACTIVE at the service", hs)
	}

	// The sign-in, as Okta sends it with the secret the setup gave it.
	secret := func(id string) string { v, _ := h.proj.Secret(id); return string(v) }
	signIn := oktatest.Voice(oktatest.Phones[0], oktatest.OTPs[0], "en-US").Body()
	answer := post(t, h.service.URL+"/", secret(secretOkta), signIn)
	if oktatest.DecodeBody(t, answer).Kind() != "SUCCESSFUL" {
		t.Errorf("sign-in answered %s", answer)
	}
	receipt, err := os.ReadFile("../../../../internal/receipts/testdata/sms-dr-undelivered.json")
	if err != nil {
		t.Fatal(err)
	}
	// 8x8 sends the receipt with what the setup registered.
	vss, ok := h.eight.Voice("acme_otp", "VSS")
	sms, _ := h.eight.SMS("acme_otp")
	if !ok || vss.URL != h.service.URL+"/8x8/events" || sms.URL != vss.URL || vss.Auth != secret(secretWebhook) || sms.Auth != vss.Auth {
		t.Fatalf("8x8 webhooks: voice %v, SMS %v; want both at the service with the webhook secret", vss.URL, sms.URL)
	}
	post(t, h.service.URL+"/8x8/events", sms.Auth, receipt)

	u, _ := url.Parse(h.service.URL)
	set, err := monitoring.Load(monitoring.Vars{ProjectID: project, ServiceHost: u.Host})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	t.Logf("the service logged:\n%s", strings.Join(lines, "\n"))
	var entries []monitoringfake.Entry
	for _, l := range lines {
		e, err := monitoringfake.CloudRunEntry(serviceName, []byte(l))
		if err != nil {
			t.Fatalf("a log line is not JSON: %q", l)
		}
		entries = append(entries, e)
	}
	// What this flow exercises; conversion and refusals need Okta's events
	// and bursts (internal/setup/monitoring's own test plays them).
	want := map[string]bool{"okta_hook_outcomes": true, "okta_hook_latency": true, "eightbyeight_delivery": true}
	for _, m := range set.Metrics {
		r, err := monitoringfake.EvaluateMetric(m, entries)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("metric %s: %d lines", m.Name, r.Matched)
		if !want[m.Name] {
			continue
		}
		if r.Matched == 0 {
			t.Errorf("metric %s matches none of the service's lines", m.Name)
		}
		// A preview has no country: a label need not be in every line.
		for _, x := range r.Empty {
			t.Errorf("metric %s: %s is in none of its lines", m.Name, x)
		}
	}
}

func post(t *testing.T, url, auth string, body []byte) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %s", url, resp.Status, b.Bytes())
	}
	return b.Bytes()
}
