package snapshot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/safeurl"
)

// Get downloads a small file from HQ whole, into memory: a sealed delta
// (protocol.DeltaURL). It goes through the same client as Fetch, so the
// same rules hold: HQ's pinned CA and the post's client certificate, https
// only (redirects too), AttemptTimeout for each request's headers,
// IdleTimeout between body reads, and connection errors, 408, 429 and 5xx
// retried with the same back-off, at most MaxAttempts requests. It does
// not resume: a body that breaks is a failed Get, and the caller asks
// again or takes the snapshot.
//
// A body of more than limit bytes (announced or sent) is refused with
// ErrTooLarge after reading at most limit+1 bytes; any status but 200 is
// a *StatusError (a 404 is not retried: the file is gone). Every error is
// an *Error naming the URL without user information or query.
func (f *Fetcher) Get(ctx context.Context, rawURL string, limit int64) ([]byte, error) {
	e := &Error{URL: "(invalid URL)"}
	fail := func(n int, err error) ([]byte, error) {
		e.Offset, e.Err = int64(n), err
		return nil, e
	}
	u, err := url.Parse(rawURL)
	if err == nil {
		e.URL, e.File = safeurl.Of(u), path.Base(u.Path)
	}
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "":
		return fail(0, fmt.Errorf("%w: URL is not an absolute https:// URL", ErrBadResponse))
	case limit <= 0:
		return fail(0, fmt.Errorf("get: limit %d is not positive", limit))
	}
	// The state of one pass of a download at byte 0: its client is the
	// one every snapshot request uses.
	d := &download{f: f, log: f.log.With(logkey.File, e.File, logkey.URL, e.URL), url: u, safe: e.URL, size: limit}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := retryablehttp.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(0, err)
	}
	d.setHeaders(req.Header)
	resp, err := d.client().Do(req)
	if err != nil {
		return fail(0, scrubURL(err, d.safe))
	}
	defer drainClose(resp.Body)
	switch ce := resp.Header.Get("Content-Encoding"); {
	case resp.StatusCode != http.StatusOK:
		return fail(0, statusError(resp))
	case ce != "" && !strings.EqualFold(ce, "identity"):
		return fail(0, fmt.Errorf("%w: Content-Encoding %q (asked for identity)", ErrBadResponse, ce))
	case resp.ContentLength > limit:
		return fail(0, fmt.Errorf("%w: Content-Length %d, limit %d", ErrTooLarge, resp.ContentLength, limit))
	}
	watchdog := time.AfterFunc(f.opts.IdleTimeout, func() { cancel(errIdle) })
	defer watchdog.Stop()
	b, err := io.ReadAll(io.LimitReader(&idleReader{r: resp.Body, watchdog: watchdog, idle: f.opts.IdleTimeout}, limit+1))
	switch {
	case ctx.Err() != nil:
		return fail(len(b), ctx.Err())
	case context.Cause(actx) == errIdle:
		return fail(len(b), fmt.Errorf("%w (%s) at byte %d", errIdle, f.opts.IdleTimeout, len(b)))
	case err != nil:
		return fail(len(b), fmt.Errorf("read body: %w", err))
	case int64(len(b)) > limit:
		return fail(len(b), fmt.Errorf("%w: the body continues past %d bytes", ErrTooLarge, limit))
	}
	d.log.Debug("file downloaded", logkey.Size, len(b), logkey.Attempt, d.requests)
	return b, nil
}

// idleReader re-arms the idle watchdog after every read that returns
// bytes.
type idleReader struct {
	r        io.Reader
	watchdog *time.Timer
	idle     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.watchdog.Reset(r.idle)
	}
	return n, err
}
