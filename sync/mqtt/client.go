// Package mqtt implements transport.Transport with paho.mqtt.golang (MQTT
// 3.1.1). Its one job is to keep a post's link to the HQ broker usable
// over a thin, intermittent link, and to hide paho's pitfalls (listed
// below) behind the sync code's own interface.
//
// # Choices, and why
//
//   - Persistent session (CleanSession=false) with a stable client id
//     bound to the post (PostClientID): the broker queues QoS 1 deltas
//     and acks for the post while it is offline.
//   - Subscriptions are re-sent on every connect from the client's own
//     list (OnConnect), never trusted to the session alone: a broker
//     restart without persistence, an expired session or a new broker
//     forgets them. Connected() is true only once they have been sent
//     and granted: a SUBACK code that is neither a QoS nor 0x80 (mochi's
//     0x91 "packet identifier in use", for a restarted process whose
//     first packet ids equal those of messages the session holds in
//     flight) is retried, or the broker never sends the retained
//     messages of those filters.
//   - ConnectRetry and AutoReconnect: a post that boots offline keeps
//     trying (AutoReconnect alone needs a first connect), every
//     ConnectRetryInterval. After a loss the waits between attempts are
//     this package's (onReconnecting): 1 s doubling up to
//     MaxReconnectInterval, each jittered ±20 %, so that posts that lost
//     HQ's broker together do not reconnect in lockstep. paho's own
//     back-off has no jitter; it is cut to a nanosecond.
//   - OrderMatters=false and a DefaultPublishHandler that only copies
//     the message into the subscription's bounded queue
//     (transport.Router): paho's receive path never blocks, every
//     message is acknowledged, including ones queued by the session
//     before a Subscribe call (a blocking handler stalls keep-alive and
//     acks; an unmatched message of a persistent session is never
//     acked). Full queue: the message is dropped, counted and logged.
//     Register subscriptions before Start so messages the session holds
//     find their handler.
//   - Publish is QoS 1 and fails at once while the connection is down,
//     so paho's in-flight store holds only messages handed over while
//     connected (at most the caller's window). It waits for the PUBACK
//     on the token's Done channel together with ctx, never token.Wait()
//     (paho's token.Wait can hang forever). A PUBACK is not delivery to
//     HQ (MQTT 3.1.1 PUBACKs a publish its ACL dropped): the outbox
//     waits for HQ's application ack.
//   - paho's in-flight store is in memory (paho's MemoryStore, holding
//     private copies of packets; see copyStore). Durability is owned by
//     the Badger outbox, which resends with the same hit id until HQ
//     acks; paho's FileStore does not fsync and would only add a
//     second, weaker copy. What a restart loses from memory is at most
//     the in-flight window, which the outbox resends.
//   - The will (Options.Presence.Offline) is published retained with
//     QoS 1 by the broker when the connection dies without a
//     DISCONNECT; Close publishes it itself, because a clean DISCONNECT
//     discards the will.
//   - Connections are opened by this package (tcp, or TLS with the
//     configured tls.Config) with a context that Close cancels, so
//     Close never waits for a dial. TLS client certificates can be
//     renewed on disk without a restart (TLSConfig).
//   - MaxResumePubInFlight (which stops a resume from flooding the link
//     with every stored message) is left unset: in paho v1.5.1 its
//     semaphore goroutine in resume() reads c.stop while a reconnect
//     replaces it (client.go:1040 vs 610; the race detector reports it;
//     same family as paho issues #362 and #703). It is not needed here:
//     Publish refuses while disconnected, so paho's store holds at most
//     the caller's in-flight window and a resume cannot flood the link.
//   - Keep-alive and timeouts default to values for a 600 ms RTT lossy
//     link; see the Default constants.
//
// paho's internal retry sleep before a first connection cannot be
// interrupted: after Close, a paho goroutine that was waiting to retry
// it exits when its sleep ends (at most ConnectRetryInterval). The waits
// between reconnection attempts end at Close.
package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/safeurl"
	"github.com/watchpost/watchpost/sync/transport"
)

