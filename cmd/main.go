// Command cmd runs the hook locally: `go run ./cmd`. It serves the
// registered OktaTelephonyHook through the Functions Framework, the same
// path as Cloud Run's buildpack main, SIGTERM drain included. With no 8x8
// credentials it runs dry (nothing is sent) and prints, on stderr, a curl
// command that posts a sample Okta request to it; stdout carries only the
// hook's log lines.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	telephonyhook "github.com/telephony-hooks/okta-8x8"
	"github.com/telephony-hooks/okta-8x8/internal/config"
)

func main() {
	if err := run(os.Getenv, os.Setenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run serves until the process is signalled (the function drains and exits
// by itself) or the listener fails.
//
// The Functions Framework's one channel to a registered function is the
// process environment, so this process sets two of its own variables, as
// the framework's README does: FUNCTION_TARGET, and LOCAL_ONLY=true, its
// convention for a local run, which lets the function run dry without
// credentials.
func run(getenv func(string) string, setenv func(string, string) error, banner io.Writer) error {
	for _, kv := range [][2]string{{"FUNCTION_TARGET", telephonyhook.FunctionName}, {config.LocalOnly, "true"}} {
		if getenv(kv[0]) == "" {
			if err := setenv(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	port := cmp.Or(getenv(config.Port), "8080")
	// Load now, so the banner says how the hook runs and a broken
	// configuration stops the local run at once.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	cfg, err := telephonyhook.Ready(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	host := getenv("HOST")
	if host == "" && cfg.OpenAuth {
		host = "127.0.0.1" // open to unauthenticated requests: this machine only
	}
	printBanner(banner, host, port, cfg)
	return funcframework.StartHostPort(host, port)
}

// printBanner says how the hook runs and prints a ready-to-paste request.
// It names the secret's variable, never its value.
func printBanner(w io.Writer, host, port string, cfg *config.Config) {
	show := cmp.Or(host, "localhost")
	if show == "::" || show == "0.0.0.0" {
		show = "localhost"
	}
	addr := "http://" + net.JoinHostPort(show, port)
	header := ""
	switch {
	case cfg.Secret != "":
		header = fmt.Sprintf(" \\\n  -H \"%s: $OKTA_SECRET\"", cfg.AuthHeader)
	case cfg.OAuth.Issuer != "":
		header = " \\\n  -H \"Authorization: Bearer $OKTA_ACCESS_TOKEN\""
	}
	mode := "DRY RUN: nothing is sent (" + cfg.DryRunReason + ")"
	if !cfg.DryRun {
		mode = "LIVE: requests are delivered through 8x8"
	}
	listen := "all interfaces"
	if host != "" {
		listen = host
	}
	fmt.Fprintf(w, "\nOkta telephony hook on %s/ (%s; listening on %s)\nTry it:\n\ncurl -sS %s/ -H 'Content-Type: application/json'%s \\\n  -d '%s'\n\n",
		addr, mode, listen, addr, header, sampleRequest(time.Now()))
}

// sampleRequest is an Okta SMS MFA request, as Okta sends it.
func sampleRequest(now time.Time) string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	id := strings.ToUpper(fmt.Sprintf("%x", b))[:22]
	return fmt.Sprintf(`{"eventId":"%s","eventTime":"%s","eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json","cloudEventVersion":"0.1","requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"reqLocalCurl","method":"POST","url":{"value":"/idp/idx/challenge"},"ipAddress":"127.0.0.1"}},"userProfile":{"firstName":"Test","lastName":"User","login":"test.user@example.com","userId":"00ulocal000000000000"},"messageProfile":{"msgTemplate":"Your verification code is 482913","phoneNumber":"+14155550123","otpExpires":"%s","deliveryChannel":"SMS","otpCode":"482913","locale":"en-US"}}}`,
		id, now.UTC().Format("2006-01-02T15:04:05.000Z"), now.Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"))
}
