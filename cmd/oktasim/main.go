// Command oktasim plays Okta: it sends the telephony inline hook request
// Okta sends (fresh eventId, OTP valid five minutes) to a local or
// deployed hook with the configured authentication, and says what Okta
// would do with the answer. With -n and -c it is a load generator, to
// check a deployment before pointing Okta at it.
//
// With -verify-rate it also plays Okta's event hook: after each code the
// hook sent, the user types it in with the destination country's
// probability, and oktasim posts the System Log event Okta would
// (user.authentication.auth_via_mfa) to the hook's /okta/events, so a run
// can show the conversion guard catching a pumped destination. In the same
// batches it posts the send event Okta logs for each code
// (system.sms.send_phone_verification_message,
// system.voice.send_phone_verification_call), a share of them Okta's own
// failovers (-failover-rate) or sends Okta blocked (-deny-rate), unless
// -send-events off plays an org that emits none. With -serve-8x8 it plays
// 8x8 instead, for such a run: the repo's fake 8x8 (eightbyeighttest) on
// loopback, which takes every send and counts the SMS feedback per umid.
//
//	go run ./cmd/oktasim -url http://localhost:8080/ -channel voice
//	go run ./cmd/oktasim -url https://hook.example.run.app/ -n 2000 -c 32
//	go run ./cmd/oktasim -n 3000 -c 4 -rps 300 -phone +14155550123,+37120000101 \
//	    -verify-rate US=0.9,LV=0 -otp-lifetime 2s
//	go run ./cmd/oktasim -n 100 -c 1 -rps 20 -phone +37120000101 -verify-rate '*=0' \
//	    -failover-rate 0.05 -deny-rate 0.02 -otp-lifetime 1s
//	go run ./cmd/oktasim -serve-8x8 127.0.0.1:9090
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
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
	"sync"
	"syscall"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
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
	// ticker paces the event batches (nil: time.NewTicker).
	ticker func(time.Duration) (<-chan time.Time, func())
}

