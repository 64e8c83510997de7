package snapshot

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
)

// cut is where the flaky link drops the body: an odd size, not aligned
// with any buffer.
const cut = 50_001

func serveAll(s *snapServer, w http.ResponseWriter, r *http.Request, n int) { s.serve(w, r) }

// fetchOK fetches, checks the result with protocol.SnapshotReader and
// that no part file is left.
func fetchOK(t *testing.T, f *Fetcher, h *hq, head protocol.Head, dir string) {
	t.Helper()
	path, err := f.Fetch(t.Context(), head, dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "un-1-3.snap"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	h.verify(t, path, head)
	if _, err := os.Stat(path + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("part file left: %v", err)
	}
}

func wantRanges(t *testing.T, s *snapServer, want ...string) {
	t.Helper()
	if got := s.rangeHeaders(); !reflect.DeepEqual(got, want) {
		t.Errorf("Range headers %q, want %q", got, want)
	}
}

func range_(off int) string { return "bytes=" + strconv.Itoa(off) + "-" }

func TestFetchWhole(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, serveAll)
	f := newFetcher(t, p, s, w, nil)
	head := h.head(t, s.URL+protocol.PathSnapshots+"un-1-1.snap")
	dir := t.TempDir()

	fetchOK(t, f, h, head, dir)
	wantRanges(t, s, "")
	// The verified file is reused: no second download.
	fetchOK(t, f, h, head, dir)
	if s.requests() != 1 || w.count() != 0 {
		t.Errorf("%d requests, %d waits; want 1 and 0", s.requests(), w.count())
	}
}

// TestFetchResumesAfterCuts: the link drops twice mid-body; each retry
// asks for exactly the missing bytes and no byte crosses the link twice.
func TestFetchResumesAfterCuts(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		s.serveCut(w, r, true, map[bool]int{true: cut, false: 0}[n <= 2])
	})
	f := newFetcher(t, p, s, w, nil)
	head := h.head(t, s.URL+"/snap")

	fetchOK(t, f, h, head, t.TempDir())
	wantRanges(t, s, "", range_(cut), range_(2*cut))
	if got, want := s.bytesSent(), int64(len(h.file)); got != want {
		t.Errorf("server sent %d body bytes, want %d (each byte once)", got, want)
	}
	if w.count() != 2 {
		t.Errorf("%d backoff waits, want 2", w.count())
	}
}

// TestFetchRetriesServerErrors: 503 twice (inside retryablehttp), then
// the file; and 429 with an absurd Retry-After, passed to the backoff,
// which caps it.
func TestFetchRetriesServerErrors(t *testing.T) {
	h, p := testHQ(t), newPKI(t)
	for _, tc := range []struct {
		code       int
		retryAfter string
		want       time.Duration
	}{
		{http.StatusServiceUnavailable, "", 0},
		{http.StatusTooManyRequests, "86400", 24 * time.Hour},
		{http.StatusRequestTimeout, "", 0},
		{http.StatusBadGateway, "", 0},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			w := &waits{}
			s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
				if n <= 2 {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					http.Error(w, "busy", tc.code)
					return
				}
				s.serve(w, r)
			})
			f := newFetcher(t, p, s, w, nil)
			fetchOK(t, f, h, h.head(t, s.URL+"/snap"), t.TempDir())
			wantRanges(t, s, "", "", "")
			if want := []time.Duration{tc.want, tc.want}; !reflect.DeepEqual(w.calls, want) {
				t.Errorf("backoff got retryAfter %v, want %v", w.calls, want)
			}
		})
	}
	if got := JitterBackoff(time.Second, 5*time.Minute)(0, 24*time.Hour); got != 5*time.Minute {
		t.Errorf("Retry-After of a day waits %s, want the 5m cap", got)
	}
}

// TestFetchRetryKeepsRange: a cut, then a 503 retried inside
// retryablehttp: both requests after the cut carry the resume offset.
func TestFetchRetryKeepsRange(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			s.serveCut(w, r, true, cut)
		case 2:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			s.serve(w, r)
		}
	})
	f := newFetcher(t, p, s, w, nil)
	fetchOK(t, f, h, h.head(t, s.URL+"/snap"), t.TempDir())
	wantRanges(t, s, "", range_(cut), range_(cut))
}

