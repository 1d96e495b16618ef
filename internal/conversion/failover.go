package conversion

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// failover decides when the shared store is used: after a failure it is
// skipped for redisRetryAfter (an outage costs one timeout a second, not
// one per call), and a warning goes out at most once a minute. It is the
// guard's rule, written as one piece so both can share it.
type failover struct {
	now             func() time.Time
	log             *slog.Logger
	downMsg, upMsg  string
	mu              sync.Mutex
	down, warned    bool
	retryAt, warnAt time.Time
}

// usable reports whether to try the shared store now.
func (f *failover) usable() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.down || !f.now().Before(f.retryAt)
}

// up notes a call that worked.
func (f *failover) up() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		f.down = false
		f.log.Info(f.upMsg)
	}
}

// failed notes a failed call. If the caller's own ctx ended, the store is
// not to blame.
func (f *failover) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	f.retryAt = now.Add(redisRetryAfter)
	if f.warned && now.Sub(f.warnAt) < warnEvery {
		return
	}
	f.warned, f.warnAt = true, now
	// The class only: go-redis errors can quote arguments.
	f.log.Warn(f.downMsg, "error_class", errorClass(err))
}

func errorClass(err error) string {
	var re redis.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "connection_lost"
	case errors.Is(err, redis.ErrClosed):
		return "client_closed"
	case errors.Is(err, errReply):
		return "bad_reply"
	case errors.As(err, &re):
		code, _, _ := strings.Cut(re.Error(), " ")
		if code == "" || len(code) > 20 || strings.ToUpper(code) != code {
			code = "ERR"
		}
		return "server_" + strings.ToLower(code)
	case errors.As(err, &ne):
		return "network"
	}
	return "unknown"
}

// maybeApplied reports whether a failed Redis call may still have run:
// anything but a refused connection or a client that never got one.
func maybeApplied(err error) bool {
	var oe *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrClosed):
		return false
	case errors.As(err, &oe) && oe.Op == "dial":
		return false
	}
	return true
}
