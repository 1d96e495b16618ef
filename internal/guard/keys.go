package guard

import (
	"net/netip"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// key names a phone, user, IP, country or eventId in a store (see
// storekey: the conversion tracker names users the same way).
type key = redisstore.Key

const (
	kindPhone   = redisstore.Phone
	kindUser    = redisstore.User
	kindIP      = redisstore.IP
	kindCountry = redisstore.Country
	kindEvent   = redisstore.Event
)

// ipID is the identity a per-IP window counts: an IPv4 address, or the /64
// of an IPv6 address (one subscriber gets at least a /64, so counting
// single IPv6 addresses would give an attacker 2^64 windows). "" when the
// address does not parse: no IP window then.
func ipID(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