// TestFetchRangeIgnored: the server answers the resume with 200 and the
// whole file; the part file restarts at 0 instead of holding a prefix
// plus a second copy.
func TestFetchRangeIgnored(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		s.serveCut(w, r, false, map[bool]int{true: cut, false: 0}[n == 1])
	})
	f := newFetcher(t, p, s, w, nil)
	dir := t.TempDir()
	fetchOK(t, f, h, h.head(t, s.URL+"/snap"), dir)
	wantRanges(t, s, "", range_(cut))
	if st, err := os.Stat(filepath.Join(dir, "un-1-3.snap")); err != nil || st.Size() != int64(len(h.file)) {
		t.Errorf("file: %v, %v; want %d bytes", st, err, len(h.file))
	}
}

// TestFetchHashMismatch: same size, one byte different.
func TestFetchHashMismatch(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	bad := bytes.Clone(h.file)
	bad[len(bad)/2] ^= 1
	s := newServer(t, p, bad, serveAll)
	f := newFetcher(t, p, s, w, nil)
	head := h.head(t, s.URL+"/snap")
	dir := t.TempDir()

	_, err := f.Fetch(t.Context(), head, dir)
	fe := fetchErr(t, err)
	if !errors.Is(err, ErrHashMismatch) || !fe.Retryable() {
		t.Fatalf("err %v, want a retryable ErrHashMismatch", err)
	}
	got := sha(bad)
	for _, x := range []string{hex.EncodeToString(head.SnapshotSHA256[:]), hex.EncodeToString(got[:])} {
		if !strings.Contains(err.Error(), x) {
			t.Errorf("error %q does not name %s", err, x)
		}
	}
	noFiles(t, dir, head)
}

// TestFetchTooLong: a body longer than the head says is refused, whether
// announced (Content-Length) or streamed without end.
func TestFetchTooLong(t *testing.T) {
	h, p := testHQ(t), newPKI(t)
	t.Run("ContentLength", func(t *testing.T) {
		w := &waits{}
		s := newServer(t, p, append(bytes.Clone(h.file), "extra"...), serveAll)
		f := newFetcher(t, p, s, w, nil)
		head := h.head(t, s.URL+"/snap")
		dir := t.TempDir()
		_, err := f.Fetch(t.Context(), head, dir)
		if !errors.Is(err, ErrTooLarge) || fetchErr(t, err).Offset != 0 {
			t.Fatalf("err %v, want ErrTooLarge at byte 0", err)
		}
		noFiles(t, dir, head)
		if s.requests() != 1 || w.count() != 0 {
			t.Errorf("%d requests, %d waits; want 1 and 0", s.requests(), w.count())
		}
	})
	t.Run("Endless", func(t *testing.T) {
		w := &waits{}
		done := make(chan struct{})
		s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
			defer close(done)
			w.WriteHeader(http.StatusOK) // no Content-Length: chunked
			if s.write(w, s.body) != nil {
				return
			}
			junk := bytes.Repeat([]byte("x"), 32<<10)
			for s.write(w, junk) == nil {
			}
		})
		f := newFetcher(t, p, s, w, nil)
		head := h.head(t, s.URL+"/snap")
		dir := t.TempDir()
		_, err := f.Fetch(t.Context(), head, dir)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
		noFiles(t, dir, head)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("server still writing 10 s after the fetch gave up")
		}
		// The client read one byte past the end, then closed: what the
		// server managed to write is bounded by socket buffers.
		if sent := s.bytesSent(); sent > int64(len(h.file))+16<<20 {
			t.Errorf("server wrote %d bytes, the fetcher should have stopped near %d", sent, len(h.file))
		}
	})
}

