package badgerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/logkey"
)

// DocumentHit is a document found in a documents list.
type DocumentHit struct {
	List        string
	ListVersion uint64
	Action      string
	Document    engine.Document
}

// Lists returns every list's current version, sorted by name.
func (s *Store) Lists() ([]engine.ListInfo, error) {
	if err := s.enter(); err != nil {
		return nil, fmt.Errorf("read lists: %w", err)
	}
	defer s.life.RUnlock()
	var out []engine.ListInfo
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		out, err = listsIn(txn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read lists: %w", err)
	}
	return out, nil
}

// List returns the current version of a list, or ErrNoList.
func (s *Store) List(name string) (engine.ListInfo, error) {
	if err := s.enter(); err != nil {
		return engine.ListInfo{}, fmt.Errorf("read list %q: %w", name, err)
	}
	defer s.life.RUnlock()
	info, ok, err := s.viewInfo(name)
	if err == nil && !ok {
		err = ErrNoList
	}
	if err != nil {
		return engine.ListInfo{}, fmt.Errorf("read list %q: %w", name, err)
	}
	return info, nil
}

// eachVisible calls fn with the key and value of every live record of a
// list at its current version, in key order, inside one snapshot.
func eachVisible(ctx context.Context, txn *badger.Txn, info engine.ListInfo, fn func(key, val []byte) error) error {
	prefix := entryRows(info.Name)
	if info.Kind == engine.ListDocuments {
		prefix = docRows(info.Name)
	}
	n := 0
	return visibleRows(txn, prefix, info.Version, func(k []byte, item *badger.Item) error {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return item.Value(func(v []byte) error {
			if isTombstone(v) {
				return nil
			}
			return fn(k, v)
		})
	})
}

// visibleRows calls fn, in key order, with the row of each group under
// prefix that version sees: the newest at or below it (a tombstone too).
// A malformed row key is an engine.ErrCorruptRecord.
func visibleRows(txn *badger.Txn, prefix []byte, version uint64, fn func(k []byte, item *badger.Item) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var group []byte
	resolved := false
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		g, ver, ok := splitRowKey(k)
		if !ok {
			return fmt.Errorf("key %q: %w: malformed row key", k, engine.ErrCorruptRecord)
		}
		if !bytes.Equal(g, group) {
			group = append(group[:0], g...)
			resolved = false
		}
		if resolved || ver > version {
			continue
		}
		resolved = true
		if err := fn(k, item); err != nil {
			return err
		}
	}
	return nil
}

// Entries streams the entries of the names list name at its current
// version, from one consistent snapshot (a concurrent replace is not
// seen), and returns the ListInfo of that version. The entry is fresh for
// each call; fn may keep it. An error from fn stops the stream and is
// returned wrapped.
func (s *Store) Entries(ctx context.Context, name string, fn func(*engine.Entry) error) (engine.ListInfo, error) {
	return s.stream(ctx, name, engine.ListNames, decoded(engine.UnmarshalEntry, fn))
}

// decoded turns fn, which takes records, into a stream callback that
// decodes each value with unmarshal, naming the key when it cannot.
func decoded[T any](unmarshal func([]byte) (T, error), fn func(*T) error) func(key, val []byte) error {
	return func(key, val []byte) error {
		r, err := unmarshal(val)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		return fn(&r)
	}
}

// stream calls fn with the key and value of every live record of the list
// name of kind at its current version, in one snapshot (Entries,
// Documents).
func (s *Store) stream(ctx context.Context, name string, kind engine.ListKind, fn func(key, val []byte) error) (engine.ListInfo, error) {
	what := "entries"
	if kind == engine.ListDocuments {
		what = "documents"
	}
	fail := func(err error) (engine.ListInfo, error) {
		return engine.ListInfo{}, fmt.Errorf("read %s of list %q: %w", what, name, err)
	}
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	var info engine.ListInfo
	err := s.db.View(func(txn *badger.Txn) error {
		var (
			ok  bool
			err error
		)
		info, ok, err = getInfo(txn, name)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoList
		}
		if info.Kind != kind {
			return fmt.Errorf("%w: list is %s", ErrWrongKind, info.Kind)
		}
		return eachVisible(ctx, txn, info, fn)
	})
	if err != nil {
		return fail(err)
	}
	return info, nil
}

