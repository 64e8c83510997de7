package testkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Tmpfs mounts a tmpfs of size bytes on a new directory and unmounts it
// when the test ends: a small file system to fill, for the disk-full
// tests. It skips the test, saying why, where mounting is not possible
// (not root, no CAP_SYS_ADMIN in a container).
func Tmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir, err := TryTmpfs(t, size)
	if err != nil {
		t.Skipf("%v: the disk-full test needs root (CAP_SYS_ADMIN)", err)
	}
	return dir
}

// TryTmpfs is Tmpfs for a test that can run without one: it returns the
// reason instead of skipping.
func TryTmpfs(t testing.TB, size int64) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		return "", fmt.Errorf("cannot mount a %d-byte tmpfs on %s: %w", size, dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir, nil
}

// FreeBytes returns the bytes available on dir's file system.
func FreeBytes(t testing.TB, dir string) uint64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize) //nolint:gosec // sizes are non-negative
}

// Fill writes a filler file in dir that leaves about leave bytes free on
// its file system (less than leave, by at most a block), and returns its
// path; removing it gives the space back.
func Fill(t testing.TB, dir string, leave uint64) string {
	t.Helper()
	path := filepath.Join(dir, "filler-"+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xA5}, 1<<20)
	for {
		free := FreeBytes(t, dir)
		if free <= leave {
			return path
		}
		n := min(uint64(len(chunk)), free-leave+4096)
		if _, err := f.Write(chunk[:n]); err != nil {
			t.Fatalf("fill %s: %v", path, err)
		}
	}
}
