package transport

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/watchpost/watchpost/engine/option"
)

// Router holds a transport's subscriptions and delivers incoming messages
// to their handlers through one bounded queue and one goroutine per
// subscription. Deliver never blocks, so it is safe to call from a
// network client's receive path. The zero value is not usable; use
// NewRouter.
type Router struct {
	queueLen int
	onDrop   func(filter, topic string, dropped uint64)

	mu     sync.RWMutex
	subs   []*routerSub
	closed bool

	stop     chan struct{}
	wg       sync.WaitGroup
	dropped  atomic.Uint64
	unrouted atomic.Uint64
}

type routerSub struct {
	filter string
	ch     chan Message
}

// NewRouter returns a Router whose subscription queues hold queueLen
// messages (DefaultQueueLen if queueLen <= 0). onDrop, if not nil, is
// called (without locks held, on the delivering goroutine) each time a
// message is dropped because a queue is full, with the running total.
func NewRouter(queueLen int, onDrop func(filter, topic string, dropped uint64)) *Router {
	queueLen = option.Positive(queueLen, DefaultQueueLen)
	return &Router{queueLen: queueLen, onDrop: onDrop, stop: make(chan struct{})}
}

// Add registers h for filter and starts the subscription's goroutine.
func (r *Router) Add(filter string, h Handler) error {
	if err := ValidFilter(filter); err != nil {
		return err
	}
	if h == nil {
		return fmt.Errorf("subscribe %q: nil handler", filter)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	for _, s := range r.subs {
		if s.filter == filter {
			return fmt.Errorf("subscribe %q: %w", filter, ErrDuplicateSubscription)
		}
	}
	s := &routerSub{filter: filter, ch: make(chan Message, r.queueLen)}
	r.subs = append(r.subs, s)
	r.wg.Add(1)
	go r.drain(s.ch, h)
	return nil
}

func (r *Router) drain(ch <-chan Message, h Handler) {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case m := <-ch:
			select {
			case <-r.stop: // Close wins over queued work.
				return
			default:
			}
			h(m)
		}
	}
}

// Filters returns the subscribed filters in subscription order.
func (r *Router) Filters() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, len(r.subs))
	for i, s := range r.subs {
		out[i] = s.filter
	}
	return out
}

// Deliver queues a copy of m for every subscription whose filter matches
// m.Topic, without blocking, and returns how many matched. A full queue
// drops the message for that subscription. After Close it does nothing.
func (r *Router) Deliver(m Message) int {
	type drop struct{ filter string }
	var drops []drop
	matched := 0
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return 0
	}
	for _, s := range r.subs {
		if !Match(s.filter, m.Topic) {
			continue
		}
		matched++
		c := m
		c.Payload = append([]byte(nil), m.Payload...)
		select {
		case s.ch <- c:
		default:
			drops = append(drops, drop{s.filter})
		}
	}
	r.mu.RUnlock()
	if matched == 0 {
		r.unrouted.Add(1)
	}
	for _, d := range drops {
		n := r.dropped.Add(1)
		if r.onDrop != nil {
			r.onDrop(d.filter, m.Topic, n)
		}
	}
	return matched
}

// Dropped returns how many messages were dropped on full queues.
func (r *Router) Dropped() uint64 { return r.dropped.Load() }

// Unrouted returns how many delivered messages matched no subscription
// (e.g. queued by a persistent session for a filter no longer in use).
func (r *Router) Unrouted() uint64 { return r.unrouted.Load() }

// Close stops accepting messages, discards queued ones and waits for the
// subscription goroutines to return. A handler that is blocked keeps its
// goroutine alive until it returns; Close then reports ctx's error. Close
// is idempotent.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.stop)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop subscription handlers: %w", ctx.Err())
	}
}
