package guard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
)

// realRedisBackend runs the suite against the redis-server at
// REDIS_TEST_URL (e.g. redis://127.0.0.1:6379/0). Each test gets its own
// key prefix and deletes only its own keys.
func realRedisBackend(t testing.TB) (backend, bool) {
	url := os.Getenv("REDIS_TEST_URL")
	if url == "" {
		return backend{}, false
	}
	return backend{name: "redis-server", open: func(t *testing.T) store {
		return openRealRedis(t, url)
	}}, true
}

func openRealRedis(t testing.TB, url string) *RedisStore {
	st, err := OpenRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("REDIS_TEST_URL is set but redis does not answer: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	st.prefix = "okta8x8test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := st.client.Scan(ctx, 0, st.prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			st.client.Del(ctx, iter.Val())
		}
		_ = st.Close()
	})
	return st
}

func TestRealRedis(t *testing.T) {
	b, ok := realRedisBackend(t)
	if !ok {
		t.Skip("REDIS_TEST_URL not set: set it (e.g. redis://127.0.0.1:6379/0) to run the suite against a real redis-server")
	}
	for _, s := range suite {
		t.Run(s.name, func(t *testing.T) { s.run(t, b) })
	}
}
