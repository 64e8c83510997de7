package mqtt

import (
	"sync"
	"time"
)

// The reconnection back-off after a lost connection. paho's own back-off
// (1, 2, 4 … s up to its MaxReconnectInterval) has no jitter, so the
// client reduces it to nothing and waits in onReconnecting instead, which
// paho calls before every reconnection attempt.
const (
	// reconnectBase is the wait before the first attempt after a loss.
	reconnectBase = time.Second
	// reconnectJitter scales every wait by a uniform factor in
	// [1 − reconnectJitter, 1 + reconnectJitter).
	reconnectJitter = 0.2
	// stableConnection is how long a connection must have lasted for its
	// loss to start the back-off again from reconnectBase; a connection
	// that the broker drops at once (a duplicate client id, a refused
	// session) keeps growing the wait instead of retrying every second.
	stableConnection = time.Minute
)

// reconnectDelay is the wait before reconnection attempt n (0 is the
// first after a loss): reconnectBase doubled n times, capped at limit, then
// jittered by u, a uniform draw from [0, 1).
func reconnectDelay(n int, limit time.Duration, u float64) time.Duration {
	d := min(reconnectBase, limit)
	for i := 0; i < n && d < limit; i++ {
		d = min(2*d, limit)
	}
	return time.Duration(float64(d) * (1 + reconnectJitter*(2*u-1)))
}

// backoff counts reconnection attempts across paho's calls.
type backoff struct {
	mu          sync.Mutex
	attempt     int       // attempts since the back-off last started
	connectedAt time.Time // when the connection now up (or just lost) was made; zero while reconnecting
}

// connected records a connection made at now.
func (b *backoff) connected(now time.Time) {
	b.mu.Lock()
	b.connectedAt = now
	b.mu.Unlock()
}

// next returns the wait before the next attempt at now, jittered by u.
func (b *backoff) next(now time.Time, limit time.Duration, u float64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.connectedAt.IsZero() {
		// The first attempt after a loss.
		if now.Sub(b.connectedAt) >= stableConnection {
			b.attempt = 0
		}
		b.connectedAt = time.Time{}
	}
	d := reconnectDelay(b.attempt, limit, u)
	b.attempt++
	return d
}
