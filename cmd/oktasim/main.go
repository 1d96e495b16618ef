// Command oktasim plays Okta: it sends the telephony inline hook request
// Okta sends (fresh eventId, OTP valid five minutes) to a local or
// deployed hook with the configured authentication, and says what Okta
// would do with the answer. With -n and -c it is a load generator, to
// check a deployment before pointing Okta at it.
//
//	go run ./cmd/oktasim -url http://localhost:8080/ -channel voice
//	go run ./cmd/oktasim -url https://hook.example.run.app/ -n 2000 -c 32
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "oktasim:", err)
		os.Exit(1)
	}
}

// env is what run takes from the process; tests replace it.
type env struct {
	getenv func(string) string
	now    func() time.Time
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, env{getenv: os.Getenv, now: time.Now}, stdout, stderr)
}

var (
	errUsage = errors.New("usage")
	// errInvalid means at least one answer is not one Okta can use.
	errInvalid = errors.New("not every answer is a valid Okta answer")
)

type options struct {
	url         string
	channel     string
	phone       string
	locale      string
	otp         string
	requestType string
	preview     bool
	header      string
	secret      string
	token       string
	timeout     time.Duration
	n, c        int
	phones      int
	jsonOut     bool
}

func parseFlags(args []string, e env, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("oktasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://localhost:8080/", "hook URL")
	fs.StringVar(&o.channel, "channel", "sms", "sms or voice")
	fs.StringVar(&o.phone, "phone", "+14155550123", "phone number Okta sends (with or without +)")
	fs.StringVar(&o.locale, "locale", "en-US", "locale Okta sends")
	fs.StringVar(&o.otp, "otp", "", "one-time passcode (default: 6 random digits per request)")
	fs.StringVar(&o.requestType, "request-type", "mfa-verification", "mfa-verification, pre-enrollment, password-reset, account-unlock, … (with or without com.okta.user.telephony.)")
	fs.BoolVar(&o.preview, "preview", false, "send it as an Admin Console preview (generatePreview URL)")
	fs.StringVar(&o.header, "header", "Authorization", "name of the header that carries -secret")
	fs.StringVar(&o.secret, "secret", "", "value of -header (default $OKTA_SECRET)")
	fs.StringVar(&o.token, "token", "", "OAuth access token, sent as Authorization: Bearer")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Second, "give up after this (Okta's timeout is 3s)")
	fs.IntVar(&o.n, "n", 1, "number of requests; more than 1 is load mode")
	fs.IntVar(&o.c, "c", 1, "concurrent requests in load mode")
	fs.IntVar(&o.phones, "phones", 0, "distinct phone numbers (and users) in load mode (default: -n, at most 10000)")
	fs.BoolVar(&o.jsonOut, "json", false, "print only the raw answer (single request)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	bad := func(format string, a ...any) (*options, error) {
		fmt.Fprintf(stderr, "oktasim: "+format+"\n", a...)
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("-url %q is not an http(s) URL", o.url)
	}
	o.channel = strings.ToLower(strings.TrimSpace(o.channel))
	if o.channel != "sms" && o.channel != "voice" {
		return bad("-channel must be sms or voice, not %q", o.channel)
	}
	if o.requestType, err = normalizeRequestType(o.requestType); err != nil {
		return bad("%v", err)
	}
	if strings.TrimSpace(o.phone) == "" {
		return bad("-phone is empty")
	}
	if o.header = strings.TrimSpace(o.header); o.header == "" {
		return bad("-header is empty")
	}
	if o.timeout <= 0 {
		return bad("-timeout must be positive")
	}
	if o.n < 1 || o.c < 1 || o.phones < 0 {
		return bad("-n and -c must be at least 1, -phones at least 0")
	}
	if o.jsonOut && o.n > 1 {
		return bad("-json prints a single answer; it cannot be combined with -n")
	}
	o.c = min(o.c, o.n)
	if !set["phones"] {
		o.phones = min(o.n, 10000)
	}
	if o.n == 1 {
		o.phones = 1
	}
	if o.phones > 1 {
		if _, err := derivePhone(o.phone, 0, o.phones); err != nil {
			return bad("%v", err)
		}
	}
	if !set["secret"] && o.token == "" {
		o.secret = e.getenv("OKTA_SECRET")
	}
	if o.token != "" && o.secret != "" && strings.EqualFold(o.header, "Authorization") {
		return bad("-secret and -token both set the Authorization header; use one, or a custom -header for the secret")
	}
	return o, nil
}

