package guard

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func benchNew(b *testing.B, cfg Config, primary store, now func() time.Time) *Guard {
	cfg.KeySecret = testSecret
	g, err := newGuard(cfg, primary, nil, now)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// benchGuard measures one request's guard cost: Begin (a new eventId),
// Allow (phone and user windows), Finish with a typical answer. The clock
// moves 1s per request so windows slide as in production.
func benchGuard(b *testing.B, primary store) {
	clock := newClock()
	g := benchNew(b, Config{PerPhone: Limit{5, 15 * time.Minute}, PerUser: Limit{10, time.Hour}}, primary, clock.Now)
	phones := make([]string, 4096)
	for i := range phones {
		phones[i] = "+1415555" + strconv.Itoa(1000+i)
	}
	answer := []byte(`{"s":"SUCCESSFUL","t":"SM1a2b3c"}`)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clock.Advance(time.Second)
		tk, _, err := g.Begin(ctx, "evt"+strconv.Itoa(i), 5*time.Minute)
		if err != nil || tk == nil {
			b.Fatalf("Begin: %v", err)
		}
		g.Allow(ctx, Subject{Phone: phones[i%len(phones)], User: "00u" + strconv.Itoa(i%1000)})
		if err := tk.Finish(answer); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGuardMemory(b *testing.B) { benchGuard(b, nil) }

func BenchmarkGuardRedis(b *testing.B) {
	b.Run("miniredis", func(b *testing.B) {
		benchGuard(b, openMiniredis(b, miniredis.RunT(b)))
	})
	b.Run("redis-server", func(b *testing.B) {
		url := os.Getenv("REDIS_TEST_URL")
		if url == "" {
			b.Skip("REDIS_TEST_URL not set")
		}
		benchGuard(b, openRealRedis(b, url))
	})
}

// BenchmarkGuardMemoryParallel runs the request of benchGuard from many
// goroutines at once (GOMAXPROCS × par): "distinct" spreads them over every
// shard, "one-phone" sends them all to one phone's window (refused after
// the fifth, which takes the same lock), the worst case for the shard
// locks. Compare ns/op with par=1, and run with
// -mutexprofile to see the time spent waiting for shard locks.
func BenchmarkGuardMemoryParallel(b *testing.B) {
	answer := []byte(`{"s":"SUCCESSFUL","t":"SM1a2b3c"}`)
	for _, hot := range []bool{false, true} {
		for _, par := range []int{1, 8, 64} {
			name := "distinct"
			if hot {
				name = "one-phone"
			}
			b.Run(name+"/par="+strconv.Itoa(par), func(b *testing.B) {
				g := benchNew(b, Config{PerPhone: Limit{5, 15 * time.Minute}, PerUser: Limit{10, time.Hour}}, nil, time.Now)
				var next atomic.Uint64
				b.SetParallelism(par)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					ctx := b.Context()
					for pb.Next() {
						i := next.Add(1)
						tk, _, err := g.Begin(ctx, "evt"+strconv.FormatUint(i, 10), 5*time.Minute)
						if err != nil || tk == nil {
							b.Errorf("Begin: %v", err)
							return
						}
						phone := "+14155550101"
						if !hot {
							phone = "+1415" + strconv.FormatUint(2000000+i%1_000_000, 10)
						}
						g.Allow(ctx, Subject{Phone: phone, User: "00u" + strconv.FormatUint(i%100_000, 10)})
						_ = tk.Finish(answer)
					}
				})
			})
		}
	}
}

// fillers insert one entry per call into a Guard's memory: an answered
// eventId (with an answer of the given length) or a rate window (one send).
type filler struct {
	name   string
	metric string
	cfg    Config
	fill   func(b *testing.B, g *Guard, i int)
}

