package guard

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

func TestScreen(t *testing.T) {
	parser, err := phone.NewParser("US")
	if err != nil {
		t.Fatal(err)
	}
	refused, err := ParseRefusedTypes(DefaultRefusedTypes)
	if err != nil {
		t.Fatal(err)
	}
	def := Policy{RefusedTypes: refused}
	cases := []struct {
		name       string
		policy     Policy
		number     string
		want       Reason
		wantDetail string
	}{
		{"US premium rate +1 900", def, "+19002345678", ReasonNumberType, "premium_rate"},
		{"French shared cost", def, "+33884012345", ReasonNumberType, "shared_cost"},
		{"UK UAN", def, "+445512345678", ReasonNumberType, "uan"},
		{"UK pager", def, "+447640123456", ReasonNumberType, "pager"},
		{"German voicemail access", def, "+49177991234567", ReasonNumberType, "voicemail"},
		{"UK mobile passes", def, "+447400123456", "", ""},
		{"US number without + passes", def, "2015550123", "", ""},
		{"toll free passes by default", def, "+18002345678", "", ""},
		{"blocked country", Policy{Blocked: set("KP")}, "+8501921234567", ReasonCountry, "country KP"},
		{"allow-list excludes a country", Policy{Allowed: set("US", "FR")}, "+447400123456", ReasonCountry, "country GB"},
		{"allow-list admits its country", Policy{Allowed: set("US", "FR")}, "+33612345678", "", ""},
		{"country comes from the number, not its +1 prefix", Policy{Allowed: set("US")}, "+18762101234", ReasonCountry, "country JM"},
		{"blocked wins over allowed", Policy{Allowed: set("GB"), Blocked: set("GB")}, "+447400123456", ReasonCountry, "country GB"},
		{"refused types are configurable: mobile refused", Policy{RefusedTypes: map[phone.Type]bool{phone.Mobile: true}}, "+447400123456", ReasonNumberType, "mobile"},
		{"refused types are configurable: none refused", Policy{}, "+19002345678", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parser.Parse(tc.number)
			if err != nil {
				t.Fatalf("test number %s does not parse: %v", tc.number, err)
			}
			ref := tc.policy.Screen(n)
			if tc.want == "" {
				if ref != nil {
					t.Fatalf("Screen = %v, want allowed", ref)
				}
				return
			}
			if ref == nil || ref.Reason != tc.want || ref.Detail != tc.wantDetail {
				t.Fatalf("Screen = %+v, want %s (%s)", ref, tc.want, tc.wantDetail)
			}
			if digits := n.E164()[2:]; strings.Contains(ref.Error(), digits) {
				t.Fatalf("refusal %q holds the number", ref.Error())
			}
		})
	}
	t.Run("the zero Number is invalid", func(t *testing.T) {
		if ref := def.Screen(phone.Number{}); ref == nil || ref.Reason != ReasonInvalidNumber {
			t.Fatalf("Screen(zero) = %v", ref)
		}
	})
}

func set(cs ...string) map[string]bool {
	m := make(map[string]bool)
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// pasted stands for a secret pasted into the wrong variable: a
// configuration error is logged, and must not repeat it.
const pasted = "sk-hunter2-0123456789abcdef"

func TestParseLimit(t *testing.T) {
	cases := []struct {
		in      string
		want    Limit
		wantErr string
	}{
		{"5/15m", Limit{5, 15 * time.Minute}, ""},
		{" 10 / 1h ", Limit{10, time.Hour}, ""},
		{"3/90s", Limit{3, 90 * time.Second}, ""},
		{"0", Limit{}, ""},
		{"0/1h", Limit{}, ""},
		{"", Limit{}, "must be N/duration, e.g. 5/15m"},
		{"5", Limit{}, "must be N/duration, e.g. 5/15m"},
		{"five/15m", Limit{}, "whole number"},
		{"-1/15m", Limit{}, "whole number"},
		{"1.5/15m", Limit{}, "whole number"},
		{"100000/1h", Limit{}, "whole number"},
		{"5/15", Limit{}, "duration in s, m or h"},
		{"5/fortnight", Limit{}, "duration in s, m or h"},
		{"5/", Limit{}, "duration in s, m or h"},
		{"5/-15m", Limit{}, "at least 1s"},
		{"5/10ms", Limit{}, "at least 1s"},
		{pasted, Limit{}, "must be N/duration, e.g. 5/15m"},
		{pasted + "/15m", Limit{}, "whole number"},
		{"5/" + pasted, Limit{}, "duration in s, m or h"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLimit(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLimit(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("ParseLimit(%q) error %q repeats the value", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseCountries(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"US, gb ,FR", []string{"US", "GB", "FR"}, ""},
		{"", nil, ""},
		{" , ,", nil, ""},
		{"kp,KP", []string{"KP"}, ""},
		{"001", []string{"001"}, ""},
		{"UK", nil, "entry 1 is not"},                   // the ISO code is GB
		{"USA", nil, "entry 1 is not"},                  // alpha-3
		{"US,XX,zz", nil, "entries 2 and 3 are not"},    // names every bad entry
		{"XX,US,,YY,ZZ", nil, "entries 1, 4 and 5 are"}, // positions count empty entries
		{"AQ", nil, "entry 1 is not"},                   // a country with no phone numbering plan
		{"US," + pasted, nil, "entry 2 is not the ISO"}, // never repeated
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseCountries(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseCountries(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("ParseCountries(%q) error %q repeats the value", tc.in, err)
				}
				return
			}
			if want := set(tc.want...); err != nil || !maps.Equal(got, want) {
				t.Fatalf("ParseCountries(%q) = %v, %v; want %v", tc.in, got, err, want)
			}
		})
	}
}

func TestParseRefusedTypes(t *testing.T) {
	got, err := ParseRefusedTypes("premium_rate, Shared-Cost ,voip")
	want := map[phone.Type]bool{phone.PremiumRate: true, phone.SharedCost: true, phone.VoIP: true}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("ParseRefusedTypes = %v, %v; want %v", got, err, want)
	}
	if _, err := ParseRefusedTypes("premium, mobile"); err == nil {
		t.Fatal("ParseRefusedTypes(premium) succeeded, want an error")
	}
}
