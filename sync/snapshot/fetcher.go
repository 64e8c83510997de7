package snapshot

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/durable"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/safeurl"
)

// Defaults for the zero values of Options.
const (
	// DefaultMaxAttempts bounds consecutive requests that add no byte.
	// With the default backoff that is roughly 20 minutes of a dead link
	// before Fetch gives up; the caller retries on the next head.
	DefaultMaxAttempts = 10
	// DefaultMinBackoff and DefaultMaxBackoff bound the jittered wait
	// between attempts: 2 s to 5 min.
	DefaultMinBackoff = 2 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultAttemptTimeout bounds each request's wait for response
	// headers: generous for a 600 ms RTT satellite hop with TLS.
	DefaultAttemptTimeout = time.Minute
	// DefaultIdleTimeout aborts an attempt whose body delivers no byte for
	// this long (a stalled TCP connection); the next attempt resumes.
	DefaultIdleTimeout = time.Minute
	// DefaultMaxSize is the largest snapshot accepted: 20 million entries
	// (protocol.MaxSnapshotEntries) of a few hundred bytes each.
	DefaultMaxSize = 8 << 30
	// DefaultSyncEvery fsyncs the part file after this many bytes, so a
	// power cut loses at most this much of the download.
	DefaultSyncEvery = 8 << 20
)

// Options configure a Fetcher. Zero values take the defaults above.
type Options struct {
	// TLS is the client side of HQ's snapshot server: RootCAs pins HQ's
	// CA (required: the system roots are not trusted for snapshots) and
	// Certificates or GetClientCertificate holds the post's client
	// certificate (mTLS). InsecureSkipVerify is refused. Required unless
	// HTTPClient is set.
	TLS *tls.Config
	// HTTPClient, if set, is used instead of a client built from TLS; its
	// transport must verify certificates and its Timeout must be 0 (a
	// whole-request timeout would cut long downloads: AttemptTimeout and
	// IdleTimeout bound the waits instead). Its CheckRedirect is replaced
	// by an https-only policy.
	HTTPClient *http.Client

	// MaxAttempts bounds consecutive requests that add no byte to the
	// part file; progress resets the count.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts; a
	// Retry-After is honoured up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Backoff computes the waits (default JitterBackoff(MinBackoff,
	// MaxBackoff)). Tests inject one that returns 0: nothing sleeps.
	Backoff Backoff
	// AttemptTimeout bounds each request's wait for response headers.
	AttemptTimeout time.Duration
	// IdleTimeout bounds the time between two reads of the body that
	// return bytes.
	IdleTimeout time.Duration

	// MaxSize is the largest SnapshotSize a head may name.
	MaxSize int64
	// SyncEvery is how many bytes are written between fsyncs of the part
	// file (it is also fsynced at the end of every attempt).
	SyncEvery int64

	// Logger receives one line per interruption and per completed fetch
	// (Info/Warn) and per request (Debug). Default: discard.
	Logger *slog.Logger
	// OnProgress, if set, is called after each write to the part file
	// with the bytes held and the total. It runs on Fetch's goroutine and
	// must not block.
	OnProgress func(offset, size int64)
}

// Fetcher downloads snapshot files. It is safe for concurrent use; two
// Fetches of the same file into the same directory are refused
// (ErrBusy).
type Fetcher struct {
	opts    Options
	http    *http.Client
	backoff Backoff
	log     *slog.Logger

	mu   sync.Mutex
	busy map[string]bool
}