// Client is a transport.Transport over paho.mqtt.golang.
type Client struct {
	opts   Options
	log    *slog.Logger
	cli    paho.Client
	router *transport.Router

	dialCtx    context.Context
	dialCancel context.CancelFunc

	mu        sync.Mutex // guards closed, started, wg.Add
	closed    bool
	started   bool
	closing   chan struct{} // closed when Close starts
	closeDone chan struct{} // closed when Close has finished
	closeErr  error
	wg        sync.WaitGroup // this package's goroutines

	subMu sync.Mutex  // orders Subscribe against the on-connect resubscription
	ready atomic.Bool // connection open and subscriptions sent

	connMu sync.Mutex
	conn   net.Conn // the current network connection, for Cut

	failures atomic.Int64 // failed attempts since the last connect

	clock   clock.Clock
	backoff backoff // the waits between reconnection attempts
}

var _ transport.Transport = (*Client)(nil)
var _ transport.DropCounter = (*Client)(nil)

// New validates opts and returns a client that is not connected yet:
// subscribe, then call Start.
func New(opts Options) (*Client, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(logkey.Component, "mqtt", logkey.ClientID, opts.ClientID)
	c := &Client{
		opts:      opts,
		log:       log,
		closing:   make(chan struct{}),
		closeDone: make(chan struct{}),
		clock:     clock.OrSystem(opts.Clock),
	}
	c.dialCtx, c.dialCancel = context.WithCancel(context.Background())
	c.router = transport.NewRouter(opts.QueueLen, func(filter, topic string, total uint64) {
		if total == 1 || total%100 == 0 {
			c.log.Warn("subscription queue full, message dropped", logkey.Filter, filter, logkey.Topic, topic, logkey.Count, total)
		}
	})

	po := paho.NewClientOptions()
	for _, b := range opts.Brokers {
		po.AddBroker(b)
	}
	po.SetClientID(opts.ClientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetProtocolVersion(4). // MQTT 3.1.1, no silent fallback to 3.1
		SetCleanSession(false).
		SetResumeSubs(false). // subscriptions are re-sent in onConnect instead
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(opts.ConnectRetryInterval).
		SetMaxReconnectInterval(time.Nanosecond). // the back-off is onReconnecting's
		SetReconnectingHandler(c.onReconnecting).
		SetKeepAlive(opts.KeepAlive).
		SetPingTimeout(opts.PingTimeout).
		SetConnectTimeout(opts.ConnectTimeout).
		SetWriteTimeout(opts.WriteTimeout).
		SetStore(newCopyStore()).
		SetTLSConfig(opts.TLS).
		SetDefaultPublishHandler(c.onMessage).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(c.onLost).
		SetConnectionNotificationHandler(c.onNotification).
		SetCustomOpenConnectionFn(c.dial)
	if p := opts.Presence; p != nil {
		po.SetBinaryWill(p.Topic, p.Offline, 1, true)
	}
	c.cli = paho.NewClient(po)
	return c, nil
}

// Start begins connecting in the background; it does not wait for a
// connection (watch Connected or Options.OnState).
func (c *Client) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return fmt.Errorf("start: %w", transport.ErrClosed)
	case c.started:
		return errors.New("start: already started")
	}
	c.started = true
	c.log.Info("connecting", logkey.Options, c.opts)
	// With ConnectRetry the token completes only once connected (or on
	// Close); nothing waits for it.
	c.cli.Connect()
	return nil
}

