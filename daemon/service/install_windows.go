package service

import (
	"fmt"
	"time"

	"golang.org/x/sys/windows/svc/mgr"
)

func checkInstall(string) error { return nil }

// installed: kardianos reports a missing service as ErrNotInstalled
// itself, so any other error is real.
func installed(string) bool { return true }

// recoveryActions replace the single action kardianos sets: restart
// after 10 s, then 60 s, then every 5 minutes until a day without
// failures resets the count.
var recoveryActions = []mgr.RecoveryAction{
	{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 60 * time.Second},
	{Type: mgr.ServiceRestart, Delay: 5 * time.Minute},
}

// afterInstall sets the escalating recovery actions and turns on
// FailureActionsOnNonCrashFailures: kardianos reports a failed Start as a
// clean STOPPED with an exit code, which the SCM otherwise never
// restarts.
func afterInstall() error {
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
	if err := s.SetRecoveryActions(recoveryActions, uint32(recoveryResetPeriod/time.Second)); err != nil {
		return fmt.Errorf("service: set recovery actions: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("service: restart on non-crash failures: %w", err)
	}
	return nil
}
