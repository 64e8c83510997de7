package snapshot

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrHashMismatch means the downloaded file's SHA-256 is not the
	// head's. The part file is deleted; a later Fetch starts from byte 0.
	ErrHashMismatch = errors.New("snapshot SHA-256 mismatch")

	// ErrTooLarge means the head names a snapshot above Options.MaxSize,
	// or the server sent (or announced) more bytes than the head's
	// SnapshotSize. The part file is deleted.
	ErrTooLarge = errors.New("snapshot too large")

	// ErrBadResponse means the server's answer cannot be part of the file
	// the head names: a Content-Range that does not start at the
	// requested offset or names another total size, a 416, or a content
	// encoding other than identity.
	ErrBadResponse = errors.New("bad snapshot response")

	// ErrRetriesExhausted means MaxAttempts consecutive attempts added
	// nothing to the part file. The part file is kept for the next Fetch.
	ErrRetriesExhausted = errors.New("snapshot download retries exhausted")

	// ErrBusy means another Fetch of the same snapshot into the same
	// directory is running in this process.
	ErrBusy = errors.New("snapshot download already in progress")
)

// Error is a failed Fetch: what went wrong, where and how far it got.
type Error struct {
	File   string // final file name, <list>-<epoch>-<version>.snap
	URL    string // the snapshot URL without user information or query
	Offset int64  // bytes of the snapshot in the part file when it failed
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("fetch snapshot %s from %s at byte %d: %v", e.File, e.URL, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether fetching the same head again later may
// succeed: the link or the server was down (ErrRetriesExhausted), or the
// bytes were corrupted in transit (ErrHashMismatch). Other failures (4xx,
// ErrTooLarge, ErrBadResponse, a cancelled context) need a new head, an
// operator or a new context.
func (e *Error) Retryable() bool {
	return errors.Is(e.Err, ErrRetriesExhausted) || errors.Is(e.Err, ErrHashMismatch)
}

// StatusError is an HTTP status the fetcher did not expect.
type StatusError struct {
	Code   int
	Status string // e.g. "404 Not Found"
}

func (e *StatusError) Error() string { return "HTTP status " + e.Status }

func statusError(resp *http.Response) *StatusError {
	s := resp.Status
	if s == "" {
		s = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return &StatusError{Code: resp.StatusCode, Status: s}
}