func runWith(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, e, stderr)
	if err != nil {
		return err
	}
	if o.secret == "" && o.token == "" {
		fmt.Fprintln(stderr, "oktasim: no -secret, -token or $OKTA_SECRET: sending no credentials")
	}
	client := newClient(o)
	defer client.CloseIdleConnections()
	if o.n > 1 {
		return runLoad(ctx, client, o, e, stdout, stderr)
	}
	return runOnce(ctx, client, o, e, stdout)
}

func newClient(o *options) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = max(100, o.c)
	tr.MaxIdleConnsPerHost = o.c
	return &http.Client{
		Transport: tr,
		Timeout:   o.timeout,
		// Okta does not follow redirects; show them as what they are.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// maxAnswer bounds how much of an answer is read; Okta's are tiny.
const maxAnswer = 1 << 20

func send(ctx context.Context, client *http.Client, o *options, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "oktasim")
	if o.secret != "" {
		req.Header.Set(o.header, o.secret)
	}
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{latency: time.Since(start), err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	r := result{status: resp.StatusCode, body: b, latency: time.Since(start), err: err}
	// Drain so the connection is reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	return r
}

func runOnce(ctx context.Context, client *http.Client, o *options, e env, stdout io.Writer) error {
	hr, err := newHookRequest(o, e.now(), 0)
	if err != nil {
		return err
	}
	body, err := json.Marshal(hr)
	if err != nil {
		return err
	}
	r := send(ctx, client, o, body)
	v := classify(r, o.timeout)
	if o.jsonOut {
		if r.err == nil {
			_, _ = stdout.Write(r.body)
		}
	} else {
		printOnce(stdout, o, hr, r, v)
	}
	if !v.kind.valid() {
		return fmt.Errorf("%w: %s", errInvalid, v.okta())
	}
	return nil
}

func printOnce(w io.Writer, o *options, hr hookRequest, r result, v verdict) {
	kindOfRequest := strings.TrimPrefix(hr.RequestType, requestTypePrefix)
	if o.preview {
		kindOfRequest += " preview"
	}
	fmt.Fprintf(w, "POST %s  %s %s to %s  eventId %s\n", o.url, o.channel, kindOfRequest, redactPhone(hr.Data.MessageProfile.PhoneNumber), hr.EventID)
	if r.err != nil {
		fmt.Fprintf(w, "no answer: %v\n", r.err)
	} else {
		fmt.Fprintf(w, "HTTP %d %s\n", r.status, http.StatusText(r.status))
		fmt.Fprintln(w, prettyBody(r.body))
	}
	fmt.Fprintf(w, "Okta: %s\n", v.okta())
	fmt.Fprintf(w, "latency: %s\n", ms(r.latency))
}

// prettyBody indents a JSON answer, and shows anything else as text, cut
// short: the answer is the hook's, not a secret.
func prettyBody(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "(empty body)"
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	const maxShown = 2048
	if len(b) > maxShown {
		return string(b[:maxShown]) + "…"
	}
	return string(b)
}

// redactPhone shows the number the way the hook logs it: never in full.
func redactPhone(raw string) string {
	s := raw
	if !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	if num, err := phonenumbers.Parse(s, "ZZ"); err == nil && num.GetCountryCode() != 0 {
		return redact.Phone(phonenumbers.Format(num, phonenumbers.E164), int(num.GetCountryCode()))
	}
	return "[redacted]"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
