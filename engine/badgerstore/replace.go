package badgerstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/logkey"
)

// Replacing a whole list (stage the new edition, seal it, flip the
// current version, collect what the flip made garbage) and deleting one.

// ListMeta names and describes a list being replaced.
type ListMeta struct {
	Name   string // [a-z0-9_-]{1,32}
	Source string // where the edition came from, e.g. a URL
	Format string // the parser that read it
	Action string // what an officer does on a hit
	// Replica is the replication state of the new version (see
	// engine.ListInfo.Replica); nil for a locally imported edition.
	Replica json.RawMessage
	// Guard, if set, runs once the edition is staged and sealed, before
	// it becomes current: with the current version (zero when the list
	// is new), the new edition's entry count and how many current entries
	// it lacks. An error leaves the list unchanged (the shrink guard).
	Guard func(cur engine.ListInfo, next, removed int) error
}

// ctxCheckEvery is how many rows pass between context (and free space)
// checks.
const ctxCheckEvery = 1024

// pulse returns the check a long write runs every ctxCheckEvery rows: the
// context has not ended and the disk still has its reserve.
func (s *Store) pulse(ctx context.Context) func() error {
	return func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.space.room(0)
	}
}

// ReplaceEntries atomically replaces the names list meta.Name with the
// entries src emits; the new version is the previous one plus 1 (1 for a
// new list). If src or emit fails, or ctx ends, the list is unchanged and
// the staged rows are removed. Entries with the same id collapse, the last
// one emitted winning. emit does not retain the entry.
func (s *Store) ReplaceEntries(ctx context.Context, meta ListMeta, src func(emit func(*engine.Entry) error) error) (engine.ListInfo, error) {
	return s.replace(ctx, meta, engine.ListNames, func(wb *badger.WriteBatch, next uint64) error {
		return stageEach(s.pulse(ctx), "entry", src, func(e *engine.Entry) error {
			if err := e.Validate(); err != nil {
				return err
			}
			if err := noNUL("entry id", e.ID); err != nil {
				return err
			}
			if err := wb.Set(appendVersion(entryGroup(meta.Name, e.ID), next), engine.MarshalEntry(e)); err != nil {
				return fmt.Errorf("stage: %w", err)
			}
			return nil
		})
	})
}

// ReplaceDocuments atomically replaces the documents list meta.Name with
// the rows src emits, like ReplaceEntries. A row whose number has no
// letter or digit (an empty engine.DocumentKey) is an error naming the row
// index. Rows with the same document key, issuing state and type collapse,
// the last one emitted winning.
func (s *Store) ReplaceDocuments(ctx context.Context, meta ListMeta, src func(emit func(*engine.Document) error) error) (engine.ListInfo, error) {
	return s.replace(ctx, meta, engine.ListDocuments, func(wb *badger.WriteBatch, next uint64) error {
		return stageEach(s.pulse(ctx), "document row", src, func(d *engine.Document) error {
			k, err := docGroup(make([]byte, 0, len(meta.Name)+len(d.Number)+len(d.Country)+len(d.Type)+16), meta.Name, d)
			if err != nil {
				return err
			}
			if err := wb.Set(appendVersion(k, next), engine.MarshalDocument(d)); err != nil {
				return fmt.Errorf("stage: %w", err)
			}
			return nil
		})
	})
}

// stageEach runs a replace's source, handing each record to stage. It
// numbers the records for error messages ("<what> <i>: …"), runs check
// (Store.pulse) every ctxCheckEvery records, rejects nil records, and
// makes the first error sticky: later emits fail with it and it is
// returned even if src ignores it.
func stageEach[T any](check func() error, what string, src func(emit func(*T) error) error, stage func(*T) error) error {
	n := 0
	var emitErr error
	err := src(func(rec *T) error {
		i := n
		n++
		if emitErr != nil {
			return emitErr
		}
		if i%ctxCheckEvery == 0 {
			if err := check(); err != nil {
				emitErr = err
				return err
			}
		}
		if rec == nil {
			emitErr = fmt.Errorf("%s %d: nil", what, i)
			return emitErr
		}
		if err := stage(rec); err != nil {
			emitErr = fmt.Errorf("%s %d: %w", what, i, err)
			return emitErr
		}
		return nil
	})
	if err == nil {
		err = emitErr
	}
	return err
}

