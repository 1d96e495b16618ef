// Command cmd runs the hook locally: `go run ./cmd`. With no 8x8
// credentials it starts in dry-run mode (nothing is sent) and prints a curl
// command that posts a sample Okta request to it.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	telephonyhook "github.com/telephony-hooks/okta-8x8"
	"github.com/telephony-hooks/okta-8x8/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Setenv, os.Stdout, isTerminal(os.Stdout), nil); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run serves the function until ctx ends. ready, when set, receives the
// listening address (tests).
func run(ctx context.Context, getenv func(string) string, setenv func(string, string) error, stdout io.Writer, terminal bool, ready chan<- string) error {
	if getenv("FUNCTION_TARGET") == "" {
		_ = setenv("FUNCTION_TARGET", telephonyhook.FunctionName)
	}
	if getenv(config.LogFormat) == "" && terminal {
		_ = setenv(config.LogFormat, "text")
	}
	port := getenv(config.Port)
	if port == "" {
		port = "8080"
	}
	telephonyhook.LocalRun()
	// Load now, so the first line says how the hook runs and a broken
	// configuration stops the local run at once.
	loadCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	cfg, err := telephonyhook.Ready(loadCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(getenv("HOST"), port))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(telephonyhook.OktaTelephonyHook),
		ReadHeaderTimeout: 2 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	addr := ln.Addr().String()
	printCurl(stdout, addr, cfg)
	if ready != nil {
		ready <- addr
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printCurl prints a ready-to-paste request. It names the secret's
// variable, never its value.
func printCurl(w io.Writer, addr string, cfg *config.Config) {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
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
	fmt.Fprintf(w, "\nOkta telephony hook listening on http://%s:%s/ (%s)\nTry it:\n\ncurl -sS http://%s:%s/ -H 'Content-Type: application/json'%s \\\n  -d '%s'\n\n",
		host, port, mode, host, port, header, sampleRequest(time.Now()))
}

// sampleRequest is an Okta SMS MFA request, as Okta sends it.
func sampleRequest(now time.Time) string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	id := strings.ToUpper(fmt.Sprintf("%x", b))[:22]
	return fmt.Sprintf(`{"eventId":"%s","eventTime":"%s","eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json","cloudEventVersion":"0.1","requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"reqLocalCurl","method":"POST","url":{"value":"/idp/idx/challenge"},"ipAddress":"127.0.0.1"}},"userProfile":{"firstName":"Test","lastName":"User","login":"test.user@example.com","userId":"00ulocal000000000000"},"messageProfile":{"msgTemplate":"Your verification code is 482913","phoneNumber":"+14155550123","otpExpires":"%s","deliveryChannel":"SMS","otpCode":"482913","locale":"en-US"}}}`,
		id, now.UTC().Format("2006-01-02T15:04:05.000Z"), now.Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"))
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
