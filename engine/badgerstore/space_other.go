//go:build !(linux || darwin || freebsd || windows)

package badgerstore

import (
	"errors"
	"runtime"
)

// DiskFree is not implemented on this system: the disk reserve is not
// enforced and doctor skips its check.
func DiskFree(dir string) (uint64, error) {
	return 0, errors.New("free space is not measured on " + runtime.GOOS)
}
