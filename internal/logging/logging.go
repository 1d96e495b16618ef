// Package logging turns log/slog records into Cloud Logging structured
// entries: one JSON object per line (what Cloud Run's log agent parses),
// with severity, trace correlation, the source location of errors and the
// httpRequest object. It is slog.JSONHandler with ReplaceAttr for Cloud
// Logging's names and a thin wrapper for what ReplaceAttr cannot see (the
// trace in the request's context, the caller of an error).
//
// Redaction is structural: slog resolves every value through LogValue, so
// a type that redacts itself (phone numbers, OTPs) is never written in the
// clear, whichever handler writes it.
//
// Durations are numbers of milliseconds (comparable in Logs Explorer and
// extractable by log-based metrics); times are RFC 3339 UTC.
//
// On Cloud Run write to a Writer around stdout (a blocked stdout must not
// hold an answer back); with LOG_SINK=cloudlogging write to a CloudSink.
// A Sampler keeps refused requests, which anyone can send, from flooding
// the logs.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format selects how records are written.
type Format int

const (
	// JSON writes Cloud Logging structured JSON, one entry per line.
	JSON Format = iota
	// Text writes readable lines for a terminal (local run).
	Text
)

// Options configure a handler built by NewHandler.
type Options struct {
	// Level is the minimum level written; nil means slog.LevelInfo.
	Level slog.Leveler
	// Format is JSON (default) or Text.
	Format Format
	// ProjectID completes the trace field (projects/P/traces/T); without
	// it the trace field is omitted, spanId and trace_sampled are kept.
	ProjectID string
}

// Keys Cloud Logging lifts out of jsonPayload into the LogEntry.
// https://cloud.google.com/logging/docs/structured-logging#special-payload-fields
const (
	keySourceLocation = "logging.googleapis.com/sourceLocation"
	keyTrace          = "logging.googleapis.com/trace"
	keySpanID         = "logging.googleapis.com/spanId"
	keyTraceSampled   = "logging.googleapis.com/trace_sampled"
)

// ParseLevel reads LOG_LEVEL: debug, info, warn or warning, error
// (case-insensitive, surrounding space ignored).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: unknown level %q (want debug, info, warn or error)", s)
}

// ParseFormat reads a format name: json or text (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "json":
		return JSON, nil
	case "text":
		return Text, nil
	}
	return 0, fmt.Errorf("logging: unknown format %q (want json or text)", s)
}

// NewHandler returns a slog.Handler writing to w in the chosen format.
// Each record is one Write call.
func NewHandler(w io.Writer, opts Options) slog.Handler {
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	if opts.Format == Text {
		return newTextHandler(w, level)
	}
	return cloudHandler{
		Handler:   slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceJSON}),
		projectID: opts.ProjectID,
	}
}

// cloudHandler adds what ReplaceAttr cannot: the trace of the request in
// the context and the source location of errors. They are added as
// attributes, so they land at the top level of the entry as long as no
// group is open (nothing here logs through WithGroup).
type cloudHandler struct {
	slog.Handler
	projectID string
}

func (h cloudHandler) Handle(ctx context.Context, r slog.Record) error {
	var add []slog.Attr
	if r.Level >= slog.LevelError && r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		// line is an int64 in the LogEntry proto, hence a string in JSON.
		add = append(add, slog.Group(keySourceLocation,
			slog.String("file", f.File), slog.String("line", strconv.Itoa(f.Line)), slog.String("function", f.Function)))
	}
	if t, ok := TraceFromContext(ctx); ok {
		if h.projectID != "" {
			add = append(add, slog.String(keyTrace, "projects/"+h.projectID+"/traces/"+t.TraceID))
		}
		if t.SpanID != "" {
			add = append(add, slog.String(keySpanID, t.SpanID))
		}
		add = append(add, slog.Bool(keyTraceSampled, t.Sampled))
	}
	if len(add) > 0 {
		r = r.Clone()
		r.AddAttrs(add...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h cloudHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return cloudHandler{h.Handler.WithAttrs(as), h.projectID}
}

func (h cloudHandler) WithGroup(name string) slog.Handler {
	return cloudHandler{h.Handler.WithGroup(name), h.projectID}
}

// replaceJSON gives slog's keys Cloud Logging's names and writes the
// values JSON cannot hold as it expects them.
func replaceJSON(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.LevelKey:
			return slog.String("severity", severity(a.Value.Any().(slog.Level)))
		case slog.MessageKey:
			a.Key = "message"
			return a
		case slog.TimeKey:
			return slog.Time(a.Key, a.Value.Time().UTC())
		}
	}
	switch a.Value.Kind() {
	case slog.KindDuration:
		return slog.Float64(a.Key, float64(a.Value.Duration())/float64(time.Millisecond))
	case slog.KindFloat64:
		if f := a.Value.Float64(); math.IsNaN(f) || math.IsInf(f, 0) {
			return slog.String(a.Key, strconv.FormatFloat(f, 'g', -1, 64))
		}
	case slog.KindAny:
		if r, ok := a.Value.Any().(HTTPRequest); ok {
			return slog.Attr{Key: a.Key, Value: r.value()}
		}
	}
	return a
}

