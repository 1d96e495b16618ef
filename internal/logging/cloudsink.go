package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"cloud.google.com/go/logging"
	logpb "cloud.google.com/go/logging/apiv2/loggingpb"
)

// Sink receives entries instead of stdout. *logging.Logger satisfies it.
type Sink interface {
	Log(logging.Entry)
}

// CloudSink sends entries through the Cloud Logging API, for hosts without
// a log agent reading stdout. Its client buffers and sends in the
// background, so the service must call Flush before each answer (Cloud
// Run throttles the CPU once the answer is sent). On Cloud Run prefer the
// default JSON-on-stdout handler: it is synchronous and costs no RPC.
type CloudSink struct {
	client *logging.Client
	logger *logging.Logger
}

// NewCloudSink opens a client for projectID (Application Default
// Credentials) writing to the log named logID.
func NewCloudSink(ctx context.Context, projectID, logID string) (*CloudSink, error) {
	c, err := logging.NewClient(ctx, "projects/"+projectID)
	if err != nil {
		return nil, fmt.Errorf("logging: cloud logging client: %w", err)
	}
	return &CloudSink{client: c, logger: c.Logger(logID)}, nil
}

// Log queues e for sending.
func (s *CloudSink) Log(e logging.Entry) { s.logger.Log(e) }

// Flush sends every queued entry and waits for the answer.
func (s *CloudSink) Flush() error { return s.logger.Flush() }

// Close flushes and releases the client.
func (s *CloudSink) Close() error { return s.client.Close() }

// entry maps a record to a logging.Entry: the payload is the same JSON as
// the stdout format's (message and attributes, redacted alike) minus the
// fields the Entry carries itself.
func (h *handler) entry(ctx context.Context, r slog.Record, bp *[]byte) logging.Entry {
	b := append((*bp)[:0], `{"message":`...)
	b = appendJSONString(b, r.Message)
	b, hr, hasHTTP := h.appendJSONAttrs(b, r)
	b = append(b, '}')
	*bp = b
	e := logging.Entry{
		Timestamp: r.Time,
		Severity:  cloudSeverity(r.Level),
		// A copy: the client converts the payload later, the buffer is pooled.
		Payload: json.RawMessage(append([]byte(nil), b...)),
	}
	if r.Level >= slog.LevelError && r.PC != 0 {
		f := frame(r.PC)
		e.SourceLocation = &logpb.LogEntrySourceLocation{File: f.File, Line: int64(f.Line), Function: f.Function}
	}
	if ctx != nil {
		if t, ok := TraceFromContext(ctx); ok {
			if h.projectID != "" {
				e.Trace = "projects/" + h.projectID + "/traces/" + t.TraceID
			}
			e.SpanID, e.TraceSampled = t.SpanID, t.Sampled
		}
	}
	if hasHTTP {
		e.HTTPRequest = hr.toCloud()
	}
	return e
}

func cloudSeverity(l slog.Level) logging.Severity {
	switch {
	case l < slog.LevelInfo:
		return logging.Debug
	case l < slog.LevelWarn:
		return logging.Info
	case l < slog.LevelError:
		return logging.Warning
	}
	return logging.Error
}

// toCloud maps to the client's type, which wants an *http.Request.
func (r HTTPRequest) toCloud() *logging.HTTPRequest {
	u, err := url.Parse(r.URL)
	if err != nil {
		u = &url.URL{Path: r.URL}
	}
	req := &http.Request{Method: r.Method, URL: u, Proto: r.Protocol, Header: http.Header{}}
	if r.UserAgent != "" {
		req.Header.Set("User-Agent", r.UserAgent)
	}
	if maj, min, ok := http.ParseHTTPVersion(strings.TrimSpace(r.Protocol)); ok {
		req.ProtoMajor, req.ProtoMinor = maj, min
	}
	return &logging.HTTPRequest{
		Request:      req,
		RequestSize:  r.RequestSize,
		Status:       r.Status,
		ResponseSize: r.ResponseSize,
		Latency:      r.Latency,
		RemoteIP:     r.RemoteIP,
	}
}
