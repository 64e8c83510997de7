// Package transporttest is the contract suite every transport.Transport
// implementation runs (sync/fake, sync/mqtt against mochi-mqtt and
// Mosquitto). Its one job is to pin down, with the same tests for every
// implementation, the semantics documented in package transport.
package transporttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/transport"
)

// Harness connects the suite to one implementation and its broker. The
// suite runs its subtests one after another, because Restart and Down
// affect every client of the broker.
type Harness struct {
	// New returns a started transport with a client id derived from name
	// (unique per call). The suite closes it; New should also register a
	// t.Cleanup that closes it.
	New func(t *testing.T, name string) transport.Transport
	// Restart restarts the broker: every connection drops and the broker
	// may forget sessions, subscriptions and retained messages. It returns
	// once the broker accepts connections again.
	Restart func(t *testing.T)
	// Down makes the broker unreachable until up is called.
	Down func(t *testing.T) (up func())
	// Cut drops tr's network connection without an MQTT DISCONNECT, as a
	// link failure would.
	Cut func(t *testing.T, tr transport.Transport)
	// QueueLen is the per-subscription queue length of transports from New.
	QueueLen int
}

// Timeout bounds every wait in the suite.
const Timeout = 10 * time.Second

// Run runs the contract suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"Wildcards", testWildcards},
		{"RetainedToLateSubscriber", testRetained},
		{"PayloadIsCopied", testPayloadCopied},
		{"InvalidArguments", testInvalid},
		{"ResubscribeAfterCut", testResubscribeAfterCut},
		{"ResubscribeAfterBrokerRestart", testResubscribeAfterRestart},
		{"BlockingHandlerDoesNotStall", testBlockingHandler},
		{"PublishWhileDownFailsPromptly", testPublishWhileDown},
		{"PublishCancelledContext", testPublishCancelled},
		{"PublishAfterClose", testPublishAfterClose},
		{"CloseIdempotentNoLeak", testCloseNoLeak},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// Topic returns a topic prefix unique to this test run, so tests sharing
// a broker (and its retained messages) never see each other's traffic. It
// lies outside the protocol's topics: the suite tests the transport, not
// the wire. It has four levels, as a post's topics have (a test
// subscribes +/+/+/+).
func Topic(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "-", "+", "-", "#", "-", " ", "-").Replace(t.Name())
	return "transporttest/suite/run/" + name + "-" + hex.EncodeToString(b[:])
}

// Inbox is a Handler that records messages.
type Inbox struct {
	mu   sync.Mutex
	msgs []transport.Message
}

// Handle records m.
func (in *Inbox) Handle(m transport.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
}

// Messages returns a copy of what was received.
func (in *Inbox) Messages() []transport.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]transport.Message(nil), in.msgs...)
}

// Len returns how many messages were received.
func (in *Inbox) Len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

// Has reports whether a message with this topic and payload was received.
func (in *Inbox) Has(topic string, payload []byte) bool {
	for _, m := range in.Messages() {
		if m.Topic == topic && bytes.Equal(m.Payload, payload) {
			return true
		}
	}
	return false
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func waitConnected(t *testing.T, trs ...transport.Transport) {
	t.Helper()
	for i, tr := range trs {
		testkit.CheckFor(t, Timeout, fmt.Sprintf("transport %d connected", i), testkit.True(tr.Connected))
	}
}

func mustPublish(t *testing.T, tr transport.Transport, topic string, payload []byte, retained bool) {
	t.Helper()
	if err := tr.Publish(ctxT(t), topic, payload, retained); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

func closeT(t *testing.T, tr transport.Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

func testRoundTrip(t *testing.T, h Harness) {
	a, b := h.New(t, "a"), h.New(t, "b")
	defer closeT(t, a)
	defer closeT(t, b)
	topic := Topic(t) + "/x"
	var in Inbox
	if err := a.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)
	payloads := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte{0, 0xff}, 40000)}
	for _, p := range payloads {
		mustPublish(t, b, topic, p, false)
	}
	testkit.CheckFor(t, Timeout, "all payloads", testkit.True(func() bool { return in.Len() >= len(payloads) }))
	for _, p := range payloads {
		if !in.Has(topic, p) {
			t.Errorf("payload of %d bytes not received", len(p))
		}
	}
	for _, m := range in.Messages() {
		if m.Retained {
			t.Errorf("live message delivered with Retained=true")
		}
	}
	// A client receives its own publications on its subscriptions.
	mustPublish(t, a, topic, []byte("self"), false)
	testkit.CheckFor(t, Timeout, "own message", testkit.True(func() bool { return in.Has(topic, []byte("self")) }))
}

