package logging

import (
	"context"
	"encoding"
	"encoding/json"
	"log/slog"
	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/jsonstr"
)

// Keys Cloud Logging lifts out of jsonPayload into the LogEntry.
// https://cloud.google.com/logging/docs/structured-logging#special-payload-fields
const (
	keySourceLocation = "logging.googleapis.com/sourceLocation"
	keyTrace          = "logging.googleapis.com/trace"
	keySpanID         = "logging.googleapis.com/spanId"
	keyTraceSampled   = "logging.googleapis.com/trace_sampled"
)

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

// appendJSON writes one whole entry, newline terminated.
func (h *handler) appendJSON(b []byte, ctx context.Context, r slog.Record) []byte {
	b = append(b, `{"severity":"`...)
	b = append(b, severity(r.Level)...)
	b = append(b, `","message":`...)
	b = appendJSONString(b, r.Message)
	if !r.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if r.Level >= slog.LevelError && r.PC != 0 {
		f := frame(r.PC)
		b = append(b, `,"`+keySourceLocation+`":{"file":`...)
		b = appendJSONString(b, f.File)
		// line is an int64 in the LogEntry proto, hence a string in JSON.
		b = append(b, `,"line":"`...)
		b = strconv.AppendInt(b, int64(f.Line), 10)
		b = append(b, `","function":`...)
		b = appendJSONString(b, f.Function)
		b = append(b, '}')
	}
	if ctx != nil {
		if t, ok := TraceFromContext(ctx); ok {
			if h.projectID != "" {
				b = append(b, `,"`+keyTrace+`":"projects/`...)
				b = jsonstr.AppendEscaped(b, h.projectID)
				b = append(b, "/traces/"...)
				b = append(b, t.TraceID...)
				b = append(b, '"')
			}
			if t.SpanID != "" {
				b = append(b, `,"`+keySpanID+`":"`...)
				b = append(b, t.SpanID...)
				b = append(b, '"')
			}
			b = append(b, `,"`+keyTraceSampled+`":`...)
			b = strconv.AppendBool(b, t.Sampled)
		}
	}
	b, hr, ok := h.appendJSONAttrs(b, r)
	if ok {
		b = append(b, `,"httpRequest":`...)
		b = hr.appendJSON(b)
	}
	return append(b, '}', '\n')
}

func frame(pc uintptr) runtime.Frame {
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return f
}

// appendJSONAttrs writes the WithAttrs fragments and the record's
// attributes inside the handler's groups, and returns the HTTPRequest to
// hoist, if any. Groups opened by WithGroup are written only when
// something goes in them (slog's rule: no empty groups).
func (h *handler) appendJSONAttrs(b []byte, r slog.Record) ([]byte, HTTPRequest, bool) {
	e := jsonEncoder{buf: append(b, h.pre...), comma: h.preComma}
	if h.httpReq != nil {
		e.httpReq, e.hasHTTP = *h.httpReq, true
	}
	if r.NumAttrs() > 0 {
		sp := e.openGroups(h.groups[h.nOpen:])
		wrote := false
		r.Attrs(func(a slog.Attr) bool {
			wrote = e.attr(a) || wrote
			return true
		})
		if wrote {
			for range len(h.groups) - h.nOpen {
				e.buf = append(e.buf, '}')
			}
		} else {
			e.rollback(sp)
		}
	}
	for range h.nOpen {
		e.buf = append(e.buf, '}')
	}
	return e.buf, e.httpReq, e.hasHTTP
}

// savepoint is where the encoder stood before opening groups.
type savepoint struct {
	n     int
	comma bool
}

// openGroups opens the groups that attributes are about to be written in;
// rollback takes them back out if nothing was written (slog's rule: no
// empty groups).
func (e *jsonEncoder) openGroups(groups []string) savepoint {
	sp := savepoint{len(e.buf), e.comma}
	for _, g := range groups {
		e.key(g)
		e.buf = append(e.buf, '{')
		e.comma = false
	}
	return sp
}

func (e *jsonEncoder) rollback(sp savepoint) { e.buf, e.comma = e.buf[:sp.n], sp.comma }

// jsonEncoder appends object members; comma says whether the next member
// needs a separator.
type jsonEncoder struct {
	buf     []byte
	comma   bool
	httpReq HTTPRequest
	hasHTTP bool
}

func (e *jsonEncoder) key(k string) {
	if e.comma {
		e.buf = append(e.buf, ',')
	}
	e.buf = appendJSONString(e.buf, k)
	e.buf = append(e.buf, ':')
	e.comma = true
}

// attr writes a as a member and reports whether anything was written.
func (e *jsonEncoder) attr(a slog.Attr) bool {
	// Resolve runs LogValue: this is where redacting types redact.
	a.Value = a.Value.Resolve()
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		as := v.Group()
		if len(as) == 0 {
			return false
		}
		if a.Key == "" { // slog: a group with an empty key is inlined
			wrote := false
			for _, ga := range as {
				if e.attr(ga) {
					wrote = true
				}
			}
			return wrote
		}
		mark, comma := len(e.buf), e.comma
		e.key(a.Key)
		e.buf = append(e.buf, '{')
		e.comma = false
		wrote := false
		for _, ga := range as {
			if e.attr(ga) {
				wrote = true
			}
		}
		if !wrote {
			e.buf, e.comma = e.buf[:mark], comma
			return false
		}
		e.buf = append(e.buf, '}')
		e.comma = true
		return true
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
			if a.Key == "" { // the zero Attr is ignored
				return false
			}
		case HTTPRequest:
			// Cloud Logging reads httpRequest only at the top level.
			e.httpReq, e.hasHTTP = x, true
			return false
		case *HTTPRequest:
			if x != nil {
				e.httpReq, e.hasHTTP = *x, true
				return false
			}
		}
	}
	e.key(a.Key)
	e.buf = appendJSONValue(e.buf, v)
	return true
}

func appendJSONValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendJSONString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) { // not representable in JSON
			return appendJSONString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		// Milliseconds as a number: Logs Explorer can compare it
		// (jsonPayload.latency > 500) and log-based distribution
		// metrics can extract it without a regular expression.
		return strconv.AppendFloat(b, float64(v.Duration())/float64(time.Millisecond), 'f', -1, 64)
	case slog.KindTime:
		b = append(b, '"')
		b = v.Time().UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	return appendJSONAny(b, v.Any())
}

func appendJSONAny(b []byte, x any) []byte {
	switch x := x.(type) {
	case error:
		return appendJSONString(b, x.Error())
	case HTTPRequest:
		return x.appendJSON(b)
	case json.Marshaler:
	case encoding.TextMarshaler:
		t, err := x.MarshalText()
		if err != nil {
			return appendJSONString(b, "!ERROR:"+err.Error())
		}
		return appendJSONString(b, string(t))
	}
	j, err := json.Marshal(x)
	if err != nil {
		return appendJSONString(b, "!ERROR:"+err.Error())
	}
	return append(b, j...)
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = jsonstr.AppendEscaped(b, s)
	return append(b, '"')
}
