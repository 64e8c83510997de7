package badgerstore

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
)

// ErrNoEntry: the list has no entry with that id at its current version.
var ErrNoEntry = errors.New("no such entry")

// Entry returns one entry of the names list name at its current version,
// and that ListInfo, reading only the entry's rows: the officer's console
// shows a hit's listed person beside the traveller. It returns ErrNoList,
// ErrWrongKind for a documents list, or ErrNoEntry.
func (s *Store) Entry(name, id string) (engine.Entry, engine.ListInfo, error) {
	fail := func(err error) (engine.Entry, engine.ListInfo, error) {
		return engine.Entry{}, engine.ListInfo{}, fmt.Errorf("read entry %q of list %q: %w", id, name, err)
	}
	if err := noNUL("entry id", id); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrNoEntry, err))
	}
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	var (
		e    engine.Entry
		info engine.ListInfo
	)
	err := s.db.View(func(txn *badger.Txn) error {
		var (
			ok  bool
			err error
		)
		if info, ok, err = getInfo(txn, name); err != nil {
			return err
		} else if !ok {
			return ErrNoList
		}
		if info.Kind != engine.ListNames {
			return fmt.Errorf("%w: list is %s", ErrWrongKind, info.Kind)
		}
		group := entryGroup(name, id)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: group})
		defer it.Close()
		// Rows of a group sort newest version first (the version is
		// stored inverted): the first at or below the current version is
		// the one readers see.
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			_, ver, ok := splitRowKey(item.Key())
			if !ok {
				return fmt.Errorf("key %q: %w: malformed row key", item.Key(), engine.ErrCorruptRecord)
			}
			if ver > info.Version {
				continue
			}
			return item.Value(func(v []byte) error {
				if isTombstone(v) {
					return ErrNoEntry
				}
				var err error
				if e, err = engine.UnmarshalEntry(v); err != nil {
					return fmt.Errorf("key %q: %w", item.Key(), err)
				}
				return nil
			})
		}
		return ErrNoEntry
	})
	if err != nil {
		return fail(err)
	}
	return e, info, nil
}
