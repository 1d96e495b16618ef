// Package eightbyeight sends one-time passcodes through 8x8: voice
// callflows (makeCall → say → hangup) and SMS. Neither API has an
// idempotency key, so the client retries only what certainly did not reach
// 8x8, or what 8x8 answered with 429 / 5xx, and only within the caller's
// deadline.
package eightbyeight

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/httpbody"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Config is what the client needs.
type Config struct {
	VoiceURL     string // https://voice.8x8.com
	SMSURL       string // https://sms.8x8.com (or a regional host)
	SubaccountID string
	APIKey       string
	HTTPClient   *http.Client // nil: NewHTTPClient()
	// MinAttempt is the least time left before the deadline for a retry to
	// be worth starting (default 400 ms).
	MinAttempt time.Duration
	// DefaultRetryAfter is the wait before retrying a 429/5xx without a
	// Retry-After header (default 100 ms).
	DefaultRetryAfter time.Duration
}

// Client talks to 8x8. It is safe for concurrent use.
type Client struct {
	callflowURL string
	messagesURL string
	authValue   []string // the Authorization header's value
	hc          *http.Client
	minAttempt  time.Duration
	retryAfter  time.Duration
	now         func() time.Time
}

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
		callflowURL: voice + "/api/v1/subaccounts/" + sub + "/callflows",
		messagesURL: sms + "/api/v1/subaccounts/" + sub + "/messages",
		authValue:   []string{"Bearer " + cfg.APIKey},
		hc:          cfg.HTTPClient,
		minAttempt:  cfg.MinAttempt,
		retryAfter:  cfg.DefaultRetryAfter,
		now:         time.Now,
	}
	if c.hc == nil {
		c.hc = NewHTTPClient()
	}
	if c.minAttempt == 0 {
		c.minAttempt = 400 * time.Millisecond
	}
	if c.retryAfter == 0 {
		c.retryAfter = 100 * time.Millisecond
	}
	return c, nil
}

func baseURL(name, s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s must be an http(s) URL", name)
	}
	return u.String(), nil
}

// NewHTTPClient returns the shared client: keep-alive connections sized for
// Cloud Run's request concurrency, bounded dial and TLS handshakes. The
// overall bound is the caller's context deadline, not Client.Timeout.
func NewHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   time.Second,
		ExpectContinueTimeout: 0,
		ResponseHeaderTimeout: 0, // the request context bounds it
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
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
	HTTPStatus    int
}

const maxBody = 64 << 10

// post sends body to u, retrying once on 429/5xx or when the request
// certainly never left, if the deadline leaves room. decode reads a 2xx
// body into a Receipt or an error.
func (c *Client) post(ctx context.Context, u string, body []byte, decode func([]byte) (Receipt, error), decodeErr func([]byte) (code, msg string)) (Receipt, error) {
	var last *Error
	for attempt := 1; attempt <= 2; attempt++ {
		if attempt == 2 {
			wait := last.RetryAfter
			if wait <= 0 {
				wait = c.retryAfter
			}
			if dl, ok := ctx.Deadline(); ok && dl.Sub(c.now().Add(wait)) < c.minAttempt {
				return Receipt{}, last
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return Receipt{}, last
			case <-t.C:
			}
		}
		status, respBody, retryAfter, mayHaveSent, err := c.once(ctx, u, body)
		if err != nil {
			if mayHaveSent {
				return Receipt{}, &Error{Kind: Unknown, Attempts: attempt, Err: err}
			}
			last = &Error{Kind: Unreachable, Attempts: attempt, Err: err}
			if ctx.Err() != nil {
				return Receipt{}, last
			}
			continue
		}
		if status >= 200 && status < 300 {
			r, err := decode(respBody)
			r.Attempts, r.HTTPStatus = attempt, status
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					e.Attempts, e.HTTPStatus = attempt, status
					return r, e
				}
				// 8x8 said 2xx but we cannot read it: it probably took
				// the message, so the outcome is unknown, not refused.
				return r, &Error{Kind: Unknown, HTTPStatus: status, Attempts: attempt, Err: err}
			}
			return r, nil
		}
		code, msg := decodeErr(respBody)
		e := &Error{Kind: Refused, HTTPStatus: status, Code: code, Message: cleanMessage(msg), RetryAfter: retryAfter, Attempts: attempt}
		switch {
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			// Not processed: retry once if the budget allows.
		case status >= 500 && code != "":
			// 8x8's own error answer (voice: NOT_CREATED; SMS: an error
			// code): nothing was created, so a retry cannot duplicate it.
		case status >= 500:
			// A gateway's 502/504 or a bare 5xx: 8x8 may have placed the
			// call behind it. Neither retry nor FAILED: a second code
			// would follow.
			e.Kind = Unknown
			return Receipt{}, e
		default:
			return Receipt{}, e
		}
		last = e
	}
	return Receipt{}, last
}

// once makes one request. mayHaveSent reports whether a transport error
// leaves the request possibly with 8x8: it was fully written, or the
// deadline cut a write in progress. Only a failure before that (DNS,
// connect, TLS, a write error on a dead connection) is certainly unsent.
func (c *Client) once(ctx context.Context, u string, body []byte) (status int, respBody []byte, retryAfter time.Duration, mayHaveSent bool, err error) {
	// The trace callbacks run on the transport's goroutines, which may
	// outlive Do when the context ends.
	var gotConn, wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn:      func(httptrace.GotConnInfo) { gotConn.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, false, err
	}
	// The value slices are built once; the transport only reads them.
	req.Header = http.Header{
		"Authorization": c.authValue,
		"Content-Type":  jsonValue,
		"Accept":        jsonValue,
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, 0, wrote.Load() || (gotConn.Load() && ctx.Err() != nil), err
	}
	defer resp.Body.Close()
	respBody, err = httpbody.Read(resp.Body, resp.ContentLength, maxBody)
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The status line says 8x8 took it; only the body was cut.
		return 0, nil, 0, true, err
	}
	return resp.StatusCode, respBody, parseRetryAfter(resp.Header.Get("Retry-After"), c.now()), true, nil
}

// cleanMessage bounds 8x8's error text and masks digit runs: a validation
// message can quote the request, and the destination must not reach a log.
func cleanMessage(s string) string { return redact.Text(truncate(s, 200)) }

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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
