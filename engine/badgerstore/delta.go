package badgerstore

import (
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
	if err := s.space.room(0); err != nil {
		return fail(err)
	}

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
	if err := s.space.room(0); err != nil {
		return fail(err)
	}
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
