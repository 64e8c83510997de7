// Package durable makes file system changes survive a crash: it syncs the
// directory a rename happened in, so that the rename itself is on disk.
package durable

import (
	"os"
	"runtime"
)

// SyncDir makes the renames in dir durable. Windows cannot open a
// directory for syncing (NTFS journals renames), so there it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
