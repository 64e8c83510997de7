package publish

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/watchpost/watchpost/sync/protocol"
)

// deltaPath is where the sealed delta to version to of list is kept.
func (p *Publisher) deltaPath(list string, epoch, to uint64) string {
	return filepath.Join(p.cfg.DeltaDir, list, protocol.DeltaFileName(epoch, to))
}

// writeAtomic writes data to path through a temporary file: fsync, rename,
// fsync of the directory. A reader sees the old file or the whole new one.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename in it is durable. Windows
// cannot open a directory for sync; there the rename is all we get.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}

// pruneDeltas removes the deltas of list older than the window: those of
// other epochs and those to versions at or below newest-window.
func (p *Publisher) pruneDeltas(list string, epoch, newest uint64) error {
	dir := filepath.Join(p.cfg.DeltaDir, list)
	names, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, de := range names {
		e, v, ok := protocol.ParseDeltaFileName(de.Name())
		if !ok {
			continue
		}
		if e != epoch || v+uint64(p.cfg.DeltaWindow) <= newest {
			if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// pruneSnapshots keeps the newest KeepSnapshots snapshot files of list
// (a post may still be downloading the previous one).
func (p *Publisher) pruneSnapshots(list string, epoch, newest uint64) error {
	names, err := os.ReadDir(p.cfg.SnapshotDir)
	if err != nil {
		return err
	}
	type snap struct {
		name        string
		epoch, vers uint64
	}
	var snaps []snap
	for _, de := range names {
		l, e, v, ok := protocol.ParseSnapshotFileName(de.Name())
		if !ok || l != list {
			continue
		}
		snaps = append(snaps, snap{de.Name(), e, v})
	}
	slices.SortFunc(snaps, func(a, b snap) int {
		if a.epoch != b.epoch {
			return compareU(b.epoch, a.epoch)
		}
		return compareU(b.vers, a.vers)
	})
	var errs []error
	kept := 0
	for _, s := range snaps {
		current := s.epoch == epoch && s.vers == newest
		older := s.epoch == epoch && s.vers < newest
		if current || older && kept < p.cfg.KeepSnapshots-1 {
			if older {
				kept++
			}
			continue
		}
		if err := os.Remove(filepath.Join(p.cfg.SnapshotDir, s.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func compareU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