// replace runs stage, seal, flip and collect (see the package doc).
func (s *Store) replace(ctx context.Context, meta ListMeta, kind engine.ListKind, stage func(wb *badger.WriteBatch, next uint64) error) (engine.ListInfo, error) {
	op := "replace entries of"
	if kind == engine.ListDocuments {
		op = "replace documents of"
	}
	fail := func(err error) (engine.ListInfo, error) {
		return engine.ListInfo{}, fmt.Errorf("%s list %q: %w", op, meta.Name, err)
	}
	if err := validName(meta.Name); err != nil {
		return fail(err)
	}
	old, exists, release, err := s.openList(meta.Name)
	if err != nil {
		return fail(err)
	}
	defer release()
	if exists && old.Kind != kind {
		return fail(fmt.Errorf("%w: list is %s", ErrWrongKind, old.Kind))
	}
	cur, next := old.Version, old.Version+1
	if err := s.mark(meta.Name, next); err != nil {
		return fail(err)
	}

	started := time.Now()
	wb := s.db.NewWriteBatch()
	err = stage(wb, next)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		wb.Cancel()
		return fail(s.abort(meta.Name, err))
	}
	if err := wb.Flush(); err != nil {
		return fail(s.abort(meta.Name, fmt.Errorf("stage rows: %w", err)))
	}
	staged := time.Since(started)
	sealStart := time.Now()

	hash, count, gb, err := s.seal(ctx, meta.Name, kind, cur, next)
	if err != nil {
		return fail(s.abort(meta.Name, err))
	}
	sealed := time.Since(sealStart)
	if meta.Guard != nil {
		if err := meta.Guard(old, count, gb.removed); err != nil {
			return fail(s.abort(meta.Name, err))
		}
	}
	flipStart := time.Now()
	info := engine.ListInfo{
		Name:       meta.Name,
		Kind:       kind,
		Version:    next,
		Source:     meta.Source,
		Format:     meta.Format,
		Hash:       hash.String(),
		Entries:    count,
		ImportedAt: s.clock.Now().UTC(),
		Action:     meta.Action,
		Replica:    meta.Replica,
	}
	if committed, err := s.flip(info); err != nil {
		if !committed {
			return fail(s.abort(meta.Name, err))
		}
		return fail(err)
	}
	flipped := time.Since(flipStart)
	collectStart := time.Now()
	s.collectGarbage(meta.Name, gb)
	s.vlogGC()
	s.log.Debug("Replaced list", logkey.List, meta.Name, logkey.Version, next, logkey.Rows, count,
		logkey.Stage, staged, logkey.Seal, sealed, logkey.Flip, flipped, logkey.Collect, time.Since(collectStart), logkey.Total, time.Since(started))
	return info, nil
}

// DefaultGarbageKeys bounds how many superseded keys a seal remembers so
// that collection can delete them without scanning the list again (about
// 10 MB); a larger edition falls back to a collection scan.
const DefaultGarbageKeys = 1 << 18

// garbage is what becomes unreachable once a sealed version is current:
// rows under the newest row of their group (deleted first), then the
// tombstones left alone by that (deleted after a sync).
type garbage struct {
	rows, tombs [][]byte
	index       [][]byte // index rows of document keys with no live row
	overflow    bool
	found       bool // any older row or tombstone exists
	limit       int  // keys remembered before the overflow
	removed     int  // groups live at cur that the new edition lacks
}

func (g *garbage) add(to *[][]byte, key []byte) {
	if g.keep() {
		*to = append(*to, slices.Clone(key))
	}
}

// addOwned is add for a key the caller no longer uses.
func (g *garbage) addOwned(to *[][]byte, key []byte) {
	if g.keep() {
		*to = append(*to, key)
	}
}

// keep notes that there is garbage and reports whether one more key is
// remembered.
func (g *garbage) keep() bool {
	g.found = true
	if g.overflow {
		return false
	}
	if len(g.rows)+len(g.tombs)+len(g.index) >= g.limit {
		g.overflow = true
		g.rows, g.tombs, g.index = nil, nil, nil
		return false
	}
	return true
}

