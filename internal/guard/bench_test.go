package guard

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// benchGuard measures one request's guard cost: Begin (a new eventId),
// Allow (phone and user windows), Finish with a typical answer. The clock
// moves 1s per request so windows slide as in production.
func benchGuard(b *testing.B, primary Store) {
	clock := newClock()
	g := New(Config{PerPhone: Limit{5, 15 * time.Minute}, PerUser: Limit{10, time.Hour}}, primary, nil, clock.Now)
	phones := make([]string, 4096)
	for i := range phones {
		phones[i] = "+1415555" + strconv.Itoa(1000+i)
	}
	answer := []byte(`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL","provider":"8x8","transactionId":"b3c1f6d2-5a1e-4f0e-9c1d-2f4e5a6b7c8d","transactionMetadata":"sms"}]}]}`)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clock.Advance(time.Second)
		tk, _, err := g.Begin(ctx, "evt"+strconv.Itoa(i), 5*time.Minute)
		if err != nil || tk == nil {
			b.Fatalf("Begin: %v", err)
		}
		g.Allow(ctx, phones[i%len(phones)], "00u"+strconv.Itoa(i%1000), "")
		if err := tk.Finish(answer); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGuardMemory(b *testing.B) { benchGuard(b, nil) }

func BenchmarkGuardRedis(b *testing.B) {
	b.Run("miniredis", func(b *testing.B) {
		st, _ := OpenRedis("redis://" + miniredisAddr(b))
		b.Cleanup(func() { _ = st.Close() })
		benchGuard(b, st)
	})
	b.Run("redis-server", func(b *testing.B) {
		url := os.Getenv("REDIS_TEST_URL")
		if url == "" {
			b.Skip("REDIS_TEST_URL not set")
		}
		benchGuard(b, openRealRedis(b, url))
	})
}

// BenchmarkMemoryMillionKeys reports the heap taken by one million
// distinct phone windows (one send each, as Allow keeps them) and by one
// million answered eventIds (with a typical 200-byte answer). It fills once
// whatever b.N is; run it with -benchtime=1x.
func BenchmarkMemoryMillionKeys(b *testing.B) {
	const n = 1_000_000
	answer := make([]byte, 200)
	cases := []struct {
		name string
		fill func(g *Guard, i int)
	}{
		{"rate-windows", func(g *Guard, i int) {
			g.Allow(b.Context(), "+1"+strconv.Itoa(2000000000+i), "", "")
		}},
		{"eventIds", func(g *Guard, i int) {
			tk, _, _ := g.Begin(b.Context(), "aaaaaaaa-bbbb-cccc-dddd-"+strconv.Itoa(100000000000+i), 5*time.Minute)
			_ = tk.Finish(answer)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				before := heapInUse()
				// Headroom: each of the 64 shards holds maxKeys/64, and keys
				// do not spread perfectly evenly.
				g := New(Config{PerPhone: Limit{5, 15 * time.Minute}, MemoryMaxKeys: n + n/10}, nil, nil, newClock().Now)
				for i := range n {
					tc.fill(g, i)
				}
				after := heapInUse()
				w, e := g.mem.Len()
				if max(w, e) != n {
					b.Fatalf("held %d windows, %d events; want %d", w, e, n)
				}
				b.ReportMetric(float64(after-before)/n, "heap-B/key")
				b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB/1M-keys")
				runtime.KeepAlive(g)
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func miniredisAddr(b *testing.B) string {
	mr := miniredis.RunT(b)
	return mr.Addr()
}
