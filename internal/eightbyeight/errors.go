package eightbyeight

import (
	"fmt"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Kind says what is known about a failed send, which decides Okta's answer.
type Kind int

const (
	// Refused: 8x8 answered and did not take the message (bad number,
	// auth, rejected, 4xx, or a 429 / 8x8's own 5xx error answer still
	// failing after the one retry). No code will arrive; Okta should fall
	// back.
	Refused Kind = iota + 1
	// Unreachable: the request certainly did not reach 8x8 (DNS, connect,
	// TLS, or the budget ran out before it was written). Okta should fall
	// back.
	Unreachable
	// Unknown: the request was written but no usable answer came (timeout,
	// reset, garbled 2xx, or a 5xx that is not 8x8's own error answer: a
	// proxy's 502/503/504). 8x8 may be calling the user right now, so Okta
	// must not send a second code (PENDING).
	Unknown
)

func (k Kind) String() string {
	if k < Refused || k > Unknown {
		return "invalid"
	}
	return [...]string{"refused", "unreachable", "unknown"}[k-Refused]
}

// Error is a failed request. It never carries the request (number, code),
// and what 8x8 wrote in it is masked (redact.Text).
type Error struct {
	Kind       Kind
	HTTPStatus int    // 0 when no answer came
	Code       string // 8x8's code: voice statusCode ("-1017"), SMS code ("1002") or status ("REJECTED")
	Message    string // 8x8's statusMessage / message (or a proxy's body), masked and truncated
	RetryAfter time.Duration
	Attempts   int
	Err        error // transport error, if any
}

// Error masks what came from outside again: an Error can be built outside
// this package, the string is what reaches the logs, and a decode error can
// quote 8x8's answer (a garbled 2xx with a number in it).
func (e *Error) Error() string {
	s := "8x8 " + e.Kind.String()
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		s += " code " + redact.Code(e.Code)
	}
	if e.Message != "" {
		s += ": " + redact.Text(e.Message)
	}
	if e.Err != nil {
		s += ": " + redact.Text(e.Err.Error())
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether 8x8 refused the request itself (a 4xx other
// than 429): the same request can never succeed, so it is not worth
// repeating later.
func (e *Error) Permanent() bool {
	return e.Kind == Refused && e.HTTPStatus >= 400 && e.HTTPStatus < 500 && e.HTTPStatus != 429
}
