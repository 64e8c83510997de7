package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Records: a namespaced key-value API on the store's Badger database for
// other packages (the hit outbox, the screening-record store), so that
// their writes can share one transaction with each other.
//
// Key layout: every key of namespace <ns> is stored as
//
//	r/<ns>/<key>
//
// where <ns> matches [a-z0-9_-]{1,32} (so "/" ends it and no namespace's
// keys can reach into another's) and <key> is opaque bytes chosen by the
// namespace's owner. The watchlist layout (m/, v/, x/ in the package doc)
// never uses r/.
//
// Durability and isolation: a Records transaction is one Badger
// transaction, committed with SyncWrites=true (unless Options.NoSyncWrites),
// so when Update returns nil its writes survive a power cut, all of them
// or none. The store opens Badger WITHOUT conflict detection (watchlist
// writers are serialised by the store), so two Update transactions that
// write the same key concurrently both commit and the later commit wins;
// owners of a namespace serialise writes to keys they share. Readers see a
// consistent snapshot taken when the transaction began.
//
// Size: a transaction is limited by Badger to about 15% of the memtable
// (4.8 MB with DefaultMemTableSize); writing more fails with an error
// matching ErrTxnTooBig, and nothing of that transaction is written.

const recordsPrefix = "r/"

// Errors of the Records API, for errors.Is.
var (
	// ErrTxnTooBig: the transaction grew past Badger's limit (about 15% of
	// the memtable). Nothing was written; split the work into smaller
	// transactions. The error also matches badger.ErrTxnTooBig.
	ErrTxnTooBig = errors.New("records transaction too big")
	// ErrRecordNotFound: Get found no value under the key.
	ErrRecordNotFound = errors.New("record not found")
	// ErrBadNamespace: a namespace does not match [a-z0-9_-]{1,32}.
	ErrBadNamespace = errors.New("invalid records namespace")
	// StopIteration, returned by an Iterate callback, ends the iteration
	// early; Iterate then returns nil.
	StopIteration = errors.New("stop iteration")
)

// Records is one namespace of records in a Store. It is cheap; make one
// per namespace and keep it. Its methods are safe for concurrent use.
type Records struct {
	s      *Store
	ns     string
	prefix []byte // "r/<ns>/"
	err    error  // invalid namespace
}

// Records returns the records namespace ns. An invalid namespace is
// reported (ErrBadNamespace) by every transaction started on it.
func (s *Store) Records(namespace string) *Records {
	r := &Records{s: s, ns: namespace, prefix: []byte(recordsPrefix + namespace + "/")}
	if err := validNamespace(namespace); err != nil {
		r.err = err
	}
	return r
}

// Namespace returns the namespace's name.
func (r *Records) Namespace() string { return r.ns }

func validNamespace(ns string) error {
	if ns == "" || len(ns) > maxNameLen {
		return fmt.Errorf("%w: %q: want 1 to %d characters", ErrBadNamespace, ns, maxNameLen)
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q: only a-z, 0-9, '_' and '-' are allowed", ErrBadNamespace, ns)
		}
	}
	return nil
}

// Update runs fn in one read-write transaction and commits it if fn
// returns nil; otherwise (or if ctx ended before the commit) nothing fn
// wrote is kept. When Update returns nil the writes are durable. fn must
// not call other Store methods (the store's close lock is held) and must
// not keep tx after it returns.
func (r *Records) Update(ctx context.Context, fn func(tx *RecordsTxn) error) error {
	return r.run(ctx, true, fn)
}

// View runs fn in a read-only transaction (a consistent snapshot).
// Writes through tx fail.
func (r *Records) View(ctx context.Context, fn func(tx *RecordsTxn) error) error {
	return r.run(ctx, false, fn)
}

