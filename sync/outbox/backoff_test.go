package outbox

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	minD, maxD := 500*time.Millisecond, 30*time.Second
	for attempt := 1; attempt < 40; attempt++ {
		for _, j := range []float64{0, 0.5, 0.999} {
			d := backoff(attempt, minD, maxD, j)
			full := min(minD<<min(attempt-1, 20), maxD)
			if d < full/2 || d >= full {
				t.Fatalf("backoff(%d, j=%v) = %v, want in [%v, %v)", attempt, j, d, full/2, full)
			}
		}
	}
}
