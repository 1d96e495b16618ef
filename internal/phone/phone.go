// Package phone turns the phone number Okta sends into a validated E.164
// number with its country and number type, and gives it a form that can
// only ever be logged redacted.
package phone

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Type is the kind of line a number belongs to, from the numbering plan.
type Type int

// The number types of libphonenumber, in its order.
const (
	FixedLine Type = iota
	Mobile
	FixedLineOrMobile
	TollFree
	PremiumRate
	SharedCost
	VoIP
	PersonalNumber
	Pager
	UAN
	Voicemail
	Unknown
)

// typeNames are in the order of the constants.
var typeNames = [...]string{"fixed_line", "mobile", "fixed_line_or_mobile", "toll_free", "premium_rate",
	"shared_cost", "voip", "personal_number", "pager", "uan", "voicemail", "unknown"}

func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return "unknown"
	}
	return typeNames[t]
}

// ParseType reads a type name as String writes it (case-insensitive; "-"
// and " " are accepted for "_").
func ParseType(s string) (Type, error) {
	s = strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	for i, n := range typeNames {
		if n == s {
			return Type(i), nil
		}
	}
	return Unknown, fmt.Errorf("unknown phone number type %q (one of %s)", s, strings.Join(typeNames[:], ", "))
}

// ErrInvalid is returned for input that is not a valid, dialable number.
var ErrInvalid = errors.New("not a valid phone number")

// Number is a validated phone number. Its only printable forms (String,
// Format, LogValue, MarshalJSON) are redacted, so no log line or error can
// carry the full number by accident; E164 is for the 8x8 request alone.
type Number struct {
	e164     string
	region   string
	typ      Type
	cc       int
	redacted string // every log line of a request prints it: masked once
}

// E164 is the full number, "+" and digits. Send it to 8x8; never log it.
func (n Number) E164() string { return n.e164 }

// Region is the ISO 3166-1 alpha-2 code of the number's country ("001" for
// non-geographic numbers).
func (n Number) Region() string { return n.region }

// Type is the number's line type from the numbering plan.
func (n Number) Type() Type { return n.typ }

// Prefix is the number without its last four digits ("+1415555" for
// +14155550123): in North America the NPA-NXX, elsewhere a block of
// 10,000 numbers, the unit numbering plans allocate to carriers and the
// unit pumping ranges are leased in. The conversion guard judges it beside
// the country; it is safe to log.
func (n Number) Prefix() string {
	if len(n.e164) < 1+len(strconv.Itoa(n.cc))+4+2 {
		return n.e164[:min(len(n.e164), 1+len(strconv.Itoa(n.cc)))]
	}
	return n.e164[:len(n.e164)-4]
}

// IsZero reports whether n is the zero Number.
func (n Number) IsZero() bool { return n.e164 == "" }

// Redacted is the number with all but the country code and the last two
// digits masked: "+1*******99".
func (n Number) Redacted() string {
	if n.redacted == "" {
		return redact.Phone(n.e164, n.cc)
	}
	return n.redacted
}

// The printable forms: fmt's verbs (%#v included) go through Format.
func (n Number) String() string               { return n.Redacted() }
func (n Number) LogValue() slog.Value         { return slog.StringValue(n.Redacted()) }
func (n Number) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(n.Redacted())) }
func (n Number) MarshalJSON() ([]byte, error) { return []byte(`"` + n.Redacted() + `"`), nil }

// Parser normalises raw numbers.
type Parser struct {
	defaultRegion string
}

// NewParser returns a Parser that reads numbers without a "+" as national
// numbers of defaultRegion first (ISO alpha-2, e.g. "US").
func NewParser(defaultRegion string) (*Parser, error) {
	r := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if phonenumbers.GetCountryCodeForRegion(r) == 0 {
		return nil, fmt.Errorf("DEFAULT_REGION %q is not a known region code", defaultRegion)
	}
	return &Parser{defaultRegion: r}, nil
}

// maxRawLen bounds the input: no real number, with formatting, is longer.
const maxRawLen = 40

// Parse validates raw and returns it as a Number. A number with a leading
// "+" (or "00") is international; one without is read as a national number
// of the default region, then as international digits without the "+"
// (Okta sends "14155550199" for "+14155550199"); it is refused if neither
// reading is a valid number.
func (p *Parser) Parse(raw string) (Number, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxRawLen || strings.IndexFunc(raw, unicode.IsLetter) >= 0 {
		// Letters: libphonenumber would read "+1800FLOWERS" as a vanity
		// number and dial it. Okta sends digits.
		return Number{}, ErrInvalid
	}
	if strings.HasPrefix(raw, "+") {
		return fromLib(raw, "ZZ")
	}
	if n, err := fromLib(raw, p.defaultRegion); err == nil {
		return n, nil
	}
	return fromLib("+"+raw, "ZZ")
}

func fromLib(raw, region string) (Number, error) {
	num, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return Number{}, ErrInvalid
	}
	// IsValidNumber is exactly "the type is not UNKNOWN".
	typ := phonenumbers.GetNumberType(num)
	if typ == phonenumbers.UNKNOWN {
		return Number{}, ErrInvalid
	}
	n := Number{
		e164:   phonenumbers.Format(num, phonenumbers.E164),
		region: phonenumbers.GetRegionCodeForNumber(num),
		typ:    Type(typ),
		cc:     int(num.GetCountryCode()),
	}
	n.redacted = redact.Phone(n.e164, n.cc)
	return n, nil
}

// Warm parses an example mobile number of each region, so libphonenumber
// compiles those regions' patterns now (0.5–2.5 ms each) rather than
// during the first Okta request from there.
func (p *Parser) Warm(regions ...string) {
	for _, r := range append([]string{p.defaultRegion}, regions...) {
		if ex := phonenumbers.GetExampleNumberForType(r, phonenumbers.MOBILE); ex != nil {
			_, _ = fromLib(phonenumbers.Format(ex, phonenumbers.E164), "ZZ")
		}
	}
}

// Mask is a number a third party wrote (8x8's receipts), for a log line:
// the calling code and last two digits, and its region when the numbering
// plan knows it. Anything that does not parse is Placeholder.
func Mask(raw string) (masked, region string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ""
	}
	num, err := phonenumbers.Parse("+"+strings.TrimPrefix(s, "+"), "ZZ")
	if err != nil || num.GetCountryCode() == 0 {
		return redact.Placeholder, ""
	}
	if region = phonenumbers.GetRegionCodeForNumber(num); region == "ZZ" {
		region = ""
	}
	return redact.Phone(phonenumbers.Format(num, phonenumbers.E164), int(num.GetCountryCode())), region
}

// Country is s as an ISO 3166-1 alpha-2 code, upper case, or "" when it is
// not one (8x8's examples show "null" and "ID | Null").
func Country(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return ""
	}
	return s
}
