package daemon

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/safeurl"
)

// Layout of HQ's data directory.
//
//	<data dir>/store/      HQ's Badger store: the published lists, HQ's state of each, the records posts sent
//	<data dir>/deltas/     the retained deltas, <list>/<epoch>-<to>.delta
//	<data dir>/snapshots/  the snapshot files (HQConfig.SnapshotDir by default)
//	<data dir>/uploads/    editions POSTed to /v1/lists/, while they are published
//	<data dir>/broker/     the embedded broker's Badger (sessions, queued and retained messages)
const (
	hqStoreSubdir     = "store"
	hqDeltasSubdir    = "deltas"
	hqSnapshotsSubdir = "snapshots"
	hqUploadsSubdir   = "uploads"
	hqBrokerSubdir    = "broker"
)

// MQTT client ids of HQ. Serving HQ has a persistent session of its own:
// the broker queues the posts' records in it while HQ is down, and no
// other HQ process (a publish from the command line) may take them.
const (
	HQServeClientID = "watchpost-hq-serve"
	HQToolClientID  = "watchpost-hq"
)

// Defaults for HQConfig.
const (
	DefaultHQConnectTimeout = 30 * time.Second
	// hqShutdownTimeout bounds the HTTP server's graceful shutdown.
	hqShutdownTimeout = 5 * time.Second
	// hqCloseTimeout bounds the MQTT close (every PUBACK awaited).
	hqCloseTimeout = 10 * time.Second
)

// ErrHQStoreInUse: another process (normally a running HQ) holds HQ's
// store; Badger admits one.
var ErrHQStoreInUse = ErrStoreInUse

// HQLink is HQ's connection to an external broker.
type HQLink struct {
	// URL is the broker, tls://host:8883 or tcp://host:1883.
	URL string
	// TLS for tls:// (HQ's client certificate and the broker's CA).
	TLS *tls.Config
	// Username and Password of HQ's broker account (the shipped
	// Mosquitto setup has HQ log in with a password on its loopback
	// listener); empty: none, or in URL. The password is never logged.
	Username, Password string
}