// severity maps slog levels onto Cloud Logging severities; levels between
// two named ones map down (INFO+2 is INFO, anything above ERROR is ERROR).
func severity(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	}
	return "ERROR"
}

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
	as := make([]slog.Attr, 0, 9)
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

// Trace identifies the request's trace for log correlation.
type Trace struct {
	TraceID string // 32 lowercase hex digits
	SpanID  string // 16 lowercase hex digits, or "" when the caller sent none
	Sampled bool
}

type traceKey struct{}

// WithTrace returns ctx carrying the trace of the incoming request: the
// W3C traceparent header first, else X-Cloud-Trace-Context. Malformed
// headers are ignored (ctx is returned unchanged): a bad id would only
// attach the entry to a trace that does not exist.
func WithTrace(ctx context.Context, h http.Header) context.Context {
	if t, ok := parseTraceparent(h.Get("traceparent")); ok {
		return context.WithValue(ctx, traceKey{}, t)
	}
	if t, ok := parseCloudTraceContext(h.Get("X-Cloud-Trace-Context")); ok {
		return context.WithValue(ctx, traceKey{}, t)
	}
	return ctx
}

// TraceFromContext returns the trace stored by WithTrace.
func TraceFromContext(ctx context.Context) (Trace, bool) {
	t, ok := ctx.Value(traceKey{}).(Trace)
	return t, ok
}

// parseTraceparent reads version-traceid-parentid-flags
// (https://www.w3.org/TR/trace-context/#traceparent-header): lowercase hex
// only, ids not all zero, version ff invalid, version 00 exactly 55 chars,
// later versions may append "-…" fields.
func parseTraceparent(s string) (Trace, bool) {
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return Trace{}, false
	}
	version, traceID, spanID, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	if !isLowerHex(version) || version == "ff" || !isLowerHex(flags) ||
		!isLowerHex(traceID) || allZero(traceID) ||
		!isLowerHex(spanID) || allZero(spanID) {
		return Trace{}, false
	}
	if len(s) > 55 && (version == "00" || s[55] != '-') {
		return Trace{}, false
	}
	f, _ := strconv.ParseUint(flags, 16, 8)
	return Trace{TraceID: traceID, SpanID: spanID, Sampled: f&1 == 1}, true
}

// parseCloudTraceContext reads TRACE_ID[/SPAN_ID][;o=OPTIONS] where the
// span id is a decimal uint64; Cloud Logging wants it as 16 hex digits.
func parseCloudTraceContext(s string) (Trace, bool) {
	if s == "" {
		return Trace{}, false
	}
	var t Trace
	rest, opts, hasOpts := strings.Cut(s, ";")
	if hasOpts {
		switch opts {
		case "o=1":
			t.Sampled = true
		case "o=0":
		default:
			return Trace{}, false
		}
	}
	traceID, span, hasSpan := strings.Cut(rest, "/")
	if len(traceID) != 32 || !isHex(traceID) || allZero(traceID) {
		return Trace{}, false
	}
	t.TraceID = strings.ToLower(traceID)
	if hasSpan {
		n, err := strconv.ParseUint(span, 10, 64)
		if err != nil || n == 0 {
			return Trace{}, false
		}
		const pad = "0000000000000000"
		x := strconv.FormatUint(n, 16)
		t.SpanID = pad[len(x):] + x
	}
	return t, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// newTextHandler writes readable lines for a terminal (the local run):
// slog's TextHandler, with a clock time, Cloud Logging's severity names and
// a short source, so a line reads as it will in Logs Explorer. It is never
// on a deployed hook's path, so it is not worth a hand-written encoder.
// Values are resolved by slog, so redaction holds here too.
func newTextHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{
		AddSource:   true,
		Level:       level,
		ReplaceAttr: replaceText,
	})
}

func replaceText(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if a.Value.Kind() == slog.KindTime {
			return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05.000"))
		}
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, severity(l))
		}
	case slog.SourceKey:
		if s, ok := a.Value.Any().(*slog.Source); ok {
			return slog.String(slog.SourceKey, filepath.Base(s.File)+":"+strconv.Itoa(s.Line))
		}
	}
	return a
}
