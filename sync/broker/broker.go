package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	mochi "github.com/mochi-mqtt/server/v2"
	badgerhook "github.com/mochi-mqtt/server/v2/hooks/storage/badger"

	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Defaults.
const (
	// DefaultHQUsername is the HQ account's identity (MQTT username or
	// certificate CN); it is also HQ's default client id.
	DefaultHQUsername = "watchpost-hq"
	// DefaultSessionExpiry is how long the session of a disconnected
	// client (its subscriptions and queued QoS 1 messages) is kept: posts
	// can be offline for days; a post away longer catches up from the
	// signed head and a snapshot. Mosquitto: persistent_client_expiration.
	DefaultSessionExpiry = 30 * 24 * time.Hour
	// DefaultMaxQueued bounds the QoS 1 messages queued or in flight per
	// client (Mosquitto: max_queued_messages). 30 days of deltas and
	// six-hourly heads for a handful of lists is ~2,000; beyond the bound
	// new messages are dropped (and logged by mochi), and the post
	// recovers through the head.
	DefaultMaxQueued = 10000
	// DefaultConnectTimeout bounds the TLS handshake and CONNECT of a new
	// connection, so idle sockets cannot pile up; after CONNECT the
	// client's keep-alive (× 1.5) applies.
	DefaultConnectTimeout = 60 * time.Second
	// MaxPacketSize admits the 32 MiB envelope cap (PROTOCOL.md §4) plus
	// the topic and MQTT framing.
	MaxPacketSize = 32<<20 + 64<<10
)

// Options configure a Broker. At least one of Addr and TLSAddr is
// required.
type Options struct {
	// Addr is the plain TCP listener, host:port on a loopback address
	// ("127.0.0.1:1883"; port 0 picks a free port): for HQ processes on
	// the broker's host and the demo. Non-loopback plain TCP is refused.
	Addr string
	// TLSAddr and TLS are the listener posts use ("0.0.0.0:8883"). For
	// mTLS, TLS must verify client certificates (ServerTLSConfig does):
	// the CN of a verified certificate is then the client's identity.
	TLSAddr string
	TLS     *tls.Config

	// HQUsername is the HQ account (DefaultHQUsername when empty).
	HQUsername string
	// Users maps usernames to plain-text passwords (tests, the demo, or
	// secrets loaded by the caller); PasswordFile is a Mosquitto password
	// file (mosquitto_passwd, HashPassword). A user may be in only one.
	// Every user must be HQUsername or a valid post id.
	Users        map[string]string
	PasswordFile string
	// AllowAnonymousLoopback admits clients without username or
	// certificate from loopback addresses, identified by client id:
	// "watchpost-post-P" is post P, any other id is HQ. DEMO ONLY: any
	// local process can then act as HQ.
	AllowAnonymousLoopback bool

	// DataDir, if set, keeps sessions, queued messages and retained
	// messages in a Badger database there; empty keeps them in memory.
	DataDir string
	// SessionExpiry, MaxQueued and ConnectTimeout default to the
	// constants above.
	SessionExpiry  time.Duration
	MaxQueued      int
	ConnectTimeout time.Duration

	// Logger receives the broker's events with fixed keys (mochi's own
	// messages, with its keys, at debug level). Nil discards.
	Logger *slog.Logger
}

// ErrInvalidOptions is wrapped by every validation error from Start.
var ErrInvalidOptions = errors.New("invalid broker options")

// Broker is a running embedded broker.
type Broker struct {
	srv       *mochi.Server
	log       *slog.Logger
	plain     *listener
	tls       *listener
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	wg        sync.WaitGroup
}

// Start validates opts, opens the listeners and the store, and serves
// until Close or until ctx is done.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(logkey.Component, "broker")
	users, err := opts.accounts()
	if err != nil {
		return nil, err
	}

	caps := mochi.NewDefaultServerCapabilities()
	// 0: retained messages (heads, key rotations) and queued messages are
	// never expired by age; mochi's default of one day would delete a
	// key-rotation statement a day after it was published.
	caps.MaximumMessageExpiryInterval = 0
	caps.MaximumSessionExpiryInterval = uint32(opts.SessionExpiry / time.Second)
	caps.MaximumInflight = uint16(opts.MaxQueued)
	caps.MaximumPacketSize = MaxPacketSize
	caps.MinimumProtocolVersion = 4 // MQTT 3.1.1 and 5
	caps.SharedSubAvailable = 0
	srv := mochi.New(&mochi.Options{
		Capabilities:           caps,
		Logger:                 slog.New(demote{log.With(logkey.Component, "mochi").Handler()}),
		SysTopicResendInterval: 60,
	})

	b := &Broker{srv: srv, log: log, stop: make(chan struct{})}
	h := &hook{hq: opts.HQUsername, users: users, anon: opts.AllowAnonymousLoopback, log: log}
	if err := srv.AddHook(h, nil); err != nil {
		return nil, fmt.Errorf("broker: add auth hook: %w", err)
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("broker: data dir: %w", err)
		}
		if err := srv.AddHook(new(badgerhook.Hook), &badgerhook.Options{
			Path:    opts.DataDir,
			Options: badgerOptions(opts.DataDir),
		}); err != nil {
			return nil, fmt.Errorf("broker: open store %s: %w", opts.DataDir, err)
		}
	}
	fail := func(err error) (*Broker, error) {
		b.closeListeners()
		_ = srv.Close()
		return nil, err
	}
	if opts.Addr != "" {
		if b.plain, err = listen("tcp", opts.Addr, nil, opts.ConnectTimeout); err != nil {
			return fail(err)
		}
		if err := srv.AddListener(b.plain); err != nil {
			return fail(err)
		}
	}
	if opts.TLSAddr != "" {
		if b.tls, err = listen("tls", opts.TLSAddr, opts.TLS, opts.ConnectTimeout); err != nil {
			return fail(err)
		}
		if err := srv.AddListener(b.tls); err != nil {
			return fail(err)
		}
	}
	if err := srv.Serve(); err != nil {
		return fail(fmt.Errorf("broker: serve: %w", err))
	}
	log.Info("broker started", logkey.Addr, b.Addr(), logkey.TLSAddr, b.TLSAddr(),
		logkey.DataDir, opts.DataDir, logkey.AnonymousLoopback, opts.AllowAnonymousLoopback)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
			_ = b.shutdown()
		case <-b.stop:
		}
	}()
	return b, nil
}