// goTracked runs fn on a goroutine that Close waits for; false if closed.
func (c *Client) goTracked(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// dial opens the network connection for paho (SetCustomOpenConnectionFn).
func (c *Client) dial(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	c.ready.Store(false) // a new connection has no subscriptions yet
	ctx, cancel := context.WithTimeout(c.dialCtx, c.opts.ConnectTimeout)
	defer cancel()
	nd := &net.Dialer{}
	var conn net.Conn
	var err error
	switch {
	case isTLSScheme(u.Scheme):
		td := &tls.Dialer{NetDialer: nd, Config: c.opts.TLS}
		conn, err = td.DialContext(ctx, "tcp", u.Host)
	case isTCPScheme(u.Scheme):
		conn, err = nd.DialContext(ctx, "tcp", u.Host)
	default:
		err = fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", safeurl.Of(u), err)
	}
	c.connMu.Lock()
	c.conn = conn
	c.connMu.Unlock()
	return conn, nil
}

// cut ends the current network connection without a DISCONNECT, as a
// link failure would (tests). It shuts the TCP connection down for
// reading, so paho's reader sees EOF: closing the socket instead would
// make paho treat the error as its own close and ignore it (net.go,
// closedNetConnErrorText).
func (c *Client) cut() {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	conn := c.conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.CloseRead()
	}
}

func (c *Client) state(connected bool, err error) {
	if c.opts.OnState != nil {
		c.opts.OnState(State{Connected: connected, Err: err, At: time.Now()})
	}
}

func (c *Client) onNotification(_ paho.Client, n paho.ConnectionNotification) {
	if f, ok := n.(paho.ConnectionNotificationFailed); ok {
		k := c.failures.Add(1)
		// The first failure after a connection (or at boot) is news;
		// the retries that follow are not.
		lvl := slog.LevelDebug
		if k == 1 {
			lvl = slog.LevelWarn
		}
		c.log.Log(context.Background(), lvl, "connection attempt failed", logkey.Error, f.Reason, logkey.Count, k)
		c.state(false, f.Reason)
	}
}

// onReconnecting runs on paho's reconnect goroutine before every
// reconnection attempt and waits the back-off, or until Close.
func (c *Client) onReconnecting(paho.Client, *paho.ClientOptions) {
	d := c.backoff.next(c.clock.Now(), c.opts.MaxReconnectInterval, rand.Float64())
	c.log.Debug("reconnecting", logkey.Wait, d)
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
	case <-c.closing:
	}
}

func (c *Client) onLost(_ paho.Client, err error) {
	c.ready.Store(false)
	c.log.Warn("connection lost", logkey.Error, err)
	c.state(false, err)
}

// onConnect runs on a paho goroutine after every (re)connect: restore
// the subscriptions, announce presence, then report ready.
func (c *Client) onConnect(paho.Client) {
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	if closed {
		return
	}
	defer c.wg.Done()
	c.failures.Store(0)
	c.backoff.connected(c.clock.Now())

	sent := map[string]bool{}
	for {
		var todo []string
		for _, f := range c.router.Filters() {
			if !sent[f] {
				todo = append(todo, f)
			}
		}
		if len(todo) > 0 {
			if err := c.resubscribe(todo); err != nil {
				// The connection is probably going down; the next
				// connect tries again.
				c.log.Warn("restore subscriptions", logkey.Error, err)
				return
			}
			for _, f := range todo {
				sent[f] = true
			}
		}
		c.subMu.Lock()
		if len(c.router.Filters()) == len(sent) {
			c.ready.Store(c.cli.IsConnectionOpen())
			c.subMu.Unlock()
			break
		}
		c.subMu.Unlock() // a Subscribe raced with us: send it too
	}
	if p := c.opts.Presence; p != nil && len(p.Online) > 0 {
		if err := c.await(context.Background(), c.cli.Publish(p.Topic, 1, true, p.Online)); err != nil {
			c.log.Warn("publish presence", logkey.Topic, p.Topic, logkey.Error, err)
		}
	}
	c.log.Info("connected", logkey.Count, len(sent))
	c.state(true, nil)
}

// errNotGranted: a SUBACK answered a filter with a code that is neither
// a granted QoS nor MQTT 3.1.1's refusal (0x80).
var errNotGranted = errors.New("not granted by the broker")

