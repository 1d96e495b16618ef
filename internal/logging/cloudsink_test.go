package logging

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/logging"
)

type fakeSink struct{ entries []logging.Entry }

func (f *fakeSink) Log(e logging.Entry) { f.entries = append(f.entries, e) }

func TestSinkEntry(t *testing.T) {
	traced := ctxWith(http.Header{"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/2748;o=1"}})
	tests := []struct {
		name        string
		project     string
		ctx         context.Context
		level       slog.Level
		attrs       []slog.Attr
		wantSev     logging.Severity
		wantPayload string
		wantTrace   string
		wantSpan    string
		wantSampled bool
		wantSource  bool
		wantHTTP    *HTTPRequest
	}{
		{
			name: "info with trace and redacted attrs", project: "p", ctx: traced, level: slog.LevelInfo,
			attrs:       []slog.Attr{slog.String("eventId", "e1"), slog.Any("phone", secret("+14155550123"))},
			wantSev:     logging.Info,
			wantPayload: `{"message":"m","eventId":"e1","phone":"[redacted]"}`,
			wantTrace:   "projects/p/traces/105445aa7843bc8bf206b12000100000", wantSpan: "0000000000000abc", wantSampled: true,
		},
		{
			name: "no project: span only", ctx: traced, level: slog.LevelWarn,
			wantSev: logging.Warning, wantPayload: `{"message":"m"}`, wantSpan: "0000000000000abc", wantSampled: true,
		},
		{
			name: "error has source location", ctx: context.Background(), level: slog.LevelError + 4,
			wantSev: logging.Error, wantPayload: `{"message":"m"}`, wantSource: true,
		},
		{
			name: "httpRequest mapped", ctx: context.Background(), level: slog.LevelDebug,
			attrs: []slog.Attr{slog.Any("httpRequest", &HTTPRequest{
				Method: "POST", URL: "https://hook.example/x", UserAgent: "Okta", RemoteIP: "203.0.113.9",
				Protocol: "HTTP/2.0", Status: 200, RequestSize: 10, ResponseSize: 20, Latency: time.Second,
			})},
			wantSev: logging.Debug, wantPayload: `{"message":"m"}`,
			wantHTTP: &HTTPRequest{
				Method: "POST", URL: "https://hook.example/x", UserAgent: "Okta", RemoteIP: "203.0.113.9",
				Protocol: "HTTP/2.0", Status: 200, RequestSize: 10, ResponseSize: 20, Latency: time.Second,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs fakeSink
			h := NewHandler(nil, Options{Level: slog.LevelDebug, ProjectID: tt.project, Sink: &fs})
			logAt(t, h, tt.ctx, tt.level, "m", tt.attrs...)
			if len(fs.entries) != 1 {
				t.Fatalf("%d entries", len(fs.entries))
			}
			e := fs.entries[0]
			if e.Severity != tt.wantSev || !e.Timestamp.Equal(fixedTime) {
				t.Errorf("severity %v time %v", e.Severity, e.Timestamp)
			}
			if p, _ := e.Payload.(json.RawMessage); string(p) != tt.wantPayload {
				t.Errorf("payload %s, want %s", p, tt.wantPayload)
			}
			if e.Trace != tt.wantTrace || e.SpanID != tt.wantSpan || e.TraceSampled != tt.wantSampled {
				t.Errorf("trace %q span %q sampled %v", e.Trace, e.SpanID, e.TraceSampled)
			}
			if got := e.SourceLocation != nil; got != tt.wantSource {
				t.Errorf("source location present = %v", got)
			} else if got && (!strings.HasSuffix(e.SourceLocation.File, "/cloudsink_test.go") || e.SourceLocation.Line == 0) {
				t.Errorf("source location %v", e.SourceLocation)
			}
			if tt.wantHTTP == nil {
				if e.HTTPRequest != nil {
					t.Errorf("unexpected httpRequest %+v", e.HTTPRequest)
				}
				return
			}
			r, w := e.HTTPRequest, tt.wantHTTP
			if r == nil || r.Request == nil {
				t.Fatalf("httpRequest = %+v", r)
			}
			if r.Request.Method != w.Method || r.Request.URL.String() != w.URL || r.Request.UserAgent() != w.UserAgent ||
				r.Request.Proto != w.Protocol || r.Request.ProtoMajor != 2 || r.RemoteIP != w.RemoteIP ||
				r.Status != w.Status || r.RequestSize != w.RequestSize || r.ResponseSize != w.ResponseSize || r.Latency != w.Latency {
				t.Errorf("httpRequest %+v (request %+v), want %+v", r, r.Request, w)
			}
		})
	}
}
