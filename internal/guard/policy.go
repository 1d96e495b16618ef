package guard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// Reason names why a request was refused. The names are stable: they appear
// in logs and in the errorCauses of the answer to Okta.
type Reason string

// The refusal reasons.
const (
	ReasonInvalidNumber Reason = "invalid_number"
	ReasonNumberType    Reason = "number_type_refused"
	ReasonCountry       Reason = "country_not_allowed"
	ReasonRatePhone     Reason = "rate_limited_phone"
	ReasonRateUser      Reason = "rate_limited_user"
	ReasonRateIP        Reason = "rate_limited_ip"
	ReasonRateCountry   Reason = "rate_limited_country"
)

// Refusal is a policy decision not to send. Detail is for the admin
// ("premium_rate", "country KP", "5/15m0s") and never holds the number.
type Refusal struct {
	Reason Reason
	Detail string
}

func (r *Refusal) Error() string {
	if r.Detail == "" {
		return "guard: refused: " + string(r.Reason)
	}
	return "guard: refused: " + string(r.Reason) + " (" + r.Detail + ")"
}

// Limit allows N sends in any sliding Window. N == 0 turns it off.
type Limit struct {
	N      int
	Window time.Duration
}

func (l Limit) String() string {
	if l.N <= 0 {
		return "0"
	}
	return strconv.Itoa(l.N) + "/" + l.Window.String()
}

// maxLimitN bounds N: a sliding log keeps one timestamp per counted send,
// and no sane policy lets one phone receive thousands of codes.
const maxLimitN = 10000

// ParseLimit reads "N/duration" ("5/15m", "10/1h"); "0" or "0/…" is off.
// Its errors say what is expected, never what was given: configuration
// errors are logged, and a secret pasted into the wrong variable must not
// be. They read after the variable's name ("RATE_LIMIT_PER_PHONE must be…").
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Limit{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, errors.New("must be N/duration, e.g. 5/15m, or 0 to turn it off")
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n < 0 || n > maxLimitN {
		return Limit{}, fmt.Errorf("must be N/duration with N a whole number from 0 to %d", maxLimitN)
	}
	if n == 0 {
		return Limit{}, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(ds))
	if err != nil {
		return Limit{}, errors.New("must be N/duration with a duration in s, m or h, e.g. 15m")
	}
	if d < time.Second {
		return Limit{}, errors.New("must be N/duration with a window of at least 1s")
	}
	return Limit{N: n, Window: d}, nil
}

// Policy decides from the parsed number alone, with no I/O.
type Policy struct {
	// Allowed and Blocked hold upper-case ISO 3166-1 alpha-2 codes. An empty
	// Allowed allows every country not Blocked.
	Allowed, Blocked map[string]bool
	// RefusedTypes are line types no user's phone has (DefaultRefusedTypes).
	RefusedTypes map[phone.Type]bool
}

// DefaultRefusedTypes are the types that carry revenue-share fraud and that
// no one receives a passcode on: premium rate, shared cost, UAN, pager and
// voicemail access (REFUSED_NUMBER_TYPES' default).
const DefaultRefusedTypes = "premium_rate,shared_cost,uan,pager,voicemail"

// ParseRefusedTypes reads a comma-separated list of type names as
// phone.ParseType accepts them ("premium_rate, shared_cost").
func ParseRefusedTypes(s string) (map[phone.Type]bool, error) {
	out := make(map[phone.Type]bool)
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		t, err := phone.ParseType(f)
		if err != nil {
			return nil, err
		}
		out[t] = true
	}
	return out, nil
}

// ParseCountries reads a comma-separated list of ISO 3166-1 alpha-2 codes
// ("US, gb ,FR"), case-insensitive, each checked against the regions the
// phone metadata knows. "001" names non-geographic numbers (+800, +882…).
// Its error names bad entries by position (the first is 1), never by
// value, for the reason ParseLimit gives.
func ParseCountries(s string) (map[string]bool, error) {
	known := phonenumbers.GetSupportedRegions()
	out := make(map[string]bool)
	var bad []string
	pos := 0
	for f := range strings.SplitSeq(s, ",") {
		pos++
		c := strings.ToUpper(strings.TrimSpace(f))
		switch {
		case c == "":
			continue
		case c == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY, len(c) == 2 && known[c]:
			out[c] = true
		default:
			bad = append(bad, strconv.Itoa(pos))
		}
	}
	switch n := len(bad); {
	case n == 1:
		return nil, fmt.Errorf("entry %s is not the ISO 3166-1 alpha-2 code of a country with phone numbers (such as US or GB)", bad[0])
	case n > 1:
		return nil, fmt.Errorf("entries %s and %s are not ISO 3166-1 alpha-2 codes of countries with phone numbers (such as US or GB)", strings.Join(bad[:n-1], ", "), bad[n-1])
	}
	return out, nil
}

// Screen refuses numbers by type and country. It is pure: no I/O, no
// counting. nil means the number may be called.
func (p Policy) Screen(n phone.Number) *Refusal {
	if n.IsZero() {
		return &Refusal{Reason: ReasonInvalidNumber}
	}
	if p.RefusedTypes[n.Type()] {
		return &Refusal{Reason: ReasonNumberType, Detail: n.Type().String()}
	}
	// The region comes from the parsed number, so "+1 876…" is JM, not US.
	r := n.Region()
	if p.Blocked[r] || (len(p.Allowed) > 0 && !p.Allowed[r]) {
		return &Refusal{Reason: ReasonCountry, Detail: "country " + r}
	}
	return nil
}