func (e env) newTicker(d time.Duration) (<-chan time.Time, func()) {
	if e.ticker != nil {
		return e.ticker(d)
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
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
	otpLifetime time.Duration
	rps         float64

	// dests are -phone's seeds; perDest is how many numbers each derives.
	dests   []destination
	perDest int

	// The event hook; verify is false without -verify-rate.
	verify      bool
	rates       rates
	eventURL    string
	eventHeader string
	eventSecret string
	verifyDelay time.Duration
	seed        uint64
	seedSet     bool
	mistype     float64
	// Okta's send events: off with -send-events off.
	sendEvents   bool
	sendShape    sendShape
	failoverRate float64
	denyRate     float64

	// serve8x8: play 8x8 on this address instead of Okta.
	serve8x8 string
}

func parseFlags(args []string, e env, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("oktasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://localhost:8080/", "hook URL")
	fs.StringVar(&o.channel, "channel", "sms", "sms or voice")
	fs.StringVar(&o.phone, "phone", "+14155550123", "phone number Okta sends (with or without +); in load mode a comma-separated list of seeds that requests cycle through")
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
	fs.DurationVar(&o.otpLifetime, "otp-lifetime", otpLifetime, "how long each code is valid (otpExpires; Okta's is 5m)")
	fs.Float64Var(&o.rps, "rps", 0, "requests per second in load mode (0: as fast as -c allows)")
	verifyRate := fs.String("verify-rate", "", "play the event hook: per destination country, the probability that the user types the code in, e.g. US=0.9,LV=0,*=0.8 (unset: no events)")
	fs.StringVar(&o.eventURL, "event-url", "", "event hook URL (default: -url with path "+eventsPath+")")
	fs.StringVar(&o.eventHeader, "event-header", "Authorization", "name of the header that carries -event-secret")
	fs.StringVar(&o.eventSecret, "event-secret", "", "value of -event-header (default $OKTA_EVENT_HOOK_SECRET)")
	fs.DurationVar(&o.verifyDelay, "verify-delay", 0, "how long after the hook's answer the user types the code in (the event's published time; events are posted at once)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the users' choices, to repeat a run (default: random, printed)")
	fs.Float64Var(&o.mistype, "mistype", 0, "fraction of the codes not typed in that are mistyped instead (a FAILURE event)")
	sendEvents := fs.String("send-events", "oie", "with -verify-rate, also post Okta's send event for each send, in the Identity Engine shape (oie) or Classic's (classic); off plays an org that emits none")
	fs.Float64Var(&o.failoverRate, "failover-rate", 0, "fraction of the codes the hook sent whose send event says Okta sent it itself because the hook failed (isSmsHookFailover/isCallHookFailover)")
	fs.Float64Var(&o.denyRate, "deny-rate", 0, "fraction of the requests Okta blocks itself: not sent to the hook, a DENY send event instead")
	fs.StringVar(&o.serve8x8, "serve-8x8", "", "play 8x8 instead: serve a stand-in on this host:port that takes every call and SMS and counts the SMS feedback per umid, until interrupted (nothing leaves the machine)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["serve-8x8"] {
		if len(set) > 1 || fs.NArg() > 0 {
			fmt.Fprintln(stderr, "oktasim: -serve-8x8 plays 8x8 alone: run a second oktasim to play Okta")
			return nil, errUsage
		}
		return o, nil
	}

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
	if o.dests, err = parseDestinations(o.phone); err != nil {
		return bad("%v", err)
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
	if o.n == 1 && len(o.dests) > 1 {
		return bad("-phone lists %d numbers but a single request goes to one; add -n", len(o.dests))
	}
	if o.otpLifetime <= 0 {
		return bad("-otp-lifetime must be positive")
	}
	if !(o.rps >= 0) {
		return bad("-rps must be 0 (no pacing) or more")
	}
	o.c = min(o.c, o.n)
	if !set["phones"] {
		o.phones = min(o.n, 10000)
	}
	if o.n == 1 {
		o.phones = 1
	}
	// -phones counts every destination's numbers together.
	o.perDest = max(1, (o.phones+len(o.dests)-1)/len(o.dests))
	if o.perDest > 1 {
		for _, d := range o.dests {
			if _, err := derivePhone(d.seed, 0, o.perDest); err != nil {
				return bad("%v", err)
			}
		}
	}
	if !set["secret"] && o.token == "" {
		o.secret = e.getenv("OKTA_SECRET")
	}
	if o.token != "" && o.secret != "" && strings.EqualFold(o.header, "Authorization") {
		return bad("-secret and -token both set the Authorization header; use one, or a custom -header for the secret")
	}
	if err := parseEventFlags(o, u, set, *verifyRate, *sendEvents, e); err != nil {
		return bad("%v", err)
	}
	return o, nil
}

// shapeName names -send-events' choice for the summary.
func (o *options) shapeName() string {
	if o.sendShape == shapeClassic {
		return "Classic"
	}
	return "Identity Engine"
}

// parseEventFlags checks the event hook's flags; hook is -url.
func parseEventFlags(o *options, hook *url.URL, set map[string]bool, verifyRate, sendEvents string, e env) error {
	o.verify = set["verify-rate"]
	if !o.verify {
		for _, name := range []string{"event-url", "event-header", "event-secret", "verify-delay", "seed", "mistype", "send-events", "failover-rate", "deny-rate"} {
			if set[name] {
				return fmt.Errorf("-%s needs -verify-rate: without it no events are posted", name)
			}
		}
		return nil
	}
	var err error
	if o.rates, err = parseRates(verifyRate); err != nil {
		return err
	}
	for i, d := range o.dests {
		if _, ok := o.rates.of(d.country); ok {
			continue
		}
		if d.country == "" {
			return fmt.Errorf("-verify-rate: the country of -phone number %d is unknown (not a valid number); give *=RATE", i+1)
		}
		return fmt.Errorf("-verify-rate has no rate for %s (-phone number %d); add %s=RATE or *=RATE", d.country, i+1, d.country)
	}
	if o.eventURL == "" {
		// The hook serves the event hook beside itself (DESIGN.md §1).
		ev := *hook
		ev.Path, ev.RawPath, ev.RawQuery, ev.Fragment = eventsPath, "", "", ""
		o.eventURL = ev.String()
	}
	if u, err := url.Parse(o.eventURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-event-url %q is not an http(s) URL", o.eventURL)
	}
	if o.eventHeader = strings.TrimSpace(o.eventHeader); o.eventHeader == "" {
		return errors.New("-event-header is empty")
	}
	if !set["event-secret"] {
		o.eventSecret = e.getenv("OKTA_EVENT_HOOK_SECRET")
	}
	if o.verifyDelay < 0 {
		return errors.New("-verify-delay must not be negative")
	}
	if o.verifyDelay >= o.otpLifetime {
		return fmt.Errorf("-verify-delay %s must be shorter than -otp-lifetime %s: Okta refuses an expired code", o.verifyDelay, o.otpLifetime)
	}
	if !(o.mistype >= 0 && o.mistype <= 1) {
		return errors.New("-mistype must be a fraction from 0 to 1")
	}
	switch strings.ToLower(strings.TrimSpace(sendEvents)) {
	case "oie":
		o.sendEvents, o.sendShape = true, shapeOIE
	case "classic":
		o.sendEvents, o.sendShape = true, shapeClassic
	case "off":
		if set["failover-rate"] || set["deny-rate"] {
			return errors.New("-failover-rate and -deny-rate are played as send events: not with -send-events off")
		}
	default:
		return fmt.Errorf("-send-events must be oie, classic or off, not %q", sendEvents)
	}
	if !(o.failoverRate >= 0 && o.failoverRate <= 1) || !(o.denyRate >= 0 && o.denyRate <= 1) {
		return errors.New("-failover-rate and -deny-rate must be fractions from 0 to 1")
	}
	o.seedSet = set["seed"]
	if !o.seedSet {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		o.seed = binary.LittleEndian.Uint64(b[:])
	}
	return nil
}

func runWith(ctx context.Context, args []string, e env, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, e, stderr)
	if err != nil {
		return err
	}
	if o.serve8x8 != "" {
		return serve8x8(ctx, o.serve8x8, stdout, stderr)
	}
	if o.secret == "" && o.token == "" {
		fmt.Fprintln(stderr, "oktasim: no -secret, -token or $OKTA_SECRET: sending no credentials")
	}
	if o.verify {
		if o.eventSecret == "" {
			fmt.Fprintln(stderr, "oktasim: no -event-secret or $OKTA_EVENT_HOOK_SECRET: posting events with no credentials")
		}
		if !o.seedSet {
			fmt.Fprintf(stderr, "oktasim: users' choices drawn with -seed %d\n", o.seed)
		}
	}
	client := newClient(o)
	defer client.CloseIdleConnections()
	if o.n > 1 {
		return runLoad(ctx, client, o, e, stdout, stderr)
	}
	return runOnce(ctx, client, o, e, stdout, stderr)
}

// serve8x8 plays 8x8 on addr until ctx ends: the repo's fake, which
// takes every send with 8x8's success answers, says on stderr what 8x8
// would not accept, and counts the SMS feedback per umid (GET /stats).
// On exit it prints the counts.
func serve8x8(ctx context.Context, addr string, stdout, stderr io.Writer) error {
	var mu sync.Mutex
	s, err := eightbyeighttest.Listen(addr, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "oktasim: "+format+"\n", args...)
	})
	if err != nil {
		return err
	}
	check := "requests checked against 8x8's OpenAPI specs"
	if !s.Validated {
		check = "8x8's specs not found (set " + sharedtest.EnvVar + "): requests not checked against them"
	}
	fmt.Fprintf(stderr, "oktasim: playing 8x8 on %s (set EIGHTYEIGHTX_VOICE_URL and EIGHTYEIGHTX_SMS_URL to it); %s; counts at GET /stats and on exit\n", s.URL, check)
	<-ctx.Done()
	s.Close()
	fmt.Fprintln(stdout, s.Stats())
	return nil
}

