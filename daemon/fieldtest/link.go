package fieldtest

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Profile is how a Link treats the bytes that cross it, alike in both
// directions. The zero Profile forwards at once.
type Profile struct {
	// Delay is the one-way delay: half the round trip.
	Delay time.Duration
	// Loss is the probability that a segment is lost: it then arrives RTO
	// late, and so does everything behind it on its connection.
	Loss float64
	// RTO is the retransmission timeout of a lost segment (the round trip
	// plus TCP's minimum of 200 ms when 0).
	RTO time.Duration
	// Rate is the link's capacity in bits per second in each direction,
	// shared by all its connections; 0 is unlimited.
	Rate int64
}

// Satellite is a VSAT link: a 600 ms round trip, 2 % loss, 128 kbit/s.
var Satellite = Profile{Delay: 300 * time.Millisecond, Loss: 0.02, Rate: 128_000}

const (
	// segmentBytes is the most the relay reads and forwards as one piece:
	// one TCP segment on Ethernet (MSS with timestamps).
	segmentBytes = 1448
	// headerBytes is a segment's IPv4 and TCP headers with timestamps.
	headerBytes = 52
	// queueSegments bounds what waits in each direction of a connection
	// (the modem's buffer): about 46 kB, 2.9 s at 128 kbit/s. A full
	// queue stops the relay reading, so the sender's TCP backs off.
	queueSegments = 32
	// dialTimeout bounds the relay's connection to the far side.
	dialTimeout = 5 * time.Second
)

// Counts are the bytes that crossed a Link.
type Counts struct {
	// Up is the payload from the post's side to HQ's, Down the reverse.
	Up, Down int64
	// Segments is the pieces forwarded, both directions.
	Segments int64
	// Connections is the connections accepted while the link was up.
	Connections int64
}

// Wire estimates the bytes on the wire: the payload, the headers of each
// segment, a pure ACK for every second segment (TCP's delayed ACK; the
// rest ride on the answers MQTT and HTTPS send anyway), and the handshake
// and close of each connection (SYN, SYN-ACK, ACK, FIN, ACK, FIN, ACK).
func (c Counts) Wire() int64 {
	return c.Up + c.Down + headerBytes*(c.Segments+c.Segments/2+7*c.Connections)
}

// WireMax is Wire with a pure ACK for every segment: the most the
// payload can cost.
func (c Counts) WireMax() int64 {
	return c.Up + c.Down + headerBytes*(2*c.Segments+7*c.Connections)
}

// Link relays TCP connections between a post's side (the addresses
// Forward returns) and HQ's side (the targets), as a satellite link
// would carry them. Cut starts an outage, Restore ends it.
type Link struct {
	mu     sync.Mutex
	prof   Profile
	rng    *rand.Rand
	down   bool
	closed bool
	conns  map[*relayed]struct{}
	lns    []net.Listener
	// busyUntil is when each direction (0 up, 1 down) has sent what it
	// was given so far, at Rate.
	busyUntil [2]time.Time

	up, downBytes, segments, connections atomic.Int64
	wg                                   sync.WaitGroup
}

// NewLink returns a link with the zero Profile; seed makes its losses
// repeatable.
func NewLink(seed int64) *Link {
	return &Link{rng: rand.New(rand.NewSource(seed)), conns: make(map[*relayed]struct{})}
}

// Forward listens on a loopback port and relays each connection made to
// it to target() (asked at each connection, so HQ may start after the
// link). It returns the address to give the post.
func (l *Link) Forward(target func() string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("link: listen: %w", err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		ln.Close()
		return "", errors.New("link: closed")
	}
	l.lns = append(l.lns, ln)
	l.mu.Unlock()
	l.wg.Go(func() { l.accept(ln, target) })
	return ln.Addr().String(), nil
}

// SetProfile changes how the link treats what crosses it from now on.
func (l *Link) SetProfile(p Profile) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prof = p
}

