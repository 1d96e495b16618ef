package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"
)

// fixedTime is the record time in every golden; its zone is not UTC so
// the test also proves the JSON time is converted to UTC.
var fixedTime = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("X", 3600))

// secret redacts itself the way phone numbers and OTPs do.
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// wrapped resolves to a group holding another LogValuer: Resolve must be
// applied at every level.
type wrapped struct{ inner secret }

func (w wrapped) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("inner", w.inner), slog.String("kind", "wrapped"))
}

// logAt builds a record at fixedTime whose PC points at the caller, as a
// *slog.Logger would, and hands it to h.
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

func TestJSONGolden(t *testing.T) {
	sampled := ctxWith(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	tests := []struct {
		name    string
		project string
		ctx     context.Context
		with    func(slog.Handler) slog.Handler
		level   slog.Level
		msg     string
		attrs   []slog.Attr
		want    string
	}{
		{
			name:  "info with attrs and a group",
			ctx:   context.Background(),
			level: slog.LevelInfo,
			msg:   "otp sent",
			attrs: []slog.Attr{
				slog.String("eventId", "evt-1"),
				slog.Int("status", 200),
				slog.Bool("preview", false),
				slog.Float64("ratio", 0.25),
				slog.Duration("latency", 1500*time.Microsecond),
				slog.Time("expires", time.Date(2025, 3, 4, 5, 11, 0, 0, time.UTC)),
				slog.Group("eightbyeight", slog.String("channel", "sms"), slog.Uint64("code", 1)),
				slog.Any("tags", []string{"a", "b"}),
			},
			want: `{"severity":"INFO","message":"otp sent","time":"2025-03-04T04:06:07.890123456Z","eventId":"evt-1","status":200,"preview":false,"ratio":0.25,"latency":1.5,"expires":"2025-03-04T05:11:00Z","eightbyeight":{"channel":"sms","code":1},"tags":["a","b"]}`,
		},
		{
			name:  "warn is WARNING, levels between map down",
			ctx:   context.Background(),
			level: slog.LevelWarn + 2,
			msg:   "rate limited",
			want:  `{"severity":"WARNING","message":"rate limited","time":"2025-03-04T04:06:07.890123456Z"}`,
		},
		{
			name:  "debug",
			ctx:   context.Background(),
			level: slog.LevelDebug,
			msg:   "d",
			want:  `{"severity":"DEBUG","message":"d","time":"2025-03-04T04:06:07.890123456Z"}`,
		},
		{
			name:    "traceparent sampled",
			project: "my-proj",
			ctx:     sampled,
			level:   slog.LevelInfo,
			msg:     "m",
			want:    `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","logging.googleapis.com/trace":"projects/my-proj/traces/4bf92f3577b34da6a3ce929d0e0e4736","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":true}`,
		},
		{
			name:    "traceparent not sampled",
			project: "my-proj",
			ctx:     ctxWith(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}}),
			level:   slog.LevelInfo,
			msg:     "m",
			want:    `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","logging.googleapis.com/trace":"projects/my-proj/traces/4bf92f3577b34da6a3ce929d0e0e4736","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":false}`,
		},
		{
			name:    "X-Cloud-Trace-Context, decimal span in hex",
			project: "my-proj",
			ctx:     ctxWith(http.Header{"X-Cloud-Trace-Context": {"105445aa7843bc8bf206b12000100000/1;o=1"}}),
			level:   slog.LevelInfo,
			msg:     "m",
			want:    `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","logging.googleapis.com/trace":"projects/my-proj/traces/105445aa7843bc8bf206b12000100000","logging.googleapis.com/spanId":"0000000000000001","logging.googleapis.com/trace_sampled":true}`,
		},
		{
			name:    "malformed traceparent and X-Cloud-Trace-Context ignored",
			project: "my-proj",
			ctx: ctxWith(http.Header{
				"Traceparent":           {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
				"X-Cloud-Trace-Context": {"not-hex/12;o=1"},
			}),
			level: slog.LevelInfo,
			msg:   "m",
			want:  `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z"}`,
		},
		{
			name:  "no project id: no trace field, span kept",
			ctx:   sampled,
			level: slog.LevelInfo,
			msg:   "m",
			want:  `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","logging.googleapis.com/spanId":"00f067aa0ba902b7","logging.googleapis.com/trace_sampled":true}`,
		},
		{
			name:  "httpRequest lifted to the top level",
			ctx:   context.Background(),
			with:  func(h slog.Handler) slog.Handler { return h.WithGroup("req") },
			level: slog.LevelInfo,
			msg:   "request",
			attrs: []slog.Attr{
				slog.String("outcome", "SUCCESSFUL"),
				slog.Any("httpRequest", HTTPRequest{
					Method: "POST", URL: "https://hook.example/", UserAgent: "Okta Hooks",
					RemoteIP: "203.0.113.9", Protocol: "HTTP/1.1", Status: 200,
					RequestSize: 812, ResponseSize: 140, Latency: 123456789 * time.Nanosecond,
				}),
			},
			want: `{"severity":"INFO","message":"request","time":"2025-03-04T04:06:07.890123456Z","req":{"outcome":"SUCCESSFUL"},"httpRequest":{"requestMethod":"POST","requestUrl":"https://hook.example/","requestSize":"812","status":200,"responseSize":"140","userAgent":"Okta Hooks","remoteIp":"203.0.113.9","latency":"0.123456789s","protocol":"HTTP/1.1"}}`,
		},
		{
			name:  "info+2 is INFO, below debug is DEBUG",
			ctx:   context.Background(),
			level: slog.LevelInfo + 2,
			msg:   "m",
			want:  `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z"}`,
		},
		{
			name:  "below debug is DEBUG",
			ctx:   context.Background(),
			level: slog.LevelDebug - 4,
			msg:   "m",
			want:  `{"severity":"DEBUG","message":"m","time":"2025-03-04T04:06:07.890123456Z"}`,
		},
		{
			name: "httpRequest given to WithAttrs inside a group is lifted",
			ctx:  context.Background(),
			with: func(h slog.Handler) slog.Handler {
				return h.WithGroup("req").WithAttrs([]slog.Attr{
					slog.String("route", "hook"),
					slog.Any("httpRequest", &HTTPRequest{Method: "POST", Status: 401, Latency: 250 * time.Millisecond}),
				})
			},
			level: slog.LevelWarn,
			msg:   "refused",
			attrs: []slog.Attr{slog.String("reason", "unauthorized")},
			want:  `{"severity":"WARNING","message":"refused","time":"2025-03-04T04:06:07.890123456Z","req":{"route":"hook","reason":"unauthorized"},"httpRequest":{"requestMethod":"POST","status":401,"latency":"0.250s"}}`,
		},
		{
			name:  "httpRequest in a slog.Group is lifted; the group is left out once empty",
			ctx:   context.Background(),
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{
				slog.Group("outer", slog.Group("inner", slog.Any("httpRequest", HTTPRequest{URL: "/", RequestSize: 1, ResponseSize: 2}))),
				slog.Group("kept", slog.Int("n", 1), slog.Any("httpRequest", HTTPRequest{Status: 200})),
			},
			want: `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","kept":{"n":1},"httpRequest":{"status":200}}`,
		},
		{
			name:  "a nil *HTTPRequest is a null attribute",
			ctx:   context.Background(),
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.Any("httpRequest", (*HTTPRequest)(nil))},
			want:  `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","httpRequest":null}`,
		},
		{
			name: "WithAttrs and WithGroup nest; empty groups vanish",
			ctx:  context.Background(),
			with: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("svc", "hook")}).
					WithGroup("a").WithAttrs([]slog.Attr{slog.Int("x", 1)}).
					WithGroup("b").WithGroup("c")
			},
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.Group("empty"), slog.Int("y", 2)},
			want:  `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","svc":"hook","a":{"x":1,"b":{"c":{"y":2}}}}`,
		},
		{
			name: "open groups without record attrs are not written",
			ctx:  context.Background(),
			with: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("svc", "hook")}).WithGroup("a")
			},
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.Group("g")},
			want:  `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","svc":"hook"}`,
		},
		{
			name: "LogValuer redacted at top level, in a group, via WithAttrs, nested",
			ctx:  context.Background(),
			with: func(h slog.Handler) slog.Handler {
				return h.WithGroup("user").WithAttrs([]slog.Attr{slog.Any("phone", secret("+14155550123"))})
			},
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{
				slog.Any("otp", secret("123456")),
				slog.Group("g", slog.Any("phone", secret("+14155550123"))),
				slog.Any("w", wrapped{secret("+14155550123")}),
			},
			want: `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","user":{"phone":"[redacted]","otp":"[redacted]","g":{"phone":"[redacted]"},"w":{"inner":"[redacted]","kind":"wrapped"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := NewHandler(&buf, Options{Level: slog.LevelDebug, ProjectID: tt.project})
			if tt.with != nil {
				h = tt.with(h)
			}
			logAt(t, h, tt.ctx, tt.level, tt.msg, tt.attrs...)
			if got := buf.String(); got != tt.want+"\n" {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(buf.Bytes()) {
				t.Errorf("not valid JSON: %s", buf.String())
			}
		})
	}
}

func TestJSONErrorHasSourceLocation(t *testing.T) {
	var buf bytes.Buffer
	slog.New(NewHandler(&buf, Options{})).Error("8x8 unreachable", "err", errString("dial tcp: timeout"))

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if got["severity"] != "ERROR" || got["err"] != "dial tcp: timeout" {
		t.Errorf("severity/err wrong: %s", buf.String())
	}
	loc, ok := got["logging.googleapis.com/sourceLocation"].(map[string]any)
	if !ok {
		t.Fatalf("no sourceLocation: %s", buf.String())
	}
	if f, _ := loc["file"].(string); !strings.HasSuffix(f, "/logging_test.go") {
		t.Errorf("file = %q, want this test file", f)
	}
	if l, _ := loc["line"].(string); l == "" || l == "0" {
		t.Errorf("line = %v", loc["line"])
	}
	if fn, _ := loc["function"].(string); !strings.HasSuffix(fn, ".TestJSONErrorHasSourceLocation") {
		t.Errorf("function = %q", fn)
	}

	// Below ERROR there is no source location.
	buf.Reset()
	slog.New(NewHandler(&buf, Options{})).Warn("w")
	if strings.Contains(buf.String(), "sourceLocation") {
		t.Errorf("warn has sourceLocation: %s", buf.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, Options{Level: slog.LevelWarn}))
	l.Info("dropped")
	l.Warn("kept")
	if got := strings.Count(buf.String(), "\n"); got != 1 || !strings.Contains(buf.String(), "kept") {
		t.Errorf("got %q", buf.String())
	}
	var lv slog.LevelVar // dynamic levels work through the Leveler
	buf.Reset()
	l = slog.New(NewHandler(&buf, Options{Level: &lv}))
	l.Debug("dropped")
	lv.Set(slog.LevelDebug)
	l.Debug("kept")
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Errorf("got %q", buf.String())
	}
}

func TestTextGolden(t *testing.T) {
	tests := []struct {
		name  string
		with  func(slog.Handler) slog.Handler
		level slog.Level
		msg   string
		attrs []slog.Attr
		want  string
	}{
		{
			name:  "info line",
			level: slog.LevelInfo,
			msg:   "otp sent",
			with: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("svc", "hook")}).WithGroup("req")
			},
			attrs: []slog.Attr{
				slog.String("eventId", "evt-1"),
				slog.String("note", "two words"),
				slog.Duration("latency", 1500*time.Millisecond),
				slog.Group("g", slog.Int("n", 3)),
				slog.Any("phone", secret("+14155550123")),
				slog.Any("httpRequest", HTTPRequest{Method: "POST", URL: "/", Status: 200, Latency: 12 * time.Millisecond}),
			},
			want: `time=05:06:07.890 level=INFO source=logging_test.go:N msg="otp sent" svc=hook req.eventId=evt-1 req.note="two words" req.latency=1.5s req.g.n=3 req.phone=[redacted] req.httpRequest="POST / 200 12ms"`,
		},
		{
			name:  "levels between map down",
			level: slog.LevelError + 3,
			msg:   "m",
			want:  `time=05:06:07.890 level=ERROR source=logging_test.go:N msg=m`,
		},
		{
			name:  "warn, redacted via WithAttrs, control chars quoted",
			level: slog.LevelWarn,
			msg:   "line\nbreak",
			with: func(h slog.Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.Any("otp", secret("123456"))})
			},
			attrs: []slog.Attr{slog.String("k", "a=b"), slog.String("empty", "")},
			want:  `time=05:06:07.890 level=WARNING source=logging_test.go:N msg="line\nbreak" otp=[redacted] k="a=b" empty=""`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := NewHandler(&buf, Options{Format: Text})
			if tt.with != nil {
				h = tt.with(h)
			}
			logAt(t, h, context.Background(), tt.level, tt.msg, tt.attrs...)
			if got := sourceLine.ReplaceAllString(buf.String(), "$1:N"); got != tt.want+"\n" {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// sourceLine matches the line number of a text source, which moves as
// this file is edited.
var sourceLine = regexp.MustCompile(`(source=logging_test\.go):[0-9]+`)

func TestJSONEscaping(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"quotes and backslash", `say "hi" \o/`, `say "hi" \o/`},
		{"control characters", "a\x00b\x01\x1f\n\r\t\b\f\x7f", "a\x00b\x01\x1f\n\r\t\b\f\x7f"},
		{"invalid UTF-8 replaced per byte", "ok\xff\xfe end", "ok\uFFFD\uFFFD end"},
		{"truncated rune", "caf\xc3", "caf\uFFFD"},
		{"line and paragraph separators", "a\u2028b\u2029c", "a\u2028b\u2029c"},
		{"multibyte kept", "héllo 世界 😀 <&>", "héllo 世界 😀 <&>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(NewHandler(&buf, Options{})).Info(tt.in, tt.in, tt.in)
			line := buf.Bytes()
			if bytes.Count(line, []byte("\n")) != 1 {
				t.Fatalf("record spans lines: %q", line)
			}
			for _, c := range line[:len(line)-1] {
				if c < 0x20 {
					t.Fatalf("raw control byte %#x in %q", c, line)
				}
			}
			if bytes.Contains(line, []byte("\u2028")) || bytes.Contains(line, []byte("\u2029")) {
				t.Errorf("raw U+2028/2029 in %q", line)
			}
			var got map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%v: %q", err, line)
			}
			if got["message"] != tt.want {
				t.Errorf("message = %q, want %q", got["message"], tt.want)
			}
			if got[tt.want] != tt.want { // keys are escaped the same way
				t.Errorf("attr = %q, want %q (line %q)", got[tt.want], tt.want, line)
			}
		})
	}
}

// FuzzEscape checks that any string round-trips through the escaper the way
// encoding/json decodes it: identical, except each invalid byte becomes
// U+FFFD.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\"\\\u2028", "\xff\xc3", "😀\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v: %q", err, b)
		}
		var want strings.Builder
		for _, r := range s { // range yields U+FFFD per invalid byte
			want.WriteRune(r)
		}
		if got != want.String() {
			t.Errorf("round trip %q -> %q, want %q", s, got, want.String())
		}
	})
}

// lineWriter records each Write call, to prove one record is one Write.
type lineWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestConcurrentWholeLines(t *testing.T) {
	const goroutines, perG = 32, 50
	w := &lineWriter{}
	base := slog.New(NewHandler(w, Options{ProjectID: "p"}))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := base.With("g", g).WithGroup("grp")
			ctx := ctxWith(http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
			for i := range perG {
				l.InfoContext(ctx, "msg", "i", i, "pad", strings.Repeat("x", i*20))
			}
		}()
	}
	wg.Wait()
	if len(w.writes) != goroutines*perG {
		t.Fatalf("%d writes, want %d", len(w.writes), goroutines*perG)
	}
	seen := map[[2]float64]bool{}
	for _, p := range w.writes {
		if bytes.IndexByte(p, '\n') != len(p)-1 {
			t.Fatalf("write is not exactly one line: %q", p)
		}
		var e struct {
			G   float64
			Grp struct{ I float64 }
		}
		if err := json.Unmarshal(p, &e); err != nil {
			t.Fatalf("%v: %q", err, p)
		}
		seen[[2]float64{e.G, e.Grp.I}] = true
	}
	if len(seen) != goroutines*perG {
		t.Errorf("%d distinct records, want %d", len(seen), goroutines*perG)
	}
}

// TestSlogConformance runs the standard library's handler test suite
// (WithAttrs/WithGroup semantics, empty groups, Resolve, zero time…).
func TestSlogConformance(t *testing.T) {
	for _, sink := range []bool{false, true} {
		name := "stdout"
		if sink {
			name = "sink"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			var fs fakeSink
			slogtest.Run(t, func(*testing.T) slog.Handler {
				buf.Reset()
				fs.entries = nil
				if sink {
					return NewHandler(nil, Options{Sink: &fs})
				}
				return NewHandler(&buf, Options{})
			}, func(t *testing.T) map[string]any {
				var m map[string]any
				raw := buf.Bytes()
				if sink {
					if len(fs.entries) != 1 {
						t.Fatalf("%d entries", len(fs.entries))
					}
					e := fs.entries[0]
					raw = e.Payload.(json.RawMessage)
					defer func() {
						m[slog.LevelKey] = e.Severity.String()
						if !e.Timestamp.IsZero() {
							m[slog.TimeKey] = e.Timestamp
						}
					}()
				}
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatalf("%v: %s", err, raw)
				}
				m[slog.MessageKey] = m["message"]
				delete(m, "message")
				if s, ok := m["severity"]; ok {
					m[slog.LevelKey] = s
					delete(m, "severity")
				}
				return m
			})
		})
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"debug", slog.LevelDebug, false},
		{"DEBUG", slog.LevelDebug, false},
		{"info", slog.LevelInfo, false},
		{" Info ", slog.LevelInfo, false},
		{"warn", slog.LevelWarn, false},
		{"WARNING", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"", 0, true},
		{"verbose", 0, true},
		{"4", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"json": JSON, "TEXT": Text, " text": Text} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml) accepted")
	}
}

func TestHTTPRequestMarshalJSON(t *testing.T) {
	// Other JSON handlers (slog.NewJSONHandler) get the same shape.
	tests := []struct {
		name string
		in   HTTPRequest
		want string
	}{
		{"zero", HTTPRequest{}, `{}`},
		{"whole seconds", HTTPRequest{Method: "GET", Status: 404, Latency: 2 * time.Second}, `{"requestMethod":"GET","status":404,"latency":"2s"}`},
		{"millis", HTTPRequest{Latency: 1500 * time.Millisecond}, `{"latency":"1.500s"}`},
		{"micros", HTTPRequest{Latency: 250 * time.Microsecond}, `{"latency":"0.000250s"}`},
		{"nanos", HTTPRequest{Latency: 5}, `{"latency":"0.000000005s"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil || string(b) != tt.want {
				t.Errorf("got %s, %v; want %s", b, err, tt.want)
			}
		})
	}
}

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errString("no") }

