package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Okta batches event hook deliveries; these bound a batch by size and by
// age, so the hook learns of a verification within a fraction of a second
// even when few arrive.
const (
	maxBatch   = 50
	flushEvery = 200 * time.Millisecond
)

// errEvents means the hook did not take every event POST.
var errEvents = errors.New("not every event POST was answered 2xx")

// postResult is how one event POST went, after Okta's one retry.
type postResult struct {
	status  int // final HTTP status; 0 when no answer arrived
	err     error
	retried bool
}

func (r postResult) ok() bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// why names a failure for the summary ("HTTP 401", "timeout").
func (r postResult) why() string {
	if r.err != nil {
		var ne net.Error
		switch {
		case errors.Is(r.err, context.Canceled):
			return "not sent (interrupted)"
		case errors.As(r.err, &ne) && ne.Timeout():
			return "timeout"
		}
		return "transport error"
	}
	return fmt.Sprintf("HTTP %d", r.status)
}

func (r postResult) String() string {
	s := ""
	if r.err != nil {
		s = "no answer: " + r.err.Error()
	} else {
		s = fmt.Sprintf("HTTP %d %s", r.status, http.StatusText(r.status))
	}
	if r.retried {
		s += " (after one retry, as Okta does)"
	}
	return s
}

// eventPoster plays Okta's event hook: it POSTs the events it is given to
// the hook's event route with the event hook's authentication header.
type eventPoster struct {
	client              *http.Client
	url, header, secret string
	now                 func() time.Time
}

// post delivers events in one POST. Like Okta, it retries once, with the
// same body (so the same eventId), on a timeout or a 5xx: deliveries are at
// least once.
func (p *eventPoster) post(ctx context.Context, events []logEvent) postResult {
	d, err := newDelivery(events, p.now())
	if err != nil {
		return postResult{err: err}
	}
	body, err := json.Marshal(d)
	if err != nil {
		return postResult{err: err}
	}
	r := p.do(ctx, body)
	if retryable(r) && ctx.Err() == nil {
		r = p.do(ctx, body)
		r.retried = true
	}
	return r
}

func retryable(r postResult) bool {
	if r.err != nil {
		var ne net.Error
		return errors.As(r.err, &ne) && ne.Timeout()
	}
	return r.status >= 500
}

func (p *eventPoster) do(ctx context.Context, body []byte) postResult {
	req, err := newOktaPost(ctx, p.url, body, p.header, p.secret)
	if err != nil {
		return postResult{err: err}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return postResult{err: err}
	}
	// Drain so the connection is reused; the answer's content is not ours
	// to judge (Okta reads only the status).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	return postResult{status: resp.StatusCode}
}

// queuedEvent is an event waiting for its batch, with the destination
// whose request it follows.
type queuedEvent struct {
	dest int
	ev   logEvent
}

// batcher collects the events of a load run and sends them in batches
// of up to maxBatch: a full batch at once, the rest at every tick and at
// the end. Requests never wait for it.
type batcher struct {
	poster *eventPoster

	mu    sync.Mutex
	queue []queuedEvent
	full  chan struct{} // a full batch is waiting

	closing chan struct{}
	done    chan struct{}
	stats   batchStats // written by run only, read after done
}

// batchStats is what the event POSTs of a run came to.
type batchStats struct {
	posts, retried, events int
	failed                 map[string]int // why → POSTs not answered 2xx
	// refused counts, per destination, the events in POSTs not answered
	// 2xx: verifications the hook never took.
	refused []int
}

func newBatcher(p *eventPoster, destinations int) *batcher {
	return &batcher{
		poster:  p,
		full:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		stats:   batchStats{failed: map[string]int{}, refused: make([]int, destinations)},
	}
}

func (b *batcher) add(q queuedEvent) {
	b.mu.Lock()
	b.queue = append(b.queue, q)
	n := len(b.queue)
	b.mu.Unlock()
	if n >= maxBatch {
		select {
		case b.full <- struct{}{}:
		default: // already signalled
		}
	}
}

// run sends batches until close; tick paces the partial ones.
func (b *batcher) run(ctx context.Context, tick <-chan time.Time) {
	defer close(b.done)
	for {
		select {
		case <-b.full:
			b.flush(ctx, false)
		case <-tick:
			b.flush(ctx, true)
		case <-b.closing:
			b.flush(ctx, true)
			return
		}
	}
}

// close sends what is left and waits for it.
func (b *batcher) close() batchStats {
	close(b.closing)
	<-b.done
	return b.stats
}

// flush posts every full batch waiting, and with all the partial one too.
func (b *batcher) flush(ctx context.Context, all bool) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		if n == 0 || (n < maxBatch && !all) {
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()

		events := make([]logEvent, n)
		for i, q := range batch {
			events[i] = q.ev
		}
		r := b.poster.post(ctx, events)
		b.stats.posts++
		b.stats.events += n
		if r.retried {
			b.stats.retried++
		}
		if !r.ok() {
			b.stats.failed[r.why()]++
			for _, q := range batch {
				b.stats.refused[q.dest]++
			}
		}
	}
}

// failures counts the POSTs not answered 2xx and says why, commonest
// first.
func (s batchStats) failures() (int, string) {
	total := 0
	for _, n := range s.failed {
		total += n
	}
	return total, byCount(s.failed)
}
