package redisstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

func TestOpenHidesURL(t *testing.T) {
	_, err := Open("redis://user:hunter2@host:notaport/0", "")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open error = %v", err)
	}
	c, err := Open("rediss://user:pw@10.0.0.3:6378/0", "")
	if err != nil {
		t.Fatalf("rediss:// refused: %v", err)
	}
	_ = c.Close()
}

// A claim script retried after its reply was lost finds its own pending
// claim: it is still claimed, not in flight.
func TestClaimIsIdempotentForItsToken(t *testing.T) {
	c, err := Open("redis://"+miniredis.RunT(t).Addr()+"/0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := NewGuardStore(c)
	ctx, now, k := context.Background(), time.Unix(1_800_000_000, 0), Key{1}
	for i := range 2 {
		if got, err := st.Claim(ctx, now, k, "tok-A", time.Minute); err != nil || got.State != Claimed {
			t.Fatalf("claim %d: %v %v, want Claimed", i, got.State, err)
		}
	}
	got, _ := st.Claim(ctx, now, k, "tok-B", time.Minute)
	if got.State != InFlight || !got.Deadline.Equal(now.Add(time.Minute)) {
		t.Fatalf("another token: %v until %v, want InFlight until %v", got.State, got.Deadline, now.Add(time.Minute))
	}
	if err := st.Finish(ctx, now, k, "tok-B", now.Add(time.Minute), []byte("x")); err != ErrClaimLost {
		t.Fatalf("Finish by another token = %v, want ErrClaimLost", err)
	}
}

// A Finish retried after its reply was lost (go-redis retries it once)
// finds its own answer stored and succeeds: the hook would otherwise
// report a lost claim, "a second send is possible", for a stored answer.
// Another answer, or the same bytes from another claim, is still refused.
func TestFinishIsIdempotentForItsAnswer(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	deadline := now.Add(time.Minute)
	for name, url := range sharedtest.RedisURLs(t, sharedtest.DBRedisstore) {
		c, err := Open(url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		st := NewGuardStore(c)
		for i, tc := range []struct {
			name  string
			claim bool // claimed by tok-A first, or the key is gone (Redis restarted)
		}{
			{"claimed in Redis", true},
			{"claimed in memory while Redis was away", false},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				ctx, k := t.Context(), Key{byte(i)} // one key per case, on a database emptied for the test
				if tc.claim {
					if c, err := st.Claim(ctx, now, k, "tok-A", time.Minute); err != nil || c.State != Claimed {
						t.Fatalf("Claim: %v %v, want Claimed", c.State, err)
					}
				}
				for i := range 2 {
					if err := st.Finish(ctx, now, k, "tok-A", deadline, []byte("answer A")); err != nil {
						t.Fatalf("Finish %d = %v, want nil", i+1, err)
					}
				}
				if err := st.Finish(ctx, now, k, "tok-A", deadline, []byte("answer B")); err != ErrClaimLost {
					t.Fatalf("Finish with another answer = %v, want ErrClaimLost", err)
				}
				if err := st.Finish(ctx, now, k, "tok-B", deadline.Add(time.Millisecond), []byte("answer A")); err != ErrClaimLost {
					t.Fatalf("Finish by another claim with the same answer = %v, want ErrClaimLost", err)
				}
				c, err := st.Claim(ctx, now, k, "tok-C", time.Minute)
				if err != nil || c.State != Answered || string(c.Answer) != "answer A" || !c.Deadline.Equal(deadline) {
					t.Fatalf("Claim after Finish: %v %q until %v, %v; want Answered %q until %v", c.State, c.Answer, c.Deadline, err, "answer A", deadline)
				}
			})
		}
	}
}

// Memorystore signs its server certificate with its own CA: with that CA
// (REDIS_CA_CERT) the rediss:// connection is made, without it the
// system's roots refuse it.
func TestOpenTrustsTheGivenCA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "memorystore-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	s := miniredis.NewMiniRedis()
	if err := s.StartTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		name, ca string
		ok       bool
	}{{"with Memorystore's CA", caPEM, true}, {"with the system's roots", "", false}} {
		c, err := Open("rediss://"+s.Addr()+"/0", tt.ca)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Ping(context.Background()).Err()
		c.Close()
		if (err == nil) != tt.ok {
			t.Errorf("%s: PING = %v", tt.name, err)
		}
	}
	if _, err := Open("redis://"+s.Addr()+"/0", caPEM); err == nil {
		t.Error("a CA with a plaintext redis:// URL was accepted")
	}
}