// New checks opts, fills in defaults and returns a Fetcher.
func New(opts Options) (*Fetcher, error) {
	opts.MaxAttempts = option.Positive(opts.MaxAttempts, DefaultMaxAttempts)
	opts.MinBackoff = option.Positive(opts.MinBackoff, DefaultMinBackoff)
	opts.MaxBackoff = option.Positive(opts.MaxBackoff, DefaultMaxBackoff)
	if opts.MaxBackoff < opts.MinBackoff {
		return nil, fmt.Errorf("snapshot fetcher: MaxBackoff %s is below MinBackoff %s", opts.MaxBackoff, opts.MinBackoff)
	}
	opts.AttemptTimeout = option.Positive(opts.AttemptTimeout, DefaultAttemptTimeout)
	opts.IdleTimeout = option.Positive(opts.IdleTimeout, DefaultIdleTimeout)
	opts.MaxSize = option.Positive(opts.MaxSize, DefaultMaxSize)
	opts.SyncEvery = option.Positive(opts.SyncEvery, DefaultSyncEvery)
	f := &Fetcher{opts: opts, backoff: opts.Backoff, log: opts.Logger, busy: map[string]bool{}}
	if f.backoff == nil {
		f.backoff = JitterBackoff(opts.MinBackoff, opts.MaxBackoff)
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.log = f.log.With(logkey.Component, "snapshot")

	var base http.Client
	switch {
	case opts.HTTPClient != nil:
		if opts.HTTPClient.Timeout != 0 {
			return nil, errors.New("snapshot fetcher: HTTPClient.Timeout must be 0 (it would cut long downloads; use AttemptTimeout and IdleTimeout)")
		}
		if t, ok := opts.HTTPClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
			return nil, errors.New("snapshot fetcher: HTTPClient's TLS config has InsecureSkipVerify")
		}
		base = *opts.HTTPClient
	case opts.TLS == nil:
		return nil, errors.New("snapshot fetcher: Options.TLS is required (HQ's CA in RootCAs, the post's client certificate)")
	default:
		if opts.TLS.InsecureSkipVerify {
			return nil, errors.New("snapshot fetcher: InsecureSkipVerify is refused; pin HQ's CA in TLS.RootCAs")
		}
		if opts.TLS.RootCAs == nil {
			return nil, errors.New("snapshot fetcher: TLS.RootCAs is nil; pin HQ's CA (system roots are not trusted for snapshots)")
		}
		cfg := opts.TLS.Clone()
		if cfg.MinVersion < tls.VersionTLS12 {
			cfg.MinVersion = tls.VersionTLS12
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg
		tr.DisableCompression = true // byte offsets must be offsets in the file
		base = http.Client{Transport: tr}
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	base.Transport = &headerTimeout{next: next, d: opts.AttemptTimeout}
	base.CheckRedirect = checkRedirect
	f.http = &base
	return f, nil
}

// FileName returns the final file name of the snapshot head names
// (protocol.SnapshotFileName of its list, epoch and snapshot version).
// The part file adds ".part".
func FileName(head *protocol.Head) string {
	return protocol.SnapshotFileName(head.List, head.Epoch, head.SnapshotVersion)
}

// Fetch downloads the snapshot named by head, which the caller has
// verified (protocol.KeySet.OpenHead and DecideHead), into dir and
// returns the path of the verified file <dir>/FileName(head). It resumes
// a part file left by an earlier Fetch or process, and returns at once
// if the final file already exists and verifies. The file's size and
// SHA-256 are the head's when Fetch returns nil; the caller still reads
// it through protocol.NewSnapshotReader with the same head.
//
// When ctx ends Fetch returns promptly with an *Error wrapping ctx's
// error and keeps the part file for the next call.
func (f *Fetcher) Fetch(ctx context.Context, head protocol.Head, dir string) (path string, err error) {
	name := FileName(&head)
	e := &Error{File: name, URL: "(invalid URL)"}
	fail := func(off int64, err error) error {
		e.Offset, e.Err = off, err
		return e
	}
	u, err := url.Parse(head.SnapshotURL)
	if err == nil {
		e.URL = safeurl.Of(u)
	}
	switch {
	case protocol.ValidListName(head.List) != nil || head.Epoch == 0 || head.SnapshotVersion == 0:
		return "", fail(0, fmt.Errorf("%w: head has no valid list, epoch or snapshot version", ErrBadResponse))
	case err != nil || u.Scheme != "https" || u.Host == "":
		return "", fail(0, fmt.Errorf("%w: snapshot URL is not an absolute https:// URL", ErrBadResponse))
	case head.SnapshotSize == 0:
		return "", fail(0, fmt.Errorf("%w: head names a snapshot of 0 bytes", ErrBadResponse))
	case head.SnapshotSize > uint64(f.opts.MaxSize):
		return "", fail(0, fmt.Errorf("%w: head names %d bytes, the limit is %d", ErrTooLarge, head.SnapshotSize, f.opts.MaxSize))
	}

	final := filepath.Join(dir, name)
	part := final + ".part"
	if !f.claim(final) {
		return "", fail(0, ErrBusy)
	}
	defer f.release(final)
	log := f.log.With(logkey.File, name, logkey.URL, e.URL, logkey.Size, head.SnapshotSize)

	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fail(0, err)
	}
	if ok, err := haveFinal(final, &head); err != nil {
		return "", fail(0, err)
	} else if ok {
		log.Debug("snapshot already downloaded and verified")
		return final, nil
	}

	file, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return "", fail(0, err)
	}
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	off, err := file.Seek(0, io.SeekEnd)
	if err != nil {
		return "", fail(0, err)
	}
	size := int64(head.SnapshotSize)
	if off > size {
		log.Warn("part file longer than the snapshot; starting over", logkey.Offset, off)
		if err := file.Truncate(0); err != nil {
			return "", fail(off, err)
		}
		off = 0
	} else if off > 0 {
		log.Info("resuming snapshot download", logkey.Offset, off)
	}

	d := &download{f: f, log: log, url: u, safe: e.URL, size: size, file: file, off: off, synced: off}
	if err := d.run(ctx); err != nil {
		if d.discard {
			file.Close()
			file = nil
			if rmErr := os.Remove(part); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
				err = errors.Join(err, rmErr)
			}
		}
		return "", fail(d.off, err)
	}

	// Verify what is on disk, not what went by: fsync, re-read, hash.
	if err := file.Sync(); err != nil {
		return "", fail(d.off, fmt.Errorf("sync part file: %w", err))
	}
	got, err := hashFile(file, size)
	if err != nil {
		return "", fail(d.off, fmt.Errorf("hash part file: %w", err))
	}
	if got != head.SnapshotSHA256 {
		file.Close()
		file = nil
		rmErr := os.Remove(part)
		return "", fail(d.off, errors.Join(fmt.Errorf("%w: expected %s, got %s; part file deleted",
			ErrHashMismatch, hex.EncodeToString(head.SnapshotSHA256[:]), hex.EncodeToString(got[:])), rmErr))
	}
	if err := file.Close(); err != nil {
		file = nil
		return "", fail(d.off, fmt.Errorf("close part file: %w", err))
	}
	file = nil
	if err := os.Rename(part, final); err != nil {
		return "", fail(d.off, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return "", fail(d.off, fmt.Errorf("sync directory: %w", err))
	}
	log.Info("snapshot downloaded and verified", logkey.Attempt, d.requests)
	return final, nil
}

