package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fixedTime is the record time; its zone is not UTC so the tests also
// prove the JSON time is converted to UTC.
var fixedTime = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("X", 3600))

// secret redacts itself the way phone numbers and OTPs do.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// wrapped resolves to a group holding another LogValuer.
type wrapped struct{ inner secret }

func (w wrapped) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("inner", w.inner), slog.String("kind", "wrapped"))
}

// logAt hands h a record at fixedTime whose PC points at the caller, as a
// *slog.Logger would.
func logAt(t *testing.T, h slog.Handler, ctx context.Context, l slog.Level, msg string, attrs ...slog.Attr) {
	t.Helper()
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	r := slog.NewRecord(fixedTime, l, msg, pcs[0])
	r.AddAttrs(attrs...)
	if err := h.Handle(ctx, r); err != nil {
		t.Fatal(err)
	}
}

func ctxWith(h http.Header) context.Context { return WithTrace(context.Background(), h) }

// Each entry is what Cloud Logging's agent reads: its special fields by
// their names, durations in milliseconds, the httpRequest in proto3 JSON.
func TestJSONEntry(t *testing.T) {
	traced := ctxWith(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	tests := []struct {
		name    string
		project string
		ctx     context.Context
		level   slog.Level
		attrs   []slog.Attr
		want    string
	}{
		{
			name: "info with values of each kind", ctx: context.Background(), level: slog.LevelInfo,
			attrs: []slog.Attr{
				slog.String("eventId", "evt-1"), slog.Int("status", 200), slog.Bool("preview", false),
				slog.Duration("latency", 1500*time.Microsecond), slog.Float64("nan", math.NaN()),
				slog.Time("expires", time.Date(2025, 3, 4, 5, 11, 0, 0, time.UTC)),
				slog.Group("eightbyeight", slog.String("channel", "sms")), slog.Any("otp", secret("123456")),
			},
			want: `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","eventId":"evt-1","status":200,"preview":false,"latency":1.5,"nan":"NaN","expires":"2025-03-04T05:11:00Z","eightbyeight":{"channel":"sms"},"otp":"[redacted]"}`,
		},
		{
			name: "levels between two named ones map down", ctx: context.Background(), level: slog.LevelWarn + 2,
			want: `{"severity":"WARNING","message":"m","time":"2025-03-04T04:06:07.890123456Z"}`,
		},
		{
			name: "trace with the project", project: "my-proj", ctx: traced, level: slog.LevelDebug,
			want: `{"severity":"DEBUG","message":"m","time":"2025-03-04T04:06:07.890123456Z","logging.googleapis.com/trace":"projects/my-proj/traces/4bf92f3577b34da6a3ce929d0e0e4736","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":true}`,
		},
		{
			name: "trace without a project: span only", ctx: traced, level: slog.LevelInfo,
			want: `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":true}`,
		},
		{
			name: "httpRequest in Cloud Logging's shape", ctx: context.Background(), level: slog.LevelInfo,
			attrs: []slog.Attr{slog.Any("httpRequest", HTTPRequest{
				Method: "POST", URL: "/", UserAgent: "Okta Hooks", RemoteIP: "203.0.113.9",
				Protocol: "HTTP/1.1", Status: 200, RequestSize: 1843, ResponseSize: 197, Latency: 412 * time.Millisecond,
			})},
			want: `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","httpRequest":{"requestMethod":"POST","requestUrl":"/","requestSize":"1843","status":200,"responseSize":"197","userAgent":"Okta Hooks","remoteIp":"203.0.113.9","latency":"0.412s","protocol":"HTTP/1.1"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logAt(t, NewHandler(&buf, Options{ProjectID: tt.project, Level: slog.LevelDebug}), tt.ctx, tt.level, "m", tt.attrs...)
			var got, want map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", buf.Bytes(), tt.want)
			}
		})
	}
}

func TestErrorHasSourceLocation(t *testing.T) {
	var buf bytes.Buffer
	logAt(t, NewHandler(&buf, Options{}), context.Background(), slog.LevelError, "boom")
	var e struct {
		Severity string `json:"severity"`
		Source   struct {
			File, Line, Function string
		} `json:"logging.googleapis.com/sourceLocation"`
	}
	if err := json.Unmarshal(buf.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Severity != "ERROR" || !strings.HasSuffix(e.Source.File, "logging_test.go") || e.Source.Line == "" ||
		!strings.Contains(e.Source.Function, "TestErrorHasSourceLocation") {
		t.Errorf("entry %s", buf.Bytes())
	}
}

func TestLevelAndFormat(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{{"debug", slog.LevelDebug, false}, {" INFO ", slog.LevelInfo, false}, {"warning", slog.LevelWarn, false}, {"error", slog.LevelError, false}, {"loud", 0, true}} {
		got, err := ParseLevel(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v", tt.in, got, err)
		}
	}
	if f, err := ParseFormat("Text"); err != nil || f != Text {
		t.Errorf("ParseFormat(Text) = %v, %v", f, err)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) accepted")
	}
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, Options{Level: slog.LevelWarn, Format: Text}))
	l.Info("quiet")
	l.Warn("loud", "httpRequest", HTTPRequest{Method: "POST", URL: "/", Status: 200})
	if out := buf.String(); strings.Contains(out, "quiet") || !strings.Contains(out, "level=WARNING") || !strings.Contains(out, `httpRequest="POST / 200"`) {
		t.Errorf("text output %q", out)
	}
}

// The address logged is the one Google's front end appended, never the
// caller's own text, and a huge header costs a line nothing.
func TestClientIP(t *testing.T) {
	huge := strings.Repeat("9", 900<<10)
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no header: the peer", "192.0.2.7:51234", nil, "192.0.2.7"},
		{"forged first entry", "10.0.0.1:1", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"the last of several headers", "10.0.0.1:1", []string{"1.2.3.4", "5.6.7.8, 2001:db8::1"}, "2001:db8::1"},
		{"free text appended last", "10.0.0.1:1", []string{"203.0.113.9, call me"}, ""},
		{"900 KiB of caller text before the real one", "10.0.0.1:1", []string{huge + ", 203.0.113.9"}, "203.0.113.9"},
		{"900 KiB alone", "10.0.0.1:1", []string{huge}, ""},
		{"IPv4-mapped IPv6", "[::ffff:192.0.2.1]:1", nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r); got != tt.want {
				t.Errorf("ClientIP = %.40q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaderFieldsAreCapped(t *testing.T) {
	var buf bytes.Buffer
	huge := strings.Repeat("é", 450<<10) // 900 KiB
	slog.New(NewHandler(&buf, Options{})).Info("m", "httpRequest", HTTPRequest{Method: "POST", URL: "/" + huge, UserAgent: huge, Status: 401})
	if n := buf.Len(); n > 1024 {
		t.Errorf("a line with 900 KiB headers is %d bytes, want ≤ 1024", n)
	}
	if !json.Valid(buf.Bytes()) {
		t.Errorf("not JSON: %s", buf.Bytes())
	}
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"short", 10, "short"}, {"abcdefghij", 6, "abc…"}, {"éééé", 6, "é…"}} {
		if got := Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
