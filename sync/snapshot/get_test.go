package snapshot

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
)

var deltaBody = bytes.Repeat([]byte("sealed delta "), 100)

func deltaURL(s *snapServer) string { return protocol.DeltaURL(s.URL, "un", 1, 4) }

// TestGetWhole: a file comes whole, over the same mTLS as a snapshot.
func TestGetWhole(t *testing.T) {
	p, w := newPKI(t), &waits{}
	s := newServer(t, p, deltaBody, serveAll)
	f := newFetcher(t, p, s, w, nil)
	b, err := f.Get(t.Context(), deltaURL(s), int64(len(deltaBody)))
	if err != nil || !bytes.Equal(b, deltaBody) {
		t.Fatalf("Get = %d bytes, %v; want the %d of the file", len(b), err, len(deltaBody))
	}
	if s.requests() != 1 || w.count() != 0 {
		t.Errorf("%d requests, %d waits; want 1 and 0", s.requests(), w.count())
	}
}

// TestGetRetries: 503s and a 429 are retried with the fetcher's back-off
// (honouring Retry-After); a server down for good costs MaxAttempts
// requests and a retryable ErrRetriesExhausted.
func TestGetRetries(t *testing.T) {
	p, w := newPKI(t), &waits{}
	s := newServer(t, p, deltaBody, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "7")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			s.serve(w, r)
		}
	})
	f := newFetcher(t, p, s, w, nil)
	b, err := f.Get(t.Context(), deltaURL(s), 1<<20)
	if err != nil || !bytes.Equal(b, deltaBody) {
		t.Fatalf("Get = %d bytes, %v", len(b), err)
	}
	if s.requests() != 3 || w.count() != 2 || w.calls[1] != 7*time.Second {
		t.Errorf("%d requests, waits with Retry-After %v; want 3 requests, waits [0 7s]", s.requests(), w.calls)
	}

	down := newServer(t, p, deltaBody, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "down", http.StatusBadGateway)
	})
	f = newFetcher(t, p, down, &waits{}, nil)
	_, err = f.Get(t.Context(), deltaURL(down), 1<<20)
	if !errors.Is(err, ErrRetriesExhausted) || !fetchErr(t, err).Retryable() || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err %v, want retryable ErrRetriesExhausted naming 502", err)
	}
	if down.requests() != 5 {
		t.Errorf("%d requests, want MaxAttempts = 5", down.requests())
	}
}

// TestGetNotFound: a pruned delta is a 404 at once, not retried, and the
// error names the URL without credentials.
func TestGetNotFound(t *testing.T) {
	p, w := newPKI(t), &waits{}
	s := newServer(t, p, deltaBody, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		http.NotFound(w, r)
	})
	f := newFetcher(t, p, s, w, nil)
	u := strings.Replace(deltaURL(s), "https://", "https://post:hunter2@", 1) + "?token=s3cret"
	_, err := f.Get(t.Context(), u, 1<<20)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound || fetchErr(t, err).Retryable() {
		t.Fatalf("err %v, want a non-retryable 404 StatusError", err)
	}
	if s.requests() != 1 || w.count() != 0 {
		t.Errorf("%d requests, %d waits; want 1 and 0", s.requests(), w.count())
	}
	if msg := err.Error(); !strings.Contains(msg, "1-4.delta") || strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cret") {
		t.Errorf("error %q: want the file named, no credentials", msg)
	}
}

// TestGetBounded: a body over the limit is refused, whether announced by
// Content-Length or streamed without one, reading at most limit+1 bytes.
func TestGetBounded(t *testing.T) {
	p := newPKI(t)
	limit := int64(len(deltaBody) - 1)
	announced := newServer(t, p, deltaBody, serveAll)
	f := newFetcher(t, p, announced, &waits{}, nil)
	if _, err := f.Get(t.Context(), deltaURL(announced), limit); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "Content-Length") {
		t.Errorf("announced: err %v, want ErrTooLarge naming Content-Length", err)
	}
	streamed := newServer(t, p, deltaBody, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		for i := 0; i < 1000; i++ { // 1.3 MB, no Content-Length
			if s.write(w, s.body) != nil {
				return
			}
		}
	})
	f = newFetcher(t, p, streamed, &waits{}, nil)
	_, err := f.Get(t.Context(), deltaURL(streamed), limit)
	if !errors.Is(err, ErrTooLarge) || fetchErr(t, err).Offset != limit+1 {
		t.Errorf("streamed: err %v, want ErrTooLarge after %d bytes", err, limit+1)
	}
}

// TestGetIdleTimeout: a body that stalls is abandoned by the idle
// watchdog.
func TestGetIdleTimeout(t *testing.T) {
	p := newPKI(t)
	s := newServer(t, p, deltaBody, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
		s.write(w, s.body[:10])
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	f := newFetcher(t, p, s, &waits{}, func(o *Options) { o.IdleTimeout = 100 * time.Millisecond })
	_, err := f.Get(t.Context(), deltaURL(s), 1<<20)
	if !errors.Is(err, errIdle) || fetchErr(t, err).Offset != 10 {
		t.Fatalf("err %v, want the idle timeout at byte 10", err)
	}
}

// TestGetRefuses: plain http and an untrusted server fail at once.
func TestGetRefuses(t *testing.T) {
	p, w := newPKI(t), &waits{}
	s := newServer(t, p, deltaBody, serveAll)
	f := newFetcher(t, p, s, w, func(o *Options) { o.TLS.RootCAs = p.clientCAs })
	if _, err := f.Get(t.Context(), strings.Replace(deltaURL(s), "https://", "http://", 1), 1<<20); !errors.Is(err, ErrBadResponse) {
		t.Errorf("http://: err %v, want ErrBadResponse", err)
	}
	_, err := f.Get(t.Context(), deltaURL(s), 1<<20)
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) || w.count() != 0 || s.requests() != 0 {
		t.Errorf("untrusted server: err %v after %d waits and %d requests; want a verification error, none", err, w.count(), s.requests())
	}
}

// TestCloseIdleConnections: after the fetcher closes its idle
// connections, HQ's server sees its connection closed (a stopping post
// leaves none open, and HQ's graceful stop need not wait for it).
func TestCloseIdleConnections(t *testing.T) {
	p := newPKI(t)
	closed := make(chan struct{}, 1)
	s := &snapServer{body: deltaBody, behave: serveAll}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r) }))
	s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.clientCAs}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	s.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	f := newFetcher(t, p, s, &waits{}, nil)
	if _, err := f.Get(t.Context(), deltaURL(s), 1<<20); err != nil {
		t.Fatal(err)
	}
	f.CloseIdleConnections()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's connection is still open 10 s after CloseIdleConnections")
	}
}
