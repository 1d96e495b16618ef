package logging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// benchAttrs is a request log line: 12 attributes of the common kinds,
// one of them a redacting LogValuer.
var benchAttrs = []slog.Attr{
	slog.String("eventId", "b1c2d3e4-f5a6-7b8c-9d0e-1f2a3b4c5d6e"),
	slog.String("requestType", "com.okta.telephony.provider"),
	slog.String("channel", "sms"),
	slog.String("country", "US"),
	slog.String("locale", "en-US"),
	slog.Bool("preview", false),
	slog.String("outcome", "SUCCESSFUL"),
	slog.String("transactionId", "0f2a9c1e-8b7d-4e6f-a5c4-3b2a1f0e9d8c"),
	slog.Int("statusCode", 1),
	slog.Duration("latency", 412*time.Millisecond),
	slog.Duration("budgetLeft", 2088*time.Millisecond),
	slog.Any("phone", secret("+14155550123")),
}

func benchRecord() slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "telephony hook answered", 0)
	r.AddAttrs(benchAttrs...)
	return r
}

// BenchmarkJSONHandler measures Handle alone (the record is built once, as
// the comparison with the standard handler is about encoding).
func BenchmarkJSONHandler(b *testing.B) {
	ctx := WithTrace(context.Background(), http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	r := benchRecord()
	handlers := []struct {
		name string
		h    slog.Handler
	}{
		{"logging", NewHandler(io.Discard, Options{ProjectID: "my-project"})},
		{"slog.JSONHandler", slog.NewJSONHandler(io.Discard, nil)},
		{"logging/text", NewHandler(io.Discard, Options{Format: Text})},
	}
	for _, tt := range handlers {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tt.h.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONLogger is the end-to-end cost through *slog.Logger, record
// construction included (slog allocates for attributes beyond five).
func BenchmarkJSONLogger(b *testing.B) {
	for _, tt := range []struct {
		name string
		h    slog.Handler
	}{
		{"logging", NewHandler(io.Discard, Options{ProjectID: "my-project"})},
		{"slog.JSONHandler", slog.NewJSONHandler(io.Discard, nil)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			l := slog.New(tt.h).With("service", "hook")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "telephony hook answered", benchAttrs...)
			}
		})
	}
}
