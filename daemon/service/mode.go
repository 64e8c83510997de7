package service

import (
	"fmt"
	"runtime"

	"github.com/watchpost/watchpost/daemon/cmdline"
)

// Mode is how `watchpost run` runs the post.
type Mode int

const (
	// Foreground: until SIGINT or SIGTERM (Ctrl-C on Windows), or ctx
	// ends on POSIX. systemd and other POSIX service managers run the
	// post this way too.
	Foreground Mode = iota
	// WindowsService: dispatched by the Windows service control manager,
	// which starts and stops it; logs go to the Event Log.
	WindowsService
)

func (m Mode) String() string {
	if m == WindowsService {
		return "windows-service"
	}
	return "foreground"
}

// ServiceFlag is the `watchpost run` flag that the installed Windows
// service's command line carries (`run --service --config FILE`).
const ServiceFlag = "service"

// ModeFor decides how `watchpost run` runs; serviceFlag is --service.
func ModeFor(serviceFlag bool) (Mode, error) {
	return decideMode(runtime.GOOS, serviceFlag, isWindowsService)
}

// decideMode: on Windows, --service always means the SCM, without asking
// detect (svc.IsWindowsService, which is wrong under Wine and in some
// containers); without the flag, detect decides, for a service installed
// by a version that did not pass --service, and a failing detect means
// the foreground. Elsewhere --service is a usage error: systemd runs the
// plain `watchpost run`.
func decideMode(goos string, serviceFlag bool, detect func() (bool, error)) (Mode, error) {
	if goos != "windows" {
		if serviceFlag {
			return Foreground, cmdline.Usagef("--%s is for the Windows service only; on %s the service manager runs `watchpost run` as it is", ServiceFlag, goos)
		}
		return Foreground, nil
	}
	if serviceFlag {
		return WindowsService, nil
	}
	if is, err := detect(); err == nil && is {
		return WindowsService, nil
	}
	return Foreground, nil
}

// serviceArgs are the arguments the installed service runs watchpost
// with on goos.
func serviceArgs(goos, configPath string) []string {
	if goos == "windows" {
		return []string{"run", "--" + ServiceFlag, "--config", configPath}
	}
	return []string{"run", "--config", configPath}
}

// setting is one change Configure makes to the installed service.
type setting struct {
	name string
	// optional: the service works without it (a Windows version or Wine
	// that refuses it), so its failure is a warning.
	optional bool
	apply    func() error
}

// applySettings applies settings in order. A required setting that fails
// stops there with its error, the later ones not applied; an optional one
// that fails is returned among the warnings and the next one is applied.
func applySettings(settings []setting) (warnings []error, err error) {
	for _, s := range settings {
		if e := s.apply(); e != nil {
			if !s.optional {
				return warnings, fmt.Errorf("service: %s: %w", s.name, e)
			}
			warnings = append(warnings, fmt.Errorf("%s: %w", s.name, e))
		}
	}
	return warnings, nil
}
