package guard

import (
	"context"
	"errors"
	"time"
)

// store is the shared store (RedisStore; tests wrap it to inject faults).
// The Guard passes the time into every call, so one injected clock drives
// memory and Redis alike (and instances with skewed clocks still agree on a
// window's contents to within their skew). Keys arrive already keyed by the
// Guard.
type store interface {
	// hit counts one send at now in every window, but only if none of them
	// is full; otherwise it counts nothing and returns the index of the
	// first full window and how long until it has room. full is -1 when
	// the send was counted. All windows are checked and counted as one
	// atomic step.
	hit(ctx context.Context, now time.Time, windows []window) (full int, retryAfter time.Duration, err error)
	// claim takes k for token until now+ttl unless it is held or answered
	// and not yet expired.
	claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (claim, error)
	// finish stores the answer under k, keeping its expiry, if token still
	// holds it, or until deadline if no one does; otherwise it returns
	// ErrClaimLost.
	finish(ctx context.Context, now time.Time, k key, token string, deadline time.Time, answer []byte) error
	// release drops token's claim on k so a later request may claim it.
	release(ctx context.Context, k key, token string) error
}

// window is one rate window to check and count.
type window struct {
	key   key
	kind  int // index into Guard.limits: which limit, which memory table
	limit Limit
}

// claimState is the outcome of store.claim.
type claimState int

const (
	// claimed: the caller holds the key and must finish or release it.
	claimed claimState = iota
	// answered: an earlier request's answer is in claim.answer.
	answered
	// inFlight: an earlier request holds the key and has not answered yet.
	inFlight
)

// claim is what store.claim found.
type claim struct {
	state    claimState
	answer   []byte    // answered: the first answer; read-only
	deadline time.Time // answered, inFlight: when the record expires
}

// ErrClaimLost is returned by Ticket.Finish when the claim expired or was
// taken over before the holder answered.
var ErrClaimLost = errors.New("guard: eventId claim expired or taken over")