func newPoster(client *http.Client, o *options, e env) *eventPoster {
	return &eventPoster{client: client, url: o.eventURL, header: o.eventHeader, secret: o.eventSecret, now: e.now}
}

// played is what oktasim posted to the event hook after request i.
type played struct {
	send, failover bool // Okta's send event, flagged as its own failover
	verify         bool // the user's answer, typed in or mistyped (what)
	what           answerKind
}

// oktaEvents are the events Okta logs after the hook's answer to request
// i: the send event for a code the hook sent, then what the user does
// with the code, if Okta logs it. None without -verify-rate, or when no
// code was sent.
func oktaEvents(o *options, hr hookRequest, v verdict, i int, answered time.Time) ([]logEvent, played, error) {
	var p played
	if !o.verify || v.kind != kindSuccessful {
		return nil, p, nil
	}
	var evs []logEvent
	if o.sendEvents {
		how := sentByHook
		if chosen(o.seed, i, streamFailover, o.failoverRate) {
			how, p.failover = failedOver, true
		}
		ev, err := newSendEvent(hr, answered, o.sendShape, how)
		if err != nil {
			return nil, p, err
		}
		evs, p.send = append(evs, ev), true
	}
	rate, _ := o.rates.of(o.dests[destOf(o, i)].country)
	p.what = typedIn
	switch {
	case chosen(o.seed, i, streamVerify, rate):
	case o.mistype > 0 && !isEnrollment(hr.RequestType) && chosen(o.seed, i, streamMistype, o.mistype):
		p.what = mistyped
	default:
		return evs, p, nil
	}
	ev, err := newEvent(hr, answered.Add(o.verifyDelay), p.what)
	if err != nil {
		return nil, p, err
	}
	p.verify = true
	return append(evs, ev), p, nil
}

