package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	kservice "github.com/kardianos/service"

	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/logging"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
)

// The service's identity with the service manager.
const (
	Name        = "watchpost" // service name, systemd unit watchpost.service, Event Log source
	DisplayName = "Watchpost"
	Description = "Watchpost border-post watchlist screening"
	// User and Group the systemd unit runs as; packaging creates them.
	User  = "watchpost"
	Group = "watchpost"
)

// Defaults of Options.
const (
	// DefaultStopTimeout bounds a stop. The post's own drain
	// (config stop_timeout) must fit inside it; the systemd unit's
	// TimeoutStopSec is this plus StopMargin. Correctness never depends on
	// a stop completing: power loss does not call it.
	DefaultStopTimeout = 15 * time.Second
	// DefaultReadyTimeout is how long Start waits for the post to be
	// ready before reporting the service started anyway. The Windows SCM
	// shows "starting" meanwhile; systemd's TimeoutStartSec is this plus
	// StartMargin.
	DefaultReadyTimeout = 60 * time.Second
	// StopMargin and StartMargin are what the systemd unit adds to the
	// adapter's own bounds, so systemd only kills a process that is stuck.
	StopMargin  = 10 * time.Second
	StartMargin = 30 * time.Second
)

// Options configure the adapter and the installed service.
type Options struct {
	// ConfigPath is the configuration file the service runs with
	// (`run --config ConfigPath`); made absolute on install, because a
	// Windows service starts in C:\Windows\System32.
	// paths.DefaultConfigFile() when empty.
	ConfigPath string
	// Executable is the watchpost binary the service runs; the running
	// binary when empty.
	Executable string
	// StopTimeout and ReadyTimeout: DefaultStopTimeout and
	// DefaultReadyTimeout when zero.
	StopTimeout  time.Duration
	ReadyTimeout time.Duration
	// Logger for the adapter's own messages; slog.Default() when nil.
	Logger *slog.Logger
	// Clock times ReadyTimeout and StopTimeout; clock.System when nil.
	Clock clock.Clock
	// Mode is how Run runs (ModeFor decides it from --service);
	// Foreground when zero.
	Mode Mode
}

func (o Options) withDefaults() Options {
	if o.ConfigPath == "" {
		o.ConfigPath = paths.DefaultConfigFile()
	}
	o.StopTimeout = option.Positive(o.StopTimeout, DefaultStopTimeout)
	o.ReadyTimeout = option.Positive(o.ReadyTimeout, DefaultReadyTimeout)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Clock = clock.OrSystem(o.Clock)
	return o
}

// Platform names the service manager kardianos detected:
// "linux-systemd", "windows-service", "unix-systemv", ...
func Platform() string { return kservice.Platform() }

// Run runs r as opts.Mode says: dispatched by the Windows service control
// manager until it stops the service, or in the foreground until SIGINT
// or SIGTERM (or ctx ends, on POSIX). It returns nil after a clean stop;
// map any error to the process exit code with ExitCode.
//
// On Windows, a Runner that returns on its own after ready ends the
// process immediately with its exit code (see the package doc).
func Run(ctx context.Context, r Runner, opts Options) error {
	opts = opts.withDefaults()
	p := newProgram(r, opts)
	p.notify = func(state string) {
		if err := sdNotify(state); err != nil {
			opts.Logger.Warn("Cannot notify systemd", logkey.State, state, logkey.Error, err)
		}
	}
	cfg := newConfig(opts)
	if runtime.GOOS == "windows" {
		// kardianos's SCM handler and its Windows Ctrl-C wait ignore
		// RunWait, so there is nothing to wake: exit.
		p.onExit = func(err error) {
			opts.Logger.Error("The post stopped unexpectedly", logkey.Error, err)
			os.Exit(ExitCode(err))
		}
	} else {
		sig := make(chan os.Signal, 2)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		p.abort = sig // a second signal while stopping
		cfg.Option["RunWait"] = func() {
			select {
			case s := <-sig:
				opts.Logger.Info("Stopping", logkey.Signal, s.String())
			case <-ctx.Done():
				opts.Logger.Info("Stopping", logkey.Reason, context.Cause(ctx).Error())
			case <-p.done:
			}
		}
	}
	if opts.Mode == WindowsService {
		return runWindowsService(p, cfg)
	}
	s, err := kservice.New(p, cfg)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return s.Run()
}

// newConfig returns the kardianos configuration. The systemd unit is not
// rendered here (only install needs it).
func newConfig(opts Options) *kservice.Config {
	c := &kservice.Config{
		Name:        Name,
		DisplayName: DisplayName,
		Description: Description,
		Arguments:   serviceArgs(runtime.GOOS, opts.ConfigPath),
		Executable:  opts.Executable,
		Option: kservice.KeyValue{
			// POSIX init systems other than systemd (whose unit is our
			// own, see SystemdUnit): restart on failure only.
			"Restart":     "on-failure",
			"LimitNOFILE": limitNOFILE,
			// No SuccessExitStatus: 0 is the only success; the post exits
			// 0 after any requested stop.

			// Windows SCM: automatic start. Delayed start and recovery
			// actions are not kardianos's to set: it deletes the service it
			// just created when the delayed-start setting fails (Wine,
			// some Windows builds) and stops at a failing recovery
			// setting. Configure sets them afterwards, each one optional.
			"StartType": "automatic",
		},
	}
	if Platform() == "linux-systemd" {
		c.Dependencies = unitDependencies
	}
	return c
}

// controlProgram is the Interface of a service object used only to
// install or control the service, never to run it.
type controlProgram struct{}