// Cut starts an outage: every connection across the link is reset and
// new ones are refused until Restore (a modem that has lost the
// satellite answers at once that the network is unreachable).
func (l *Link) Cut() {
	l.mu.Lock()
	l.down = true
	conns := make([]*relayed, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Restore ends an outage.
func (l *Link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = false
}

// Counts returns the bytes that crossed the link since it was made or
// last reset.
func (l *Link) Counts() Counts {
	return Counts{Up: l.up.Load(), Down: l.downBytes.Load(), Segments: l.segments.Load(), Connections: l.connections.Load()}
}

// ResetCounts zeroes the counts.
func (l *Link) ResetCounts() {
	l.up.Store(0)
	l.downBytes.Store(0)
	l.segments.Store(0)
	l.connections.Store(0)
}

// Close stops listening, resets every connection and waits for the
// relay's goroutines.
func (l *Link) Close() {
	l.mu.Lock()
	l.closed = true
	lns := l.lns
	l.lns = nil
	l.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	l.Cut()
	l.wg.Wait()
}

func (l *Link) accept(ln net.Listener, target func() string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		refuse := l.down || l.closed
		l.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		l.connections.Add(1)
		l.wg.Go(func() { l.relay(c, target()) })
	}
}

// relayed is one connection across the link: the post's end and HQ's.
type relayed struct {
	post net.Conn
	done chan struct{}
	once sync.Once

	mu sync.Mutex
	hq net.Conn // nil until dialled
}

func (r *relayed) close() {
	r.once.Do(func() {
		close(r.done)
		r.post.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.hq != nil {
			r.hq.Close()
		}
	})
}

// setHQ records HQ's end; false (and HQ's end closed) if the connection
// was closed meanwhile.
func (r *relayed) setHQ(hq net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		hq.Close()
		return false
	default:
		r.hq = hq
		return true
	}
}

// relay carries one connection: after the handshake's round trip it
// connects to HQ's side and forwards both directions.
func (l *Link) relay(post net.Conn, target string) {
	r := &relayed{post: post, done: make(chan struct{})}
	l.mu.Lock()
	if l.down || l.closed { // cut since it was accepted
		l.mu.Unlock()
		post.Close()
		return
	}
	l.conns[r] = struct{}{}
	rtt := 2 * l.prof.Delay
	l.mu.Unlock()
	defer func() {
		r.close()
		l.mu.Lock()
		delete(l.conns, r)
		l.mu.Unlock()
	}()
	// SYN and SYN-ACK: the first byte leaves a round trip after connect.
	if !r.wait(time.Now().Add(rtt)) {
		return
	}
	hq, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		return
	}
	if !r.setHQ(hq) {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { l.pipe(r, post, hq, 0) })
	wg.Go(func() { l.pipe(r, hq, post, 1) })
	wg.Wait()
}

// piece is what the relay read, and when it reaches the far end.
type piece struct {
	b  []byte
	at time.Time
}

// pipe forwards src to dst in direction dir (0: up, toward HQ) until
// either end closes or the link is cut.
func (l *Link) pipe(r *relayed, src, dst net.Conn, dir int) {
	q := make(chan piece, queueSegments)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		defer r.close()
		for p := range q {
			if !r.wait(p.at) {
				return
			}
			if _, err := dst.Write(p.b); err != nil {
				return
			}
			if dir == 0 {
				l.up.Add(int64(len(p.b)))
			} else {
				l.downBytes.Add(int64(len(p.b)))
			}
			l.segments.Add(1)
		}
	})
	defer close(q)
	var last time.Time
	for {
		buf := make([]byte, segmentBytes)
		n, err := src.Read(buf)
		if n > 0 {
			last = l.arrival(dir, n, last)
			select {
			case q <- piece{b: buf[:n], at: last}:
			case <-r.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// arrival is when n bytes read now in direction dir reach the far end:
// after the bytes queued before them have been sent at Rate, their own
// sending time, Delay, and a retransmission if lost; never before the
// piece ahead of them on the connection (after).
func (l *Link) arrival(dir, n int, after time.Time) time.Time {
	now := time.Now()
	l.mu.Lock()
	p := l.prof
	sent := now
	if p.Rate > 0 {
		start := l.busyUntil[dir]
		if start.Before(now) {
			start = now
		}
		sent = start.Add(time.Duration(int64(n) * 8 * int64(time.Second) / p.Rate))
		l.busyUntil[dir] = sent
	}
	at := sent.Add(p.Delay)
	if p.Loss > 0 && l.rng.Float64() < p.Loss {
		rto := p.RTO
		if rto <= 0 {
			rto = 2*p.Delay + 200*time.Millisecond
		}
		at = at.Add(rto)
	}
	l.mu.Unlock()
	if at.Before(after) {
		at = after
	}
	return at
}

// wait waits until t; false if the connection closed first.
func (r *relayed) wait(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-r.done:
			return false
		default:
			return true
		}
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-r.done:
		return false
	}
}