// CloseIdleConnections closes the connections to HQ that no fetch is
// using (a stopping post leaves none open behind it).
func (f *Fetcher) CloseIdleConnections() { f.http.CloseIdleConnections() }

func (f *Fetcher) claim(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy[path] {
		return false
	}
	f.busy[path] = true
	return true
}

func (f *Fetcher) release(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.busy, path)
}

// wait returns the wait before retry number attempt, capped at MaxBackoff
// whatever the Backoff function says.
func (f *Fetcher) wait(attempt int, retryAfter time.Duration) time.Duration {
	w := f.backoff(attempt, retryAfter)
	if w > f.opts.MaxBackoff {
		w = f.opts.MaxBackoff
	}
	if w < 0 {
		w = 0
	}
	return w
}

// download is the state of one Fetch.
type download struct {
	f    *Fetcher
	log  *slog.Logger
	url  *url.URL
	safe string
	size int64
	file *os.File

	off      int64  // bytes in the part file: its size, and the next Range start
	synced   int64  // off at the last fsync
	etag     string // strong ETag of the first response, sent as If-Range
	failures int    // consecutive requests that added no byte
	requests int    // requests sent
	discard  bool   // the part file is worthless: delete it
}

// run loops until the part file holds size bytes. Each pass is one
// retryablehttp Do (with its own inner retries for the response) and one
// body copy; a broken body costs a pass, not the bytes it delivered.
func (d *download) run(ctx context.Context) error {
	for d.off < d.size {
		before := d.off
		retry, err := d.attempt(ctx)
		if err == nil {
			continue // a clean but partial 206: ask for the rest
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retry {
			return err
		}
		if d.off > before {
			d.failures = 0
		}
		d.failures++
		if d.failures >= d.f.opts.MaxAttempts {
			return fmt.Errorf("%w: %d requests in a row added nothing: %w", ErrRetriesExhausted, d.failures, err)
		}
		w := d.f.wait(d.failures-1, 0)
		d.log.Warn("snapshot download interrupted; resuming", logkey.Offset, d.off, logkey.Wait, w, logkey.Error, err)
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// setHeaders makes h ask for the bytes the part file lacks. Called for
// the first request of each pass and, through PrepareRetry, before each
// of retryablehttp's inner retries.
func (d *download) setHeaders(h http.Header) {
	h.Set("Accept-Encoding", "identity")
	if d.off > 0 {
		h.Set("Range", "bytes="+strconv.FormatInt(d.off, 10)+"-")
		if d.etag != "" {
			h.Set("If-Range", d.etag)
		}
	} else {
		h.Del("Range")
		h.Del("If-Range")
	}
}

// client returns the retryablehttp client of one pass. It is built per
// pass because its budget and backoff continue the download's count of
// fruitless requests; the underlying http.Client (and its connection
// pool) is shared.
func (d *download) client() *retryablehttp.Client {
	f := d.f
	base := d.failures
	return &retryablehttp.Client{
		HTTPClient:   f.http,
		Logger:       nil, // its default writes every request to stderr; the hooks log
		RetryWaitMin: f.opts.MinBackoff,
		RetryWaitMax: f.opts.MaxBackoff,
		RetryMax:     max(0, f.opts.MaxAttempts-d.failures-1),
		// net/http puts the full URL (query included) in a *url.Error;
		// scrub it before anything formats it into a message.
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			return checkRetry(ctx, resp, scrubURL(err, d.safe))
		},
		Backoff: func(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
			w := f.wait(base+attempt, retryAfter(resp, time.Now()))
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			d.log.Warn("request to HQ failed; retrying", logkey.Offset, d.off, logkey.Status, status, logkey.Wait, w)
			return w
		},
		RequestLogHook: func(_ retryablehttp.Logger, r *http.Request, i int) {
			d.requests++
			if i > 0 {
				d.failures++ // the inner attempt before this one failed
			}
			d.log.Debug("request to HQ", logkey.Attempt, d.requests, logkey.Offset, d.off)
		},
		// Nothing reaches the part file between inner retries, so the
		// header is unchanged in practice; recomputing it here keeps the
		// rule local: the Range sent is the part file's size at send
		// time. The header map is shared with the previous (finished)
		// request's shallow copy, so replace it rather than edit it.
		PrepareRetry: func(r *http.Request) error {
			r.Header = r.Header.Clone()
			d.setHeaders(r.Header)
			return nil
		},
		// Called when Do gives up: with retries left, the error was
		// permanent; otherwise the budget ran out. The body is closed
		// either way.
		ErrorHandler: func(resp *http.Response, err error, tries int) (*http.Response, error) {
			if resp != nil {
				drainClose(resp.Body)
			}
			var p *permanent
			switch {
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				return nil, err
			case errors.As(err, &p):
				return nil, p.err
			}
			return nil, fmt.Errorf("%w: %d requests in a row added nothing: %w", ErrRetriesExhausted, d.failures+1, err)
		},
	}
}

// errIdle is the cause of an attempt aborted by the idle watchdog.
var errIdle = errors.New("no body bytes within the idle timeout")

// attempt runs one pass. retry says whether a failure may heal with
// another pass; a nil error means the response was read completely.
func (d *download) attempt(ctx context.Context) (retry bool, err error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := retryablehttp.NewRequestWithContext(actx, http.MethodGet, d.url.String(), nil)
	if err != nil {
		return false, err
	}
	d.setHeaders(req.Header)
	resp, err := d.client().Do(req)
	if err != nil {
		// Do has already retried what checkRetry allows.
		return false, scrubURL(err, d.safe)
	}
	defer drainClose(resp.Body)

	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false, fmt.Errorf("%w: Content-Encoding %q (asked for identity)", ErrBadResponse, ce)
	}
	var want int64 // bytes this response must carry
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case err != nil:
			return false, fmt.Errorf("%w: %w", ErrBadResponse, err)
		case total != d.size:
			d.discard = true
			return false, fmt.Errorf("%w: server's file is %d bytes, the head says %d; part file deleted", ErrBadResponse, total, d.size)
		case start != d.off:
			return false, fmt.Errorf("%w: Content-Range starts at byte %d, requested %d", ErrBadResponse, start, d.off)
		}
		want = end - start + 1
	case http.StatusOK:
		if d.off > 0 {
			// The server ignored the Range (or If-Range failed): this body
			// starts at byte 0. Appending it would put a second copy after
			// the prefix.
			d.log.Warn("server ignored the Range request; restarting from byte 0", logkey.Offset, d.off)
			if err := d.file.Truncate(0); err != nil {
				return false, err
			}
			d.off, d.synced = 0, 0
		}
		want = d.size
		if et := resp.Header.Get("ETag"); strings.HasPrefix(et, `"`) {
			d.etag = et // strong only: If-Range forbids weak validators
		}
	case http.StatusRequestedRangeNotSatisfiable:
		d.discard = true
		return false, fmt.Errorf("%w: 416 for bytes %d- of a %d-byte snapshot (Content-Range %q); part file deleted",
			ErrBadResponse, d.off, d.size, resp.Header.Get("Content-Range"))
	default:
		return false, statusError(resp)
	}
	if resp.ContentLength > want {
		d.discard = true
		return false, fmt.Errorf("%w: Content-Length %d, at most %d bytes expected from byte %d; part file deleted",
			ErrTooLarge, resp.ContentLength, want, d.off)
	}

	watchdog := time.AfterFunc(d.f.opts.IdleTimeout, func() { cancel(errIdle) })
	defer watchdog.Stop()
	err = d.copy(resp.Body, want, watchdog)
	if serr := d.sync(); serr != nil && err == nil {
		return false, serr
	}
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, ErrTooLarge):
		d.discard = true
		return false, err
	case ctx.Err() != nil:
		return false, ctx.Err()
	case context.Cause(actx) == errIdle:
		return true, fmt.Errorf("%w (%s) at byte %d", errIdle, d.f.opts.IdleTimeout, d.off)
	case errors.Is(err, errWrite):
		return false, err
	}
	return true, err
}

