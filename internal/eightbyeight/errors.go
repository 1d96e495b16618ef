package eightbyeight

import (
	"fmt"
	"time"
)

// Kind says what is known about a failed send, which decides Okta's answer.
type Kind int

const (
	// Refused: 8x8 answered and did not take the message (bad number,
	// auth, rejected, 4xx, or 5xx/429 still failing after the one retry).
	// No code will arrive; Okta should fall back.
	Refused Kind = iota + 1
	// Unreachable: the request certainly did not reach 8x8 (DNS, connect,
	// TLS, or the budget ran out before it was written). Okta should fall
	// back.
	Unreachable
	// Unknown: the request was written but no usable answer came (timeout,
	// reset, garbled 2xx). 8x8 may be calling the user right now, so Okta
	// must not send a second code.
	Unknown
)

func (k Kind) String() string {
	switch k {
	case Refused:
		return "refused"
	case Unreachable:
		return "unreachable"
	case Unknown:
		return "unknown"
	}
	return "invalid"
}

// Error is a failed send. It never carries the request (number, code).
type Error struct {
	Kind       Kind
	HTTPStatus int    // 0 when no answer came
	Code       string // 8x8's code: voice statusCode ("-1017"), SMS code ("1002") or status ("REJECTED")
	Message    string // 8x8's statusMessage / message, truncated
	RetryAfter time.Duration
	Attempts   int
	Err        error // transport error, if any
}

func (e *Error) Error() string {
	s := "8x8 " + e.Kind.String()
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(": HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
