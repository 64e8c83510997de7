package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

const testPost = "post-1"

func openStore(t testing.TB, dir string) *badgerstore.Store {
	t.Helper()
	return storetest.Open(t, dir)
}

func openOutbox(t testing.TB, s *badgerstore.Store, o outbox.Options) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.Open(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

func hitPayload(i int) []byte {
	return fmt.Appendf(nil, `{"list":"un","list_version":7,"entry_id":"QDi.%03d","score":0.97,"seq":%d}`, i%1000, i)
}

func put(t testing.TB, ob *outbox.Outbox, k protocol.RecordKind, payload string) outbox.Record {
	t.Helper()
	r, err := ob.Put(context.Background(), outbox.Record{Kind: k, Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hqSim is HQ as the tests need it: it stores each record id once
// (counting duplicates) and acks in batches from one goroutine.
type hqSim struct {
	tr   transport.Transport
	post string

	mu       sync.Mutex
	seen     map[string]int // id -> receipts
	order    []string       // ids in order of first receipt
	received int
	withhold func(id string, receipt int) bool // true: store, do not ack
	pending  []string
	kick     chan struct{}
	ackErrs  int // guarded by mu

	stop chan struct{}
	done chan struct{}
}

func newHQ(t testing.TB, tr transport.Transport, post string) *hqSim {
	t.Helper()
	h := &hqSim{tr: tr, post: post, seen: map[string]int{}, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := tr.Subscribe(protocol.HitsTopic(post), h.onHit); err != nil {
		t.Fatal(err)
	}
	go h.acker()
	t.Cleanup(h.close)
	return h
}

func (h *hqSim) close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
}

func (h *hqSim) onHit(m transport.Message) {
	r, err := protocol.DecodeRecord(m.Payload)
	if err != nil {
		panic(fmt.Sprintf("HQ got a bad message %q: %v", m.Payload, err))
	}
	h.mu.Lock()
	h.received++
	h.seen[r.ID]++
	n := h.seen[r.ID]
	if n == 1 {
		h.order = append(h.order, r.ID)
	}
	if h.withhold == nil || !h.withhold(r.ID, n) {
		h.pending = append(h.pending, r.ID)
	}
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *hqSim) acker() {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			return
		case <-h.kick:
		}
		for {
			h.mu.Lock()
			n := min(len(h.pending), 256)
			ids := append([]string(nil), h.pending[:n]...)
			h.pending = h.pending[n:]
			h.mu.Unlock()
			if len(ids) == 0 {
				break
			}
			b, _ := protocol.EncodeAck(ids)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := h.tr.Publish(ctx, protocol.AcksTopic(h.post), b, false)
			cancel()
			if err != nil {
				// Lost ack: the post resends, HQ acks again.
				h.mu.Lock()
				h.ackErrs++
				h.mu.Unlock()
			}
		}
	}
}

func (h *hqSim) setWithhold(f func(id string, receipt int) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.withhold = f
}

// stats returns unique ids stored, total receipts and duplicates.
func (h *hqSim) stats() (unique, received, dups int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen), h.received, h.received - len(h.seen)
}

func (h *hqSim) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[id]
}

func (h *hqSim) ordered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.order...)
}

// connect returns a fake client, closed at cleanup.
func connect(t testing.TB, b *fake.Broker, id string) *fake.Client {
	t.Helper()
	c, err := b.Connect(fake.Options{ClientID: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// running is a Publisher running in the background.
type running struct {
	p      *outbox.Publisher
	cancel context.CancelFunc
	errc   chan error
	once   sync.Once
}

func startPublisher(t testing.TB, ob *outbox.Outbox, tr transport.Transport, o outbox.PublisherOptions) *running {
	t.Helper()
	if o.Post == "" {
		o.Post = testPost
	}
	p, err := outbox.NewPublisher(ob, tr, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- p.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run, checks it returned nil and left no goroutine behind.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		testkit.Returned(t, r.errc, 10*time.Second, "Run")
		testkit.NoLeak(t, 0, time.Second, testkit.Matching("outbox.(*Publisher)."))
	})
}

func mustDepth(t testing.TB, ob *outbox.Outbox, want int) {
	t.Helper()
	if d := ob.Depth(); d.Records != want {
		t.Fatalf("outbox depth = %d, want %d (%+v)", d.Records, want, d)
	}
}

var errAbort = errors.New("abort")

func (h *hqSim) ackErrCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ackErrs
}
