package benchtest

import (
	"fmt"
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// Numbers are distinct valid phone numbers for a flood, spread over many
// North American Numbering Plan areas (the United States, Canada and the
// Caribbean countries that share +1): number i is in block i mod
// Blocks(), line i / Blocks() of it. A block is one NPA-NXX, 10,000 lines:
// libphonenumber decides the validity and type of a NANP number from its
// first six digits, and each block's first and last lines are checked to
// be valid fixed or mobile numbers when Numbers is built.
type Numbers struct {
	blocks []string // "+1NPANXX"
}

// nxxs are the exchanges tried in each area code.
var nxxs = []string{"234", "456", "567", "678", "789", "825"}

// NewNumbers finds the valid blocks (it parses about 10,000 numbers: tens
// of milliseconds).
func NewNumbers() *Numbers {
	f := &Numbers{}
	for npa := 201; npa <= 989; npa++ {
		for _, nxx := range nxxs {
			b := "+1" + strconv.Itoa(npa) + nxx
			if usable(b+"0000") && usable(b+"9999") {
				f.blocks = append(f.blocks, b)
			}
		}
	}
	return f
}

// usable: valid, and of a type every hook sends to.
func usable(s string) bool {
	n, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return false
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return true
	}
	return false
}

// Blocks is how many NPA-NXX blocks the numbers are spread over.
func (f *Numbers) Blocks() int { return len(f.blocks) }

// Len is how many distinct numbers there are.
func (f *Numbers) Len() int { return len(f.blocks) * 10000 }

// Phone is the i-th number; it panics past Len.
func (f *Numbers) Phone(i int) string {
	if i < 0 || i >= f.Len() {
		panic(fmt.Sprintf("benchtest: number %d of %d", i, f.Len()))
	}
	line := i / len(f.blocks)
	var b [16]byte
	s := append(b[:0], f.blocks[i%len(f.blocks)]...)
	s = append(s, byte('0'+line/1000), byte('0'+line/100%10), byte('0'+line/10%10), byte('0'+line%10))
	return string(s)
}