// HQConfig is what HQ is wired from. Which parts run follows from what is
// set: the store always; the link to a broker with Link or
// EmbeddedBroker; the publisher with Signer (and a broker); receiving the
// posts' records, HTTPS, retention and the re-signing of heads when
// Listen is set (Run).
type HQConfig struct {
	// DataDir holds HQ's store and files (see the layout above); required.
	DataDir string
	// StoreKey encrypts the store at rest (32 bytes); nil: not encrypted.
	StoreKey []byte

	// Signer signs deltas, heads, snapshots and key rotations; nil: HQ
	// publishes nothing.
	Signer *protocol.Signer
	// SnapshotDir receives the snapshot files (DataDir/snapshots when
	// empty).
	SnapshotDir string
	// SnapshotURL is the https:// URL under which SnapshotDir is served;
	// heads name their snapshot under it. Empty: heads name no snapshot,
	// unless SelfSnapshotURL.
	SnapshotURL string
	// SelfSnapshotURL makes heads name the snapshots under the address
	// Run listens on (protocol.SnapshotsURL of it): for a demo on
	// loopback. A real HQ names its public address in SnapshotURL.
	SelfSnapshotURL bool
	// DeltaWindow and HeadValidity: publish's defaults when 0.
	DeltaWindow  int
	HeadValidity time.Duration
	// MaxShrink is the shrink guard's share (engine.DefaultMaxShrink
	// when 0): an edition removing more of a list is published only
	// when a person confirms it.
	MaxShrink float64

	// Link is an external broker; EmbeddedBroker runs one in this process
	// (its listeners, TLS, password file; HQ adds its own account, with a
	// password made for this run, and DataDir/broker). At most one.
	Link           *HQLink
	EmbeddedBroker *broker.Options
	// ClientID of HQ's MQTT session (HQServeClientID when Listen is set,
	// else HQToolClientID).
	ClientID string
	// ConnectTimeout bounds the wait for the broker
	// (DefaultHQConnectTimeout when 0).
	ConnectTimeout time.Duration
	// MQTT, if set, adjusts the MQTT options (the demo shortens the
	// timeouts).
	MQTT func(*mqtt.Options)

	// Listen is the HTTP(S) address of snapshots, deltas, /healthz and the
	// admin API; empty: HQ does not serve (a command that opens the store).
	Listen string
	// HTTPS is the server's TLS; nil serves plain HTTP, on a loopback
	// Listen only.
	HTTPS *tls.Config
	// AdminToken, if set, is the bearer token of the admin API; without
	// one it answers loopback clients only.
	AdminToken string
	// ConsoleIdleTimeout ends HQ console sessions (web's default when
	// 0). The console is served on Listen, beside the posts' paths.
	ConsoleIdleTimeout time.Duration
	// ConsoleHTTP, if set, is a loopback address where the console alone
	// is also served over plain HTTP (the demo: a browser trusts no demo
	// certificate).
	ConsoleHTTP string
	// MaxEditionSize, HeadInterval, Retention: hqserver's defaults when
	// zero.
	MaxEditionSize int64
	HeadInterval   time.Duration
	Retention      hqserver.Retention

	// Clock drives the publisher's issue times and the server's
	// received-at times, ack delay and timers; nil means clock.System.
	Clock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// HQ is headquarters: its store, its link to the broker (or the broker
// itself), the publisher of signed versions and the server that receives
// the posts' records and serves HTTPS, wired from one HQConfig. Run is
// the single entry point of `watchpost-hq serve` and of the demo's HQ;
// Open is the same wiring for the commands that open HQ's store.
type HQ struct {
	cfg HQConfig
	log *slog.Logger

	mu     sync.Mutex
	store  *badgerstore.Store
	broker *broker.Broker
	client *mqtt.Client
	pub    *publish.Publisher
	srv    *hqserver.Server
	// reconnects is srv for the MQTT client's state callback, which runs
	// on the client's goroutine and must not wait for mu (Close holds it
	// while the client stops).
	reconnects atomic.Pointer[hqserver.Server]
	console    *web.App
	httpAddr   string
	// consoleAddr is ConsoleHTTP's bound address.
	consoleAddr string
	opened      bool
	// The link's broker and HQ's account on it: HQConfig.Link, or the
	// embedded broker's plain listener.
	linkURL, linkUser, linkPassword string
	linkTLS                         *tls.Config
}

// NewHQ checks cfg and returns an HQ; call Run, or Open and Close.
func NewHQ(cfg HQConfig) (*HQ, error) {
	switch {
	case cfg.DataDir == "":
		return nil, errors.New("hq: no data directory")
	case cfg.Link != nil && cfg.EmbeddedBroker != nil:
		return nil, errors.New("hq: an external broker and the embedded one exclude each other")
	case cfg.Link != nil && cfg.Link.URL == "":
		return nil, errors.New("hq: no broker URL")
	case cfg.SnapshotURL != "" && !strings.HasPrefix(cfg.SnapshotURL, "https://"):
		return nil, fmt.Errorf("hq: snapshot URL %q is not https://", safeurl.String(cfg.SnapshotURL))
	case cfg.SelfSnapshotURL && (cfg.SnapshotURL != "" || cfg.HTTPS == nil):
		return nil, errors.New("hq: SelfSnapshotURL needs HTTPS and no SnapshotURL")
	case cfg.Listen != "" && cfg.HTTPS == nil && !IsLoopback(cfg.Listen):
		return nil, fmt.Errorf("hq: plain HTTP needs a loopback listen address, not %q", cfg.Listen)
	case cfg.ConsoleHTTP != "" && !IsLoopback(cfg.ConsoleHTTP):
		return nil, fmt.Errorf("hq: the console's plain HTTP needs a loopback address, not %q", cfg.ConsoleHTTP)
	case cfg.AdminToken != "" && len(cfg.AdminToken) < 16:
		return nil, errors.New("hq: the admin token is shorter than 16 characters")
	}
	cfg.Clock = clock.OrSystem(cfg.Clock)
	if cfg.SnapshotDir == "" {
		cfg.SnapshotDir = filepath.Join(cfg.DataDir, hqSnapshotsSubdir)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = HQToolClientID
		if cfg.Listen != "" {
			cfg.ClientID = HQServeClientID
		}
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultHQConnectTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &HQ{cfg: cfg, log: cfg.Logger}, nil
}

// IsLoopback reports whether addr's host is a loopback IP or "localhost".
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Open wires what the configuration asks for, in order: the store, the
// embedded broker, the link to the broker (started: it connects in the
// background), the publisher and the server (receiving only when Listen
// is set). On an error, what was opened is closed again. Close undoes
// Open.
func (h *HQ) Open(ctx context.Context) (err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened {
		return errors.New("hq: opened twice")
	}
	h.opened = true
	defer func() {
		if err != nil {
			err = errors.Join(err, h.closeLocked())
		}
	}()
	if err := h.openStore(); err != nil {
		return err
	}
	if err := h.startBroker(ctx); err != nil {
		return err
	}
	if err := h.connect(); err != nil {
		return err
	}
	if err := h.newPublisher(); err != nil {
		return err
	}
	return h.newServer()
}

// openStore opens HQ's store in DataDir/store.
func (h *HQ) openStore() error {
	if err := os.MkdirAll(h.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("HQ data directory: %w", err)
	}
	dir := filepath.Join(h.cfg.DataDir, hqStoreSubdir)
	st, err := badgerstore.Open(dir, badgerstore.Options{Logger: h.log, EncryptionKey: h.cfg.StoreKey})
	switch {
	case err != nil && storeLocked(err):
		return fmt.Errorf("HQ store %s is %w", dir, ErrHQStoreInUse)
	case errors.Is(err, badgerstore.ErrEncryptionKey):
		return fmt.Errorf("open HQ store: %w", err)
	case err != nil:
		return fmt.Errorf("open HQ store %s: %w", dir, err)
	}
	h.store = st
	return nil
}

// startBroker starts the embedded broker, if configured, with an HQ
// account whose password is made for this run.
func (h *HQ) startBroker(ctx context.Context) error {
	if h.cfg.EmbeddedBroker == nil {
		return nil
	}
	opts := *h.cfg.EmbeddedBroker
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	if opts.HQUsername == "" {
		opts.HQUsername = broker.DefaultHQUsername
	}
	opts.Users = maps.Clone(opts.Users)
	if opts.Users == nil {
		opts.Users = map[string]string{}
	}
	opts.Users[opts.HQUsername] = hex.EncodeToString(secret)
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(h.cfg.DataDir, hqBrokerSubdir)
	}
	if opts.Logger == nil {
		opts.Logger = h.log
	}
	// Close stops the broker, after the link: not ctx, which ends before
	// the link's last PUBACKs are awaited.
	b, err := broker.Start(context.WithoutCancel(ctx), opts)
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	h.broker = b
	h.linkURL, h.linkUser, h.linkPassword = b.URL(), opts.HQUsername, opts.Users[opts.HQUsername]
	return nil
}

// connect builds HQ's MQTT client and starts it; the client connects in
// the background and keeps trying.
func (h *HQ) connect() error {
	if l := h.cfg.Link; l != nil {
		h.linkURL, h.linkTLS, h.linkUser, h.linkPassword = l.URL, l.TLS, l.Username, l.Password
	}
	if h.linkURL == "" {
		return nil
	}
	mo := mqtt.Options{
		Brokers: []string{h.linkURL}, ClientID: h.cfg.ClientID, TLS: h.linkTLS,
		Username: h.linkUser, Password: h.linkPassword,
		ConnectRetryInterval: 2 * time.Second, Logger: h.log,
		OnState: func(st mqtt.State) {
			if srv := h.reconnects.Load(); st.Connected && srv != nil {
				srv.Reconnected()
			}
		},
	}
	if h.cfg.MQTT != nil {
		h.cfg.MQTT(&mo)
	}
	c, err := mqtt.New(mo)
	if err != nil {
		return err
	}
	h.client = c
	return c.Start()
}

// newPublisher builds the publisher of signed versions, if HQ has a
// signing key and a broker.
func (h *HQ) newPublisher() error {
	if h.cfg.Signer == nil || h.client == nil {
		return nil
	}
	if err := os.MkdirAll(h.cfg.SnapshotDir, 0o750); err != nil {
		return err
	}
	snapURL := h.cfg.SnapshotURL
	if h.cfg.SelfSnapshotURL && h.httpAddr != "" {
		snapURL = protocol.SnapshotsURL("https://" + h.httpAddr)
	}
	pub, err := publish.New(publish.Config{
		Store: h.store, Signer: h.cfg.Signer, Transport: h.client,
		DeltaDir: filepath.Join(h.cfg.DataDir, hqDeltasSubdir), SnapshotDir: h.cfg.SnapshotDir, SnapshotBaseURL: snapURL,
		DeltaWindow: h.cfg.DeltaWindow, HeadValidity: h.cfg.HeadValidity, MaxShrink: h.cfg.MaxShrink, Clock: h.cfg.Clock, Logger: h.log,
	})
	if err != nil {
		return err
	}
	h.pub = pub
	return nil
}

// newServer builds HQ's server: receiving the posts' records over the
// link when HQ serves, answering queries from the store in any case.
func (h *HQ) newServer() error {
	cfg := hqserver.Config{Store: h.store, Clock: h.cfg.Clock, Logger: h.log}
	if h.cfg.Listen != "" {
		uploads := filepath.Join(h.cfg.DataDir, hqUploadsSubdir)
		if err := os.MkdirAll(uploads, 0o700); err != nil {
			return err
		}
		if h.client != nil {
			cfg.Transport = h.client
		}
		cfg.Publisher = h.pub
		cfg.SnapshotDir, cfg.DeltaDir, cfg.UploadDir = h.cfg.SnapshotDir, filepath.Join(h.cfg.DataDir, hqDeltasSubdir), uploads
		cfg.MaxEditionSize, cfg.HeadInterval, cfg.AdminToken, cfg.Retention = h.cfg.MaxEditionSize, h.cfg.HeadInterval, h.cfg.AdminToken, h.cfg.Retention
		cfg.AuditSinglePerson = h.auditSinglePerson
		cfg.AuditShrink = func(ctx context.Context, actor string, s engine.Shrink) error {
			return AuditShrink(ctx, h.store, h.cfg.Clock, actor, s)
		}
		cfg.Accounts = func(ctx context.Context) (any, error) { return HQUsers(h.store, h.cfg.Clock).List(ctx) }
	}
	srv, err := hqserver.New(cfg)
	if err != nil {
		return err
	}
	h.srv = srv
	h.reconnects.Store(srv)
	if h.cfg.Listen != "" {
		if h.console, err = h.newHQConsole(); err != nil {
			return err
		}
	}
	return nil
}

// WaitConnected waits until HQ's link to the broker is up, ctx ends or
// the configured ConnectTimeout passes.
func (h *HQ) WaitConnected(ctx context.Context) error {
	c := h.mqttClient()
	if c == nil {
		return errors.New("hq: no broker configured")
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ConnectTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !c.Connected() {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not connected after %s", h.cfg.ConnectTimeout)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// Close closes what Open opened, in reverse order: the link (after every
// PUBACK has been awaited, at most 10 s), the embedded broker, the store.
func (h *HQ) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closeLocked()
}

func (h *HQ) closeLocked() error {
	var errs []error
	if h.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), hqCloseTimeout)
		errs = append(errs, h.client.Close(ctx))
		cancel()
		h.client = nil
	}
	if h.broker != nil {
		errs = append(errs, h.broker.Close())
		h.broker = nil
	}
	if h.store != nil {
		errs = append(errs, h.store.Close())
		h.store = nil
	}
	return errors.Join(errs...)
}

