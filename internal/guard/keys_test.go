package guard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

func TestNewRefusesWeakConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no KeySecret", Config{}},
		{"KeySecret from empty material", Config{KeySecret: redisstore.DeriveSecret("")}},
		{"short KeySecret", Config{KeySecret: []byte("short")}},
		{"limit beyond what a window can log", Config{KeySecret: testSecret, PerPhone: Limit{maxLimitN + 1, time.Hour}}},
		{"limit with no window", Config{KeySecret: testSecret, PerUser: Limit{5, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if g, err := New(tc.cfg, nil, nil, nil); err == nil || g != nil {
				t.Fatalf("New = %v, %v; want an error", g, err)
			}
		})
	}
	if _, err := New(Config{KeySecret: testSecret}, nil, nil, nil); err != nil {
		t.Fatalf("a derived secret is refused: %v", err)
	}
}

// Everything written to Redis, names and values, after a round of sends:
// nothing in it may name the phone, the user, the IP, the eventId or the
// code, nor be an unkeyed hash of them, which a dump could be matched
// against by hashing every number.
func TestRedisHoldsNothingReversible(t *testing.T) {
	targets := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"miniredis", func(t *testing.T) string { return "redis://" + miniredis.RunT(t).Addr() + "/0" }},
		{"redis-server", func(t *testing.T) string { return startRedisServer(t).url() }},
	}
	const (
		number  = "+14155550187"
		userID  = "00u1abcdEFGH2345"
		ip      = "198.51.100.77"
		eventID = "c0ffee00-1234-4bcd-9876-0123456789ab"
		code    = "582913"
	)
	// The answer stands for the hook's: it names neither number nor code.
	answer := []byte(`{"s":"SUCCESSFUL","t":"SM1a2b3c"}`)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			client, err := redisstore.Open(tg.url(t), "")
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			clock := newClock()
			g, err := New(Config{
				PerPhone: Limit{5, time.Hour}, PerUser: Limit{5, time.Hour},
				PerIP: Limit{5, time.Hour}, PerCountry: Limit{50, time.Hour},
				KeySecret: testSecret,
			}, redisstore.NewGuardStore(client), nil, clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close(t.Context())
			tk := mustClaim(t, g, eventID, 5*time.Minute)
			if ref := g.Allow(t.Context(), Subject{Phone: number, User: userID, Country: "US", IP: ip}); ref != nil {
				t.Fatal(ref)
			}
			if err := tk.Finish(answer); err != nil {
				t.Fatal(err)
			}
			dump := dumpRedis(t, client)
			if !strings.Contains(dump, "okta8x8:rl:") || !strings.Contains(dump, "okta8x8:ev:") {
				t.Fatalf("dump lacks the windows or the eventId:\n%s", dump)
			}
			forbidden := []string{userID, ip, eventID, code, number, "4155550187"}
			for _, s := range []string{"phone:" + number, number, number[1:], "user:" + userID, userID, "ip:" + ip, eventID} {
				sum := sha256.Sum256([]byte(s))
				forbidden = append(forbidden, hex.EncodeToString(sum[:8]), hex.EncodeToString(sum[8:16]))
			}
			for _, f := range forbidden {
				if strings.Contains(strings.ToLower(dump), strings.ToLower(f)) {
					t.Fatalf("Redis holds %q:\n%s", f, dump)
				}
			}
		})
	}
}

// dumpRedis lists every key with its value (strings) or members and scores
// (sorted sets), one per line.
func dumpRedis(t *testing.T, c redis.UniversalClient) string {
	ctx := context.Background()
	var b strings.Builder
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		b.WriteString(k + " = ")
		switch typ := c.Type(ctx, k).Val(); typ {
		case "string":
			b.WriteString(c.Get(ctx, k).Val())
		case "zset":
			for _, z := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
				b.WriteString(z.Member.(string) + "@" + strconv.FormatFloat(z.Score, 'f', -1, 64) + " ")
			}
		default:
			t.Fatalf("key %s of unexpected type %s", k, typ)
		}
		b.WriteString("\n")
	}
	return b.String()
}