func (r *Records) run(ctx context.Context, update bool, fn func(tx *RecordsTxn) error) error {
	op := "view"
	if update {
		op = "update"
	}
	if r.err != nil {
		return fmt.Errorf("records %s: %w", op, r.err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("records %s %s: %w", r.ns, op, err)
	}
	tx := &RecordsTxn{r: r, ctx: ctx, update: update}
	committed, err := r.runLocked(tx, op, fn)
	// Hooks run after the store's close lock is released, so that they
	// may start transactions of their own.
	for _, h := range tx.hooks {
		h(committed)
	}
	return err
}

func (r *Records) runLocked(tx *RecordsTxn, op string, fn func(tx *RecordsTxn) error) (committed bool, err error) {
	if err := r.s.enter(); err != nil {
		return false, fmt.Errorf("records %s %s: %w", r.ns, op, err)
	}
	defer r.s.life.RUnlock()
	tx.txn = r.s.db.NewTransaction(tx.update)
	defer func() {
		tx.txn.Discard()
		tx.done = true
	}()
	if err := fn(tx); err != nil {
		return false, wrapTxnErr(err, r.ns, op)
	}
	if !tx.update {
		return false, nil
	}
	if err := tx.ctx.Err(); err != nil {
		return false, fmt.Errorf("records %s %s: not committed: %w", r.ns, op, err)
	}
	if err := tx.txn.Commit(); err != nil {
		return false, wrapTxnErr(err, r.ns, "commit")
	}
	return true, nil
}

// wrapTxnErr adds the operation and maps Badger's ErrTxnTooBig to ours.
func wrapTxnErr(err error, ns, op string) error {
	if errors.Is(err, badger.ErrTxnTooBig) && !errors.Is(err, ErrTxnTooBig) {
		return fmt.Errorf("records %s %s: %w: %w", ns, op, ErrTxnTooBig, err)
	}
	return fmt.Errorf("records %s %s: %w", ns, op, err)
}

// RecordsTxn is a transaction on one namespace. Keys are relative to the
// namespace. It is not safe for concurrent use and is valid only inside
// the Update or View callback that received it.
type RecordsTxn struct {
	r      *Records
	ctx    context.Context
	txn    *badger.Txn
	update bool
	done   bool                   // root only
	hooks  []func(committed bool) // root only
	parent *RecordsTxn            // set on a transaction made by Records
	// spaced, spaceErr: the free space was measured at the first Set of
	// the transaction (root only).
	spaced   bool
	spaceErr error
}

func (tx *RecordsTxn) root() *RecordsTxn {
	for tx.parent != nil {
		tx = tx.parent
	}
	return tx
}

func (tx *RecordsTxn) key(k []byte) []byte {
	full := make([]byte, 0, len(tx.r.prefix)+len(k))
	return append(append(full, tx.r.prefix...), k...)
}

// Namespace returns the transaction's namespace.
func (tx *RecordsTxn) Namespace() string { return tx.r.ns }

// Writable reports whether the transaction can write (an Update).
func (tx *RecordsTxn) Writable() bool { return tx.update && !tx.root().done }

// Records returns a transaction on another namespace of the same store
// that shares this Badger transaction: writes through both commit or
// abort together. This is how the screening-record store and the hit
// outbox write a screening and its hit atomically.
func (tx *RecordsTxn) Records(namespace string) (*RecordsTxn, error) {
	if err := validNamespace(namespace); err != nil {
		return nil, err
	}
	r := &Records{s: tx.r.s, ns: namespace, prefix: []byte(recordsPrefix + namespace + "/")}
	return &RecordsTxn{r: r, ctx: tx.ctx, txn: tx.txn, update: tx.update, parent: tx}, nil
}

// OnDone registers fn to run once the transaction has ended, with
// committed true if it was committed (its writes are durable) and false
// if it was discarded or the commit failed. Hooks run in registration
// order, after the transaction ended and before Update or View returns,
// on the caller's goroutine (the transaction is over, so a hook may start
// another one). Use it to publish in-memory state that must follow the
// commit: counters, wake-ups.
func (tx *RecordsTxn) OnDone(fn func(committed bool)) {
	r := tx.root()
	r.hooks = append(r.hooks, fn)
}

// Get returns a copy of the value under key, or ErrRecordNotFound.
func (tx *RecordsTxn) Get(key []byte) ([]byte, error) {
	item, err := tx.txn.Get(tx.key(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrRecordNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return v, nil
}

// Set stores a copy of value under key. The first Set of a transaction
// fails with an error matching ErrDiskLow when the store's file system is
// short of its reserve (a transaction that only deletes is not refused).
func (tx *RecordsTxn) Set(key, value []byte) error {
	if r := tx.root(); !r.spaced && r.update {
		r.spaced, r.spaceErr = true, tx.r.s.space.room(0)
	}
	if err := tx.root().spaceErr; err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if err := tx.txn.Set(tx.key(key), bytes.Clone(value)); err != nil {
		return tx.writeErr("set", err)
	}
	return nil
}

// Delete removes key (a no-op if it is absent).
func (tx *RecordsTxn) Delete(key []byte) error {
	if err := tx.txn.Delete(tx.key(key)); err != nil {
		return tx.writeErr("delete", err)
	}
	return nil
}

func (tx *RecordsTxn) writeErr(op string, err error) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%s: %w: %w", op, ErrTxnTooBig, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Iterate calls fn for every key starting with prefix, in byte order,
// with the key relative to the namespace and the value. Both slices are
// valid only during the call (copy them to keep them). fn returning
// StopIteration ends the iteration with a nil error; any other error ends
// it and is returned. The transaction's context is checked as it goes.
func (tx *RecordsTxn) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	return tx.IterateFrom(prefix, nil, fn)
}

// IterateFrom is Iterate starting at the first key >= start (start is
// relative to the namespace; a start below prefix means prefix).
func (tx *RecordsTxn) IterateFrom(prefix, start []byte, fn func(key, value []byte) error) error {
	full := tx.key(prefix)
	seek := full
	if bytes.Compare(start, prefix) > 0 {
		seek = tx.key(start)
	}
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: full})
	defer it.Close()
	n := 0
	for it.Seek(seek); it.ValidForPrefix(full); it.Next() {
		if n++; n%1024 == 0 {
			if err := tx.ctx.Err(); err != nil {
				return fmt.Errorf("iterate: %w", err)
			}
		}
		item := it.Item()
		key := item.Key()[len(tx.r.prefix):]
		err := item.Value(func(v []byte) error { return fn(key, v) })
		if errors.Is(err, StopIteration) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
