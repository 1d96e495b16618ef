package logging

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

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
