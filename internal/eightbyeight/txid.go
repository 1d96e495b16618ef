package eightbyeight

import "encoding/hex"

// PackID keeps a transaction id (8x8's sessionId or umid: a lowercase,
// hyphenated UUID such as "bda3d56d-1424-e711-813c-06ed3428fe67") in 16
// bytes, for state that remembers many of them. ok is false for anything
// else, which the caller keeps as text so that UnpackID never changes an
// id 8x8 sent.
func PackID(s string) (b [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	var h [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			h[n] = c
			n++
		default:
			return b, false
		}
	}
	_, err := hex.Decode(b[:], h[:])
	return b, err == nil
}

// UnpackID is the id PackID packed.
func UnpackID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
