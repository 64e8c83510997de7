//go:build !windows

package service

import (
	"errors"

	kservice "github.com/kardianos/service"
)

// isWindowsService: never, off Windows.
func isWindowsService() (bool, error) { return false, nil }

func runWindowsService(*program, *kservice.Config) error {
	return errors.New("service: the Windows service control manager exists only on Windows")
}