// Run serves until ctx ends: it binds Listen (a bind error stops the
// start), opens everything (Open), gives the broker connection up to
// ConnectTimeout (heads are re-signed as soon as the server runs; without
// the broker HQ serves anyway, the link keeps trying and the failed
// re-sign is retried), then serves HTTPS and runs the server (records,
// acks, retention, re-signing), and calls ready. When ctx ends it stops
// the HTTP server, waits for the server's goroutines and closes
// everything.
func (h *HQ) Run(ctx context.Context, ready func()) (err error) {
	if h.cfg.Listen == "" {
		return errors.New("hq: Run needs a listen address")
	}
	ln, err := net.Listen("tcp", h.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", h.cfg.Listen, err)
	}
	defer ln.Close()
	h.mu.Lock()
	h.httpAddr = ln.Addr().String()
	h.mu.Unlock()
	if h.cfg.Signer != nil && h.cfg.SnapshotURL == "" && !h.cfg.SelfSnapshotURL {
		h.log.Warn("No snapshot URL: heads name no snapshot, and a post that needs one cannot recover")
	}
	if err := h.Open(ctx); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	if h.mqttClient() != nil {
		if err := h.WaitConnected(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Warn("Broker not reachable yet; serving anyway", logkey.Broker, safeurl.String(h.linkURL), logkey.Error, err.Error())
		}
	}
	return h.serve(ctx, ln, ready)
}