func (controlProgram) Start(kservice.Service) error { return errors.New("service: not runnable") }
func (controlProgram) Stop(kservice.Service) error  { return nil }

// Actions accepted by Control.
var Actions = []string{"install", "uninstall", "start", "stop", "restart", "configure"}

// Control installs, uninstalls, starts, stops, restarts or configures the
// service. Install registers `<Executable> run --config <ConfigPath>`
// (with --service on Windows): on systemd with the unit SystemdUnit
// renders, on Windows with the Event Log source and then what configure
// sets. Configure (Windows only; the .msi runs it after installing the
// service) sets the quoted command line, failing if it cannot, and the
// optional settings (recovery actions, restart after a failed start,
// delayed automatic start), each of which only warns through
// opts.Logger and the Event Log when refused. Both need administrator
// rights.
func Control(action string, opts Options) error {
	known := false
	for _, a := range Actions {
		known = known || a == action
	}
	if !known {
		return fmt.Errorf("service: unknown action %q", action)
	}
	opts = opts.withDefaults()
	cfg := newConfig(opts)
	if action == "install" || action == "configure" {
		if err := resolvePaths(&opts, cfg); err != nil {
			return err
		}
	}
	switch action {
	case "configure":
		if runtime.GOOS != "windows" {
			return cmdline.Usagef("configure is for the Windows service; on %s the unit or init script carries every setting", runtime.GOOS)
		}
		return configure(opts)
	case "install":
		if err := prepareInstall(&opts, cfg); err != nil {
			return err
		}
	}
	s, err := kservice.New(controlProgram{}, cfg)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if err := kservice.Control(s, action); err != nil {
		return err
	}
	if action == "install" {
		// The service exists from here on: a refused setting leaves it
		// in place (configure's error says which).
		return configure(opts)
	}
	return nil
}

// resolvePaths makes the service's executable (the running binary when
// unset) and configuration absolute, in opts and cfg: a Windows service
// starts in C:\Windows\System32.
func resolvePaths(opts *Options, cfg *kservice.Config) error {
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("service: find the watchpost binary: %w", err)
		}
		opts.Executable = exe
	}
	for _, p := range []*string{&opts.Executable, &opts.ConfigPath} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("service: %w", err)
		}
		*p = abs
	}
	cfg.Executable = opts.Executable
	cfg.Arguments = serviceArgs(runtime.GOOS, opts.ConfigPath)
	return nil
}

// prepareInstall checks the platform's preconditions and puts the
// rendered unit into cfg.
func prepareInstall(opts *Options, cfg *kservice.Config) error {
	if err := checkInstall(Platform()); err != nil {
		return err
	}
	if runtime.GOOS != "windows" {
		unit, err := SystemdUnit(*opts)
		if err != nil {
			return err
		}
		// kardianos renders SystemdScript with its template engine; the
		// unit holds no "{{", so it is written out verbatim.
		cfg.Option["SystemdScript"] = unit
		if Platform() != "linux-systemd" {
			opts.Logger.Warn("No systemd: installing the init system's generic script, without the unit's hardening or user", logkey.Platform, Platform())
		}
	}
	return nil
}

// State is the service's state as Status reports it.
type State string

// States.
const (
	StateRunning      State = "running"
	StateStopped      State = "stopped"
	StateFailed       State = "failed"
	StateNotInstalled State = "not installed"
	StateUnknown      State = "unknown"
)

// Status returns the service's state. A service that is not installed is
// StateNotInstalled with a nil error; StateUnknown comes with the error
// that prevented finding out.
func Status(opts Options) (State, error) {
	opts = opts.withDefaults()
	s, err := kservice.New(controlProgram{}, newConfig(opts))
	if err != nil {
		return StateUnknown, fmt.Errorf("service: %w", err)
	}
	st, err := s.Status()
	switch {
	case errors.Is(err, kservice.ErrNotInstalled):
		return StateNotInstalled, nil
	case err != nil && err.Error() == "service in failed state": // kardianos systemd
		return StateFailed, nil
	case err != nil:
		if !installed(Platform()) {
			return StateNotInstalled, nil
		}
		return StateUnknown, err
	case st == kservice.StatusRunning:
		return StateRunning, nil
	case st == kservice.StatusStopped:
		return StateStopped, nil
	}
	return StateUnknown, nil
}

// LogHandler returns the slog handler for where the process runs,
// rate-limited (logging.DefaultRateWindow): the Windows Event Log in mode
// WindowsService, journald's stream format under systemd (JOURNAL_STREAM
// is set), else text or JSON on stderr. format is logging.FormatText or
// logging.FormatJSON (ignored for the Event Log).
func LogHandler(stderr io.Writer, format string, level slog.Leveler, mode Mode) (slog.Handler, error) {
	var (
		h   slog.Handler
		err error
	)
	switch {
	case mode == WindowsService:
		h, err = eventLogHandler(level)
	case os.Getenv("JOURNAL_STREAM") != "":
		h, err = logging.NewJournal(stderr, format, level)
	default:
		h, err = logging.NewStderr(stderr, format, level)
	}
	if err != nil {
		return nil, err
	}
	return logging.RateLimit(h, logging.DefaultRateWindow, nil), nil
}

// eventLogHandler opens the Event Log source Name through kardianos.
func eventLogHandler(level slog.Leveler) (slog.Handler, error) {
	s, err := kservice.New(controlProgram{}, newConfig(Options{}.withDefaults()))
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	l, err := s.SystemLogger(nil)
	if err != nil {
		return nil, fmt.Errorf("open the Event Log: %w", err)
	}
	return logging.NewEventLog(l, level), nil
}