// TestFetchNotFound: 404 is not retried; the error names the URL without
// the credentials or token it carried.
func TestFetchNotFound(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		http.NotFound(w, r)
	})
	f := newFetcher(t, p, s, w, nil)
	u := strings.Replace(s.URL, "https://", "https://post:hunter2@", 1) + "/v1/snap?token=s3cret"
	head := h.head(t, u)
	_, err := f.Fetch(t.Context(), head, t.TempDir())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound || fetchErr(t, err).Retryable() {
		t.Fatalf("err %v, want a non-retryable 404 StatusError", err)
	}
	if s.requests() != 1 || w.count() != 0 {
		t.Errorf("%d requests, %d waits; want 1 and 0", s.requests(), w.count())
	}
	msg := err.Error()
	if !strings.Contains(msg, s.Listener.Addr().String()+"/v1/snap") || !strings.Contains(msg, "at byte 0") {
		t.Errorf("error %q does not say where", msg)
	}
	if strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cret") || strings.Contains(msg, "post:") {
		t.Errorf("error %q leaks credentials", msg)
	}
}

// TestFetchGivesUp: a server down for good costs MaxAttempts requests,
// then a retryable ErrRetriesExhausted naming the last status.
func TestFetchGivesUp(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "down", http.StatusBadGateway)
	})
	f := newFetcher(t, p, s, w, nil)
	_, err := f.Fetch(t.Context(), h.head(t, s.URL+"/snap"), t.TempDir())
	if !errors.Is(err, ErrRetriesExhausted) || !fetchErr(t, err).Retryable() || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err %v, want retryable ErrRetriesExhausted naming 502", err)
	}
	if s.requests() != 5 {
		t.Errorf("%d requests, want MaxAttempts = 5", s.requests())
	}

	// Connection refused: retried as well, and the error keeps the
	// token in the URL's query out.
	w = &waits{}
	f = newFetcher(t, p, s, w, nil)
	url := s.URL + "/snap?token=s3cret"
	s.Close()
	_, err = f.Fetch(t.Context(), h.head(t, url), t.TempDir())
	if !errors.Is(err, ErrRetriesExhausted) || w.count() != 4 {
		t.Fatalf("err %v after %d waits, want ErrRetriesExhausted after 4", err, w.count())
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q leaks the token", err)
	}
	t.Log(err)
}

// TestFetchResumesPartFile: a part file from a previous run (the
// process was killed) is resumed, not restarted.
func TestFetchResumesPartFile(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, serveAll)
	f := newFetcher(t, p, s, w, nil)
	head := h.head(t, s.URL+"/snap")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "un-1-3.snap.part"), h.file[:3*cut], 0o640); err != nil {
		t.Fatal(err)
	}
	fetchOK(t, f, h, head, dir)
	wantRanges(t, s, range_(3*cut))
}

// stallFirst serves the first request's first cut bytes and then holds
// the connection open, as a stalled link would; later requests are served
// normally.
func stallFirst(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
	if n > 1 {
		s.serve(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
	s.write(w, s.body[:cut])
	http.NewResponseController(w).Flush()
	<-r.Context().Done()
}

// TestFetchCancel: cancelling mid-body returns promptly with the
// context's error and keeps the part file, which the next Fetch resumes.
func TestFetchCancel(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, stallFirst)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f := newFetcher(t, p, s, w, func(o *Options) {
		o.OnProgress = func(off, size int64) {
			if off >= cut {
				cancel()
			}
		}
	})
	head := h.head(t, s.URL+"/snap")
	dir := t.TempDir()

	errc := make(chan error, 1)
	go func() { _, err := f.Fetch(ctx, head, dir); errc <- err }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch did not return 10 s after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) || fetchErr(t, err).Offset != cut {
		t.Fatalf("err %v, want context.Canceled at byte %d", err, cut)
	}
	if got := partSize(t, dir, head); got != cut {
		t.Fatalf("part file %d bytes, want %d kept", got, cut)
	}

	f2 := newFetcher(t, p, s, w, nil) // a new process
	fetchOK(t, f2, h, head, dir)
	wantRanges(t, s, "", range_(cut))
}

// TestFetchIdleTimeout: a body that stalls with the connection open is
// abandoned by the idle watchdog and resumed.
func TestFetchIdleTimeout(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, stallFirst)
	f := newFetcher(t, p, s, w, func(o *Options) { o.IdleTimeout = 100 * time.Millisecond })
	fetchOK(t, f, h, h.head(t, s.URL+"/snap"), t.TempDir())
	wantRanges(t, s, "", range_(cut))
}

