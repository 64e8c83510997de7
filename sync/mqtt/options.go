package mqtt

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/safeurl"
)

// Defaults for a 600 ms round-trip, lossy satellite or 3G link
// (paho's 10 s ping timeout and unbounded write timeout cause disconnect
// loops and hung publishes there). The numbers trade detection time of a dead link
// against false disconnects while a ping queues behind bulk traffic or
// TCP backs off after losses.
const (
	// DefaultKeepAlive: the client pings after 90 s without traffic; the
	// broker drops a silent client after 1.5 × 90 s = 135 s (MQTT 3.1.1
	// §3.1.2.10) and publishes its will. A ping costs 4 bytes each way, so
	// a short keep-alive buys nothing on a metered link; 90 s also keeps
	// NAT/CGNAT mappings of 3G carriers alive.
	DefaultKeepAlive = 90 * time.Second
	// DefaultPingTimeout: how long a PINGRESP may take before the client
	// declares the connection dead. 45 s covers a ping queued behind a few
	// hundred KB at satellite rates plus three or four TCP retransmission
	// back-offs (RTO ≈ 1.8 s doubling); paho's 10 s default causes
	// disconnect loops on such links. Dead-link detection is at most
	// KeepAlive + PingTimeout = 135 s.
	DefaultPingTimeout = 45 * time.Second
	// DefaultConnectTimeout bounds one connection attempt: TCP handshake,
	// TLS handshake with client certificate (a few KB, 2 RTT) and
	// CONNECT/CONNACK. Nominally ~3 s at 600 ms RTT; 60 s survives four to
	// five lost SYNs (retransmitted at 1, 3, 7, 15, 31 s).
	DefaultConnectTimeout = 60 * time.Second
	// DefaultWriteTimeout bounds writing one packet to the socket (and
	// handing it to paho's writer), so a half-open socket fails a Publish
	// instead of blocking it forever (paho's default is no limit). 30 s
	// is ~240 KB at 64 kbit/s; posts publish hits and status of a few KB.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultConnectRetryInterval: wait between attempts while the first
	// connection has never succeeded (a post booted offline).
	DefaultConnectRetryInterval = 15 * time.Second
	// DefaultMaxReconnectInterval caps the wait between reconnection
	// attempts after a lost connection. The first attempt waits
	// reconnectBase (1 s), each failed one doubles the wait up to this
	// cap, and every wait is jittered by ±20 % (reconnectJitter): at most
	// 9.6 s, so a link or a broker that returns is used within 10 s
	// (plus the connect itself), and a fleet of posts that lost HQ's
	// broker together does not come back in lockstep. An attempt (one
	// SYN) every 8 s costs nothing on a metered link.
	DefaultMaxReconnectInterval = 8 * time.Second
	// closeQuiesce is how long Close lets paho flush the DISCONNECT.
	closeQuiesce = 250 * time.Millisecond
)

// Options configure a Client. Zero durations take the defaults above.
type Options struct {
	// Brokers are tried in order on every connection attempt:
	// "tls://host:8883" (also ssl://, mqtts://) or "tcp://host:1883" (also
	// mqtt://). Plain TCP is for loopback tests and the demo only.
	Brokers []string
	// ClientID identifies the session at the broker; use PostClientID. It
	// must be stable across restarts (the persistent session is keyed by
	// it) and unique in the fleet (a duplicate kicks the other client off,
	// and each reconnect kicks the first off again).
	ClientID string
	// Username and Password, if the broker uses them. The password is
	// never logged (see LogValue).
	Username string
	Password string
	// TLS is required for tls:// brokers; see TLSConfig for mTLS.
	TLS *tls.Config

	KeepAlive            time.Duration
	PingTimeout          time.Duration
	ConnectTimeout       time.Duration
	WriteTimeout         time.Duration
	ConnectRetryInterval time.Duration
	// MaxReconnectInterval caps the jittered back-off between attempts
	// after a lost connection (DefaultMaxReconnectInterval).
	MaxReconnectInterval time.Duration

	// QueueLen is the per-subscription queue length (transport.DefaultQueueLen
	// when 0). When a queue is full, new messages for it are dropped and
	// counted (Client.Dropped).
	QueueLen int

	// Presence, if set, is published retained with QoS 1: Online after
	// every connect (once subscriptions are restored), Offline as the MQTT
	// will (the broker publishes it when the connection is lost without a
	// DISCONNECT) and by Close before it disconnects (a clean DISCONNECT
	// discards the will).
	Presence *Presence

	// Logger receives connection events with fixed keys; payloads are
	// never logged, sizes only at debug. Nil discards.
	Logger *slog.Logger
	// Clock times the waits between reconnection attempts (clock.System
	// when nil).
	Clock clock.Clock
	// OnState, if set, is called on every connection state change (for
	// health and metrics). It runs on paho's goroutines and must not block.
	OnState func(State)
}

