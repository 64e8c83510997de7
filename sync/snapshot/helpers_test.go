package snapshot

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/synth"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/protocol"
)

// t0 is the fixed time every signature and check uses.
var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// hq is a test HQ: a signing key, one real snapshot file of a synthetic
// list written by protocol.SnapshotWriter, and the key set a post trusts.
type hq struct {
	signer  *protocol.Signer
	keys    *protocol.KeySet
	file    []byte
	entries int
}

var (
	hqOnce sync.Once
	hqVal  *hq
	hqErr  error
)

// testHQ builds the snapshot once per test binary (about 300 KB).
func testHQ(t *testing.T) *hq {
	t.Helper()
	hqOnce.Do(func() { hqVal, hqErr = buildHQ() })
	if hqErr != nil {
		t.Fatal(hqErr)
	}
	return hqVal
}

func buildHQ() (*hq, error) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	signer, err := protocol.NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, err
	}
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: signer.Public()})
	if err != nil {
		return nil, err
	}
	var entries []engine.Entry
	var set engine.SetHash
	if err := synth.Persons(42, 2000, func(e *engine.Entry) error {
		entries = append(entries, *e)
		set.Add(engine.MarshalEntry(e))
		return nil
	}); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	sw, err := protocol.NewSnapshotWriter(&buf, signer, protocol.SnapshotHeader{
		List: "un", Epoch: 1, Version: 3, Hash: set, Count: uint64(len(entries)), IssuedAt: t0})
	if err != nil {
		return nil, err
	}
	for i := range entries {
		if err := sw.Add(&entries[i]); err != nil {
			return nil, err
		}
	}
	if err := sw.Close(); err != nil {
		return nil, err
	}
	return &hq{signer: signer, keys: keys, file: buf.Bytes(), entries: len(entries)}, nil
}

// head returns the head a post would hold for the snapshot at url: sealed
// by HQ's key and opened (verified) with the post's key set.
func (h *hq) head(t *testing.T, url string) protocol.Head {
	t.Helper()
	r, err := protocol.NewSnapshotReader(bytes.NewReader(h.file), h.keys, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := protocol.SealHead(h.signer, &protocol.Head{
		List: "un", Epoch: 1, Version: 3, Hash: r.Header().Hash, Entries: uint64(h.entries),
		IssuedAt: t0, ValidUntil: t0.Add(48 * time.Hour),
		SnapshotURL: url, SnapshotVersion: 3, SnapshotSize: uint64(len(h.file)),
		SnapshotSHA256: sha(h.file),
	})
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := h.keys.OpenHead(msg, t0)
	if err != nil {
		t.Fatal(err)
	}
	return *head
}

// verify reads the fetched file with protocol's SnapshotReader against
// the head: the proof that the download is the file HQ signed.
func (h *hq) verify(t *testing.T, path string, head protocol.Head) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := protocol.NewSnapshotReader(f, h.keys, t0, &head)
	if err != nil {
		t.Fatalf("read fetched snapshot: %v", err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("fetched snapshot, entry %d: %v", n, err)
		}
		n++
	}
	if n != h.entries {
		t.Fatalf("fetched snapshot has %d entries, want %d", n, h.entries)
	}
}

// snapServer is HQ's snapshot server on 127.0.0.1 with mTLS. behave
// decides how request number n (1-based) is answered; it records every
// request's Range header and the body bytes it sent.
type snapServer struct {
	*httptest.Server
	body   []byte
	behave func(s *snapServer, w http.ResponseWriter, r *http.Request, n int)

	mu     sync.Mutex
	ranges []string // Range header of each request, "" when absent
	sent   int64    // body bytes written by the handler
}

func (s *snapServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ranges)
}

func (s *snapServer) rangeHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func (s *snapServer) bytesSent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// write writes p and counts the bytes that went out.
func (s *snapServer) write(w io.Writer, p []byte) error {
	n, err := w.Write(p)
	s.mu.Lock()
	s.sent += int64(n)
	s.mu.Unlock()
	return err
}

// serve answers like a correct static file server (http.ServeContent:
// Range, If-Range, 206 and Content-Range) with a strong ETag.
func (s *snapServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("ETag", `"v3"`)
	http.ServeContent(w, r, "un.snap", time.Time{}, bytes.NewReader(s.body))
}

// serveCut answers from the requested offset (if honourRange) and closes
// the connection after cut bytes: a link that drops mid-body.
func (s *snapServer) serveCut(w http.ResponseWriter, r *http.Request, honourRange bool, cut int) {
	off := 0
	if rg := r.Header.Get("Range"); honourRange && rg != "" {
		if _, err := fmt.Sscanf(rg, "bytes=%d-", &off); err != nil {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, len(s.body)-1, len(s.body)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)-off))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
		w.WriteHeader(http.StatusOK)
	}
	rest := s.body[off:]
	if cut <= 0 || cut >= len(rest) {
		s.write(w, rest)
		return
	}
	s.write(w, rest[:cut])
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		panic(err)
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// pki is a test CA, the server's trust in client certificates, and the
// post's client certificate.
type pki struct {
	clientCAs *x509.CertPool
	client    tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca := brokertest.NewCA(t, "watchpost test device CA")
	return &pki{clientCAs: ca.Pool(), client: ca.Issue(t, brokertest.Leaf{CN: "post-0001"}).Pair}
}

// newServer starts a snapshot server on loopback that requires a client
// certificate from the test CA.
func newServer(t *testing.T, p *pki, body []byte, behave func(s *snapServer, w http.ResponseWriter, r *http.Request, n int)) *snapServer {
	t.Helper()
	s := &snapServer{body: body, behave: behave}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		n := len(s.ranges)
		s.mu.Unlock()
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "post-0001" {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		s.behave(s, w, r, n)
	}))
	s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.clientCAs}
	s.StartTLS()
	if !strings.HasPrefix(s.Listener.Addr().String(), "127.0.0.1:") {
		t.Fatalf("test server on %s, want 127.0.0.1", s.Listener.Addr())
	}
	t.Cleanup(s.Close)
	return s
}

// waits records the Backoff calls; it returns 0, so nothing sleeps.
type waits struct {
	mu    sync.Mutex
	calls []time.Duration // the retryAfter of each call
}

func (w *waits) backoff(attempt int, retryAfter time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, retryAfter)
	return 0
}

func (w *waits) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

// newFetcher returns a fetcher that trusts s's certificate, presents the
// post's client certificate and never sleeps.
func newFetcher(t *testing.T, p *pki, s *snapServer, w *waits, edit func(*Options)) *Fetcher {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	opts := Options{
		TLS:         &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{p.client}},
		MaxAttempts: 5,
		Backoff:     w.backoff,
		Logger:      testLogger(t),
	}
	if edit != nil {
		edit(&opts)
	}
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fetchErr asserts err is an *Error and returns it.
func fetchErr(t *testing.T, err error) *Error {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return fe
}

// noFiles asserts that dir holds neither the snapshot nor its part file.
func noFiles(t *testing.T, dir string, head protocol.Head) {
	t.Helper()
	for _, p := range []string{FileName(&head), FileName(&head) + ".part"} {
		if _, err := os.Stat(dir + "/" + p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: %v, want it absent", p, err)
		}
	}
}

func partSize(t *testing.T, dir string, head protocol.Head) int64 {
	t.Helper()
	st, err := os.Stat(dir + "/" + FileName(&head) + ".part")
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