// serve runs the HTTP(S) server and HQ's server until ctx ends or one of
// them fails, then stops both.
func (h *HQ) serve(ctx context.Context, ln net.Listener, ready func()) error {
	api := h.srv.Handler()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isProtocolPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		h.console.ServeHTTP(w, r)
	})
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         h.cfg.HTTPS,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr, runErr error
	wg.Go(func() {
		if h.cfg.HTTPS != nil {
			httpErr = hs.ServeTLS(ln, "", "")
		} else {
			httpErr = hs.Serve(ln)
		}
		if errors.Is(httpErr, http.ErrServerClosed) {
			httpErr = nil
		}
		cancel() // a failed HTTP server stops HQ
	})
	wg.Go(func() {
		runErr = h.srv.Run(ctx)
		cancel()
	})
	var consoleSrv *http.Server
	if h.cfg.ConsoleHTTP != "" {
		cln, err := net.Listen("tcp", h.cfg.ConsoleHTTP)
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("listen %s (console): %w", h.cfg.ConsoleHTTP, err)
		}
		h.mu.Lock()
		h.consoleAddr = cln.Addr().String()
		h.mu.Unlock()
		consoleSrv = &http.Server{Handler: h.console, ReadHeaderTimeout: 30 * time.Second, ErrorLog: hs.ErrorLog}
		wg.Go(func() {
			if err := consoleSrv.Serve(cln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.log.Error("Console HTTP server failed", logkey.Error, err.Error())
			}
		})
	}
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), hqShutdownTimeout)
	shutErr := hs.Shutdown(sctx)
	if consoleSrv != nil {
		shutErr = errors.Join(shutErr, consoleSrv.Shutdown(sctx))
	}
	scancel()
	wg.Wait()
	c := h.srv.Counts()
	h.log.Info("Stopped", logkey.Stored, c.Stored, logkey.Duplicates, c.Duplicates, logkey.Malformed, c.Malformed, logkey.Acks, c.AcksSent)
	if httpErr != nil {
		return fmt.Errorf("HTTP server: %w", httpErr)
	}
	return errors.Join(runErr, shutErr)
}