// Verify recomputes the hash and count of a list from its stored rows,
// decoding every record, and compares them with its ListInfo. It returns
// ErrHashMismatch, or an engine.ErrCorruptRecord naming the key.
func (s *Store) Verify(ctx context.Context, name string) error {
	fail := func(err error) error { return fmt.Errorf("verify list %q: %w", name, err) }
	if err := s.enter(); err != nil {
		return fail(err)
	}
	defer s.life.RUnlock()
	return s.db.View(func(txn *badger.Txn) error {
		info, ok, err := getInfo(txn, name)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return fail(ErrNoList)
		}
		var (
			h     engine.SetHash
			count int
			kbuf  []byte
			idx   *indexChecker
		)
		if info.Kind == engine.ListDocuments {
			// Every live record must have its index row, or LookupDocument
			// would miss it.
			idx = newIndexChecker(txn, name)
			defer idx.close()
		}
		err = eachVisible(ctx, txn, info, func(key, val []byte) error {
			g, _, _ := splitRowKey(key)
			kbuf = kbuf[:0]
			switch info.Kind {
			case engine.ListDocuments:
				d, err := engine.UnmarshalDocument(val)
				if err != nil {
					return fmt.Errorf("key %q: %w", key, err)
				}
				kbuf = docGroupAppend(kbuf, name, engine.DocumentKey(d.Number), normCountry(d.Country), d.Type)
			default:
				e, err := engine.UnmarshalEntry(val)
				if err != nil {
					return fmt.Errorf("key %q: %w", key, err)
				}
				kbuf = append(kbuf, entryGroup(name, e.ID)...)
			}
			if !bytes.Equal(kbuf, g) {
				return fmt.Errorf("key %q: %w: record belongs under %q", key, engine.ErrCorruptRecord, kbuf)
			}
			if idx != nil {
				if err := idx.check(key); err != nil {
					return err
				}
			}
			h.Add(val)
			count++
			return nil
		})
		if err != nil {
			return fail(err)
		}
		if got := h.String(); got != info.Hash || count != info.Entries {
			return fail(fmt.Errorf("%w at version %d: stored rows give %d records, hash %s; recorded %d, hash %s",
				ErrHashMismatch, info.Version, count, got, info.Entries, info.Hash))
		}
		return nil
	})
}

// LookupDocument finds a document number (compared by engine.DocumentKey)
// in the current version of every documents list. country "" matches any
// issuing state; otherwise only that state (compared upper-case). A number
// with no letter or digit matches nothing.
func (s *Store) LookupDocument(number, country string) ([]DocumentHit, error) {
	dk := engine.DocumentKey(number)
	country = normCountry(country)
	if dk == "" || bytes.IndexByte([]byte(country), 0) >= 0 {
		return nil, nil
	}
	if err := s.enter(); err != nil {
		return nil, fmt.Errorf("look up document: %w", err)
	}
	defer s.life.RUnlock()

	txn, set := s.docSnapshot()
	defer txn.Discard()
	lists := set.lists
	if set.fromTxn {
		var err error
		if lists, err = docListsIn(txn); err != nil {
			return nil, fmt.Errorf("look up document: %w", err)
		}
	}

	var (
		hits []DocumentHit
		key  []byte
	)
	for _, info := range lists {
		// Most numbers checked are not listed. The index row answers that
		// with a point read, which Badger's bloom filters resolve without
		// reading a block from each level; only a number that may be listed
		// pays for the iterator below (see the package doc, "Index").
		key = indexKeyAppend(key[:0], info.Name, []byte(dk))
		if _, err := txn.Get(key); errors.Is(err, badger.ErrKeyNotFound) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("look up document in list %q: %w", info.Name, err)
		}
		seek := make([]byte, 0, len(rowsPrefix)+len(info.Name)+4+len(dk)+len(country)+2)
		seek = append(seek, rowsPrefix...)
		seek = append(seek, info.Name...)
		seek = append(seek, "/d/"...)
		seek = append(seek, dk...)
		seek = append(seek, 0)
		if country != "" {
			seek = append(seek, country...)
			seek = append(seek, 0)
		}
		var err error
		if hits, err = lookupIn(txn, info, seek, hits); err != nil {
			return nil, fmt.Errorf("look up document in list %q: %w", info.Name, err)
		}
	}
	return hits, nil
}