type point struct{ X, Y int }

func TestValueKinds(t *testing.T) {
	attrs := []slog.Attr{
		slog.Uint64("u", 18446744073709551615),
		slog.Int64("neg", -7),
		slog.Float64("nan", math.NaN()),
		slog.Float64("inf", math.Inf(-1)),
		slog.Any("addr", netip.MustParseAddr("203.0.113.9")), // TextMarshaler
		slog.Any("err", errString("boom")),
		slog.Any("nil", nil),
		slog.Any("struct", point{1, 2}),
		slog.Any("bad", badJSON{}),
		slog.Any("", nil), // the zero Attr is dropped
		slog.Group("", slog.Int("inlined", 1)),
	}
	tests := []struct {
		format Format
		want   string
	}{
		{JSON, `{"severity":"INFO","message":"m","time":"2025-03-04T04:06:07.890123456Z","u":18446744073709551615,"neg":-7,"nan":"NaN","inf":"-Inf","addr":"203.0.113.9","err":"boom","nil":null,"struct":{"X":1,"Y":2},"bad":"!ERROR:json: error calling MarshalJSON for type logging.badJSON: no","inlined":1}`},
		{Text, `time=05:06:07.890 level=INFO source=logging_test.go:N msg=m u=18446744073709551615 neg=-7 nan=NaN inf=-Inf addr=203.0.113.9 err=boom nil=<nil> struct="{X:1 Y:2}" bad={} inlined=1`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		logAt(t, NewHandler(&buf, Options{Format: tt.format}), context.Background(), slog.LevelInfo, "m", attrs...)
		if got := sourceLine.ReplaceAllString(buf.String(), "$1:N"); got != tt.want+"\n" {
			t.Errorf("format %d: got\n%s\nwant\n%s", tt.format, got, tt.want)
		}
	}
}