// badgerOptions sizes Badger for a broker's small working set (the
// defaults map 64 MB memtables and 1 GB value logs, created at twice
// that size).
func badgerOptions(dir string) *badgerdb.Options {
	o := badgerdb.DefaultOptions(dir).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithNumCompactors(2).
		WithBlockCacheSize(16 << 20).
		WithValueLogFileSize(64 << 20)
	return &o
}

func (o *Options) setDefaults() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, a...))
	}
	o.HQUsername = option.Or(o.HQUsername, DefaultHQUsername)
	if err := protocol.ValidateClientID(o.HQUsername); err != nil {
		return bad("HQ username: %v", err)
	}
	o.SessionExpiry = option.Positive(o.SessionExpiry, DefaultSessionExpiry)
	if o.SessionExpiry/time.Second > 1<<32-1 {
		return bad("session expiry %v too long", o.SessionExpiry)
	}
	o.MaxQueued = option.Positive(o.MaxQueued, DefaultMaxQueued)
	if o.MaxQueued > 65535 {
		return bad("max queued %d above 65535", o.MaxQueued)
	}
	o.ConnectTimeout = option.Positive(o.ConnectTimeout, DefaultConnectTimeout)
	if o.Addr == "" && o.TLSAddr == "" {
		return bad("no listener (Addr or TLSAddr)")
	}
	if o.Addr != "" {
		host, _, err := net.SplitHostPort(o.Addr)
		if err != nil {
			return bad("addr %q: %v", o.Addr, err)
		}
		if !isLoopbackHost(host) {
			return bad("plain TCP listener %q is not on a loopback address; posts connect over TLS", o.Addr)
		}
	}
	if (o.TLSAddr == "") != (o.TLS == nil) {
		return bad("TLSAddr and TLS go together")
	}
	return nil
}

// accounts merges Users and PasswordFile.
func (o *Options) accounts() (map[string]verifier, error) {
	m := map[string]verifier{}
	if o.PasswordFile != "" {
		f, err := readPasswordFile(o.PasswordFile)
		if err != nil {
			return nil, err
		}
		m = f
	}
	for u, pw := range o.Users {
		if _, dup := m[u]; dup {
			return nil, fmt.Errorf("%w: user %q both in Users and the password file", ErrInvalidOptions, u)
		}
		m[u] = plainVerifier(pw)
	}
	for u := range m {
		if u != o.HQUsername {
			if err := protocol.ValidatePostID(u); err != nil {
				return nil, fmt.Errorf("%w: user %q is neither the HQ account %q nor a post: %v", ErrInvalidOptions, u, o.HQUsername, err)
			}
		}
	}
	return m, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the plain TCP listener's host:port, or the TLS listener's when
// there is no plain one.
func (b *Broker) Addr() string {
	if b.plain != nil {
		return b.plain.Address()
	}
	return b.TLSAddr()
}

// URL is tcp://Addr(), or TLSURL() when there is no plain listener.
func (b *Broker) URL() string {
	if b.plain != nil {
		return "tcp://" + b.plain.Address()
	}
	return b.TLSURL()
}

// TLSAddr is the TLS listener's host:port, or "".
func (b *Broker) TLSAddr() string {
	if b.tls == nil {
		return ""
	}
	return b.tls.Address()
}

// TLSURL is tls://TLSAddr(), or "".
func (b *Broker) TLSURL() string {
	if b.tls == nil {
		return ""
	}
	return "tls://" + b.tls.Address()
}

// Close disconnects every client, closes the listeners and the store, and
// waits for the broker's goroutines. It is idempotent. (mochi's Badger
// hook leaves one goroutine blocked on a stopped ticker after Close; it
// holds no resources.)
func (b *Broker) Close() error {
	err := b.shutdown()
	b.wg.Wait()
	return err
}

func (b *Broker) shutdown() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		b.closeErr = b.srv.Close()
		b.closeListeners()
		b.log.Info("broker stopped")
	})
	return b.closeErr
}

func (b *Broker) closeListeners() {
	for _, l := range []*listener{b.plain, b.tls} {
		if l != nil {
			l.closeAndWait()
		}
	}
}
