package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/logging"
	logpb "cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/api/option"
)

// CloudSink sends log lines through the Cloud Logging API
// (LOG_SINK=cloudlogging), for hosts without an agent reading stdout. It
// is an io.Writer for the same JSON lines NewHandler writes to stdout: it
// lifts Cloud Logging's special fields (severity, time, trace, source
// location, httpRequest) into the entry and sends the rest as its
// jsonPayload.
//
// The client batches in the background: Write never waits for the API,
// and at most sinkBuffer bytes wait to be sent (more are dropped by the
// client, which reports the overflow). Nothing flushes per request, so on
// Cloud Run this sink wants CPU always allocated; the default, JSON on
// stdout, does not.
type CloudSink struct {
	mu     sync.RWMutex // Close waits for Writes in progress
	closed bool
	client *logging.Client
	logger *logging.Logger
}

const sinkBuffer = 8 << 20

// NewCloudSink opens a client for projectID (Application Default
// Credentials) writing to the log named logID.
func NewCloudSink(ctx context.Context, projectID, logID string) (*CloudSink, error) {
	return newCloudSink(ctx, projectID, logID)
}

func newCloudSink(ctx context.Context, projectID, logID string, opts ...option.ClientOption) (*CloudSink, error) {
	c, err := logging.NewClient(ctx, "projects/"+projectID, opts...)
	if err != nil {
		return nil, fmt.Errorf("logging: cloud logging client: %w", err)
	}
	return &CloudSink{client: c, logger: c.Logger(logID, logging.BufferedByteLimit(sinkBuffer))}, nil
}

// Write queues one line as an entry. After Close lines are dropped: the
// client panics on a write after its close.
func (s *CloudSink) Write(line []byte) (int, error) {
	var fields map[string]any
	if err := json.Unmarshal(line, &fields); err != nil {
		return 0, fmt.Errorf("logging: not a JSON line: %w", err)
	}
	e := entry(fields)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.closed {
		s.logger.Log(e)
	}
	return len(line), nil
}

// Close sends what is queued and releases the client, or gives up when
// ctx ends (a stalled API would otherwise hold it for minutes).
func (s *CloudSink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.client.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("logging: cloud logging close: %w", ctx.Err())
	}
}

// entry takes the special fields out of a line's fields; what is left is
// the payload.
func entry(f map[string]any) logging.Entry {
	str := func(k string) string {
		s, _ := f[k].(string)
		delete(f, k)
		return s
	}
	e := logging.Entry{Severity: logging.ParseSeverity(str("severity"))}
	e.Timestamp, _ = time.Parse(time.RFC3339Nano, str("time"))
	e.Trace, e.SpanID = str(keyTrace), str(keySpanID)
	e.TraceSampled, _ = f[keyTraceSampled].(bool)
	delete(f, keyTraceSampled)
	if src, ok := f[keySourceLocation].(map[string]any); ok {
		line, _ := strconv.ParseInt(fmt.Sprint(src["line"]), 10, 64)
		e.SourceLocation = &logpb.LogEntrySourceLocation{File: fmt.Sprint(src["file"]), Line: line, Function: fmt.Sprint(src["function"])}
		delete(f, keySourceLocation)
	}
	if hr, ok := f["httpRequest"].(map[string]any); ok {
		e.HTTPRequest = cloudHTTPRequest(hr)
		delete(f, "httpRequest")
	}
	e.Payload = f
	return e
}

// cloudHTTPRequest reads back the proto3 JSON shape HTTPRequest writes;
// the client's type wants an *http.Request.
func cloudHTTPRequest(m map[string]any) *logging.HTTPRequest {
	s := func(k string) string { v, _ := m[k].(string); return v }
	n := func(k string) int64 { v, _ := strconv.ParseInt(s(k), 10, 64); return v }
	u, err := url.Parse(s("requestUrl"))
	if err != nil {
		u = &url.URL{Path: s("requestUrl")}
	}
	req := &http.Request{Method: s("requestMethod"), URL: u, Proto: s("protocol"), Header: http.Header{}}
	if ua := s("userAgent"); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	req.ProtoMajor, req.ProtoMinor, _ = http.ParseHTTPVersion(req.Proto)
	status, _ := m["status"].(float64)
	latency, _ := time.ParseDuration(strings.TrimSpace(s("latency")))
	return &logging.HTTPRequest{
		Request:      req,
		RequestSize:  n("requestSize"),
		Status:       int(status),
		ResponseSize: n("responseSize"),
		Latency:      latency,
		RemoteIP:     s("remoteIp"),
	}
}
