package badgerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/watchpost/watchpost/engine"
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
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(listMetaPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var info engine.ListInfo
			if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &info) }); err != nil {
				return fmt.Errorf("key %q: %w: %v", item.Key(), engine.ErrCorruptRecord, err)
			}
			out = append(out, info)
		}
		return nil
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
	var (
		info engine.ListInfo
		ok   bool
	)
	err := s.db.View(func(txn *badger.Txn) (err error) {
		info, ok, err = getInfo(txn, name)
		return err
	})
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
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var (
		group    []byte
		resolved bool
		n        int
	)
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
		if resolved || ver > info.Version {
			continue
		}
		resolved = true
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := item.Value(func(v []byte) error {
			if isTombstone(v) {
				return nil
			}
			return fn(k, v)
		})
		if err != nil {
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
	fail := func(err error) (engine.ListInfo, error) {
		return engine.ListInfo{}, fmt.Errorf("read entries of list %q: %w", name, err)
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
		if info.Kind != engine.ListNames {
			return fmt.Errorf("%w: list is %s", ErrWrongKind, info.Kind)
		}
		return eachVisible(ctx, txn, info, func(key, val []byte) error {
			e, err := engine.UnmarshalEntry(val)
			if err != nil {
				return fmt.Errorf("key %q: %w", key, err)
			}
			return fn(&e)
		})
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
		)
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

	txn := s.db.NewTransaction(false)
	defer txn.Discard()

	// The metadata is read in the same snapshot as the rows, so a flip or
	// a collection running concurrently cannot mix versions.
	var lists []engine.ListInfo
	mit := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(listMetaPrefix)})
	for mit.Rewind(); mit.Valid(); mit.Next() {
		info, err := s.cachedInfo(mit.Item())
		if err != nil {
			mit.Close()
			return nil, fmt.Errorf("look up document: %w", err)
		}
		if info.Kind == engine.ListDocuments {
			lists = append(lists, info)
		}
	}
	mit.Close()

	var hits []DocumentHit
	for _, info := range lists {
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

// lookupIn appends the live documents of one list under prefix. An
// iterator restricted to the prefix only opens the tables whose key range
// covers it, about one per level.
func lookupIn(txn *badger.Txn, info engine.ListInfo, prefix []byte, hits []DocumentHit) ([]DocumentHit, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var group []byte
	resolved := false
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		g, ver, ok := splitRowKey(k)
		if !ok {
			return nil, fmt.Errorf("key %q: %w: malformed row key", k, engine.ErrCorruptRecord)
		}
		if !bytes.Equal(g, group) {
			group = append(group[:0], g...)
			resolved = false
		}
		if resolved || ver > info.Version {
			continue
		}
		resolved = true
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
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		if live {
			hits = append(hits, DocumentHit{List: info.Name, ListVersion: info.Version, Action: info.Action, Document: d})
		}
	}
	return hits, nil
}

// cachedInfo decodes a metadata item, reusing the last decoding of the
// same bytes: lookups read every list's metadata and JSON is slow.
func (s *Store) cachedInfo(item *badger.Item) (engine.ListInfo, error) {
	var info engine.ListInfo
	err := item.Value(func(v []byte) error {
		name := string(item.Key()[len(listMetaPrefix):])
		s.metaMu.RLock()
		c, ok := s.metaCache[name]
		s.metaMu.RUnlock()
		if ok && bytes.Equal(c.raw, v) {
			info = c.info
			return nil
		}
		if err := json.Unmarshal(v, &info); err != nil {
			return fmt.Errorf("key %q: %w: %v", item.Key(), engine.ErrCorruptRecord, err)
		}
		s.metaMu.Lock()
		s.metaCache[name] = metaEntry{raw: bytes.Clone(v), info: info}
		s.metaMu.Unlock()
		return nil
	})
	return info, err
}

type metaEntry struct {
	raw  []byte
	info engine.ListInfo
}
