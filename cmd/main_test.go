package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/proctest"
)

// `go run ./cmd` on a fresh clone: the registered function served through
// the Functions Framework, dry run, the banner and a curl command on
// stderr whose request the service answers SUCCESSFUL, only JSON on
// stdout, the loopback bind while open, and a clean exit on a signal.
func TestLocalRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ./cmd")
	}
	bin := proctest.Build(t, ".")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			port := proctest.FreePort(t)
			p := proctest.Start(t, bin, proctest.Options{Env: map[string]string{"PORT": port}})
			base := "http://127.0.0.1:" + port
			if err := p.WaitHealthy(base+"/healthz", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			banner := p.Stderr.String()
			for _, want := range []string{"DRY RUN", "listening on 127.0.0.1", "curl"} {
				if !strings.Contains(banner, want) {
					t.Errorf("the banner on stderr does not say %q:\n%s", want, banner)
				}
			}
			m := regexp.MustCompile(`-d '(\{.*\})'`).FindStringSubmatch(banner)
			if m == nil {
				t.Fatalf("no curl body printed:\n%s", banner)
			}
			resp, err := http.Post(base+"/", "application/json", strings.NewReader(m[1]))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"SUCCESSFUL"`) || !strings.Contains(string(body), "dry-run-") {
				t.Fatalf("HTTP %d %s", resp.StatusCode, body)
			}
			if err := p.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.ExitCode(); code != 0 {
				t.Errorf("exit code %d after %s, want 0\nstderr: %s", code, sig, p.Stderr)
			}
			checkJSONLines(t, p.Stdout.String(), "okta telephony hook", "configuration loaded")
		})
	}
}

// With an Okta secret configured the local run is not open: it listens on
// every interface, and the banner's curl names the secret's variable,
// never its value.
func TestLocalRunWithASecret(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ./cmd")
	}
	const secret = "local-secret-Tq84Ws"
	port := proctest.FreePort(t)
	p := proctest.Start(t, proctest.Build(t, "."), proctest.Options{Env: map[string]string{"PORT": port, "OKTA_SECRET": secret}})
	if err := p.WaitHealthy("http://127.0.0.1:"+port+"/healthz", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	banner := p.Stderr.String()
	if !strings.Contains(banner, "listening on all interfaces") || !strings.Contains(banner, "$OKTA_SECRET") || strings.Contains(banner, secret) {
		t.Errorf("banner:\n%s", banner)
	}
	resp, err := http.Post("http://127.0.0.1:"+port+"/", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("HTTP %d without the secret, want 401", resp.StatusCode)
	}
}

// A broken configuration stops the local run at once with the variable's
// name, not a server that answers 503.
func TestLocalRunRefusesABrokenConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs ./cmd")
	}
	p := proctest.Start(t, proctest.Build(t, "."), proctest.Options{Env: map[string]string{
		"PORT": proctest.FreePort(t), "OTP_REPETITIONS": "7",
	}})
	if code := p.ExitCode(); code != 1 || !strings.Contains(p.Stderr.String(), "OTP_REPETITIONS") {
		t.Errorf("exit %d, stderr:\n%s", code, p.Stderr)
	}
}

// checkJSONLines fails unless every non-empty line of out is a JSON object
// with a severity and a message, and the messages include each of want.
func checkJSONLines(t *testing.T, out string, want ...string) {
	t.Helper()
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		var entry struct {
			Severity string `json:"severity"`
			Message  string `json:"message"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Severity == "" {
			t.Errorf("stdout carries a line that is not a Cloud Logging JSON entry: %q", line)
			continue
		}
		for _, w := range want {
			if strings.HasPrefix(entry.Message, w) {
				seen[w] = true
			}
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no %q line on stdout:\n%s", w, out)
		}
	}
}
