package service

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	kservice "github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/watchpost/watchpost/engine/logkey"
)

// eventLogKey is the Application log's registry key, under which
// kardianos registers the Event Log source.
const eventLogKey = `SYSTEM\CurrentControlSet\Services\EventLog\Application`

// checkInstall makes sure the Application log's key exists: Windows always
// has it, Wine only once something writes to it, and kardianos deletes the
// service it just created when it cannot register the source under it.
func checkInstall(string) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, eventLogKey, registry.CREATE_SUB_KEY)
	if err != nil {
		return fmt.Errorf("service: open HKLM\\%s: %w", eventLogKey, err)
	}
	return k.Close()
}

// installed: kardianos reports a missing service as ErrNotInstalled
// itself, so any other error is real.
func installed(string) bool { return true }

// recoveryActions: restart after 10 s, then 60 s, then every 5 minutes
// until a day without failures resets the count.
var recoveryActions = []mgr.RecoveryAction{
	{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 5 * time.Minute},
}

// eventWarning is the Event Log id of a setting configure could not apply.
const eventWarning = 2

// imagePath is the service's command line: the executable always in
// quotes (an unquoted path with spaces lets a C:\Program.exe run as
// LocalSystem), then the arguments quoted where needed.
func imagePath(exe, configPath string) string {
	return `"` + exe + `" ` + windows.ComposeCommandLine(serviceArgs("windows", configPath))
}

// configure applies the service's settings: the quoted command line and
// normal error control (required), then the recovery actions, restart after a failed start
// (kardianos reports a failed Start as a clean STOPPED with an exit code,
// which the SCM otherwise never restarts) and delayed automatic start,
// each optional: a refusal is logged as a warning to opts.Logger and the
// Event Log, and the service stays as it is.
func configure(opts Options) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service: connect to the SCM: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return fmt.Errorf("service: open %s: %w", Name, err)
	}
	defer s.Close()
	resetPeriod := uint32(recoveryResetPeriod / time.Second)
	warnings, err := applySettings([]setting{
		{name: "quoted command line", apply: func() error {
			p, err := windows.UTF16PtrFromString(imagePath(opts.Executable, opts.ConfigPath))
			if err != nil {
				return err
			}
			// Type and start type stay; errors at boot are logged
			// (normal), as the .msi sets it and kardianos does not.
			nc := uint32(windows.SERVICE_NO_CHANGE)
			return windows.ChangeServiceConfig(s.Handle, nc, nc, windows.SERVICE_ERROR_NORMAL, p, nil, nil, nil, nil, nil, nil)
		}},
		{name: "recovery actions (restart after 10 s, 60 s, 5 min)", optional: true, apply: func() error {
			if err := s.SetRecoveryActions(recoveryActions, resetPeriod); err != nil {
				return err
			}
			got, err := s.RecoveryActions()
			if err != nil {
				return fmt.Errorf("read back: %w", err)
			}
			if !slices.Equal(got, recoveryActions) {
				return fmt.Errorf("the SCM kept %v", got)
			}
			return nil
		}},
		{name: "restart after a failed start (FailureActionsOnNonCrashFailures)", optional: true, apply: func() error {
			if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
				return err
			}
			if on, err := s.RecoveryActionsOnNonCrashFailures(); err != nil || !on {
				return fmt.Errorf("read back: %v, %w", on, err)
			}
			return nil
		}},
		{name: "delayed automatic start", optional: true, apply: func() error {
			d := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
			return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&d)))
		}},
	})
	if len(warnings) > 0 {
		el, elErr := eventlog.Open(Name)
		for _, w := range warnings {
			opts.Logger.Warn("Service setting not applied; the service runs without it", logkey.Setting, w.Error())
			if elErr == nil {
				_ = el.Warning(eventWarning, "Service setting not applied; the service runs without it: "+w.Error())
			}
		}
		if elErr == nil {
			el.Close()
		}
	}
	return err
}

// isWindowsService is the heuristic used only when --service is absent.
func isWindowsService() (bool, error) { return svc.IsWindowsService() }

// runWindowsService dispatches p to the service control manager through
// kardianos's own SCM handler (its Execute), whatever kardianos guessed
// about the process at start-up.
func runWindowsService(p *program, cfg *kservice.Config) error {
	rec := &recorded{Interface: p}
	s, err := kservice.New(rec, cfg)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	h, ok := s.(svc.Handler)
	if !ok {
		return fmt.Errorf("service: kardianos's %T does not handle SCM requests", s)
	}
	if err := svc.Run(Name, h); err != nil {
		if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			return WithExitCode(ExitUsage, fmt.Errorf("--%s: not started by the service control manager (start the service with net start %s, or leave out --%s): %w", ServiceFlag, Name, ServiceFlag, err))
		}
		return fmt.Errorf("service: %w", err)
	}
	return rec.err()
}

// recorded keeps the error of the last Start or Stop, which kardianos's
// SCM handler reports to the SCM only as a number.
type recorded struct {
	kservice.Interface
	mu   sync.Mutex
	last error
}

func (r *recorded) Start(s kservice.Service) error { return r.keep(r.Interface.Start(s)) }
func (r *recorded) Stop(s kservice.Service) error  { return r.keep(r.Interface.Stop(s)) }

func (r *recorded) keep(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = err
	return err
}

func (r *recorded) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}