// seal hashes the rows staged at next, writes a tombstone at next for
// every group live at cur that the new edition lacks, and notes what the
// flip will make garbage.
func (s *Store) seal(ctx context.Context, name string, kind engine.ListKind, cur, next uint64) (h engine.SetHash, count int, gb *garbage, err error) {
	prefix := entryRows(name)
	if kind == engine.ListDocuments {
		prefix = docRows(name)
	}
	gb = &garbage{limit: s.garbageKeys}
	wb := s.db.NewWriteBatch()
	n := 0
	check := s.pulse(ctx)
	err = s.db.View(func(txn *badger.Txn) error {
		var iw *indexWalk
		if kind == engine.ListDocuments {
			// Index rows: a document key live at next gets its row now,
			// before the flip; one with no live row at next loses it in
			// the collection, after the flip (readers at cur need it).
			iw = newIndexWalk(txn, name,
				func(k []byte) error { return wb.Set(slices.Clone(k), nil) },
				func(k []byte) error { gb.add(&gb.index, k); return nil })
		}
		err := scanGroups(txn, name, prefix, cur, func(group []byte, rows []row) error {
			if n++; n%(16*ctxCheckEvery) == 0 {
				if err := check(); err != nil {
					return err
				}
			}
			top := rows[0]
			if iw != nil {
				if err := iw.group(group, top.ver == next && !isTombstone(top.val)); err != nil {
					return err
				}
			}
			switch {
			case top.ver > next:
				return fmt.Errorf("key %q: row of version %d above the staged version %d", top.key, top.ver, next)
			case top.ver == next:
				if isTombstone(top.val) {
					return fmt.Errorf("key %q: unexpected tombstone in a staged edition", top.key)
				}
				h.Add(top.val)
				count++
			case isTombstone(top.val):
				// Already absent at cur: the tombstone goes once the rows
				// under it are gone.
				gb.add(&gb.tombs, top.key)
			default:
				// Live at cur, absent from the new edition.
				tk := appendVersion(slices.Clone(group), next)
				if err := wb.Set(tk, tombstone); err != nil {
					return err
				}
				gb.removed++
				gb.add(&gb.rows, top.key)
				gb.add(&gb.tombs, tk)
			}
			for _, r := range rows[1:] {
				gb.add(&gb.rows, r.key)
			}
			return nil
		})
		if iw != nil {
			if ferr := iw.finish(); err == nil {
				err = ferr
			}
		}
		return err
	})
	if err != nil {
		wb.Cancel()
		return h, 0, nil, fmt.Errorf("seal version %d: %w", next, err)
	}
	if err := wb.Flush(); err != nil {
		return h, 0, nil, fmt.Errorf("seal version %d: write tombstones: %w", next, err)
	}
	return h, count, gb, nil
}

// collectGarbage deletes what seal noted, or falls back to a collection
// scan if it noted too much. Failures are logged (see collect).
func (s *Store) collectGarbage(name string, gb *garbage) {
	if !gb.found {
		s.unmark(name)
		return
	}
	if gb.overflow {
		s.collect(name, [][]byte{listRows(name)})
		return
	}
	if !s.roomToCollect(name) {
		return
	}
	del := func(keys [][]byte) error {
		wb := s.db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		return wb.Flush()
	}
	// Index rows go with the rows: their document keys have no live row
	// at the current version, so losing either deletion is harmless.
	err := del(append(gb.rows, gb.index...))
	if err == nil && len(gb.tombs) > 0 {
		// The rows under each tombstone must be gone for good before it is.
		if err = s.db.Sync(); err == nil {
			err = del(gb.tombs)
		}
	}
	if err != nil {
		s.log.Warn("Cannot collect superseded rows; the list is repaired at next open", logkey.List, name, logkey.Error, err)
		return
	}
	s.unmark(name)
}

// flip makes info the list's current version, durably. committed reports
// whether the flip transaction committed (even if the final sync failed).
func (s *Store) flip(info engine.ListInfo) (committed bool, err error) {
	v, err := json.Marshal(info)
	if err != nil {
		return false, fmt.Errorf("flip to version %d: %w", info.Version, err)
	}
	// Staged rows must be durable before the flip can be.
	if err := s.db.Sync(); err != nil {
		return false, fmt.Errorf("flip to version %d: sync staged rows: %w", info.Version, err)
	}
	err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(metaKey(info.Name), v) })
	// Before the collection starts, whether or not the flip committed.
	s.refreshDocs(info.Name)
	if err != nil {
		return false, fmt.Errorf("flip to version %d: %w", info.Version, err)
	}
	if err := s.db.Sync(); err != nil {
		return true, fmt.Errorf("flip to version %d: sync: %w", info.Version, err)
	}
	return true, nil
}

// DeleteList removes a list. The list disappears atomically; its rows are
// deleted afterwards (and by the next Open if that is interrupted).
func (s *Store) DeleteList(ctx context.Context, name string) error {
	fail := func(err error) error { return fmt.Errorf("delete list %q: %w", name, err) }
	if err := validName(name); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	_, release, err := s.openExisting(name)
	if err != nil {
		return fail(err)
	}
	defer release()
	err = s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(dirtyKey(name), binary.BigEndian.AppendUint64(nil, 0)); err != nil {
			return err
		}
		return txn.Delete(metaKey(name))
	})
	s.refreshDocs(name) // before the collection starts
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return fail(err)
	}
	s.collect(name, [][]byte{listRows(name)})
	s.vlogGC()
	return nil
}