// deniedByOkta reports whether Okta blocks request i itself (-deny-rate):
// then it does not call the hook, and logs a DENY send event.
func deniedByOkta(o *options, i int) bool {
	return o.verify && o.sendEvents && chosen(o.seed, i, streamDeny, o.denyRate)
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
	req, err := newOktaPost(ctx, o.url, body, o.header, o.secret)
	if err != nil {
		return result{err: err}
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

func runOnce(ctx context.Context, client *http.Client, o *options, e env, stdout, stderr io.Writer) error {
	hr, err := newHookRequest(o, e.now(), 0)
	if err != nil {
		return err
	}
	if deniedByOkta(o, 0) {
		w := stdout
		if o.jsonOut {
			w = stderr // there is no answer to print
		}
		return denyOnce(ctx, client, o, e, w, hr)
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
	if !o.verify {
		return nil
	}
	// -json keeps stdout for the answer alone.
	w := stdout
	if o.jsonOut {
		w = stderr
	}
	return verifyOnce(ctx, client, o, e, w, hr, v)
}

// verifyOnce plays the user and the event hook for a single request, and
// says what happened.
func verifyOnce(ctx context.Context, client *http.Client, o *options, e env, w io.Writer, hr hookRequest, v verdict) error {
	d := o.dests[0]
	rate, _ := o.rates.of(d.country)
	evs, p, err := oktaEvents(o, hr, v, 0, e.now())
	if err != nil {
		return err
	}
	if v.kind != kindSuccessful {
		fmt.Fprintf(w, "verification: none, no code was sent (%s)\n", v.kind)
		return nil
	}
	if p.send {
		how := "sent by the hook"
		if p.failover {
			how = "Okta's own failover"
		}
		fmt.Fprintf(w, "send event: %s %s, %s\n", evs[0].EventType, evs[0].Outcome.Result, how)
	}
	if !p.verify {
		fmt.Fprintf(w, "verification: none, the user does not type the code in (%s rate %g)\n", d.label(), rate)
	} else {
		how := "types the code in"
		if p.what == mistyped {
			how = "mistypes the code"
		}
		ev := evs[len(evs)-1]
		f := ev.DebugContext.DebugData.Factor
		if f == "" {
			f = ev.Target[1].DetailEntry.MethodTypeUsed
		}
		fmt.Fprintf(w, "verification: the user %s (%s rate %g): %s %s, %s, published %s\n",
			how, d.label(), rate, ev.EventType, ev.Outcome.Result, f, ev.Published)
	}
	if len(evs) == 0 {
		return nil
	}
	return postOnce(ctx, client, o, e, w, evs)
}

// denyOnce plays Okta blocking the single request itself.
func denyOnce(ctx context.Context, client *http.Client, o *options, e env, w io.Writer, hr hookRequest) error {
	ev, err := newSendEvent(hr, e.now(), o.sendShape, deniedSend)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Okta blocks the send itself (-deny-rate): the hook is not called; send event %s %s\n", ev.EventType, ev.Outcome.Result)
	return postOnce(ctx, client, o, e, w, []logEvent{ev})
}

func postOnce(ctx context.Context, client *http.Client, o *options, e env, w io.Writer, evs []logEvent) error {
	pr := newPoster(client, o, e).post(ctx, evs)
	fmt.Fprintf(w, "event POST %s: %s\n", o.eventURL, pr)
	if !pr.ok() {
		return fmt.Errorf("%w: %s", errEvents, pr.why())
	}
	return nil
}

func printOnce(w io.Writer, o *options, hr hookRequest, r result, v verdict) {
	kindOfRequest := strings.TrimPrefix(hr.RequestType, requestTypePrefix)
	if o.preview {
		kindOfRequest += " preview"
	}
	fmt.Fprintf(w, "POST %s  %s %s to %s  eventId %s\n", o.url, o.channel, kindOfRequest, maskPhone(hr.Data.MessageProfile.PhoneNumber), hr.EventID)
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

// maskPhone shows the number the way the hook logs it: never in full.
func maskPhone(raw string) string { masked, _ := phone.Mask(raw); return masked }

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// newOktaPost is a POST as Okta sends one, to the hook or its event
// route: JSON, with the shared secret in header when there is one.
func newOktaPost(ctx context.Context, url string, body []byte, header, secret string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "oktasim")
	if secret != "" {
		req.Header.Set(header, secret)
	}
	return req, nil
}
