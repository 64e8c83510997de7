//go:build !linux

package testkit

import (
	"fmt"
	"runtime"
	"testing"
)

// Tmpfs skips the test: tmpfs mounts are a Linux feature.
func Tmpfs(t testing.TB, size int64) string {
	t.Skipf("no tmpfs on %s: the disk-full test runs on Linux as root", runtime.GOOS)
	return ""
}

// TryTmpfs returns why there is no tmpfs.
func TryTmpfs(t testing.TB, size int64) (string, error) {
	return "", fmt.Errorf("no tmpfs on %s", runtime.GOOS)
}

// FreeBytes skips the test (see Tmpfs).
func FreeBytes(t testing.TB, dir string) uint64 {
	t.Skipf("free space is not measured by the tests on %s", runtime.GOOS)
	return 0
}

// Fill skips the test (see Tmpfs).
func Fill(t testing.TB, dir string, leave uint64) string {
	t.Skipf("no filler on %s", runtime.GOOS)
	return ""
}