func testWildcards(t *testing.T, h Harness) {
	a, b := h.New(t, "a"), h.New(t, "b")
	defer closeT(t, a)
	defer closeT(t, b)
	base := Topic(t)
	var plus, hash Inbox
	if err := a.Subscribe(base+"/lists/+/delta", plus.Handle); err != nil {
		t.Fatal(err)
	}
	if err := a.Subscribe(base+"/lists/#", hash.Handle); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)
	mustPublish(t, b, base+"/lists/un/delta", []byte("d"), false)
	mustPublish(t, b, base+"/lists/un/head", []byte("h"), false)
	mustPublish(t, b, base+"/lists/end", []byte("end"), false)
	testkit.CheckFor(t, Timeout, "three messages on #", testkit.True(func() bool { return hash.Len() == 3 }))
	testkit.CheckFor(t, Timeout, "delta on +", testkit.True(func() bool { return plus.Has(base+"/lists/un/delta", []byte("d")) }))
	// The "#" inbox saw "end", which was published after the head: by
	// then any wrong delivery to "+" would have been queued. The delta may
	// come twice (QoS 1 is at least once; a full test run saw it), but
	// nothing else may come.
	for _, m := range plus.Messages() {
		if m.Topic != base+"/lists/un/delta" {
			t.Errorf("+ filter received %s: %v", m.Topic, plus.Messages())
		}
	}
}

func testRetained(t *testing.T, h Harness) {
	a, b := h.New(t, "a"), h.New(t, "b")
	defer closeT(t, a)
	defer closeT(t, b)
	topic := Topic(t) + "/head"
	waitConnected(t, b)
	mustPublish(t, b, topic, []byte("head v7"), true)
	mustPublish(t, b, topic, []byte("head v8"), true)
	var in Inbox
	if err := a.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, Timeout, "retained head", testkit.True(func() bool { return in.Len() >= 1 }))
	m := in.Messages()[0]
	if string(m.Payload) != "head v8" || !m.Retained {
		t.Errorf("late subscriber got %q retained=%v, want the last retained %q with retained=true", m.Payload, m.Retained, "head v8")
	}
	// An empty retained publish clears it: a new subscriber gets nothing
	// retained, then the live message that follows.
	mustPublish(t, b, topic, nil, true)
	var late Inbox
	c := h.New(t, "c")
	defer closeT(t, c)
	if err := c.Subscribe(topic, late.Handle); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, c)
	mustPublish(t, b, topic, []byte("live"), false)
	testkit.CheckFor(t, Timeout, "live after clear", testkit.True(func() bool { return late.Has(topic, []byte("live")) }))
	for _, m := range late.Messages() {
		if m.Retained {
			t.Errorf("cleared retained message still delivered: %q", m.Payload)
		}
	}
}

