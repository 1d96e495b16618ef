// Package eightbyeight sends one-time passcodes through 8x8: voice
// callflows (makeCall → say → hangup) and SMS, reports SMS outcomes to
// 8x8's Feedback API, and reads the account's speech profiles.
//
// Neither send API has an idempotency key, so a send is retried (once,
// within the caller's deadline) only when 8x8 certainly did not take it:
// the request never left, 8x8 (or a proxy) answered 429, or 8x8 itself
// answered a 5xx with its own JSON error body. Any other 5xx may come from
// a proxy after 8x8 took the request: its outcome is unknown.
package eightbyeight

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Config is what the client needs.
type Config struct {
	VoiceURL     string // https://voice.8x8.com
	SMSURL       string // https://sms.8x8.com (or a regional host)
	SubaccountID string
	APIKey       string
	HTTPClient   *http.Client // nil: NewHTTPClient()
}

const (
	// minAttempt is the least time left before the deadline for a retried
	// send to be worth starting.
	minAttempt = 400 * time.Millisecond
	// defaultRetryAfter is the wait before retrying a send after a 429 or
	// 8x8's own 5xx without a Retry-After header.
	defaultRetryAfter = 100 * time.Millisecond
	// retryBackoff is the first wait between attempts of the background
	// calls (Feedback, SpeechProfiles) when 8x8 sends no Retry-After; it
	// doubles, with jitter, up to maxRetryBackoff.
	retryBackoff    = 500 * time.Millisecond
	maxRetryBackoff = 30 * time.Second
)

// Client talks to 8x8. It is safe for concurrent use.
type Client struct {
	callflowURL       string
	messagesURL       string
	speechProfilesURL string
	authValue         []string // the Authorization header's value
	hc                *http.Client
	// sleep waits d or until ctx ends (tests replace it: no real waits).
	sleep func(ctx context.Context, d time.Duration) error
}

// CloseIdleConnections closes the client's idle keep-alive connections,
// for an instance that is done with it (a failed start, a shutdown).
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// New checks cfg and builds the request URLs once.
func New(cfg Config) (*Client, error) {
	if cfg.SubaccountID == "" || cfg.APIKey == "" {
		return nil, errors.New("8x8 subaccount id and API key are required")
	}
	voice, err := baseURL("EIGHTYEIGHTX_VOICE_URL", cfg.VoiceURL)
	if err != nil {
		return nil, err
	}
	sms, err := baseURL("EIGHTYEIGHTX_SMS_URL", cfg.SMSURL)
	if err != nil {
		return nil, err
	}
	sub := url.PathEscape(cfg.SubaccountID)
	c := &Client{
		callflowURL:       voice + "/api/v1/subaccounts/" + sub + "/callflows",
		messagesURL:       sms + "/api/v1/subaccounts/" + sub + "/messages",
		speechProfilesURL: voice + "/api/v1/subaccounts/" + sub + "/speech-profiles",
		authValue:         []string{"Bearer " + cfg.APIKey},
		hc:                cfg.HTTPClient,
		sleep:             sleep,
	}
	if c.hc == nil {
		c.hc = NewHTTPClient()
	}
	return c, nil
}

// baseURL accepts https, and http only to a loopback host (a local fake):
// the API key travels in every request.
func baseURL(name, s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	local := u != nil && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback())
	if err != nil || u.Host == "" || (u.Scheme != "https" && (u.Scheme != "http" || !local)) {
		return "", fmt.Errorf("%s must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost)", name)
	}
	return u.String(), nil
}

// NewHTTPClient returns the shared client: keep-alive connections sized for
// Cloud Run's request concurrency, bounded dial and TLS handshakes. The
// overall bound is the caller's context deadline, not Client.Timeout.
func NewHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: time.Second,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{Transport: t}
}

// Warm opens (and TLS-handshakes) a connection to both hosts so the first
// Okta request does not pay for it. Errors are ignored: it is an
// optimisation, and the real request reports real problems.
func (c *Client) Warm(ctx context.Context) {
	for _, u := range []string{c.callflowURL, c.messagesURL} {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			continue
		}
		if resp, err := c.hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
		}
	}
}

// Receipt is 8x8's acceptance of a message.
type Receipt struct {
	TransactionID string // voice sessionId or SMS umid
	Status        string // voice sessionStatus ("CREATED") or SMS status.code ("QUEUED")
	Code          string // voice statusCode ("1")
	Attempts      int
}

// maxBody bounds what is read of an answer: 8x8's are a few hundred bytes.
const maxBody = 64 << 10

// errorShape reads a non-2xx body: 8x8's code and message, and whether the
// body is 8x8's own error answer (then 8x8 certainly did not take the
// request) rather than a proxy's.
type errorShape func(body []byte) (code, msg string, own bool)

// send posts a message (req as JSON) and decodes 8x8's 2xx answer. A decode
// error that is not decode's own *Error means 8x8 said 2xx but we cannot
// read it: it probably took the message, so the outcome is unknown.
func (c *Client) send(ctx context.Context, u string, req any, decode func([]byte) (Receipt, error), shape errorShape) (Receipt, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Receipt{}, &Error{Kind: Unreachable, Err: err}
	}
	a, e := c.request(ctx, http.MethodPost, u, body, maxBody, shape, false)
	if e != nil {
		return Receipt{}, e
	}
	r, err := decode(a.body)
	r.Attempts = a.attempts
	if err == nil {
		return r, nil
	}
	if !errors.As(err, &e) {
		e = &Error{Kind: Unknown, Err: err}
	}
	e.HTTPStatus, e.Attempts = a.status, a.attempts
	return r, e
}