func fillers() []filler {
	answerOf := func(n int) func(b *testing.B, g *Guard, i int) {
		answer := make([]byte, n)
		return func(b *testing.B, g *Guard, i int) {
			tk, _, _ := g.Begin(b.Context(), "aaaaaaaa-bbbb-cccc-dddd-"+strconv.Itoa(100000000000+i), 5*time.Minute)
			_ = tk.Finish(answer)
		}
	}
	return []filler{
		{"answers-24B", "B/answer", Config{}, answerOf(24)},
		{"answers-200B", "B/answer", Config{}, answerOf(200)},
		{"windows-5-per-15m", "B/window", Config{PerPhone: Limit{5, 15 * time.Minute}}, func(b *testing.B, g *Guard, i int) {
			g.Allow(b.Context(), Subject{Phone: "+1" + strconv.Itoa(2000000000+i)})
		}},
		{"windows-10-per-1h", "B/window", Config{PerUser: Limit{10, time.Hour}}, func(b *testing.B, g *Guard, i int) {
			g.Allow(b.Context(), Subject{User: "00u" + strconv.Itoa(2000000000+i)})
		}},
	}
}

// heapPerEntry fills a fresh Guard with n entries and returns the heap it
// holds per entry (HeapAlloc after GC, before and after).
func heapPerEntry(b *testing.B, f filler, n int) float64 {
	before := heapAlloc()
	// Headroom: each of the shards holds cap/64, and keys do not spread
	// perfectly evenly.
	cfg := f.cfg
	cfg.MaxAnswers, cfg.MaxWindows = n+n/4, n+n/4
	g := benchNew(b, cfg, nil, newClock().Now)
	for i := range n {
		f.fill(b, g, i)
	}
	after := heapAlloc()
	a, fl, w := g.mem.size()
	if max(a, w) != n || fl != 0 {
		b.Fatalf("held %d answers, %d windows, %d claims; want %d", a, w, fl, n)
	}
	runtime.KeepAlive(g)
	return float64(after-before) / float64(n)
}

// BenchmarkMemoryMillionKeys reports the heap taken per remembered answer
// and per rate window, one million of each. It fills once whatever b.N
// is; run it with -benchtime=1x.
func BenchmarkMemoryMillionKeys(b *testing.B) {
	const n = 1_000_000
	for _, f := range fillers() {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				per := heapPerEntry(b, f, n)
				b.ReportMetric(per, f.metric)
				b.ReportMetric(per*n/(1<<20), "MiB/1M")
			}
		})
	}
}

// BenchmarkMemoryPerEntry reports bytes per entry at several sizes: maps
// grow by steps, so the cost per entry swings with the count; CapsFor plans
// with the worst seen (bytesPerAnswer, bytesPerWindow). -benchtime=1x.
func BenchmarkMemoryPerEntry(b *testing.B) {
	for _, f := range fillers() {
		for _, n := range []int{50_000, 120_000, 250_000, 400_000, 700_000, 1_000_000, 1_500_000} {
			b.Run(f.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					b.ReportMetric(heapPerEntry(b, f, n), f.metric)
				}
			})
		}
	}
}

// BenchmarkFloodAtCap measures the latency of one insert (Begin+Finish of a
// new eventId, or Allow for a new phone) once memory is at its cap, where
// every insert may have to evict: p99, p99.9 and the worst, over b.N
// inserts after the fill.
func BenchmarkFloodAtCap(b *testing.B) {
	const capacity = 1_000_000
	for _, f := range []filler{fillers()[0], fillers()[2]} {
		b.Run(f.name, func(b *testing.B) {
			cfg := f.cfg
			cfg.MaxAnswers, cfg.MaxWindows = capacity, capacity
			g := benchNew(b, cfg, nil, newClock().Now)
			for i := range capacity {
				f.fill(b, g, i)
			}
			lat := make([]time.Duration, 0, b.N)
			i := capacity
			for b.Loop() {
				start := time.Now()
				f.fill(b, g, i)
				lat = append(lat, time.Since(start))
				i++
			}
			slices.Sort(lat)
			at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) }
			b.ReportMetric(at(0.99), "p99-ns")
			b.ReportMetric(at(0.999), "p99.9-ns")
			b.ReportMetric(at(1), "max-ns")
		})
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
