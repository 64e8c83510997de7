package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/logkey"
)

// ListMeta names and describes a list being replaced.
type ListMeta struct {
	Name   string // [a-z0-9_-]{1,32}
	Source string // where the edition came from, e.g. a URL
	Format string // the parser that read it
	Action string // what an officer does on a hit
	// Replica is the replication state of the new version (see
	// engine.ListInfo.Replica); nil for a locally imported edition.
	Replica json.RawMessage
}

// UpdateOption adjusts an UpdateEntries call.
type UpdateOption func(*engine.ListInfo)

// WithReplica stores the replication state of the version an update
// creates, in the transaction that makes it current. Without it the
// previous version's state is kept.
func WithReplica(state json.RawMessage) UpdateOption {
	return func(info *engine.ListInfo) { info.Replica = state }
}

// ctxCheckEvery is how many rows pass between context checks.
const ctxCheckEvery = 1024

// maxVlogGCRounds bounds the value-log GC loop after a write.
const maxVlogGCRounds = 8

// ReplaceEntries atomically replaces the names list meta.Name with the
// entries src emits; the new version is the previous one plus 1 (1 for a
// new list). If src or emit fails, or ctx ends, the list is unchanged and
// the staged rows are removed. Entries with the same id collapse, the last
// one emitted winning. emit does not retain the entry.
func (s *Store) ReplaceEntries(ctx context.Context, meta ListMeta, src func(emit func(*engine.Entry) error) error) (engine.ListInfo, error) {
	return s.replace(ctx, meta, engine.ListNames, func(wb *badger.WriteBatch, next uint64) error {
		return stageEach(ctx, "entry", src, func(e *engine.Entry) error {
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
		return stageEach(ctx, "document row", src, func(d *engine.Document) error {
			dk := engine.DocumentKey(d.Number)
			if dk == "" {
				return fmt.Errorf("number %q has no letter or digit", d.Number)
			}
			country := normCountry(d.Country)
			if err := errors.Join(noNUL("country", country), noNUL("type", d.Type)); err != nil {
				return err
			}
			k := make([]byte, 0, len(meta.Name)+len(dk)+len(country)+len(d.Type)+16)
			k = appendVersion(docGroupAppend(k, meta.Name, dk, country, d.Type), next)
			if err := wb.Set(k, engine.MarshalDocument(d)); err != nil {
				return fmt.Errorf("stage: %w", err)
			}
			return nil
		})
	})
}

// stageEach runs a replace's source, handing each record to stage. It
// numbers the records for error messages ("<what> <i>: …"), checks ctx
// every ctxCheckEvery records, rejects nil records, and makes the first
// error sticky: later emits fail with it and it is returned even if src
// ignores it.
func stageEach[T any](ctx context.Context, what string, src func(emit func(*T) error) error, stage func(*T) error) error {
	n := 0
	var emitErr error
	err := src(func(rec *T) error {
		i := n
		n++
		if emitErr != nil {
			return emitErr
		}
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
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
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	mu := s.listLock(meta.Name)
	mu.Lock()
	defer mu.Unlock()

	old, exists, err := s.begin(meta.Name)
	if err != nil {
		return fail(err)
	}
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
}

func (g *garbage) add(to *[][]byte, key []byte) {
	g.found = true
	if g.overflow {
		return
	}
	if len(g.rows)+len(g.tombs)+len(g.index) >= g.limit {
		g.overflow = true
		g.rows, g.tombs, g.index = nil, nil, nil
		return
	}
	*to = append(*to, slices.Clone(key))
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
				if err := ctx.Err(); err != nil {
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

// abort removes what a failed write staged and returns cause. If the
// cleanup fails too, the dirty marker stays and Open retries it.
func (s *Store) abort(name string, cause error) error {
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
	if err := s.compactAll(name, prefixes); err != nil {
		s.log.Warn("Cannot collect superseded rows; the list is repaired at next open", logkey.List, name, logkey.Error, err)
		return
	}
	s.unmark(name)
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

// UpdateEntries applies a delta to the names list name atomically, only if
// the list is at fromVersion (else ErrVersionMismatch); the result is
// version fromVersion+1. Upserts replace or add entries by id (the last
// upsert of an id wins); deletes remove entries by id. Deleting an id the
// list does not hold, or upserting and deleting one id, is an error: a
// delta that does not fit the list means the replica has diverged.
func (s *Store) UpdateEntries(ctx context.Context, name string, fromVersion uint64, upserts []engine.Entry, deletes []string, opts ...UpdateOption) (engine.ListInfo, error) {
	fail := func(err error) (engine.ListInfo, error) {
		return engine.ListInfo{}, fmt.Errorf("update list %q from version %d: %w", name, fromVersion, err)
	}
	if err := validName(name); err != nil {
		return fail(err)
	}
	last := make(map[string]int, len(upserts))
	for i := range upserts {
		e := &upserts[i]
		if err := e.Validate(); err != nil {
			return fail(fmt.Errorf("upsert %d: %w", i, err))
		}
		if err := noNUL("entry id", e.ID); err != nil {
			return fail(fmt.Errorf("upsert %d: %w", i, err))
		}
		last[e.ID] = i
	}
	dels := make(map[string]bool, len(deletes))
	for _, id := range deletes {
		if _, ok := last[id]; ok {
			return fail(fmt.Errorf("entry %q is both upserted and deleted", id))
		}
		if err := noNUL("entry id", id); err != nil {
			return fail(err)
		}
		dels[id] = true
	}
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	mu := s.listLock(name)
	mu.Lock()
	defer mu.Unlock()

	info, exists, err := s.begin(name)
	if err != nil {
		return fail(err)
	}
	if !exists {
		return fail(ErrNoList)
	}
	if info.Kind != engine.ListNames {
		return fail(fmt.Errorf("%w: list is %s", ErrWrongKind, info.Kind))
	}
	if info.Version != fromVersion {
		return fail(fmt.Errorf("%w: list is at version %d", ErrVersionMismatch, info.Version))
	}
	h, err := parseHash(name, info.Hash)
	if err != nil {
		return fail(err)
	}
	cur, next := info.Version, info.Version+1
	count := info.Entries
	if err := s.mark(name, next); err != nil {
		return fail(err)
	}

	var groups [][]byte
	wb := s.db.NewWriteBatch()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: entryRows(name)})
		defer it.Close()
		// removeOld takes the visible record of group out of the hash.
		removeOld := func(group []byte) (live bool, err error) {
			it.Seek(appendVersion(slices.Clone(group), cur))
			if !it.ValidForPrefix(group) {
				return false, nil
			}
			item := it.Item()
			err = item.Value(func(v []byte) error {
				if isTombstone(v) {
					return nil
				}
				live = true
				h.Remove(v)
				return nil
			})
			if err != nil {
				return false, fmt.Errorf("key %q: %w", item.Key(), err)
			}
			return live, nil
		}
		for i := range upserts {
			if i%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			e := &upserts[i]
			if last[e.ID] != i {
				continue
			}
			group := entryGroup(name, e.ID)
			live, err := removeOld(group)
			if err != nil {
				return err
			}
			if live {
				count--
			}
			rec := engine.MarshalEntry(e)
			h.Add(rec)
			count++
			groups = append(groups, group)
			if err := wb.Set(appendVersion(slices.Clone(group), next), rec); err != nil {
				return err
			}
		}
		for id := range dels {
			group := entryGroup(name, id)
			live, err := removeOld(group)
			if err != nil {
				return err
			}
			if !live {
				return fmt.Errorf("delete entry %q: not in the list", id)
			}
			count--
			groups = append(groups, group)
			if err := wb.Set(appendVersion(slices.Clone(group), next), tombstone); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		wb.Cancel()
		return fail(s.abort(name, err))
	}
	if err := wb.Flush(); err != nil {
		return fail(s.abort(name, fmt.Errorf("stage rows: %w", err)))
	}
	info.Version = next
	info.Hash = h.String()
	info.Entries = count
	info.ImportedAt = s.clock.Now().UTC()
	for _, o := range opts {
		o(&info)
	}
	if committed, err := s.flip(info); err != nil {
		if !committed {
			return fail(s.abort(name, err))
		}
		return fail(err)
	}
	s.collect(name, groups)
	s.vlogGC()
	return info, nil
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
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	mu := s.listLock(name)
	mu.Lock()
	defer mu.Unlock()

	_, exists, err := s.begin(name)
	if err != nil {
		return fail(err)
	}
	if !exists {
		return fail(ErrNoList)
	}
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

// SetReplica replaces the replication state of a list's current version
// (after a signed head that changes no entries, say) in one transaction.
// It fails with ErrVersionMismatch if the list is no longer at version.
func (s *Store) SetReplica(ctx context.Context, name string, version uint64, state json.RawMessage) error {
	fail := func(err error) error {
		return fmt.Errorf("set replication state of list %q at version %d: %w", name, version, err)
	}
	if err := validName(name); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	mu := s.listLock(name)
	mu.Lock()
	defer mu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		info, exists, err := getInfo(txn, name)
		switch {
		case err != nil:
			return err
		case !exists:
			return ErrNoList
		case info.Version != version:
			return fmt.Errorf("%w: list is at version %d", ErrVersionMismatch, info.Version)
		}
		info.Replica = state
		v, err := json.Marshal(info)
		if err != nil {
			return err
		}
		return txn.Set(metaKey(name), v)
	})
	if err != nil {
		return fail(err)
	}
	if err := s.db.Sync(); err != nil {
		return fail(fmt.Errorf("sync: %w", err))
	}
	s.refreshDocs(name)
	return nil
}
