// The failover rule for a store shared through Redis that
// must never make a request wait on Redis trouble (the guard, the
// conversion tracker): after a failure Redis is skipped for RetryAfter (an
// outage costs one timeout a second, not one per call), the instance goes
// on from memory, a warning goes out at most once a minute, and the next
// call after RetryAfter tries Redis again. Errors are logged by class
// only: go-redis errors can quote a command's arguments.
package redisstore

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

const (
	// RetryAfter is how long Redis is skipped after a failure.
	RetryAfter = time.Second
	// Timeout bounds one Redis call by default: a Redis within a region
	// answers in about a millisecond, so a call this slow is a stall, and
	// the instance's memory serves instead.
	Timeout = 250 * time.Millisecond
	// WarnEvery bounds the "Redis unavailable" warnings.
	WarnEvery = time.Minute
)

// ErrBadReply is a script's reply of the wrong shape.
var ErrBadReply = errors.New("unexpected reply from a redis script")

// Failover tracks whether Redis is worth trying. Its zero value is not
// usable: build it with New.
type Failover struct {
	now            func() time.Time
	log            *slog.Logger
	downMsg, upMsg string

	mu              sync.Mutex
	down, warned    bool
	retryAt, warnAt time.Time
}

// New returns a Failover logging downMsg when Redis fails and upMsg when
// it answers again; now is the clock.
func NewFailover(now func() time.Time, logger *slog.Logger, downMsg, upMsg string) *Failover {
	return &Failover{now: now, log: logger, downMsg: downMsg, upMsg: upMsg}
}

// Usable reports whether to try Redis now.
func (f *Failover) Usable() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.down || !f.now().Before(f.retryAt)
}

// Up notes a call that worked; it reports whether Redis was down until
// now (then the caller may hand over what it kept in memory).
func (f *Failover) Up() bool {
	f.mu.Lock()
	was := f.down
	f.down = false
	f.mu.Unlock()
	if was {
		f.log.Info(f.upMsg)
	}
	return was
}

// Failed notes a failed call. If the caller's own ctx ended, the caller
// ran out of time and Redis is not to blame.
func (f *Failover) Failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	f.retryAt = now.Add(RetryAfter)
	if f.warned && now.Sub(f.warnAt) < WarnEvery {
		return
	}
	f.warned, f.warnAt = true, now
	f.log.Warn(f.downMsg, "error_class", ErrorClass(err))
}

// ErrorClass names what went wrong without quoting the error.
func ErrorClass(err error) string {
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
	case errors.Is(err, ErrBadReply):
		return "bad_reply"
	case errors.As(err, &re):
		// The first word of a Redis error is its code: READONLY, OOM,
		// NOAUTH, LOADING…
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

// MaybeApplied reports whether a failed Redis call may still have run:
// anything but a refused connection or a client that never got one.
func MaybeApplied(err error) bool {
	var oe *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrClosed):
		return false
	case errors.As(err, &oe) && oe.Op == "dial":
		return false
	}
	return true
}
