package logging_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// hookLine is the line the hook writes for each call (hook.logRequest):
// 17 attributes, a redacted phone.Number resolved through LogValue and the
// nested httpRequest object, in a request context with a traceparent.
func hookLine(b *testing.B) (context.Context, []slog.Attr) {
	p, err := phone.NewParser("US", 10)
	if err != nil {
		b.Fatal(err)
	}
	num, err := p.Parse("+14155550123")
	if err != nil {
		b.Fatal(err)
	}
	ctx := logging.WithTrace(context.Background(), http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	latency := 412 * time.Millisecond
	return ctx, []slog.Attr{
		slog.String("outcome", "SUCCESSFUL"),
		slog.Int("status", 200),
		slog.String("eventId", "b1c2d3e4-f5a6-7b8c-9d0e-1f2a3b4c5d6e"),
		slog.String("requestType", "telephony"),
		slog.String("channel", "sms"),
		slog.String("locale", "en-US"),
		slog.Bool("preview", false),
		slog.String("userId", "00u1a2b3c4d5e6f7g8h9"),
		slog.Any("phone", num),
		slog.String("country", num.Region()),
		slog.String("numberType", num.Type().String()),
		slog.String("auth", "header"),
		slog.String("transactionId", "0f2a9c1e-8b7d-4e6f-a5c4-3b2a1f0e9d8c"),
		slog.String("providerCode", "1"),
		slog.Float64("latencyMs", 412.337),
		slog.Float64("budgetLeftMs", 2087.663),
		slog.Any("httpRequest", logging.HTTPRequest{
			Method: "POST", URL: "/", UserAgent: "Okta Hooks", RemoteIP: "203.0.113.9",
			Protocol: "HTTP/1.1", Status: 200, RequestSize: 1843, ResponseSize: 197, Latency: latency,
		}),
	}
}

// BenchmarkHookLine is the CPU of one hook request's log line, end to end
// through *slog.Logger as the hook writes it (record construction
// included), to io.Discard. A hook request costs about 130 µs of CPU; a
// hand-written handler earns its place only by saving 2 % of that
// (2.6 µs) on this line. slog.JSONHandler alone is the floor: what the
// standard library costs without Cloud Logging's field names.
func BenchmarkHookLine(b *testing.B) {
	ctx, attrs := hookLine(b)
	for _, tt := range []struct {
		name string
		h    slog.Handler
	}{
		{"logging.JSON", logging.NewHandler(io.Discard, logging.Options{ProjectID: "my-project"})},
		{"logging.Text", logging.NewHandler(io.Discard, logging.Options{Format: logging.Text})},
		{"slog.JSONHandler", slog.NewJSONHandler(io.Discard, nil)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			l := slog.New(tt.h)
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "okta telephony hook", attrs...)
			}
		})
	}
}
