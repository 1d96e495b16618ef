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
	"runtime"
	"strconv"
	"strings"
	"time"
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