func (h *HQ) mqttClient() *mqtt.Client { return guarded(&h.mu, &h.client) }

// Store returns HQ's store (nil before Open).
func (h *HQ) Store() *badgerstore.Store { return guarded(&h.mu, &h.store) }

// Publisher returns the publisher (nil before Open, and without a signing
// key or a broker).
func (h *HQ) Publisher() *publish.Publisher { return guarded(&h.mu, &h.pub) }

// Server returns HQ's server (nil before Open).
func (h *HQ) Server() *hqserver.Server { return guarded(&h.mu, &h.srv) }

// URL returns the base URL Run serves on ("" before it listens):
// https:// or, without TLS, http://.
func (h *HQ) URL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.httpAddr == "" {
		return ""
	}
	if h.cfg.HTTPS == nil {
		return "http://" + h.httpAddr
	}
	return "https://" + h.httpAddr
}

// ConsoleURL returns the URL of the console's plain-HTTP listener
// (ConsoleHTTP; "" without one or before it listens).
func (h *HQ) ConsoleURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.consoleAddr == "" {
		return ""
	}
	return "http://" + h.consoleAddr + "/"
}

// BrokerURLs returns the embedded broker's plain (HQ's) and TLS (the
// posts') URLs; "" for a listener it does not have, or without the
// embedded broker.
func (h *HQ) BrokerURLs() (plain, tlsURL string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.broker == nil {
		return "", ""
	}
	return h.broker.URL(), h.broker.TLSURL()
}