// request makes the request until 8x8 answers 2xx or another attempt could
// do harm or has no time. A send (not idempotent) is tried at most twice,
// and again only when 8x8 certainly did not take it (see the package
// comment), after Retry-After or defaultRetryAfter, and only if minAttempt
// is left after that wait. An idempotent request (a feedback, a read:
// background work, never the hook's path) is tried until it succeeds, 8x8
// refuses it (a 4xx other than 429), or ctx ends: after Retry-After or
// backoffFor.
func (c *Client) request(ctx context.Context, method, u string, body []byte, limit int64, shape errorShape, idempotent bool) (answer, *Error) {
	for attempt := 1; ; attempt++ {
		a := c.once(ctx, method, u, body, limit)
		a.attempts = attempt
		var e *Error
		var retry bool
		switch {
		case a.err != nil:
			e = &Error{Kind: Unreachable, Err: a.err}
			if a.mayHaveSent {
				e.Kind = Unknown
			}
			retry = idempotent || !a.mayHaveSent
		case a.status >= 200 && a.status < 300:
			return a, nil
		default:
			e, retry = classify(a, shape)
			// A second feedback or read is harmless, whoever answered 5xx.
			retry = retry || idempotent && a.status >= 500
		}
		e.Attempts = attempt
		if !retry || (!idempotent && attempt == 2) || ctx.Err() != nil {
			return a, e
		}
		wait, room := cmp.Or(e.RetryAfter, defaultRetryAfter), minAttempt
		if idempotent {
			wait, room = cmp.Or(e.RetryAfter, backoffFor(attempt)), 0
		}
		if dl, ok := ctx.Deadline(); (ok && time.Until(dl)-wait < room) || c.sleep(ctx, wait) != nil {
			return a, e
		}
	}
}

// classify turns a non-2xx answer to a send into an Error, and says
// whether a retry cannot duplicate the message.
func classify(a answer, shape errorShape) (e *Error, retry bool) {
	c, msg, own := shape(a.body)
	e = &Error{Kind: Refused, HTTPStatus: a.status, RetryAfter: a.retryAfter}
	if own || a.status < 500 {
		e.Code, e.Message = cleanCode(c), cleanMessage(msg)
	}
	if e.Code == "" && e.Message == "" {
		// Not 8x8's words: keep a short excerpt to tell proxies apart.
		e.Message = excerpt(a.body)
	}
	switch {
	case a.status == http.StatusTooManyRequests, a.status >= 500 && own:
		// Rate limited, by 8x8 or in front of it, or 8x8's own error answer
		// (voice: NOT_CREATED; SMS: its error body): nothing was taken, so a
		// retry cannot duplicate it.
		return e, true
	case a.status >= 500:
		// A proxy's 502/503/504, HTML, plain text or foreign JSON: 8x8
		// may have taken the request behind it ("upstream connect error
		// or disconnect/reset before headers" can follow a request 8x8
		// accepted). Neither retry nor FAILED: a second code would follow.
		e.Kind = Unknown
	}
	return e, false
}

// answer is what one request got.
type answer struct {
	status      int
	body        []byte
	retryAfter  time.Duration
	mayHaveSent bool  // on err: the request may have reached 8x8
	err         error // transport error
	attempts    int   // set by request
}

// once makes one request. On a transport error, mayHaveSent reports
// whether the request may be with 8x8: it was fully written, or the
// deadline cut a write in progress. Only a failure before that (DNS,
// connect, TLS, a write error on a dead connection) is certainly unsent.
func (c *Client) once(ctx context.Context, method, u string, body []byte, limit int64) answer {
	// The trace callbacks run on the transport's goroutines, which may
	// outlive Do when the context ends.
	var gotConn, wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { gotConn.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, u, rd)
	if err != nil {
		return answer{err: err}
	}
	// The value slices are built once; the transport only reads them.
	req.Header = http.Header{"Authorization": c.authValue, "Accept": jsonValue}
	if body != nil {
		req.Header["Content-Type"] = jsonValue
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{err: err, mayHaveSent: wrote.Load() || (gotConn.Load() && ctx.Err() != nil)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The status line says 8x8 took it; only the body was cut.
		return answer{err: err, mayHaveSent: true}
	}
	return answer{status: resp.StatusCode, body: b, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// backoffFor is the wait after the given attempt: retryBackoff doubling
// up to maxRetryBackoff, with "equal jitter" (a uniform draw from its upper
// half) so instances that failed together do not retry together.
func backoffFor(attempt int) time.Duration {
	d := maxRetryBackoff
	if attempt <= 6 {
		d = min(retryBackoff<<(attempt-1), maxRetryBackoff)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var jsonValue = []string{"application/json"}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// cleanMessage masks digit runs in 8x8's text and bounds it: a validation
// message can quote the request (the destination, the spoken code), and
// neither may reach a log. Masking comes first, so a cut cannot leave part
// of a number unmasked.
func cleanMessage(s string) string { return logging.Clip(redact.Text(s), 200) }

// cleanCode is 8x8's status or error code, masked unless it is a short code,
// and bounded.
func cleanCode(s string) string { return logging.Clip(redact.Code(s), 32) }

// excerpt is a one-line, masked start of a body that is not 8x8's JSON (a
// proxy's page), enough to tell which proxy answered.
func excerpt(b []byte) string {
	b = b[:min(len(b), 1024)]
	return logging.Clip(redact.Text(strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")), 120)
}
