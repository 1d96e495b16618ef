package okta

import (
	"fmt"
	"log/slog"
)

// Secret holds a value that must never be printed: the OTP, and Okta's
// rendered message template (which contains the OTP). Every printable form
// is a fixed placeholder, so no log line, error or %v can leak it; Reveal is
// for the 8x8 request body alone.
type Secret struct{ v string }

const redacted = "[redacted]"

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the value. Call it only to build the 8x8 request.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the value is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Len is the value's length in bytes (safe to log).
func (s Secret) Len() int { return len(s.v) }

func (s Secret) String() string             { return redacted }
func (s Secret) GoString() string           { return redacted }
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }
func (s Secret) LogValue() slog.Value       { return slog.StringValue(redacted) }

// MarshalJSON writes the placeholder, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
