package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	kservice "github.com/kardianos/service"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
)

// Runner is what the service needs from the post (daemon.Post satisfies
// it). Run blocks until ctx ends; it calls ready once the store is open
// and screening is possible; when ctx is cancelled it stops in two stages
// (stop intake, flush to HQ within its own bound, close the store) and
// returns nil or ctx's error. An error returned before ready means the
// post could not start; wrap it with WithExitCode to pick the exit code.
type Runner interface {
	Run(ctx context.Context, ready func()) error
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, ready func()) error

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, ready func()) error { return f(ctx, ready) }

// program adapts a Runner to kardianos/service's Interface. It runs the
// Runner at most once.
type program struct {
	r            Runner
	readyTimeout time.Duration
	stopTimeout  time.Duration
	clock        clock.Clock
	log          *slog.Logger
	notify       func(state string) // sd_notify; a no-op off systemd
	// onExit, if set, is called when the Runner returns on its own after a
	// successful Start (Windows: exit the process; POSIX uses RunWait).
	onExit func(err error)
	// abort, if set, ends Stop's wait early (a second signal).
	abort <-chan os.Signal

	readyOnce sync.Once
	readyCh   chan struct{} // closed by the first ready call
	done      chan struct{} // closed when Runner.Run has returned

	mu       sync.Mutex
	started  bool
	stopping bool
	cancel   context.CancelFunc
	runErr   error // Runner.Run's result, once done is closed
	unasked  bool  // Run returned before Stop was called
}

func newProgram(r Runner, opts Options) *program {
	opts = opts.withDefaults()
	return &program{
		r:            r,
		readyTimeout: opts.ReadyTimeout,
		stopTimeout:  opts.StopTimeout,
		clock:        opts.Clock,
		log:          opts.Logger,
		notify:       func(string) {},
		readyCh:      make(chan struct{}),
		done:         make(chan struct{}),
	}
}

var _ kservice.Interface = (*program)(nil)

// Start launches the Runner and returns once it is ready, has failed, or
// ReadyTimeout has passed (see the package doc).
func (p *program) Start(kservice.Service) error {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return errors.New("service: already started")
	}
	p.started = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.mu.Unlock()

	go p.run(ctx)

	timer := p.clock.NewTimer(p.readyTimeout)
	defer timer.Stop()
	select {
	case <-p.readyCh:
	case <-p.done:
		cancel()
		p.mu.Lock()
		err := p.runErr
		p.mu.Unlock()
		if err == nil {
			err = ErrNotReady
		}
		return fmt.Errorf("start: %w", err)
	case <-timer.C():
		p.log.Warn("Not ready yet; reporting the service as started while the post keeps starting", logkey.Waited, p.readyTimeout)
		p.notify("READY=1\nSTATUS=Started; not ready yet")
	}
	if p.onExit != nil {
		go p.watch()
	}
	return nil
}

func (p *program) run(ctx context.Context) {
	defer close(p.done)
	err := p.r.Run(ctx, p.markReady)
	p.mu.Lock()
	p.runErr = err
	p.unasked = !p.stopping
	p.mu.Unlock()
}

func (p *program) markReady() {
	p.readyOnce.Do(func() {
		// READY=1 goes out before Start is released, so a Stop that
		// follows Start at once can never send STOPPING=1 ahead of it.
		p.notify("READY=1\nSTATUS=Screening")
		close(p.readyCh)
		p.log.Info("Service ready")
	})
}

// watch calls onExit if the Runner returns without being stopped.
func (p *program) watch() {
	<-p.done
	p.mu.Lock()
	unasked, err := p.unasked, p.runErr
	p.mu.Unlock()
	if unasked {
		if err == nil {
			err = ErrExitedUnasked
		}
		p.onExit(err)
	}
}

// Stop cancels the Runner's context and waits up to StopTimeout for it to
// return. It returns the Runner's error, if any, or an error when the
// Runner had already stopped on its own, did not stop in time, or a
// second signal cut the wait short.
func (p *program) Stop(kservice.Service) error {
	p.mu.Lock()
	if !p.started {
		p.mu.Unlock()
		return nil
	}
	p.stopping = true
	cancel := p.cancel
	p.mu.Unlock()

	p.notify("STOPPING=1")
	cancel()
	timer := p.clock.NewTimer(p.stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C():
		return stopTimeoutError(p.stopTimeout)
	case <-p.abort:
		return ErrStopAborted
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	switch err := p.runErr; {
	case p.unasked && err == nil:
		return ErrExitedUnasked
	case p.unasked:
		return err
	case err == nil || errors.Is(err, context.Canceled):
		return nil
	default:
		return err
	}
}
