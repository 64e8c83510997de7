package snapshot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/watchpost/watchpost/sync/safeurl"
)

// Backoff returns how long to wait before retry number attempt (0 for
// the first retry after a failure). retryAfter is the server's
// Retry-After on a 429 or 503, 0 when absent. The result is capped by the
// Fetcher at MaxBackoff whatever the function returns.
type Backoff func(attempt int, retryAfter time.Duration) time.Duration

// JitterBackoff is the default Backoff: exponential from min, capped at
// max, with full jitter between min and the cap so that hundreds of posts
// coming back after an HQ outage do not retry in lockstep. A Retry-After is honoured as a floor, but never beyond max: a
// proxy saying "Retry-After: 86400" cannot park a post for a day.
func JitterBackoff(min, max time.Duration) Backoff {
	return func(attempt int, retryAfter time.Duration) time.Duration {
		ceil := max
		if attempt < 62 && min > 0 && min<<attempt>>attempt == min && min<<attempt < max {
			ceil = min << attempt
		}
		d := min
		if ceil > min {
			d += rand.N(ceil - min + 1)
		}
		d = maxDuration(d, retryAfter)
		if d > max {
			d = max
		}
		return d
	}
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// retryAfter parses a Retry-After header of a 429 or 503 (delay-seconds
// or an HTTP date); 0 if absent or unparsable.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > int64(365*24*time.Hour/time.Second) {
			s = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// permanent marks a transport error that retrying cannot fix.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// checkRetry is the retryablehttp.CheckRetry of every request. It retries
// connection errors (including a response-header timeout), 408, 429 and
// 5xx except 501; it stops on a cancelled context, on certificate
// verification failures (a wrong or missing CA pin does not heal) and on
// a refused redirect; every other status goes back to the caller, who
// handles 200, 206 and 416 and fails on the rest without retrying. A
// retried status is returned as a *StatusError so that, once retries run
// out, the error names the last status.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var (
			verify    *tls.CertificateVerificationError
			authority x509.UnknownAuthorityError
			host      x509.HostnameError
			invalid   x509.CertificateInvalidError
		)
		if errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &host) ||
			errors.As(err, &invalid) || errors.Is(err, errRedirect) {
			return false, &permanent{err}
		}
		return true, err
	}
	switch c := resp.StatusCode; {
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests,
		c >= 500 && c <= 599 && c != http.StatusNotImplemented:
		return true, statusError(resp)
	}
	return false, nil
}

var errRedirect = errors.New("redirect refused")

// checkRedirect allows at most 3 redirects, all to https: the snapshot
// is verified by hash, but a downgrade would still leak the client
// certificate's identity and the URL.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return fmt.Errorf("%w: more than 3 redirects", errRedirect)
	}
	if req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to %s is not https", errRedirect, safeurl.Of(req.URL))
	}
	return nil
}

var errHeaderTimeout = errors.New("no response headers within the attempt timeout")

// headerTimeout bounds each round trip's wait for response headers. It
// is a RoundTripper, not a context around Do, so that it applies to each
// of retryablehttp's inner attempts and not to its backoff waits, and so
// that it stops once the body starts: the body is watched by the idle
// watchdog instead, since a 500 MB snapshot over 3G takes hours.
type headerTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (h *headerTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	t := time.AfterFunc(h.d, func() { cancel(errHeaderTimeout) })
	resp, err := h.next.RoundTrip(req.WithContext(ctx))
	t.Stop()
	if err != nil {
		if context.Cause(ctx) == errHeaderTimeout && req.Context().Err() == nil {
			err = fmt.Errorf("%w (%s): %w", errHeaderTimeout, h.d, err)
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of the transport
// underneath (http.Client.CloseIdleConnections reaches it only through
// this method).
func (h *headerTimeout) CloseIdleConnections() {
	if c, ok := h.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel(nil)
	return err
}

// scrubURL rewrites the URL inside a *url.Error (net/http keeps the query
// and the user name in it) to the safe form. It must run before the error
// is wrapped with fmt.Errorf, which renders the message at once.
func scrubURL(err error, safe string) error {
	var ue *url.Error
	if err != nil && errors.As(err, &ue) {
		ue.URL = safe
	}
	return err
}
