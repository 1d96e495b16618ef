package phone

import (
	"fmt"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

func TestParse(t *testing.T) {
	p, err := NewParser("US")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		raw, e164, region string
		typ               Type
		ok                bool
	}{
		{"+14155550123", "+14155550123", "US", FixedLineOrMobile, true},
		{"14155550199", "+14155550199", "US", FixedLineOrMobile, true}, // Okta without "+"
		{"4155550123", "+14155550123", "US", FixedLineOrMobile, true},  // national, DEFAULT_REGION
		{"(415) 555-0123", "+14155550123", "US", FixedLineOrMobile, true},
		{"33612345678", "+33612345678", "FR", Mobile, true}, // international digits without "+"
		{"+33 6 12 34 56 78", "+33612345678", "FR", Mobile, true},
		{"+19005550123", "+19005550123", "US", PremiumRate, true},
		{"+448712345678", "+448712345678", "GB", PremiumRate, true},
		{"9876543210", "", "", Unknown, false},    // Okta's preview placeholder
		{"+15555551212", "", "", Unknown, false},  // fictional 555 area code
		{"+447700900123", "", "", Unknown, false}, // Ofcom's drama range
		{"", "", "", Unknown, false},
		{"+", "", "", Unknown, false},
		{"abc", "", "", Unknown, false},
		{"+1800FLOWERS", "", "", Unknown, false}, // vanity letters are not dialled
		{"+1 415 555 0123 ext 5", "", "", Unknown, false},
		{strings.Repeat("1", 50), "", "", Unknown, false},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			n, err := p.Parse(tt.raw)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if n.E164() != tt.e164 || n.Region() != tt.region || n.Type() != tt.typ {
				t.Errorf("got %s %s %s, want %s %s %s", n.E164(), n.Region(), n.Type(), tt.e164, tt.region, tt.typ)
			}
		})
	}
}

// The region comes from the number, not its leading digits: +1 876 is
// Jamaica.
func TestRegionFromNumber(t *testing.T) {
	p, _ := NewParser("US")
	n, err := p.Parse("+18762091234")
	if err != nil || n.Region() != "JM" {
		t.Fatalf("got %v %q", err, n.Region())
	}
}

func TestRedaction(t *testing.T) {
	p, _ := NewParser("US")
	n, _ := p.Parse("+14155550123")
	for _, s := range []string{n.String(), fmt.Sprintf("%v %+v %#v %s %q", n, n, n, n, n), n.LogValue().String()} {
		if strings.Contains(s, "4155550123") || strings.Contains(s, "555") {
			t.Errorf("full number printed: %s", s)
		}
	}
	if got := n.Redacted(); got != "+1********23" {
		t.Errorf("Redacted = %s", got)
	}
	b, _ := n.MarshalJSON()
	if string(b) != `"+1********23"` {
		t.Errorf("JSON = %s", b)
	}
}

func TestNewParserRejectsUnknownRegion(t *testing.T) {
	for _, r := range []string{"", "XX", "USA"} {
		if _, err := NewParser(r); err == nil {
			t.Errorf("NewParser(%q) accepted", r)
		}
	}
}

func TestParseType(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Type
		ok   bool
	}{{"premium_rate", PremiumRate, true}, {"Premium-Rate", PremiumRate, true}, {"voicemail", Voicemail, true}, {"uan", UAN, true}, {"gold", Unknown, false}} {
		got, err := ParseType(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseType(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// FuzzParse: whatever comes in, a parsed number is valid E.164 and its
// printable forms never contain it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"+14155550123", "9876543210", "14155550199", "+33 6 12 34 56 78", "00447911123456", "+", "", "+1-800-FLOWERS", "\x00+1"} {
		f.Add(s)
	}
	p, _ := NewParser("US")
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := p.Parse(raw)
		if err != nil {
			if !n.IsZero() {
				t.Fatal("error with a number")
			}
			return
		}
		e := n.E164()
		if len(e) < 8 || len(e) > 16 || e[0] != '+' || strings.Trim(e[1:], "0123456789") != "" {
			t.Fatalf("not E.164: %q", e)
		}
		if strings.Contains(n.String(), e[1:]) || strings.Contains(fmt.Sprint(n), e[len(e)-6:]) {
			t.Fatalf("printable form leaks the number: %s", n)
		}
		if n.Region() == "" {
			t.Fatal("valid number without region")
		}
	})
}

// Warm accepts unknown regions, and parsing works after it.
func TestWarm(t *testing.T) {
	p, _ := NewParser("US")
	p.Warm("FR", "GB", "XX")
	if n, err := p.Parse("+33612345678"); err != nil || n.Region() != "FR" {
		t.Errorf("after Warm: %v %v", n, err)
	}
}

func TestPrefix(t *testing.T) {
	p, _ := NewParser("US")
	for in, want := range map[string]string{
		"+14155550123":  "+1415555",
		"+37120000101":  "+3712000",
		"+447911123456": "+44791112",
		"+33612345678":  "+3361234",
	} {
		n, err := p.Parse(in)
		if err != nil || n.Prefix() != want {
			t.Errorf("Prefix(%s) = %q, %v; want %q", in, n.Prefix(), err, want)
		}
	}
}

// A number a third party wrote is logged masked, with its region; what
// does not parse is masked whole. A country is an ISO alpha-2 code or "".
func TestMaskAndCountry(t *testing.T) {
	for _, tc := range []struct{ in, want, region string }{
		{"+12025550293", "+1********93", "US"},
		{"12025550293", "+1********93", "US"},
		{"+6568332048", "+65******48", "SG"},
		{"tel:+1 (202) 555-0293x", redact.Placeholder, ""},
		{"", "", ""},
	} {
		if got, region := Mask(tc.in); got != tc.want || region != tc.region {
			t.Errorf("Mask(%q) = %q, %q; want %q, %q", tc.in, got, region, tc.want, tc.region)
		}
	}
	for in, want := range map[string]string{"us": "US", " ID ": "ID", "null": "", "ID | Null": "", "U1": ""} {
		if got := Country(in); got != want {
			t.Errorf("Country(%q) = %q, want %q", in, got, want)
		}
	}
}
