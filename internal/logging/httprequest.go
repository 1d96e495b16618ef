package logging

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HTTPRequest is logged as Cloud Logging's httpRequest object, which Logs
// Explorer shows on the entry's summary line. Log it at the top level with
// slog.Any("httpRequest", HTTPRequest{…}) (Cloud Logging ignores it
// nested).
//
// URL is logged as given: pass a path without a query string that could
// carry personal data. Every string field is cut to maxField bytes: they
// come from the caller's headers, and a line over Cloud Logging's 256 KB is
// dropped whole.
type HTTPRequest struct {
	Method, URL, UserAgent, RemoteIP, Protocol string
	Status                                     int
	RequestSize, ResponseSize                  int64
	Latency                                    time.Duration
}

// maxField bounds a header-derived string in a log line.
const maxField = 256

// String is the request on a terminal line (the text format): "POST / 200 12ms".
func (r HTTPRequest) String() string {
	s := Clip(r.Method, maxField) + " " + Clip(r.URL, maxField) + " " + strconv.Itoa(r.Status)
	if r.Latency != 0 {
		s += " " + r.Latency.String()
	}
	return s
}

// value follows the proto3 JSON mapping of google.logging.type.HttpRequest:
// int64 sizes are strings, the latency is a Duration string ("0.25s"),
// zero values are omitted.
func (r HTTPRequest) value() slog.Value {
	var as []slog.Attr
	str := func(k, v string) {
		if v != "" {
			as = append(as, slog.String(k, Clip(v, maxField)))
		}
	}
	size := func(k string, n int64) {
		if n != 0 {
			as = append(as, slog.String(k, strconv.FormatInt(n, 10)))
		}
	}
	str("requestMethod", r.Method)
	str("requestUrl", r.URL)
	size("requestSize", r.RequestSize)
	if r.Status != 0 {
		as = append(as, slog.Int("status", r.Status))
	}
	size("responseSize", r.ResponseSize)
	str("userAgent", r.UserAgent)
	str("remoteIp", r.RemoteIP)
	if r.Latency != 0 {
		as = append(as, slog.String("latency", strconv.FormatFloat(r.Latency.Seconds(), 'f', -1, 64)+"s"))
	}
	str("protocol", r.Protocol)
	return slog.GroupValue(as...)
}

// ClientIP is the address of the caller as Google's front end saw it, for
// logs: Cloud Run appends the address it accepted the connection from to
// X-Forwarded-For, so only the last entry is not the caller's own text.
// Without the header (a local run) it is the connection's peer. It is ""
// unless that is an IP address.
func ClientIP(r *http.Request) string {
	addr := r.RemoteAddr
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		addr = xff[len(xff)-1]
		if i := strings.LastIndexByte(addr, ','); i >= 0 {
			addr = addr[i+1:]
		}
	} else if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return ""
	}
	return ip.Unmap().String()
}

// Clip cuts s to at most n bytes without splitting a UTF-8 sequence, and
// marks the cut with "…". Text from outside (headers, 8x8's and Okta's
// free-text fields) goes through it before it reaches a log line.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + "…"
}
