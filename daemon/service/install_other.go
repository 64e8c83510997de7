//go:build !linux && !windows

package service

func checkInstall(string) error { return nil }

// installed cannot tell on this platform: report the service manager's
// error as it is.
func installed(string) bool { return true }

// configure has nothing to set on this platform.
func configure(Options) error { return nil }
