// Package fake is an in-memory MQTT-like broker and transport.Transport
// for tests of the sync code. Its one job is to behave like sync/mqtt
// against a real broker (QoS 1 acknowledgement, retained messages,
// subscriptions restored by the client on reconnect, last will on an
// abnormal disconnect, bounded non-blocking delivery) while letting a test
// cut connections, restart the broker or take it down, deterministically
// and without a network. It passes the same contract suite
// (transporttest) as sync/mqtt.
package fake

import (
	"context"
	"fmt"
	"sync"

	"github.com/watchpost/watchpost/sync/transport"
)

// Broker is the in-memory broker. Like a broker without persistence, a
// Restart forgets every session's subscriptions and every retained
// message; the clients restore their subscriptions when they reconnect.
type Broker struct {
	mu       sync.Mutex
	down     bool
	clients  map[string]*Client // by client id, while not closed
	retained map[string][]byte
}

// NewBroker returns a running broker.
func NewBroker() *Broker {
	return &Broker{clients: map[string]*Client{}, retained: map[string][]byte{}}
}

// Options configure a Client.
type Options struct {
	// ClientID must be unique among open clients of the broker.
	ClientID string
	// QueueLen is the per-subscription queue length
	// (transport.DefaultQueueLen when 0).
	QueueLen int
	// Will, if set, is published retained by the broker when the client's
	// connection is cut (not on Close).
	Will *transport.Message
}

// Client is a transport.Transport connected to a Broker.
type Client struct {
	b      *Broker
	opts   Options
	router *transport.Router

	// Guarded by b.mu.
	connected bool
	closed    bool
	subs      map[string]bool // broker-side session: filters the broker knows
}

var _ transport.Transport = (*Client)(nil)
var _ transport.DropCounter = (*Client)(nil)

// Connect returns a client; it is connected at once unless the broker is
// down, in which case it connects when the broker comes up.
func (b *Broker) Connect(opts Options) (*Client, error) {
	if opts.ClientID == "" {
		return nil, fmt.Errorf("fake connect: empty client id")
	}
	c := &Client{b: b, opts: opts, subs: map[string]bool{}}
	c.router = transport.NewRouter(opts.QueueLen, nil)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.clients[opts.ClientID]; dup {
		return nil, fmt.Errorf("fake connect %q: client id in use", opts.ClientID)
	}
	b.clients[opts.ClientID] = c
	if !b.down {
		b.connectLocked(c)
	}
	return c, nil
}

// connectLocked brings c's connection up and restores its subscriptions,
// as sync/mqtt does in its on-connect handler.
func (b *Broker) connectLocked(c *Client) {
	c.connected = true
	for _, f := range c.router.Filters() {
		b.subscribeLocked(c, f)
	}
}

func (b *Broker) subscribeLocked(c *Client, filter string) {
	c.subs[filter] = true
	for topic, payload := range b.retained {
		if transport.Match(filter, topic) {
			c.router.Deliver(transport.Message{Topic: topic, Payload: payload, Retained: true})
		}
	}
}

func (b *Broker) publishLocked(m transport.Message) {
	if m.Retained {
		if len(m.Payload) == 0 {
			delete(b.retained, m.Topic)
		} else {
			b.retained[m.Topic] = append([]byte(nil), m.Payload...)
		}
	}
	live := transport.Message{Topic: m.Topic, Payload: m.Payload}
	for _, c := range b.clients {
		if !c.connected {
			continue
		}
		for f := range c.subs {
			if transport.Match(f, m.Topic) {
				c.router.Deliver(live)
				break // one delivery per client, as MQTT brokers do for overlapping filters
			}
		}
	}
}

// dropLocked ends c's connection abnormally and publishes its will.
func (b *Broker) dropLocked(c *Client) {
	if !c.connected {
		return
	}
	c.connected = false
	if c.opts.Will != nil && !b.down {
		w := *c.opts.Will
		w.Retained = true
		b.publishLocked(w)
	}
}

// Cut drops the connection of the client with this id, as a link failure
// would: the broker publishes its will, then the client reconnects (at
// once, unless the broker is down) and restores its subscriptions.
func (b *Broker) Cut(clientID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.clients[clientID]
	if !ok {
		return
	}
	b.dropLocked(c)
	if !b.down {
		b.connectLocked(c)
	}
}

// Down takes the broker off the network: every connection drops (no wills:
// the broker is gone) and clients cannot connect until Up.
func (b *Broker) Down() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = true
	for _, c := range b.clients {
		c.connected = false
	}
}

// Up brings the broker back; clients reconnect and restore their
// subscriptions.
func (b *Broker) Up() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = false
	for _, c := range b.clients {
		if !c.connected {
			b.connectLocked(c)
		}
	}
}

// Restart is a broker restart without persistence: connections drop, the
// broker forgets sessions and retained messages, clients reconnect.
func (b *Broker) Restart() {
	b.mu.Lock()
	b.down = true
	for _, c := range b.clients {
		c.connected = false
		c.subs = map[string]bool{}
	}
	b.retained = map[string][]byte{}
	b.mu.Unlock()
	b.Up()
}

// Retained returns the retained payload for topic, if any.
func (b *Broker) Retained(topic string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.retained[topic]
	return append([]byte(nil), p...), ok
}

// Publish implements transport.Transport. The fake broker acknowledges
// synchronously.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	if err := transport.ValidTopic(topic); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %q: %w", topic, err)
	}
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	switch {
	case c.closed:
		return fmt.Errorf("publish %q: %w", topic, transport.ErrClosed)
	case !c.connected:
		return fmt.Errorf("publish %q: %w", topic, transport.ErrNotConnected)
	}
	c.b.publishLocked(transport.Message{Topic: topic, Payload: append([]byte(nil), payload...), Retained: retained})
	return nil
}

// Subscribe implements transport.Transport.
func (c *Client) Subscribe(filter string, h transport.Handler) error {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if c.closed {
		return fmt.Errorf("subscribe %q: %w", filter, transport.ErrClosed)
	}
	if err := c.router.Add(filter, h); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if c.connected {
		c.b.subscribeLocked(c, filter)
	}
	return nil
}

// Connected implements transport.Transport.
func (c *Client) Connected() bool {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	return c.connected && !c.closed
}

// Dropped implements transport.DropCounter.
func (c *Client) Dropped() uint64 { return c.router.Dropped() }

// Close implements transport.Transport: a clean disconnect (no will).
func (c *Client) Close(ctx context.Context) error {
	c.b.mu.Lock()
	if !c.closed {
		c.closed = true
		c.connected = false
		delete(c.b.clients, c.opts.ClientID)
	}
	c.b.mu.Unlock()
	return c.router.Close(ctx)
}
