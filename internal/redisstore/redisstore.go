// Package redisstore is the one home of Redis: the client settings, the
// key naming, the failover rule and the scripts. It knows no domain
// package; each declares the small interface it needs.
//
// Keys name what the shared stores (Redis, and each
// instance's memory) keep state about: a phone number, a user, an IP, a
// country or an eventId, as 128 bits of HMAC-SHA256(secret, kind‖id).
// Without the secret a dump of Redis (or of the process) cannot be
// reversed by hashing every phone number. The fraud guard and the
// conversion tracker name a user the same way.
package redisstore

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open connects to url (redis:// or rediss://, as REDIS_URL holds it) for
// a hook that must answer in seconds: short timeouts, one retry, per-call
// timeouts from each call's context, and two connections dialled at once
// so the first sign-in does not pay for them. One pool serves every store
// of an instance. caPEM, when set, replaces the system's roots for a
// rediss:// server (Memorystore signs with its own CA). The error never
// repeats the URL (it may hold a password).
func Open(url, caPEM string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("REDIS_URL is not a valid redis:// or rediss:// URL")
	}
	if caPEM != "" {
		if opt.TLSConfig == nil {
			return nil, errors.New("REDIS_CA_CERT is set but REDIS_URL is not rediss://")
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("REDIS_CA_CERT holds no PEM certificate")
		}
		opt.TLSConfig.RootCAs = roots
	}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout = 500 * time.Millisecond
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	opt.PoolTimeout = 500 * time.Millisecond
	opt.MaxRetries = 1
	opt.DialerRetries = 1 // the stores retry after RetryAfter themselves
	// A Cloud Run instance serves up to ~80 requests at once, and a
	// delivered code costs up to six Redis round trips, in order: Claim,
	// the budget read, Hit, the budget count, AddSend, Finish (three
	// without conversion tracking). go-redis's default pool (10 per CPU)
	// would queue them.
	if opt.PoolSize == 0 {
		opt.PoolSize = 64
	}
	if opt.MinIdleConns == 0 {
		opt.MinIdleConns = 2
	}
	return redis.NewClient(opt), nil
}

const (
	RetryAfter = time.Second // how long Redis is skipped after a failure
	// Timeout bounds one Redis call: a Redis within a region answers in
	// about a millisecond, so a call this slow is a stall.
	Timeout   = 250 * time.Millisecond
	warnEvery = time.Minute // bounds the "Redis unavailable" warnings
)

// errBadReply is a script's reply of the wrong shape.
var errBadReply = errors.New("unexpected reply from a redis script")

// Failover is the rule for a store that must never make a request wait on
// Redis trouble: after a failure Redis is skipped for RetryAfter (an outage
// costs one timeout a second, not one per call) while the caller goes on
// from memory, a warning goes out at most once a minute, and the next call
// after RetryAfter tries Redis again. Errors are logged by class only:
// go-redis errors can quote a command's arguments.
type Failover struct {
	now            func() time.Time
	log            *slog.Logger
	downMsg, upMsg string

	mu              sync.Mutex
	down, warned    bool
	retryAt, warnAt time.Time
}

// NewFailover returns a Failover logging downMsg when Redis fails and
// upMsg when it answers again; now is the clock.
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
	if f.warned && now.Sub(f.warnAt) < warnEvery {
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
	case errors.Is(err, errBadReply):
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

// Key names one thing in a store.
type Key [16]byte

// Hex is the key as it appears in a Redis key name.
func (k Key) Hex() string { return hex.EncodeToString(k[:]) }

// Kinds keep the key spaces apart: the same string as a phone and as a
// user id gets unrelated keys. Each ends with ':' so kind‖id is unambiguous.
const (
	Phone   = "phone:"
	User    = "user:"
	IP      = "ip:"
	Country = "country:"
	Event   = "event:"
)

// secretInfo binds derived secrets to this use: the same material used
// elsewhere yields an unrelated key.
const secretInfo = "okta-8x8 guard keys v1"

// MinSecret is the shortest secret the stores accept.
const MinSecret = 16

// DeriveSecret turns configuration material (REDIS_KEY_SECRET) into the
// keys' secret with HKDF-SHA256, so the material itself never keys the
// stores' hashes. Every instance given the same material derives the same
// secret. Empty material gives nil.
func DeriveSecret(material string) []byte {
	if material == "" {
		return nil
	}
	k, err := hkdf.Key(sha256.New, []byte(material), nil, secretInfo, sha256.Size)
	if err != nil {
		// Only a length beyond 255×32 bytes fails; 32 is a constant.
		panic("redisstore: hkdf: " + err.Error())
	}
	return k
}

// Keyer computes keys. A request derives several (its eventId, phone,
// user, IP, country): keyed HMACs and their scratch space are reused
// through a pool rather than rebuilt from the secret each time.
type Keyer struct {
	macs sync.Pool // of *keyMAC
}

type keyMAC struct {
	mac hash.Hash
	buf []byte
}

// NewKeyer returns a Keyer for secret (copied).
func NewKeyer(secret []byte) *Keyer {
	secret = append([]byte(nil), secret...)
	k := &Keyer{}
	k.macs.New = func() any { return &keyMAC{mac: hmac.New(sha256.New, secret)} }
	return k
}

// Key names id of the given kind.
func (k *Keyer) Key(kind, id string) Key {
	m := k.macs.Get().(*keyMAC)
	m.mac.Reset()
	m.buf = append(append(m.buf[:0], kind...), id...)
	m.mac.Write(m.buf)
	m.buf = m.mac.Sum(m.buf[:0])
	var out Key
	copy(out[:], m.buf)
	k.macs.Put(m)
	return out
}
