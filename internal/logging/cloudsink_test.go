package logging

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/logging"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The sink's entry carries what the stdout line carries, with Cloud
// Logging's special fields lifted out of the payload.
func TestSinkEntry(t *testing.T) {
	var line lineCapture
	l := slog.New(NewHandler(&line, Options{ProjectID: "p"}))
	ctx := ctxWith(http.Header{"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/2748;o=1"}})
	l.ErrorContext(ctx, "m", "eventId", "e1", "otp", secret("123456"), "httpRequest", HTTPRequest{
		Method: "POST", URL: "/x", UserAgent: "Okta", RemoteIP: "203.0.113.9", Protocol: "HTTP/1.1",
		Status: 200, RequestSize: 10, ResponseSize: 20, Latency: time.Second,
	})
	e := entryFromLine(t, line)
	if e.Severity != logging.Error || e.Trace != "projects/p/traces/105445aa7843bc8bf206b12000100000" ||
		e.SpanID != "0000000000000abc" || !e.TraceSampled || e.SourceLocation == nil || e.Timestamp.IsZero() {
		t.Errorf("entry %+v", e)
	}
	hr := e.HTTPRequest
	if hr == nil || hr.Request.Method != "POST" || hr.Request.URL.Path != "/x" || hr.Request.UserAgent() != "Okta" ||
		hr.RemoteIP != "203.0.113.9" || hr.Status != 200 || hr.RequestSize != 10 || hr.ResponseSize != 20 || hr.Latency != time.Second {
		t.Errorf("httpRequest %+v", hr)
	}
	p := e.Payload.(map[string]any)
	if len(p) != 3 || p["message"] != "m" || p["eventId"] != "e1" || p["otp"] != "[redacted]" {
		t.Errorf("payload %v", p)
	}
}

type lineCapture []byte

func (c *lineCapture) Write(p []byte) (int, error) { *c = append(*c, p...); return len(p), nil }

func entryFromLine(t *testing.T, line []byte) logging.Entry {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(line, &f); err != nil {
		t.Fatal(err)
	}
	return entry(f)
}

// A Logging API that accepts connections and never answers: Close gives
// up within its context, and a line written after Close is dropped, not a
// panic inside the client.
func TestSinkCloseWithAStalledAPI(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, s grpc.ServerStream) error {
		<-s.Context().Done() // never answers
		return s.Context().Err()
	}))
	go srv.Serve(lis)
	defer srv.Stop()
	sink, err := newCloudSink(context.Background(), "p", "test",
		option.WithEndpoint(lis.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	l := slog.New(NewHandler(sink, Options{}))
	for range 10 {
		l.Info("queued for a stalled API")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := sink.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a 300ms context", d)
	}
	l.Info("after close") // must not panic
	if err := sink.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
