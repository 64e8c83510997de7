package badgerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
)

// Applying a delta to a list (UpdateEntries) and updating the replication
// state of its current version (SetReplica).

// UpdateOption adjusts an UpdateEntries call.
type UpdateOption func(*engine.ListInfo)

// WithReplica stores the replication state of the version an update
// creates, in the transaction that makes it current. Without it the
// previous version's state is kept.
func WithReplica(state json.RawMessage) UpdateOption {
	return func(info *engine.ListInfo) { info.Replica = state }
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
	ops := make([]rowOp, 0, len(upserts)+len(deletes))
	for i := range upserts {
		e := &upserts[i]
		if err := e.Validate(); err != nil {
			return fail(fmt.Errorf("upsert %d: %w", i, err))
		}
		if err := noNUL("entry id", e.ID); err != nil {
			return fail(fmt.Errorf("upsert %d: %w", i, err))
		}
		ops = append(ops, rowOp{group: entryGroup(name, e.ID), rec: engine.MarshalEntry(e), label: e.ID})
	}
	for _, id := range deletes {
		if err := noNUL("entry id", id); err != nil {
			return fail(err)
		}
		ops = append(ops, rowOp{group: entryGroup(name, id), label: id})
	}
	info, err := s.update(ctx, name, engine.ListNames, fromVersion, ops, opts)
	if err == nil {
		if fn := s.onUpdate.Load(); fn != nil {
			(*fn)(EntriesUpdate{FromVersion: fromVersion, Info: info, Upserts: upserts, Deletes: deletes})
		}
	}
	return info, err
}

// EntriesUpdate is a names list's update as UpdateEntries committed it.
type EntriesUpdate struct {
	FromVersion uint64
	Info        engine.ListInfo // the list at its new version
	Upserts     []engine.Entry
	Deletes     []string
}

// OnEntriesUpdated sets fn to be called after every committed
// UpdateEntries, on the caller's goroutine, with what it changed, so that
// an in-memory index can follow the list without reading it again. fn
// must not block and must not modify the update; nil removes it.
func (s *Store) OnEntriesUpdated(fn func(EntriesUpdate)) {
	if fn == nil {
		s.onUpdate.Store(nil)
		return
	}
	s.onUpdate.Store(&fn)
}

// rowOp is one group an update writes: the record rec, or a tombstone
// when rec is nil. label names the record in errors (an entry id, a
// document number).
type rowOp struct {
	group []byte
	rec   []byte
	label string
}

// update applies ops to the list name of kind at fromVersion as version
// fromVersion+1: mark, stage the rows (and, for a documents list, the index
// rows of the upserted document keys), flip, collect (see the package doc).
// Several upserts of one group: the last wins; a group both upserted and
// deleted, or a delete of a group that is not live, is an error. The ops
// are applied in key order, so the reads walk the list once, forward.
func (s *Store) update(ctx context.Context, name string, kind engine.ListKind, fromVersion uint64, ops []rowOp, opts []UpdateOption) (engine.ListInfo, error) {
	fail := func(err error) (engine.ListInfo, error) {
		return engine.ListInfo{}, fmt.Errorf("update list %q from version %d: %w", name, fromVersion, err)
	}
	noun := "entry"
	if kind == engine.ListDocuments {
		noun = "document"
	}
	slices.SortStableFunc(ops, func(a, b rowOp) int { return bytes.Compare(a.group, b.group) })
	uniq := ops[:0]
	for i := 0; i < len(ops); {
		j, del, up := i, false, false
		for ; j < len(ops) && bytes.Equal(ops[j].group, ops[i].group); j++ {
			del, up = del || ops[j].rec == nil, up || ops[j].rec != nil
		}
		if del && up {
			return fail(fmt.Errorf("%s %q is both upserted and deleted", noun, ops[i].label))
		}
		uniq = append(uniq, ops[j-1]) // the last upsert wins
		i = j
	}
	ops = uniq
	info, release, err := s.openExisting(name)
	if err != nil {
		return fail(err)
	}
	defer release()
	if info.Kind != kind {
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

	prefix := entryRows(name)
	if kind == engine.ListDocuments {
		prefix = docRows(name)
	}
	// What the flip makes garbage, deleted after it (collectGarbage): every
	// row of a changed group at or below cur, the tombstones written for
	// deletes (after those), and the index rows of document keys no row is
	// live for any more.
	gb := &garbage{limit: s.garbageKeys}
	wb := s.db.NewWriteBatch()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		var docs *docKeyRun
		if kind == engine.ListDocuments {
			docs = &docKeyRun{txn: txn, name: name, prefix: prefix, cur: cur, wb: wb, gb: gb}
			defer docs.close()
		}
		var seek []byte
		for i := range ops {
			if i%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			op := &ops[i]
			// Take the visible record of the group out of the hash.
			seek = appendVersion(append(seek[:0], op.group...), cur)
			live, first := false, true
			for it.Seek(seek); it.ValidForPrefix(op.group); it.Next() {
				item := it.Item()
				if first {
					// The newest row at or below cur is the visible one.
					first = false
					err := item.Value(func(v []byte) error {
						if !isTombstone(v) {
							live = true
							h.Remove(v)
						}
						return nil
					})
					if err != nil {
						return fmt.Errorf("key %q: %w", item.Key(), err)
					}
				}
				gb.add(&gb.rows, item.Key())
			}
			if live {
				count--
			}
			val := tombstone
			if op.rec != nil {
				val = op.rec
				h.Add(op.rec)
				count++
			} else if !live {
				return fmt.Errorf("delete %s %q: not in the list", noun, op.label)
			}
			k := appendVersion(slices.Clone(op.group), next)
			if err := wb.Set(k, val); err != nil {
				return err
			}
			if op.rec == nil {
				gb.add(&gb.tombs, k)
			}
			if docs != nil {
				if err := docs.op(op, i+1 == len(ops) || !sameDocKey(prefix, op.group, ops[i+1].group)); err != nil {
					return err
				}
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
	s.collectGarbage(name, gb)
	s.vlogGC()
	return info, nil
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
	release, err := s.enterList(name)
	if err != nil {
		return fail(err)
	}
	defer release()
	err = s.db.Update(func(txn *badger.Txn) error {
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
