package guard

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/netip"
	"sync"
)

// key names a phone, user, IP, country or eventId in a store: 128 bits of
// HMAC-SHA256(KeySecret, kind‖id). Without the secret a dump of Redis (or
// of the process) cannot be reversed by hashing every phone number.
type key [16]byte

func (k key) hex() string { return hex.EncodeToString(k[:]) }

// Kinds keep the key spaces apart: the same string as a phone and as a
// user id gets unrelated keys. Each ends with ':' so kind‖id is unambiguous.
const (
	kindPhone   = "phone:"
	kindUser    = "user:"
	kindIP      = "ip:"
	kindCountry = "country:"
	kindEvent   = "event:"
)

// keySecretInfo binds derived secrets to this use: the same material
// elsewhere (the 8x8 API key) yields an unrelated key.
const keySecretInfo = "okta-8x8 guard keys v1"

// minKeySecret is the shortest KeySecret New accepts.
const minKeySecret = 16

// DeriveKeySecret turns configuration material (REDIS_KEY_SECRET when set,
// else the 8x8 API key) into Config.KeySecret with HKDF-SHA256, so the
// material itself never keys the store's hashes. Every instance given the
// same material derives the same secret. Empty material gives nil, which
// New refuses.
func DeriveKeySecret(material string) []byte {
	if material == "" {
		return nil
	}
	k, err := hkdf.Key(sha256.New, []byte(material), nil, keySecretInfo, sha256.Size)
	if err != nil {
		// Only a length beyond 255×32 bytes fails; 32 is a constant.
		panic("guard: hkdf: " + err.Error())
	}
	return k
}

// keyer computes keys. HMAC states are reused (keying one costs two
// SHA-256 blocks, as much again as the hash itself), each with buffers of
// its own so that computing a key allocates nothing.
type keyer struct {
	pool sync.Pool
}

type keyState struct {
	h   hash.Hash
	buf [64]byte
	sum [sha256.Size]byte
}

func newKeyer(secret []byte) *keyer {
	secret = append([]byte(nil), secret...)
	return &keyer{pool: sync.Pool{New: func() any { return &keyState{h: hmac.New(sha256.New, secret)} }}}
}

func (k *keyer) key(kind, id string) key {
	st := k.pool.Get().(*keyState)
	st.h.Reset()
	st.h.Write(st.buf[:copy(st.buf[:], kind)])
	for len(id) > 0 {
		n := copy(st.buf[:], id)
		st.h.Write(st.buf[:n])
		id = id[n:]
	}
	var out key
	copy(out[:], st.h.Sum(st.sum[:0]))
	k.pool.Put(st)
	return out
}

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