// TestFetchWrongContentRange: a 206 that does not start at the requested
// byte is refused, and the part file is kept (its bytes are fine).
func TestFetchWrongContentRange(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Range", "bytes 0-99/"+strconv.Itoa(len(s.body)))
		w.WriteHeader(http.StatusPartialContent)
		s.write(w, s.body[:100])
	})
	f := newFetcher(t, p, s, w, nil)
	head := h.head(t, s.URL+"/snap")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "un-1-3.snap.part"), h.file[:cut], 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := f.Fetch(t.Context(), head, dir)
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "starts at byte 0, requested "+strconv.Itoa(cut)) {
		t.Fatalf("err %v, want ErrBadResponse about the start", err)
	}
	if got := partSize(t, dir, head); got != cut {
		t.Errorf("part file %d bytes, want %d kept", got, cut)
	}
}

// TestFetchUntrustedServer: a server whose certificate is not from the
// pinned CA fails at once, without retries.
func TestFetchUntrustedServer(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, serveAll)
	// Pin the device CA instead of the server's: the server's
	// certificate does not chain to it.
	f := newFetcher(t, p, s, w, func(o *Options) { o.TLS.RootCAs = p.clientCAs })
	_, err := f.Fetch(t.Context(), h.head(t, s.URL+"/snap"), t.TempDir())
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) || errors.Is(err, ErrRetriesExhausted) {
		t.Fatalf("err %v, want a certificate verification error", err)
	}
	t.Log(err)
	if w.count() != 0 || s.requests() != 0 {
		t.Errorf("%d waits, %d requests; want none", w.count(), s.requests())
	}
}

func TestNewRefusesUnpinnedTLS(t *testing.T) {
	for name, opts := range map[string]Options{
		"no TLS":             {},
		"InsecureSkipVerify": {TLS: &tls.Config{InsecureSkipVerify: true, RootCAs: x509.NewCertPool()}},
		"no RootCAs":         {TLS: &tls.Config{}},
		"client Timeout":     {HTTPClient: &http.Client{Timeout: time.Minute}},
		"client insecure": {HTTPClient: &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New accepted", name)
		}
	}
}

func TestFetchRefusesOversizedHead(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, serveAll)
	f := newFetcher(t, p, s, w, func(o *Options) { o.MaxSize = int64(len(h.file)) - 1 })
	_, err := f.Fetch(t.Context(), h.head(t, s.URL+"/snap"), t.TempDir())
	if !errors.Is(err, ErrTooLarge) || s.requests() != 0 {
		t.Fatalf("err %v after %d requests, want ErrTooLarge before any", err, s.requests())
	}
}

func TestJitterBackoff(t *testing.T) {
	lo, hi := 2*time.Second, 5*time.Minute
	b := JitterBackoff(lo, hi)
	seen := map[time.Duration]bool{}
	for attempt := range 100 {
		ceil := hi
		if attempt < 10 {
			ceil = min(lo<<attempt, hi)
		}
		for range 20 {
			d := b(attempt, 0)
			if d < lo || d > ceil {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", attempt, d, lo, ceil)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits in 2000: no jitter", len(seen))
	}
	if d := b(0, 90*time.Second); d < 90*time.Second || d > hi {
		t.Errorf("Retry-After 90s: wait %s", d)
	}
}

// TestFetchHeaderTimeout: a server that accepts the request but never
// answers is given AttemptTimeout, then retried inside retryablehttp.
func TestFetchHeaderTimeout(t *testing.T) {
	h, p, w := testHQ(t), newPKI(t), &waits{}
	s := newServer(t, p, h.file, func(s *snapServer, w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-r.Context().Done()
			return
		}
		s.serve(w, r)
	})
	f := newFetcher(t, p, s, w, func(o *Options) { o.AttemptTimeout = 100 * time.Millisecond })
	fetchOK(t, f, h, h.head(t, s.URL+"/snap"), t.TempDir())
	wantRanges(t, s, "", "")
	if w.count() != 1 {
		t.Errorf("%d waits, want 1", w.count())
	}
}
