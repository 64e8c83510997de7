package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/watchpost/watchpost/engine/logkey"
)

// listener is a mochi listener over a net.Listener opened by Start (so
// bind errors and the real port are known before serving). Each accepted
// connection gets a deadline for its TLS handshake and CONNECT; mochi
// replaces it with the keep-alive deadline after CONNECT.
type listener struct {
	id      string
	ln      net.Listener
	timeout time.Duration
	log     *slog.Logger
	closed  atomic.Bool

	mu      sync.Mutex // guards started against closeAndWait
	started bool
	done    chan struct{} // closed when Serve returns
}

var _ listeners.Listener = (*listener)(nil)

func listen(id, addr string, cfg *tls.Config, timeout time.Duration) (*listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", addr, err)
	}
	if cfg != nil {
		if cfg.MinVersion < tls.VersionTLS12 {
			cfg = cfg.Clone()
			cfg.MinVersion = tls.VersionTLS12
		}
		ln = tls.NewListener(ln, cfg)
	}
	return &listener{id: id, ln: ln, timeout: timeout, log: slog.New(slog.DiscardHandler), done: make(chan struct{})}, nil
}

func (l *listener) ID() string       { return l.id }
func (l *listener) Address() string  { return l.ln.Addr().String() }
func (l *listener) Protocol() string { return "tcp" }

// Init implements listeners.Listener; the socket is already open.
func (l *listener) Init(log *slog.Logger) error {
	if log != nil {
		l.log = log
	}
	return nil
}

// Serve accepts connections until Close.
func (l *listener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return
	}
	l.started = true
	l.mu.Unlock()
	defer close(l.done)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if !l.closed.Load() {
				l.log.Warn("accept failed", logkey.Listener, l.id, logkey.Error, err)
			}
			return
		}
		if l.closed.Load() {
			conn.Close()
			return
		}
		_ = conn.SetDeadline(time.Now().Add(l.timeout))
		go func() {
			if tc, ok := conn.(*tls.Conn); ok {
				if err := tc.Handshake(); err != nil {
					l.log.Debug("tls handshake failed", logkey.Listener, l.id, logkey.Remote, conn.RemoteAddr().String(), logkey.Error, err)
					conn.Close()
					return
				}
			}
			if err := establish(l.id, conn); err != nil {
				l.log.Debug("connection ended", logkey.Listener, l.id, logkey.Remote, conn.RemoteAddr().String(), logkey.Error, err)
			}
		}()
	}
}

// Close implements listeners.Listener: it disconnects the listener's
// clients and closes the socket.
func (l *listener) Close(closeClients listeners.CloseFn) {
	if l.closed.CompareAndSwap(false, true) {
		closeClients(l.id)
	}
	_ = l.ln.Close()
}

// closeAndWait closes the socket (if mochi has not) and waits for Serve.
func (l *listener) closeAndWait() {
	l.mu.Lock()
	l.closed.Store(true)
	started := l.started
	l.mu.Unlock()
	_ = l.ln.Close()
	if started {
		<-l.done
	}
}
