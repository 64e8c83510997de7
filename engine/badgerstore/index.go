package badgerstore

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
)

// indexWalk reconciles the index rows of a documents list (x/<list>/<dk>)
// with its row groups (v/<list>/d/<dk>\x00<country>\x00<type>\x00) in one
// pass over both. They sort in the same order of document key: a document
// key holds no \x00, so whether one key is a prefix of another or they
// first differ at some byte, "<dk>" (end of key) and "<dk>\x00" compare
// alike. The caller feeds the groups in key order with whether each is live
// at the version that matters (see seal and compact); for every document
// key the walk calls
//
//   - missing(key) when some group is live and the index row is absent;
//   - stale(key) when no group is live and the index row exists, and for
//     every index row whose document key has no group at all.
//
// The key passed to missing and stale is only valid during the call.
type indexWalk struct {
	it      *badger.Iterator
	prefix  []byte // x/<list>/
	rows    []byte // v/<list>/d/
	dk      []byte // document key being accumulated
	live    bool   // some group of dk is live
	pending bool   // dk holds a document key
	key     []byte // scratch for index keys
	missing func(key []byte) error
	stale   func(key []byte) error
}

func newIndexWalk(txn *badger.Txn, list string, missing, stale func(key []byte) error) *indexWalk {
	w := &indexWalk{
		prefix:  indexRows(list),
		rows:    docRows(list),
		missing: missing,
		stale:   stale,
	}
	w.it = txn.NewIterator(badger.IteratorOptions{Prefix: w.prefix})
	w.it.Rewind()
	return w
}

// group notes one row group of the list, in key order. Groups that are not
// documents groups (entries of a names list) are ignored.
func (w *indexWalk) group(g []byte, live bool) error {
	dk, ok := groupDocKey(w.rows, g)
	if !ok {
		return nil
	}
	if w.pending && bytes.Equal(dk, w.dk) {
		w.live = w.live || live
		return nil
	}
	if err := w.settle(); err != nil {
		return err
	}
	w.dk = append(w.dk[:0], dk...)
	w.live, w.pending = live, true
	return nil
}

// settle decides the index row of the accumulated document key, after
// reporting the index rows below it (document keys without any group).
func (w *indexWalk) settle() error {
	if !w.pending {
		return nil
	}
	w.pending = false
	has := false
	for ; w.it.Valid(); w.it.Next() {
		c := bytes.Compare(w.it.Item().Key()[len(w.prefix):], w.dk)
		if c > 0 {
			break
		}
		if c == 0 {
			has = true
			w.it.Next()
			break
		}
		if err := w.stale(w.it.Item().Key()); err != nil {
			return err
		}
	}
	w.key = append(w.key[:0], w.prefix...)
	w.key = append(w.key, w.dk...)
	switch {
	case w.live && !has:
		return w.missing(w.key)
	case !w.live && has:
		return w.stale(w.key)
	}
	return nil
}

// finish settles the last document key, reports the index rows above it,
// and closes the iterator. It must be called exactly once.
func (w *indexWalk) finish() error {
	defer w.it.Close()
	if err := w.settle(); err != nil {
		return err
	}
	for ; w.it.Valid(); w.it.Next() {
		if err := w.stale(w.it.Item().Key()); err != nil {
			return err
		}
	}
	return nil
}

// indexChecker verifies, for Verify, that every live record of a documents
// list has its index row; the records come in key order.
type indexChecker struct {
	it     *badger.Iterator
	list   string
	prefix []byte
	rows   []byte
	last   []byte
	seen   bool
}

func newIndexChecker(txn *badger.Txn, list string) *indexChecker {
	c := &indexChecker{list: list, prefix: indexRows(list), rows: docRows(list)}
	c.it = txn.NewIterator(badger.IteratorOptions{Prefix: c.prefix})
	c.it.Rewind()
	return c
}

func (c *indexChecker) check(key []byte) error {
	g, _, _ := splitRowKey(key)
	dk, ok := groupDocKey(c.rows, g)
	if !ok {
		return fmt.Errorf("key %q: %w: malformed documents row key", key, engine.ErrCorruptRecord)
	}
	if c.seen && bytes.Equal(dk, c.last) {
		return nil
	}
	c.last, c.seen = append(c.last[:0], dk...), true
	for ; c.it.Valid(); c.it.Next() {
		cmp := bytes.Compare(c.it.Item().Key()[len(c.prefix):], dk)
		if cmp == 0 {
			return nil
		}
		if cmp > 0 {
			break
		}
	}
	return fmt.Errorf("key %q: %w: no index row %q", key, engine.ErrCorruptRecord, indexKeyAppend(nil, c.list, dk))
}

func (c *indexChecker) close() { c.it.Close() }

// migrateDocIndex creates schema 2: the index rows of every documents
// list. It writes x/<list>/<dk> for every document key that has a row of
// any version, live or not; rows that are not live make stale index rows,
// which are harmless and removed by the next collection of the list (a
// list left dirty is repaired right after the migrations). Writing the
// rows again after a crash is harmless, so it is idempotent.
func migrateDocIndex(db *badger.DB) error {
	wb := db.NewWriteBatch()
	var last []byte
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(rowsPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			rest := k[len(rowsPrefix):]
			slash := bytes.IndexByte(rest, '/')
			if slash <= 0 || !bytes.HasPrefix(rest[slash:], []byte("/d/")) {
				continue
			}
			name := string(rest[:slash])
			g, _, ok := splitRowKey(k)
			if !ok {
				return fmt.Errorf("key %q: %w: malformed row key", k, engine.ErrCorruptRecord)
			}
			dk, ok := groupDocKey(docRows(name), g)
			if !ok {
				return fmt.Errorf("key %q: %w: malformed documents row key", k, engine.ErrCorruptRecord)
			}
			xk := indexKeyAppend(nil, name, dk)
			if bytes.Equal(xk, last) {
				continue
			}
			last = xk
			if err := wb.Set(slices.Clone(xk), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		wb.Cancel()
		return err
	}
	return wb.Flush()
}