func testPayloadCopied(t *testing.T, h Harness) {
	a, b := h.New(t, "a"), h.New(t, "b")
	defer closeT(t, a)
	defer closeT(t, b)
	topic := Topic(t)
	var mu sync.Mutex
	var got [][]byte
	for _, f := range []string{topic, "+/+/+/+"} { // two subscriptions see the same message
		if err := a.Subscribe(f, func(m transport.Message) {
			mu.Lock()
			got = append(got, m.Payload)
			mu.Unlock()
			m.Payload[0] = 'X' // a handler may scribble on its copy
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitConnected(t, a, b)
	buf := []byte("original")
	mustPublish(t, b, topic, buf, false)
	copy(buf, "mutated!") // the caller may reuse its buffer after Publish
	testkit.CheckFor(t, Timeout, "two deliveries", testkit.True(func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 }))
	mu.Lock()
	defer mu.Unlock()
	for _, p := range got {
		if string(p[1:]) != "riginal" {
			t.Errorf("payload %q: shared with the publisher or another handler", p)
		}
	}
}

func testInvalid(t *testing.T, h Harness) {
	a := h.New(t, "a")
	defer closeT(t, a)
	ctx := ctxT(t)
	for _, topic := range []string{"", "a/+/b", "a/#", "a\x00b"} {
		if err := a.Publish(ctx, topic, nil, false); !errors.Is(err, transport.ErrInvalidTopic) {
			t.Errorf("Publish(%q) = %v, want ErrInvalidTopic", topic, err)
		}
	}
	for _, f := range []string{"", "a/#/b", "a/b#", "a+/b"} {
		if err := a.Subscribe(f, func(transport.Message) {}); !errors.Is(err, transport.ErrInvalidTopic) {
			t.Errorf("Subscribe(%q) = %v, want ErrInvalidTopic", f, err)
		}
	}
	f := Topic(t) + "/#"
	if err := a.Subscribe(f, func(transport.Message) {}); err != nil {
		t.Fatal(err)
	}
	if err := a.Subscribe(f, func(transport.Message) {}); !errors.Is(err, transport.ErrDuplicateSubscription) {
		t.Errorf("second Subscribe(%q) = %v, want ErrDuplicateSubscription", f, err)
	}
}

// deliveredAfter publishes from b until a's inbox holds a message with
// the payload: after a reconnect, "connected" may precede the broker
// having processed the restored subscription on some brokers, and a
// message published in between is legitimately lost (QoS is per hop).
func deliveredAfter(t *testing.T, b transport.Transport, in *Inbox, topic, what string) {
	t.Helper()
	payload := []byte(what)
	deadline := time.Now().Add(Timeout)
	for !in.Has(topic, payload) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no delivery within %v", what, Timeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = b.Publish(ctx, topic, payload, false) // errors while reconnecting are expected
		cancel()
		for i := 0; i < 10 && !in.Has(topic, payload); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// subscribed returns two connected transports, a subscribed to a fresh
// topic and one message from b already delivered to it; both are closed
// when the test ends.
func subscribed(t *testing.T, h Harness) (a, b transport.Transport, topic string, in *Inbox) {
	t.Helper()
	a, b = h.New(t, "a"), h.New(t, "b")
	t.Cleanup(func() { closeT(t, a); closeT(t, b) })
	topic, in = Topic(t), new(Inbox)
	if err := a.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)
	deliveredAfter(t, b, in, topic, "before")
	return a, b, topic, in
}

func testResubscribeAfterCut(t *testing.T, h Harness) {
	a, b, topic, in := subscribed(t, h)
	for i := 0; i < 2; i++ {
		h.Cut(t, a)
		waitConnected(t, a)
		deliveredAfter(t, b, in, topic, fmt.Sprintf("after cut %d", i))
	}
}

func testResubscribeAfterRestart(t *testing.T, h Harness) {
	a, b, topic, in := subscribed(t, h)
	h.Restart(t)
	// The broker forgot the subscription; only the client can restore it.
	testkit.CheckFor(t, Timeout, "a reconnected", testkit.True(a.Connected))
	testkit.CheckFor(t, Timeout, "b reconnected", testkit.True(b.Connected))
	deliveredAfter(t, b, in, topic, "after restart")

	// A subscription added while connected after the restart works too.
	var in2 Inbox
	if err := a.Subscribe(topic+"/new", in2.Handle); err != nil {
		t.Fatal(err)
	}
	deliveredAfter(t, b, &in2, topic+"/new", "new subscription")
}

func testBlockingHandler(t *testing.T, h Harness) {
	a, b := h.New(t, "a"), h.New(t, "b")
	defer closeT(t, a)
	defer closeT(t, b)
	base := Topic(t)
	slow, fast := base+"/slow", base+"/fast"
	release := make(chan struct{})
	var released sync.Once
	unblock := func() { released.Do(func() { close(release) }) }
	defer unblock()
	var slowCount atomic.Int64
	if err := a.Subscribe(slow, func(transport.Message) {
		<-release
		slowCount.Add(1)
	}); err != nil {
		t.Fatal(err)
	}
	var fastIn Inbox
	if err := a.Subscribe(fast, fastIn.Handle); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)

	// More than the queue holds; every Publish must still be acknowledged
	// promptly: the receiving client keeps acknowledging.
	extra := 20
	total := h.QueueLen + 1 + extra
	for i := 0; i < total; i++ {
		mustPublish(t, b, slow, []byte(fmt.Sprint(i)), false)
	}
	mustPublish(t, b, fast, []byte("fast"), false)
	testkit.CheckFor(t, Timeout, "fast message while the slow handler blocks", testkit.True(func() bool { return fastIn.Has(fast, []byte("fast")) }))
	// The blocked client can still publish and receive.
	mustPublish(t, a, fast, []byte("from a"), false)
	testkit.CheckFor(t, Timeout, "a's own message", testkit.True(func() bool { return fastIn.Has(fast, []byte("from a")) }))

	dc, ok := a.(transport.DropCounter)
	if !ok {
		t.Fatalf("%T does not implement transport.DropCounter", a)
	}
	// The handler holds one message (or none yet), the queue QueueLen;
	// the rest are dropped and counted.
	testkit.CheckFor(t, Timeout, fmt.Sprintf("at least %d drops", extra), testkit.True(func() bool { return dc.Dropped() >= uint64(extra) }))
	dropped := dc.Dropped()
	unblock()
	want := int64(total) - int64(dropped)
	testkit.CheckFor(t, Timeout, fmt.Sprintf("%d slow messages handled", want), testkit.True(func() bool { return slowCount.Load() == want }))
	if want < int64(h.QueueLen) || want > int64(h.QueueLen)+1 {
		t.Errorf("handled %d of %d with %d dropped; want QueueLen (%d) or QueueLen+1", want, total, dropped, h.QueueLen)
	}
}

func testPublishWhileDown(t *testing.T, h Harness) {
	a := h.New(t, "a")
	defer closeT(t, a)
	topic := Topic(t)
	waitConnected(t, a)
	up := h.Down(t)
	upped := false
	defer func() {
		if !upped {
			up()
		}
	}()
	testkit.CheckFor(t, Timeout, "a sees the link down", testkit.True(func() bool { return !a.Connected() }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := a.Publish(ctx, topic, []byte("x"), false)
	if err == nil {
		t.Fatal("Publish succeeded with the broker down")
	}
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("Publish took %v with a 2 s deadline", el)
	}
	t.Logf("publish while down: %v", err)
	up()
	upped = true
	waitConnected(t, a)
	var in Inbox
	if err := a.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	deliveredAfter(t, a, &in, topic, "after up")
}

func testPublishCancelled(t *testing.T, h Harness) {
	a := h.New(t, "a")
	defer closeT(t, a)
	waitConnected(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Publish(ctx, Topic(t), []byte("x"), false); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func testPublishAfterClose(t *testing.T, h Harness) {
	a := h.New(t, "a")
	waitConnected(t, a)
	closeT(t, a)
	done := make(chan error, 1)
	go func() { done <- a.Publish(context.Background(), Topic(t), []byte("x"), false) }()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Publish after Close = %v, want ErrClosed", err)
		}
	case <-time.After(Timeout):
		t.Fatal("Publish after Close hangs")
	}
	if err := a.Subscribe(Topic(t), func(transport.Message) {}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if a.Connected() {
		t.Error("Connected() after Close")
	}
}

func testCloseNoLeak(t *testing.T, h Harness) {
	baseline := testkit.Goroutines()
	a, b := h.New(t, "a"), h.New(t, "b")
	topic := Topic(t)
	var in Inbox
	if err := a.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	if err := a.Subscribe(topic+"/2", in.Handle); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)
	deliveredAfter(t, b, &in, topic, "x")
	// Concurrent and repeated Close calls all succeed.
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); closeT(t, a) }()
	}
	wg.Wait()
	closeT(t, a)
	closeT(t, b)
	closeT(t, b)
	testkit.NoLeak(t, baseline, Timeout)
}
