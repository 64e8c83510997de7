//go:build !(linux || darwin || freebsd || windows)

package doctor

import (
	"errors"
	"runtime"
)

// DiskFree is not implemented on this system; the check is skipped.
func DiskFree(dir string) (uint64, error) {
	return 0, errors.New("free space is not measured on " + runtime.GOOS)
}