// Retries of a SUBSCRIBE the broker did not grant on a live connection.
const (
	resubscribeTries = 8
	resubscribeWait  = 100 * time.Millisecond
)

// resubscribe is subscribe, tried again (after 100 ms, doubling) while
// the connection is open and the broker answers errNotGranted. A
// restarted process starts its packet ids at 1, and mochi refuses a
// SUBSCRIBE whose id equals that of a message it still holds in flight
// for the session (queued while the post was down), answering 0x91
// ("packet identifier in use") even to an MQTT 3.1.1 client. Once paho
// has acknowledged those messages the id is free; without the retry the
// session keeps its old subscriptions but the broker never sends the
// retained messages of the filters (HQ's encryption key statement, the
// heads), and the post waits for HQ to publish them again.
func (c *Client) resubscribe(filters []string) error {
	wait := resubscribeWait
	for try := 1; ; try++ {
		err := c.subscribe(filters)
		if !errors.Is(err, errNotGranted) || try == resubscribeTries || !c.cli.IsConnectionOpen() {
			return err
		}
		c.log.Info("subscription not granted; trying again", logkey.Error, err, logkey.Wait, wait)
		t := c.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-c.closing:
			t.Stop()
			return transport.ErrClosed
		}
		wait *= 2
	}
}

// subscribe sends one SUBSCRIBE for filters (QoS 1) and checks the SUBACK:
// every filter must be granted (QoS 0, 1 or 2; MQTT 3.1.1 knows no other
// success code, and 0x80 is its failure).
func (c *Client) subscribe(filters []string) error {
	m := make(map[string]byte, len(filters))
	for _, f := range filters {
		m[f] = 1
	}
	tok := c.cli.SubscribeMultiple(m, nil) // nil callback: everything goes through onMessage
	if err := c.await(context.Background(), tok); err != nil {
		return fmt.Errorf("subscribe %v: %w", filters, err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for f, code := range st.Result() {
			switch {
			case code == 0x80:
				// MQTT 3.1.1 failure code: the ACL refused the filter.
				c.log.Error("broker refused subscription", logkey.Filter, f)
				return fmt.Errorf("subscribe %q: refused by the broker", f)
			case code > 2:
				return fmt.Errorf("subscribe %q: %w (code 0x%02x)", f, errNotGranted, code)
			}
		}
	}
	return nil
}

// await waits for tok, ctx, Close, or WriteTimeout+PingTimeout (the
// longest an acknowledgement can take on a live connection), whichever
// comes first.
func (c *Client) await(ctx context.Context, tok paho.Token) error {
	t := time.NewTimer(c.opts.WriteTimeout + c.opts.PingTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return transport.ErrClosed
	case <-t.C:
		return errors.New("no acknowledgement from the broker")
	}
}

func (c *Client) onMessage(_ paho.Client, m paho.Message) {
	msg := transport.Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained()}
	if n := c.router.Deliver(msg); n == 0 {
		c.log.Debug("message matches no subscription", logkey.Topic, msg.Topic, logkey.Bytes, len(msg.Payload))
		return
	}
	c.log.Debug("message", logkey.Topic, msg.Topic, logkey.Bytes, len(msg.Payload))
}

