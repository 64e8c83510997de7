//go:build !linux

package service

// sdNotify does nothing: systemd exists on Linux only.
func sdNotify(string) error { return nil }
