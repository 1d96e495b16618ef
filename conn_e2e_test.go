package telephonyhook

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// warmupWatch is the 8x8 client's own transport (eightbyeight.NewHTTPClient,
// as the app builds it), telling when the start-up warm-up (two HEAD
// requests) is over, so that the test can count connections without
// racing it.
type warmupWatch struct {
	base  http.RoundTripper
	mu    sync.Mutex
	heads int
	done  chan struct{}
}

func (w *warmupWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	if r.Method == http.MethodHead {
		w.mu.Lock()
		if w.heads++; w.heads == 2 {
			close(w.done)
		}
		w.mu.Unlock()
	}
	return resp, err
}

// The hook keeps its connections to 8x8 alive, for both channels: the
// warm-up opens one, sequential requests go on using it, and C concurrent
// requests are served by a pool of about C (never one per request).
func TestConnectionReuse(t *testing.T) {
	for _, ch := range []string{"voice", "sms"} {
		for _, tt := range []struct {
			name        string
			requests, c int
		}{
			{"sequential", 20, 1},
			{"concurrent", 40, 8},
		} {
			t.Run(ch+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, map[string]string{"RATE_LIMIT_PER_PHONE": "0"})
				watch := &warmupWatch{base: eightbyeight.NewHTTPClient().Transport, done: make(chan struct{})}
				h.opt.App.HTTPClient = &http.Client{Transport: watch}
				if _, err := h.f().get(t.Context()); err != nil {
					t.Fatal(err)
				}
				<-watch.done // the warm-up's HEADs are answered (the fake says 405)
				if got := h.fake.Conns(); got != 1 {
					t.Fatalf("the warm-up opened %d connections, want 1", got)
				}

				// Two runs, so that the pool is seen to stay as it grew. At
				// most c requests are in flight, so c connections serve
				// them; a burst may open a dial or two more: Go's Transport
				// dials for every request that finds no idle connection,
				// and a dial that loses the race to a freed connection
				// joins the pool.
				var afterFirst int
				for run := range 2 {
					var wg sync.WaitGroup
					next := make(chan int)
					for range tt.c {
						wg.Go(func() {
							for i := range next {
								r := sms("+14155550123", "482913")
								if ch == "voice" {
									r = voice("+14155550123", "482913", "en-US")
								}
								r.EventID = fmt.Sprintf("conn-%s-%s-%d-%03d", ch, tt.name, run, i)
								if got := oktatest.Decode(t, h.hook(r.Body())).Kind(); got != "SUCCESSFUL" {
									t.Errorf("request %d: answer %s", i, got)
								}
							}
						})
					}
					for i := range tt.requests {
						next <- i
					}
					close(next)
					wg.Wait()
					if run == 0 {
						afterFirst = h.fake.Conns()
					}
				}

				if got := h.fake.Count(); got != 2*tt.requests {
					t.Fatalf("8x8 received %d requests, want %d", got, 2*tt.requests)
				}
				conns := h.fake.Conns()
				t.Logf("%d+%d requests, %d at a time: %d connections after the first run, %d after the second", tt.requests, tt.requests, tt.c, afterFirst, conns)
				switch {
				case tt.c == 1 && conns != 1:
					t.Errorf("sequential requests: %d connections to 8x8, want the warm-up's alone", conns)
				case conns > 2*tt.c:
					// Typically c; a burst may add a dial or two (above),
					// never one per request.
					t.Errorf("%d connections to 8x8 for %d requests at a time: connections are not kept alive", conns, tt.c)
				}
			})
		}
	}
}