// Presence is the post's online/offline record (PROTOCOL.md §1, presence).
type Presence struct {
	Topic   string
	Online  []byte
	Offline []byte
}

// State is a connection state change.
type State struct {
	// Connected is true once the connection is up and the subscriptions
	// have been sent.
	Connected bool
	// Err says why the connection was lost or an attempt failed (nil on
	// connect and on Close).
	Err error
	At  time.Time
}

// LogValue implements slog.LogValuer without the password, and the
// brokers without the credentials a URL may hold (protocol.RedactURL).
func (o Options) LogValue() slog.Value {
	pw := ""
	if o.Password != "" {
		pw = "REDACTED"
	}
	brokers := make([]string, len(o.Brokers))
	for i, b := range o.Brokers {
		brokers[i] = safeurl.String(b)
	}
	return slog.GroupValue(
		slog.Any(logkey.Brokers, brokers),
		slog.String(logkey.ClientID, o.ClientID),
		slog.String(logkey.Username, o.Username),
		slog.String(logkey.Password, pw),
		slog.Bool(logkey.TLS, o.TLS != nil),
		slog.Duration(logkey.Keepalive, o.KeepAlive),
		slog.Duration(logkey.PingTimeout, o.PingTimeout),
		slog.Duration(logkey.ConnectTimeout, o.ConnectTimeout),
		slog.Duration(logkey.WriteTimeout, o.WriteTimeout),
	)
}

// String is LogValue's text, so fmt never prints the password either.
func (o Options) String() string { return o.LogValue().String() }

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.KeepAlive, DefaultKeepAlive)
	def(&o.PingTimeout, DefaultPingTimeout)
	def(&o.ConnectTimeout, DefaultConnectTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.ConnectRetryInterval, DefaultConnectRetryInterval)
	def(&o.MaxReconnectInterval, DefaultMaxReconnectInterval)
}

// ErrInvalidOptions is wrapped by every validation error from New.
var ErrInvalidOptions = errors.New("invalid mqtt options")

func (o *Options) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, a...))
	}
	if len(o.Brokers) == 0 {
		return bad("no broker")
	}
	for _, b := range o.Brokers {
		u, err := url.Parse(b)
		if err != nil {
			return bad("broker %q: not a URL", safeurl.String(b))
		}
		b := safeurl.Of(u)
		switch {
		case isTLSScheme(u.Scheme):
			if o.TLS == nil {
				return bad("broker %q: TLS scheme without a TLS config", b)
			}
		case isTCPScheme(u.Scheme):
		default:
			return bad("broker %q: scheme %q (want tls, ssl, mqtts, tcp or mqtt)", b, u.Scheme)
		}
		if u.Host == "" || u.Port() == "" {
			return bad("broker %q: want scheme://host:port", b)
		}
	}
	if err := protocol.ValidateClientID(o.ClientID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if o.KeepAlive < time.Second {
		return bad("keep-alive %v below 1 s (MQTT counts whole seconds; 0 disables it and Mosquitto rejects it)", o.KeepAlive)
	}
	if p := o.Presence; p != nil {
		if p.Topic == "" || strings.ContainsAny(p.Topic, "+#") {
			return bad("presence topic %q", p.Topic)
		}
		if len(p.Offline) == 0 {
			return bad("presence without an offline payload")
		}
	}
	return nil
}

func isTLSScheme(s string) bool {
	switch s {
	case "tls", "ssl", "mqtts", "tcps":
		return true
	}
	return false
}

func isTCPScheme(s string) bool { return s == "tcp" || s == "mqtt" }
