// Package redisstore is the one home of Redis: the key naming, the failover rule and the scripts.
//
// Keys name what the shared stores (Redis, and each
// instance's memory) keep state about: a phone number, a user, an IP, a
// country or an eventId, as 128 bits of HMAC-SHA256(secret, kind‖id).
// Without the secret a dump of Redis (or of the process) cannot be
// reversed by hashing every phone number. The fraud guard and the
// conversion tracker name a user the same way.
package redisstore

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// Key names one thing in a store.
type Key [16]byte

// Hex is the key as it appears in a Redis key name.
func (k Key) Hex() string { return hex.EncodeToString(k[:]) }

// Kinds keep the key spaces apart: the same string as a phone and as a
// user id gets unrelated keys. Each ends with ':' so kind‖id is unambiguous.
const (
	Phone   = "phone:"
	User    = "user:"
	IP      = "ip:"
	Country = "country:"
	Event   = "event:"
)

// secretInfo binds derived secrets to this use: the same material
// elsewhere (the 8x8 API key) yields an unrelated key.
const secretInfo = "okta-8x8 guard keys v1"

// MinSecret is the shortest secret the stores accept.
const MinSecret = 16

// DeriveSecret turns configuration material (REDIS_KEY_SECRET when set,
// else the 8x8 API key) into the keys' secret with HKDF-SHA256, so the
// material itself never keys the stores' hashes. Every instance given the
// same material derives the same secret. Empty material gives nil.
func DeriveSecret(material string) []byte {
	if material == "" {
		return nil
	}
	k, err := hkdf.Key(sha256.New, []byte(material), nil, secretInfo, sha256.Size)
	if err != nil {
		// Only a length beyond 255×32 bytes fails; 32 is a constant.
		panic("storekey: hkdf: " + err.Error())
	}
	return k
}

// Keyer computes keys. HMAC states are reused (keying one costs two
// SHA-256 blocks, as much again as the hash itself), each with buffers of
// its own so that computing a key allocates nothing.
type Keyer struct {
	pool sync.Pool
}

type state struct {
	h   hash.Hash
	buf [64]byte
	sum [sha256.Size]byte
}

// New returns a Keyer for secret (copied).
func NewKeyer(secret []byte) *Keyer {
	secret = append([]byte(nil), secret...)
	return &Keyer{pool: sync.Pool{New: func() any { return &state{h: hmac.New(sha256.New, secret)} }}}
}

// Key names id of the given kind.
func (k *Keyer) Key(kind, id string) Key {
	st := k.pool.Get().(*state)
	st.h.Reset()
	st.h.Write(st.buf[:copy(st.buf[:], kind)])
	for len(id) > 0 {
		n := copy(st.buf[:], id)
		st.h.Write(st.buf[:n])
		id = id[n:]
	}
	var out Key
	copy(out[:], st.h.Sum(st.sum[:0]))
	k.pool.Put(st)
	return out
}
