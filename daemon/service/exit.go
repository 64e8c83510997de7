package service

import (
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/daemon/cmdline"
)

// Exit codes of watchpost run; see the package doc for what the service
// manager does with each.
const (
	ExitOK      = cmdline.ExitOK      // stopped cleanly
	ExitFailure = cmdline.ExitFailure // runtime failure
	ExitUsage   = cmdline.ExitUsage   // bad command line
	ExitConfig  = cmdline.ExitConfig  // configuration missing or invalid
	ExitStore   = cmdline.ExitStore   // store cannot be opened or is locked
	ExitDataDir = cmdline.ExitDataDir // data directory not writable
)

// ExitError is an error that decides the process exit code.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// ExitCode returns e.Code, so a caller that cannot import this package
// (daemon/cmdline) can find the code with errors.As and an interface.
func (e *ExitError) ExitCode() int { return e.Code }
func (e *ExitError) Unwrap() error { return e.Err }

// WithExitCode wraps err so that ExitCode returns code for it (and for
// any error wrapping it). A nil err stays nil.
func WithExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// ExitCode returns the exit code for err: ExitOK for nil, the code of the
// outermost *ExitError in its chain, ExitUsage for a cmdline.UsageError,
// else ExitFailure.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue cmdline.UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

// Errors of the adapter itself.
var (
	// ErrStopTimeout: the Runner did not return within StopTimeout after
	// its context was cancelled.
	ErrStopTimeout = errors.New("did not stop in time")
	// ErrStopAborted: a second SIGINT or SIGTERM arrived while stopping.
	ErrStopAborted = errors.New("stop aborted by a second signal")
	// ErrExitedUnasked: the Runner returned nil without being stopped.
	ErrExitedUnasked = errors.New("the post stopped on its own")
	// ErrNotReady: the Runner returned nil before calling ready.
	ErrNotReady = errors.New("the post returned before it was ready")
)

func stopTimeoutError(d fmt.Stringer) error { return fmt.Errorf("%w (waited %s)", ErrStopTimeout, d) }