var errWrite = errors.New("write part file")

// copy appends exactly want bytes of body to the part file, then checks
// that the body ends: a server that sends more than the head's size is
// cut off after one extra byte, never read to its end.
func (d *download) copy(body io.Reader, want int64, watchdog *time.Timer) error {
	buf := make([]byte, 64<<10)
	for want > 0 {
		n, err := body.Read(buf[:min(int64(len(buf)), want)])
		if n > 0 {
			watchdog.Reset(d.f.opts.IdleTimeout)
			if _, werr := d.file.WriteAt(buf[:n], d.off); werr != nil {
				return fmt.Errorf("%w: %w", errWrite, werr)
			}
			d.off += int64(n)
			want -= int64(n)
			if d.off-d.synced >= d.f.opts.SyncEvery {
				if err := d.sync(); err != nil {
					return fmt.Errorf("%w: %w", errWrite, err)
				}
			}
			if d.f.opts.OnProgress != nil {
				d.f.opts.OnProgress(d.off, d.size)
			}
		}
		if err == io.EOF && want > 0 {
			return fmt.Errorf("body ended %d bytes short: %w", want, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read body: %w", err)
		}
	}
	var one [1]byte
	if n, _ := io.ReadFull(body, one[:]); n > 0 {
		return fmt.Errorf("%w: the body continues past the head's %d bytes", ErrTooLarge, d.size)
	}
	return nil
}

func (d *download) sync() error {
	if d.off == d.synced {
		return nil
	}
	if err := d.file.Sync(); err != nil {
		return fmt.Errorf("sync part file: %w", err)
	}
	d.synced = d.off
	return nil
}

// parseContentRange parses "bytes start-end/total" with a known total.
func parseContentRange(v string) (start, end, total int64, err error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	rng, tot, ok2 := strings.Cut(rest, "/")
	a, b, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, 0, fmt.Errorf("Content-Range %q is not bytes start-end/total", v)
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	total, err3 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || end >= total {
		return 0, 0, 0, fmt.Errorf("Content-Range %q is not bytes start-end/total", v)
	}
	return start, end, total, nil
}

// drainClose reads a little of body so the connection can be reused,
// then closes it. The limit keeps a hostile body from being read to its
// end (4 KiB, as retryablehttp's own drain).
func drainClose(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	body.Close()
}

// haveFinal reports whether path exists with the head's size and hash;
// a file that does not verify is removed.
func haveFinal(path string, head *protocol.Head) (bool, error) {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	st, err := file.Stat()
	ok := err == nil && st.Size() == int64(head.SnapshotSize)
	if ok {
		sum, err := hashFile(file, st.Size())
		ok = err == nil && sum == head.SnapshotSHA256
	}
	file.Close()
	if !ok {
		if err := os.Remove(path); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func hashFile(file *os.File, size int64) ([32]byte, error) {
	h := sha256.New()
	var sum [32]byte
	n, err := io.Copy(h, io.NewSectionReader(file, 0, size+1))
	if err != nil {
		return sum, err
	}
	if n != size {
		return sum, fmt.Errorf("file is %d bytes, want %d", n, size)
	}
	h.Sum(sum[:0])
	return sum, nil
}
