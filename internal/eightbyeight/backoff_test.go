package eightbyeight

import (
	"testing"
	"time"
)

// The wait between background attempts doubles from retryBackoff, is
// capped at maxRetryBackoff, and is jittered within its upper half.
func TestBackoff(t *testing.T) {
	for attempt := 1; attempt <= 100; attempt++ {
		want := maxRetryBackoff
		if attempt <= 6 {
			want = min(retryBackoff<<(attempt-1), want)
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoffFor(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: wait %v, want within [%v, %v]", attempt, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: 50 waits all %v: no jitter", attempt, seen)
		}
	}
}