// docSnapshot opens a read transaction and returns it with the documents
// lists' metadata it must be read with. The pair is consistent without a
// lock, like a seqlock: the set is loaded before and after the snapshot is
// taken, and the pair is retried if a refresh came in between.
//
//   - The same set both times, and it is the newest: the snapshot was taken
//     after the flip that made it (refreshDocs runs after the flip commits),
//     so it holds every row and index row of those versions.
//   - The same set both times, but a refresh came later: the snapshot was
//     taken before that refresh, hence before the collection that follows
//     it, so the rows of the versions in the set are all still in it.
func (s *Store) docSnapshot() (*badger.Txn, *docListSet) {
	for {
		set := s.docs.Load()
		txn := s.db.NewTransaction(false)
		if s.docs.Load() == set {
			return txn, set
		}
		txn.Discard()
	}
}

// docListSet is an immutable copy of the metadata of the documents lists,
// replaced (never modified) after every flip and deletion.
type docListSet struct {
	lists []engine.ListInfo // by name
	// fromTxn is set when the copy could not be refreshed: lookups read
	// the metadata in their snapshot instead (slower, but consistent).
	fromTxn bool
}

// viewInfo reads the metadata of list name in a read transaction of its
// own; ok is false when the store does not hold the list.
func (s *Store) viewInfo(name string) (info engine.ListInfo, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		info, ok, err = getInfo(txn, name)
		return err
	})
	return info, ok, err
}

// refreshDocs re-reads the metadata of list name after a write that may
// have changed it committed, and before anything is collected. It runs
// whether or not that write reported success: the copy follows what the
// database holds.
func (s *Store) refreshDocs(name string) {
	s.docsMu.Lock()
	defer s.docsMu.Unlock()
	info, ok, err := s.viewInfo(name)
	if err != nil {
		s.log.Warn("Cannot refresh the documents lists; lookups read them from the database", logkey.List, name, logkey.Error, err)
		s.docs.Store(&docListSet{fromTxn: true})
		return
	}
	old := s.docs.Load()
	if old.fromTxn {
		// Recover the whole copy, not just this list.
		var lists []engine.ListInfo
		if err := s.db.View(func(txn *badger.Txn) (err error) {
			lists, err = docListsIn(txn)
			return err
		}); err != nil {
			s.log.Warn("Cannot refresh the documents lists; lookups read them from the database", logkey.List, name, logkey.Error, err)
			s.docs.Store(&docListSet{fromTxn: true})
			return
		}
		s.docs.Store(&docListSet{lists: lists})
		return
	}
	lists := make([]engine.ListInfo, 0, len(old.lists)+1)
	for _, l := range old.lists {
		if l.Name != name {
			lists = append(lists, l)
		}
	}
	if ok && info.Kind == engine.ListDocuments {
		lists = append(lists, info)
		slices.SortFunc(lists, func(a, b engine.ListInfo) int { return strings.Compare(a.Name, b.Name) })
	} else if len(lists) == len(old.lists) {
		return // a names list: nothing changes
	}
	s.docs.Store(&docListSet{lists: lists})
}

// listsIn reads the metadata of every list in txn, in name order.
func listsIn(txn *badger.Txn) ([]engine.ListInfo, error) {
	var lists []engine.ListInfo
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(listMetaPrefix)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		var info engine.ListInfo
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &info) }); err != nil {
			return nil, fmt.Errorf("key %q: %w: %v", item.Key(), engine.ErrCorruptRecord, err)
		}
		lists = append(lists, info)
	}
	return lists, nil
}

// docListsIn reads the metadata of every documents list in txn.
func docListsIn(txn *badger.Txn) ([]engine.ListInfo, error) {
	lists, err := listsIn(txn)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(lists, func(l engine.ListInfo) bool { return l.Kind != engine.ListDocuments }), nil
}

// lookupIn appends the live documents of one list under prefix. An
// iterator restricted to the prefix only opens the tables whose key range
// covers it, about one per level.
func lookupIn(txn *badger.Txn, info engine.ListInfo, prefix []byte, hits []DocumentHit) ([]DocumentHit, error) {
	err := visibleRows(txn, prefix, info.Version, func(k []byte, item *badger.Item) error {
		var d engine.Document
		live := false
		err := item.Value(func(v []byte) error {
			if isTombstone(v) {
				return nil
			}
			var err error
			d, err = engine.UnmarshalDocument(v)
			live = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		if live {
			hits = append(hits, DocumentHit{List: info.Name, ListVersion: info.Version, Action: info.Action, Document: d})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}
