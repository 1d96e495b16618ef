package redisstore

import (
	"bytes"
	"strings"
	"testing"
)

func TestDeriveSecret(t *testing.T) {
	a, b := DeriveSecret("8x8-api-key-A"), DeriveSecret("8x8-api-key-B")
	switch {
	case len(a) != 32:
		t.Fatalf("%d bytes, want 32", len(a))
	case !bytes.Equal(a, DeriveSecret("8x8-api-key-A")):
		t.Fatal("two instances with the same material derive different secrets")
	case bytes.Equal(a, b):
		t.Fatal("different material, same secret")
	case bytes.Contains(a, []byte("8x8-api-key-A")):
		t.Fatal("the material shows through")
	case DeriveSecret("") != nil:
		t.Fatal("empty material gives a secret; New must refuse it instead")
	}
}

func TestKeysDifferByKindAndSecret(t *testing.T) {
	a, b := NewKeyer(DeriveSecret("test material")), NewKeyer(DeriveSecret("another deployment"))
	long := strings.Repeat("0123456789", 30)
	keys := map[Key]string{}
	for _, c := range []struct {
		name string
		k    Key
	}{
		{"phone", a.Key(Phone, "+14155550123")},
		{"user", a.Key(User, "+14155550123")},
		{"phone, other secret", b.Key(Phone, "+14155550123")},
		{"long", a.Key(Event, long)},
		{"long but one", a.Key(Event, long[:len(long)-1])},
	} {
		if prev, dup := keys[c.k]; dup {
			t.Fatalf("%s and %s share a key", prev, c.name)
		}
		keys[c.k] = c.name
	}
	if k1, k2 := a.Key(Event, long), a.Key(Event, long); k1 != k2 {
		t.Fatal("the same id gives two keys")
	}
}

// Instances of two revisions share Redis during a rollout, and a Redis
// outlives both: the same material must name the same user forever (this
// is HMAC-SHA256(HKDF(material), "user:"‖id), the first 16 bytes, as the
// guard and the conversion tracker have always computed it).
func TestKeysAreStable(t *testing.T) {
	if got := NewKeyer(DeriveSecret("8x8-api-key-A")).Key(User, "00u1abcd").Hex(); got != "b747406862b55e06905b5e29d398b747" {
		t.Errorf("user key %s: a deploy would lose every record in Redis", got)
	}
}