// Publish implements transport.Transport.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	if err := transport.ValidTopic(topic); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %q: %w", topic, err)
	}
	if c.isClosed() {
		return fmt.Errorf("publish %q: %w", topic, transport.ErrClosed)
	}
	if !c.cli.IsConnectionOpen() {
		return fmt.Errorf("publish %q: %w", topic, transport.ErrNotConnected)
	}
	// paho keeps the slice until PUBACK (and re-sends it after a
	// reconnect); the caller may reuse its buffer as soon as we return.
	p := append([]byte(nil), payload...)
	// paho's Publish itself can block up to WriteTimeout handing the
	// packet to its writer; keep that off the caller's ctx.
	toks := make(chan paho.Token, 1)
	if !c.goTracked(func() { toks <- c.cli.Publish(topic, 1, retained, p) }) {
		return fmt.Errorf("publish %q: %w", topic, transport.ErrClosed)
	}
	var tok paho.Token
	select {
	case tok = <-toks:
	case <-ctx.Done():
		return fmt.Errorf("publish %q: %w", topic, ctx.Err())
	case <-c.closing:
		return fmt.Errorf("publish %q: %w", topic, transport.ErrClosed)
	}
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			if errors.Is(err, paho.ErrNotConnected) {
				err = transport.ErrNotConnected
			}
			return fmt.Errorf("publish %q: %w", topic, err)
		}
		c.log.Debug("published", logkey.Topic, topic, logkey.Bytes, len(p))
		return nil
	case <-ctx.Done():
		// paho may still deliver it (it stays in the in-flight store
		// until PUBACK); at least once, the caller resends by id.
		return fmt.Errorf("publish %q: no PUBACK: %w", topic, ctx.Err())
	case <-c.closing:
		return fmt.Errorf("publish %q: %w", topic, transport.ErrClosed)
	}
}

// Subscribe implements transport.Transport. The filter is sent to the
// broker now if connected (in the background; failures are logged and
// retried at the next connect) and on every reconnect.
func (c *Client) Subscribe(filter string, h transport.Handler) error {
	if c.isClosed() {
		return fmt.Errorf("subscribe %q: %w", filter, transport.ErrClosed)
	}
	c.subMu.Lock()
	err := c.router.Add(filter, h)
	ready := c.ready.Load()
	c.subMu.Unlock()
	if err != nil {
		if errors.Is(err, transport.ErrClosed) {
			return fmt.Errorf("subscribe %q: %w", filter, err)
		}
		return fmt.Errorf("subscribe: %w", err)
	}
	if ready {
		c.goTracked(func() {
			if err := c.subscribe([]string{filter}); err != nil {
				c.log.Warn("subscribe", logkey.Filter, filter, logkey.Error, err)
			}
		})
	}
	return nil
}

// Connected implements transport.Transport: the connection is open and
// the subscriptions have been sent.
func (c *Client) Connected() bool {
	return !c.isClosed() && c.ready.Load() && c.cli.IsConnectionOpen()
}

// Dropped implements transport.DropCounter.
func (c *Client) Dropped() uint64 { return c.router.Dropped() }

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close publishes the offline presence (if configured and connected),
// disconnects, and stops the handler goroutines. It is idempotent;
// concurrent calls wait for the first one (or their ctx).
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		select {
		case <-c.closeDone:
			return c.closeErr
		case <-ctx.Done():
			return fmt.Errorf("close: %w", ctx.Err())
		}
	}
	c.closed = true
	c.mu.Unlock()
	defer close(c.closeDone)

	if p := c.opts.Presence; p != nil && c.cli.IsConnectionOpen() {
		if err := c.await(ctx, c.cli.Publish(p.Topic, 1, true, p.Offline)); err != nil {
			c.log.Warn("publish offline presence", logkey.Topic, p.Topic, logkey.Error, err)
		}
	}
	close(c.closing)
	c.dialCancel()
	c.ready.Store(false)

	var errs []error
	disc := make(chan struct{})
	go func() {
		defer close(disc)
		c.cli.Disconnect(uint(closeQuiesce / time.Millisecond))
	}()
	select {
	case <-disc:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("disconnect: %w", ctx.Err()))
	}
	if err := c.router.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	waited := make(chan struct{})
	go func() { c.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("wait for publishers: %w", ctx.Err()))
	}
	c.log.Info("closed")
	c.state(false, nil)
	if len(errs) > 0 {
		c.closeErr = fmt.Errorf("close: %w", errors.Join(errs...))
	}
	return c.closeErr
}
