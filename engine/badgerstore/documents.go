package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/logkey"
)

// Documents lists row by row: the group of a document, applying a delta
// (UpdateDocuments) and streaming a list (Documents).

// docGroup returns the group of a documents row (see the package doc):
// its document key, upper-cased issuing state and type. A number with no
// letter or digit, or a country or type holding NUL, is an error.
func docGroup(k []byte, name string, d *engine.Document) ([]byte, error) {
	dk := engine.DocumentKey(d.Number)
	if dk == "" {
		return nil, fmt.Errorf("number %q has no letter or digit", d.Number)
	}
	country := normCountry(d.Country)
	if err := errors.Join(noNUL("country", country), noNUL("type", d.Type)); err != nil {
		return nil, err
	}
	return docGroupAppend(k, name, dk, country, d.Type), nil
}

// UpdateDocuments applies a delta to the documents list name atomically,
// only if the list is at fromVersion (else ErrVersionMismatch), as
// UpdateEntries does for a names list. A row is identified by its
// document key, issuing state (compared upper-case) and type: an upsert
// replaces the row of that identity or adds it (the last upsert of an
// identity wins); a delete removes it and needs only Number, Country and
// Type. Deleting a row the list does not hold, or upserting and deleting
// one identity, is an error.
//
// Readers are not blocked: LookupDocument keeps answering from the old
// version until the flip, then from the new one. The index row of every
// upserted document key is written before the flip; the index rows of
// deleted document keys with no live row left are deleted after it.
func (s *Store) UpdateDocuments(ctx context.Context, name string, fromVersion uint64, upserts, deletes []engine.Document, opts ...UpdateOption) (engine.ListInfo, error) {
	if err := validName(name); err != nil {
		return engine.ListInfo{}, fmt.Errorf("update list %q from version %d: %w", name, fromVersion, err)
	}
	ops := make([]rowOp, 0, len(upserts)+len(deletes))
	add := func(what string, i int, d *engine.Document, rec []byte) error {
		g, err := docGroup(nil, name, d)
		if err != nil {
			return fmt.Errorf("update list %q from version %d: %s %d: %w", name, fromVersion, what, i, err)
		}
		ops = append(ops, rowOp{group: g, rec: rec, label: d.Number})
		return nil
	}
	for i := range upserts {
		if err := add("upsert", i, &upserts[i], engine.MarshalDocument(&upserts[i])); err != nil {
			return engine.ListInfo{}, err
		}
	}
	for i := range deletes {
		if err := add("delete", i, &deletes[i], nil); err != nil {
			return engine.ListInfo{}, err
		}
	}
	return s.update(ctx, name, engine.ListDocuments, fromVersion, ops, opts)
}

// dropIndexRows deletes, after the flip to version cur, the index rows of
// those document keys that no row of the list is live for at cur. Called
// with the list's mutex held. A reader at cur cannot miss a record by it,
// and readers at an older version hold snapshots from before the flip; a
// row left behind only over-reports (package doc, Index).
func (s *Store) dropIndexRows(name string, cur uint64, docKeys [][]byte) {
	wb := s.db.NewWriteBatch()
	err := s.db.View(func(txn *badger.Txn) error {
		var prefix []byte
		for i, dk := range docKeys {
			if i > 0 && bytes.Equal(dk, docKeys[i-1]) {
				continue
			}
			prefix = append(append(append(prefix[:0], docRows(name)...), dk...), 0)
			live := false
			err := scanGroups(txn, name, prefix, cur, func(_ []byte, rows []row) error {
				if v := visible(rows, cur); v >= 0 && !isTombstone(rows[v].val) {
					live = true
				}
				return nil
			})
			if err != nil {
				return err
			}
			if !live {
				if err := wb.Delete(indexKeyAppend(nil, name, dk)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if err != nil {
		s.log.Warn("Cannot drop index rows of deleted documents; lookups of them cost an iterator until the next collection", logkey.List, name, logkey.Error, err)
	}
}

// Documents streams the rows of the documents list name at its current
// version, in key order (document key, issuing state, type), from one
// consistent snapshot, and returns the ListInfo of that version. The
// document is fresh for each call; fn may keep it. An error from fn stops
// the stream and is returned wrapped.
func (s *Store) Documents(ctx context.Context, name string, fn func(*engine.Document) error) (engine.ListInfo, error) {
	return s.stream(ctx, name, engine.ListDocuments, func(key, val []byte) error {
		d, err := engine.UnmarshalDocument(val)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		return fn(&d)
	})
}
