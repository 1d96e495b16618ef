package sharedtest

// The Redis servers tests run on: a fresh miniredis always, and the real
// redis-server at REDIS_TEST_URL when it is set (CI sets it). On the real
// server each package has its own database, emptied for each test, so no
// package's tests touch another's keys.

import (
	"os"
	"strconv"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// The databases packages use on the real server: one each.
const (
	DBRoot       = 3 // the module's end-to-end tests
	DBConversion = 4
	DBBudget     = 5
	DBRedisstore = 6
)

// Miniredis is the URL of a fresh miniredis that ends with the test.
func Miniredis(t testing.TB) string { return "redis://" + miniredis.RunT(t).Addr() + "/0" }

// RealRedis is the URL of database db on the redis-server at REDIS_TEST_URL,
// emptied for this test; false when REDIS_TEST_URL is unset.
func RealRedis(t testing.TB, db int) (string, bool) {
	u := os.Getenv("REDIS_TEST_URL")
	if u == "" {
		return "", false
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	opt.DB = db
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(t.Context()).Err(); err != nil {
		t.Fatalf("REDIS_TEST_URL is set but redis does not answer: %v", err)
	}
	return "redis://" + opt.Addr + "/" + strconv.Itoa(db), true
}

// RedisURLs are the Redis servers to test against, by name: "miniredis", and
// "redis-server" (database db) when REDIS_TEST_URL is set.
func RedisURLs(t testing.TB, db int) map[string]string {
	urls := map[string]string{"miniredis": Miniredis(t)}
	if u, ok := RealRedis(t, db); ok {
		urls["redis-server"] = u
	} else {
		t.Log("REDIS_TEST_URL not set: testing against miniredis only (CI runs redis-server too)")
	}
	return urls
}
