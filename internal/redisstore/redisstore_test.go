package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestFailover(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	f := NewFailover(func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil)), "redis down", "redis back")
	if !f.Usable() {
		t.Fatal("a new Failover must try Redis")
	}
	f.Failed(context.Background(), context.DeadlineExceeded)
	if f.Usable() {
		t.Error("Redis tried again at once after a failure")
	}
	// The caller's own deadline is not Redis's fault.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	now = now.Add(RetryAfter)
	f.Failed(ended, errors.New("x"))
	if !f.Usable() {
		t.Error("Redis not tried again after RetryAfter")
	}
	for range 10 { // one warning a minute, however many failures
		f.Failed(context.Background(), syscall.ECONNREFUSED)
	}
	if n := strings.Count(logs.String(), "redis down"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	if !f.Up() || f.Up() {
		t.Error("Up reports the recovery once")
	}
	if !strings.Contains(logs.String(), "redis back") || !strings.Contains(logs.String(), "error_class=timeout") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

func TestErrorClass(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "connection_refused"},
		{io.EOF, "connection_lost"},
		{redis.ErrClosed, "client_closed"},
		{fmt.Errorf("x: %w", errBadReply), "bad_reply"},
		{redis.Nil, "server_err"}, // a redis.Error whose first word is not a code
		{&net.OpError{Op: "read", Err: errors.New("boom")}, "network"},
		{errors.New("secret argument 482913"), "unknown"},
	} {
		if got := ErrorClass(tt.err); got != tt.want {
			t.Errorf("ErrorClass(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
