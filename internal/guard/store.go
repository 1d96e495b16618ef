package guard

import (
	"context"
	"errors"
	"time"
)

// Store keeps the rate windows and eventId claims. The Guard passes the
// time into every call, so one injected clock drives memory and Redis
// alike (and instances with skewed clocks still agree on a window's
// contents to within their skew). Keys arrive already hashed and
// namespaced by the Guard ("phone:<hex>", "user:<hex>", or an eventId).
type Store interface {
	// Hit counts one send at now in every window, but only if none of them
	// is full; otherwise it counts nothing and returns the index of the
	// first full window and how long until it has room. full is -1 when
	// the send was counted. All windows are checked and counted as one
	// atomic step.
	Hit(ctx context.Context, now time.Time, windows []Window) (full int, retryAfter time.Duration, err error)
	// Claim takes key for token until now+ttl unless it is held or answered
	// and not yet expired.
	Claim(ctx context.Context, now time.Time, key, token string, ttl time.Duration) (Claim, error)
	// Finish stores the answer under key, keeping its expiry, if token still
	// holds it; otherwise it returns ErrClaimLost.
	Finish(ctx context.Context, key, token string, answer []byte) error
	// Release drops token's claim on key so a later request may claim it.
	Release(ctx context.Context, key, token string) error
}

// Window is one rate window to check and count.
type Window struct {
	Key   string
	Limit Limit
}

// ClaimState is the outcome of Store.Claim.
type ClaimState int

const (
	// Claimed: the caller holds the key and must finish or release it.
	Claimed ClaimState = iota
	// Answered: an earlier request's answer is in Claim.Answer.
	Answered
	// InFlight: an earlier request holds the key and has not answered yet.
	InFlight
)

// Claim is what Store.Claim found.
type Claim struct {
	State  ClaimState
	Answer []byte // Answered: the first answer; read-only
	// Wait, when not nil, is closed once the holder finishes or releases;
	// nil means the caller polls.
	Wait <-chan struct{}
}

// ErrClaimLost is returned by Finish and Release when the claim expired or
// was taken over before the holder answered.
var ErrClaimLost = errors.New("guard: eventId claim expired or taken over")
