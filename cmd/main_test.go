package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

type lockedBuffer = logtest.Buffer

// `go run ./cmd` on a fresh clone: dry run, says so, prints a curl command
// whose request the running service answers SUCCESSFUL, and shuts down.
func TestLocalRunServesTheSampleRequest(t *testing.T) {
	for _, k := range []string{"EIGHTYEIGHTX_SUBACCOUNT_ID", "EIGHTYEIGHTX_API_KEY", "OKTA_SECRET", "OKTA_OAUTH_ISSUER", "K_SERVICE", "DRY_RUN", "LOG_FORMAT"} {
		if os.Getenv(k) != "" {
			t.Skipf("%s is set in the environment: this test checks the fresh-clone default", k)
		}
	}
	env := map[string]string{"PORT": "0", "HOST": "127.0.0.1"}
	var mu sync.Mutex
	getenv := func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	setenv := func(k, v string) error { mu.Lock(); defer mu.Unlock(); env[k] = v; return nil }
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, getenv, setenv, out, false, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned before listening: %v\n%s", err, out)
	}
	printed := out.String()
	if !strings.Contains(printed, "DRY RUN") {
		t.Errorf("the output does not say dry run:\n%s", printed)
	}
	if env["FUNCTION_TARGET"] != "OktaTelephonyHook" {
		t.Errorf("FUNCTION_TARGET = %q", env["FUNCTION_TARGET"])
	}
	m := regexp.MustCompile(`-d '(\{.*\})'`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no curl body printed:\n%s", printed)
	}
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"SUCCESSFUL"`) || !strings.Contains(string(body), "dry-run-") {
		t.Fatalf("HTTP %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
