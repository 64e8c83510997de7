package badgerstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/logkey"
)

// Repair and garbage collection: the dirty marker a write sets, removing
// what a failed or interrupted write left, collecting superseded rows, and
// the value-log GC.

// maxVlogGCRounds bounds the value-log GC loop after a write.
const maxVlogGCRounds = 8

// begin reads a list's metadata before a write, first repairing the list
// if an earlier write left it dirty.
func (s *Store) begin(name string) (engine.ListInfo, bool, error) {
	dirty := false
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(dirtyKey(name))
		if err == nil {
			dirty = true
			return nil
		}
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return engine.ListInfo{}, false, fmt.Errorf("read dirty marker: %w", err)
	}
	if dirty {
		if err := s.repair(name); err != nil {
			return engine.ListInfo{}, false, err
		}
	}
	var (
		info   engine.ListInfo
		exists bool
	)
	err = s.db.View(func(txn *badger.Txn) error {
		info, exists, err = getInfo(txn, name)
		return err
	})
	return info, exists, err
}

// mark durably records that rows of version next may be written.
func (s *Store) mark(name string, next uint64) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(dirtyKey(name), binary.BigEndian.AppendUint64(nil, next))
	})
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("write dirty marker: %w", err)
	}
	return nil
}

func (s *Store) unmark(name string) {
	err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(dirtyKey(name)) })
	if err != nil {
		s.log.Warn("Cannot clear dirty marker; the list is repaired at next open", logkey.List, name, logkey.Error, err)
	}
}

// abort removes what a failed write staged and returns cause. If the
// cleanup fails too, the dirty marker stays and Open retries it.
func (s *Store) abort(name string, cause error) error {
	if err := s.space.room(0); err != nil {
		// Deleting the staged rows writes a tombstone for each: left to
		// the next write of the list, or the next Open, once there is
		// room. Readers never see them.
		s.log.Warn("Staged rows left for the next write or open: the disk is low", logkey.List, name, logkey.Error, err)
		return cause
	}
	if err := s.repair(name); err != nil {
		s.log.Warn("Cannot remove staged rows; the list is repaired at next open", logkey.List, name, logkey.Error, err)
	}
	return cause
}

// repair deletes every row of name that its current version does not
// need, then clears the dirty marker.
func (s *Store) repair(name string) error {
	if err := s.compactAll(name, [][]byte{listRows(name)}); err != nil {
		return err
	}
	err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(dirtyKey(name)) })
	if err != nil {
		return fmt.Errorf("clear dirty marker: %w", err)
	}
	return nil
}

// collect runs garbage collection after a flip. The new version is
// already durable, so a failure is logged, and Open repairs the list.
func (s *Store) collect(name string, prefixes [][]byte) {
	if !s.roomToCollect(name) {
		return
	}
	if err := s.compactAll(name, prefixes); err != nil {
		s.log.Warn("Cannot collect superseded rows; the list is repaired at next open", logkey.List, name, logkey.Error, err)
		return
	}
	s.unmark(name)
}

// roomToCollect reports whether the disk has its reserve for the
// tombstones a collection writes; if not, the list stays marked dirty and
// the next write or Open collects it.
func (s *Store) roomToCollect(name string) bool {
	if err := s.space.room(0); err != nil {
		s.log.Warn("Superseded rows left for the next write or open: the disk is low", logkey.List, name, logkey.Error, err)
		return false
	}
	return true
}

// compactAll compacts until no tombstone is left waiting (two passes at
// most: the second deletes tombstones whose older rows the first removed).
func (s *Store) compactAll(name string, prefixes [][]byte) error {
	for pass := 0; pass < 2; pass++ {
		deferred, err := s.compact(name, prefixes)
		if err != nil {
			return fmt.Errorf("collect rows: %w", err)
		}
		if deferred == 0 {
			return nil
		}
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("collect rows: %w", err)
		}
	}
	return nil
}

// compact deletes, under prefixes, every row no reader at the list's
// current version can see: rows above it (a failed write), rows below the
// visible one, every row of a list that does not exist, and visible
// tombstones with nothing left under them. A tombstone with older rows
// under it is kept for the next pass (deferred), so that a crash between
// the deletions cannot let an old record reappear.
func (s *Store) compact(name string, prefixes [][]byte) (deferred int, err error) {
	wb := s.db.NewWriteBatch()
	deleted := 0
	err = s.db.View(func(txn *badger.Txn) error {
		info, present, err := getInfo(txn, name)
		if err != nil {
			return err
		}
		for _, p := range prefixes {
			var iw *indexWalk
			if bytes.Equal(p, listRows(name)) {
				// Reconcile the index rows of a documents list with the
				// rows live at the current version: drop the stale ones
				// (none is live, or the list is gone) and restore any
				// missing one (a store damaged from outside).
				iw = newIndexWalk(txn, name,
					func(k []byte) error { return wb.Set(slices.Clone(k), nil) },
					func(k []byte) error { deleted++; return wb.Delete(slices.Clone(k)) })
			}
			err := scanGroups(txn, name, p, info.Version, func(group []byte, rows []row) error {
				vis := -1
				if present {
					vis = visible(rows, info.Version)
				}
				if iw != nil {
					if err := iw.group(group, vis >= 0 && !isTombstone(rows[vis].val)); err != nil {
						return err
					}
				}
				for j, r := range rows {
					if j == vis {
						continue
					}
					if err := wb.Delete(slices.Clone(r.key)); err != nil {
						return err
					}
					deleted++
				}
				if vis >= 0 && isTombstone(rows[vis].val) {
					if vis < len(rows)-1 {
						deferred++
						return nil
					}
					deleted++
					return wb.Delete(slices.Clone(rows[vis].key))
				}
				return nil
			})
			if iw != nil {
				if ferr := iw.finish(); err == nil {
					err = ferr
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		wb.Cancel()
		return 0, err
	}
	if err := wb.Flush(); err != nil {
		return 0, err
	}
	if deleted > 0 {
		s.log.Debug("Collected rows", logkey.List, name, logkey.Rows, deleted)
	}
	return deferred, nil
}

// repairAll repairs every list an interrupted write left dirty.
func (s *Store) repairAll() error {
	var names []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(dirtyPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			names = append(names, string(it.Item().Key()[len(dirtyPrefix):]))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find interrupted writes: %w", err)
	}
	for _, name := range names {
		if err := validName(name); err != nil {
			return fmt.Errorf("key %q: %w: %v", dirtyPrefix+name, engine.ErrCorruptRecord, err)
		}
		if err := s.repair(name); err != nil {
			return fmt.Errorf("repair list %q: %w", name, err)
		}
		s.log.Info("Repaired list after an interrupted write", logkey.List, name)
	}
	return nil
}

func (s *Store) vlogGC() {
	for i := 0; i < maxVlogGCRounds; i++ {
		err := s.db.RunValueLogGC(0.5)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.log.Warn("Value log GC failed", logkey.Error, err)
		}
		return
	}
}
