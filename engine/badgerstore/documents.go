package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
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
// deleted document keys with no live row left are deleted after it, with
// the superseded rows (docKeyRun).
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
	return s.update(ctx, name, engine.ListDocuments, fromVersion, ops, opts, nil)
}

// docKeyRun keeps the index rows of a documents list through an update
// (package doc, Index). The update's ops are sorted by group, so the ops
// of one document key are adjacent; at the last of them, a key with an
// upsert gets its index row before the flip, and a key whose rows were
// only deleted loses it after the flip (noted in gb) unless another row of
// that key, which no op touched, stays live.
type docKeyRun struct {
	txn    *badger.Txn
	name   string
	prefix []byte
	cur    uint64
	wb     *badger.WriteBatch
	gb     *garbage
	it     *badger.Iterator // opened on the first key that needs it
	run    map[string]bool  // groups of the current key's ops
	up     bool             // the current key has an upsert
}

func (r *docKeyRun) op(op *rowOp, last bool) error {
	if r.run == nil {
		r.run = map[string]bool{}
	}
	r.run[string(op.group)] = true
	r.up = r.up || op.rec != nil
	if !last {
		return nil
	}
	up := r.up
	defer func() { clear(r.run); r.up = false }()
	dk, _ := groupDocKey(r.prefix, op.group)
	ik := indexKeyAppend(nil, r.name, dk)
	if up {
		return r.wb.Set(ik, nil)
	}
	live, err := r.othersLive(dk)
	if err == nil && !live {
		r.gb.add(&r.gb.index, ik)
	}
	return err
}

// othersLive reports whether a row of document key dk in a group that no
// op of the run touches is live at cur.
func (r *docKeyRun) othersLive(dk []byte) (bool, error) {
	if r.it == nil {
		r.it = r.txn.NewIterator(badger.IteratorOptions{Prefix: r.prefix})
	}
	p := append(append(bytes.Clone(r.prefix), dk...), 0)
	var group []byte
	resolved := false
	for r.it.Seek(p); r.it.ValidForPrefix(p); r.it.Next() {
		item := r.it.Item()
		g, ver, ok := splitRowKey(item.Key())
		if !ok {
			return false, fmt.Errorf("key %q: %w: malformed row key", item.Key(), engine.ErrCorruptRecord)
		}
		if !bytes.Equal(g, group) {
			group, resolved = append(group[:0], g...), false
		}
		if resolved || ver > r.cur || r.run[string(g)] {
			continue
		}
		resolved = true
		live := false
		if err := item.Value(func(v []byte) error { live = !isTombstone(v); return nil }); err != nil {
			return false, fmt.Errorf("key %q: %w", item.Key(), err)
		}
		if live {
			return true, nil
		}
	}
	return false, nil
}

func (r *docKeyRun) close() {
	if r.it != nil {
		r.it.Close()
	}
}

// sameDocKey reports whether two documents row groups have one document key.
func sameDocKey(prefix, a, b []byte) bool {
	ka, _ := groupDocKey(prefix, a)
	kb, _ := groupDocKey(prefix, b)
	return bytes.Equal(ka, kb)
}

// Documents streams the rows of the documents list name at its current
// version, in key order (document key, issuing state, type), from one
// consistent snapshot, and returns the ListInfo of that version. The
// document is fresh for each call; fn may keep it. An error from fn stops
// the stream and is returned wrapped.
func (s *Store) Documents(ctx context.Context, name string, fn func(*engine.Document) error) (engine.ListInfo, error) {
	return s.stream(ctx, name, engine.ListDocuments, decoded(engine.UnmarshalDocument, fn))
}
