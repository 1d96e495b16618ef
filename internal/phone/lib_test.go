package phone

import (
	"fmt"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// A number is valid exactly when libphonenumber's IsValidNumber says so
// (fromLib asks for the type alone), with the library's type and region.
func TestValidityIsLibphonenumbers(t *testing.T) {
	raws := []string{"+14155550123", "+12025550175", "+15555551212", "+1800555019", "+18005550199", "+19005550199",
		"+33612345678", "+33123456789", "+447911123456", "+447700900123", "+441624123456", "+819012345678",
		"+8613812345678", "+971501234567", "+80012345678", "+882340000000", "+3912345", "+390612345678",
		"+5511987654321", "+61491570156", "+7912345678", "+79123456789", "+18765550123", "+999123456"}
	for _, raw := range raws {
		num, err := phonenumbers.Parse(raw, "ZZ")
		if err != nil {
			continue // refused by Parse, before validity is asked
		}
		want := phonenumbers.IsValidNumber(num)
		n, err := fromLib(raw, "ZZ")
		if got := err == nil; got != want {
			t.Errorf("%s: valid %v, libphonenumber says %v", raw, got, want)
		}
		if err == nil && (n.Type() != Type(phonenumbers.GetNumberType(num)) || n.Region() != phonenumbers.GetRegionCodeForNumber(num)) {
			t.Errorf("%s: type %v region %s", raw, n.Type(), n.Region())
		}
	}
}

// The redacted form kept in a Number is redact.Phone's, and every
// printable form is it.
func TestRedactedIsKept(t *testing.T) {
	n, _ := fromLib("+14155550123", "ZZ")
	if n.Redacted() != "+1********23" || fmt.Sprint(n) != n.Redacted() || n.LogValue().String() != n.Redacted() {
		t.Errorf("redacted %q, printed %q, logged %q", n.Redacted(), fmt.Sprint(n), n.LogValue())
	}
}
