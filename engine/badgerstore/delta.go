package badgerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"

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
	return s.update(ctx, name, engine.ListNames, fromVersion, ops, opts, func(next engine.ListInfo) func(engine.ListInfo, bool) {
		fn := s.onUpdate.Load()
		if fn == nil {
			return nil
		}
		return (*fn)(EntriesUpdate{FromVersion: fromVersion, Info: next, Upserts: upserts, Deletes: deletes})
	})
}

// EntriesUpdate is a names list's update as UpdateEntries applies it.
type EntriesUpdate struct {
	FromVersion uint64
	// Info is the list at its new version as far as it is known before
	// the update's reads: its name, kind and new Version; the hash, the
	// count of entries and the time are the previous version's (the
	// decision gives the new ones).
	Info    engine.ListInfo
	Upserts []engine.Entry
	Deletes []string
}

// EntriesHook is told of an UpdateEntries once it has passed its checks
// (the list is at u.FromVersion) and before it reads or writes any row,
// on the updating goroutine, so that an in-memory index can prepare its
// next edition while the store commits. It returns the function the store
// calls exactly once with the outcome: committed with the list at its new
// version as soon as that is durable (before the superseded rows are
// collected and UpdateEntries returns), or not, the list then staying at
// u.FromVersion. Neither may block, nor modify the update; decided may be
// nil.
type EntriesHook func(u EntriesUpdate) (decided func(info engine.ListInfo, committed bool))

// OnEntriesUpdated sets fn to be told of every UpdateEntries (see
// EntriesHook), so that an in-memory index can follow the list without
// reading it again; nil removes it.
func (s *Store) OnEntriesUpdated(fn EntriesHook) {
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
// are applied in key order, so each reader walks its part of the list
// once, forward.
// hook, if not nil, is called once the checks pass with the list at the
// new version as far as it is known then; the function it returns, if not
// nil, is called with the outcome (see EntriesHook).
func (s *Store) update(ctx context.Context, name string, kind engine.ListKind, fromVersion uint64, ops []rowOp, opts []UpdateOption, hook func(next engine.ListInfo) func(engine.ListInfo, bool)) (engine.ListInfo, error) {
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
	var decided func(engine.ListInfo, bool)
	if hook != nil {
		ahead := info
		ahead.Version = next
		decided = hook(ahead)
	}
	defer func() {
		if decided != nil { // not committed
			decided(engine.ListInfo{}, false)
		}
	}()
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
	// The rows of next are staged while the groups are read: what they
	// hold does not depend on the reads, and a delta the reads refuse is
	// aborted, its staged rows removed, like any write that fails.
	staged := make(chan error, 1)
	go func() { staged <- stageRows(wb, ops, next) }()
	err = s.db.View(func(txn *badger.Txn) error {
		reads, removed, err := readGroups(ctx, txn, prefix, cur, ops)
		if err != nil {
			return err
		}
		for i := range h {
			h[i] += removed[i] // the records the ops replace or delete, taken out
		}
		var docs *docKeyRun
		if kind == engine.ListDocuments {
			docs = &docKeyRun{txn: txn, name: name, prefix: prefix, cur: cur, wb: wb, gb: gb}
			defer docs.close()
		}
		for i := range ops {
			op, r := &ops[i], &reads[i]
			for _, k := range r.rows {
				gb.addOwned(&gb.rows, k)
			}
			if r.live {
				count--
			}
			switch {
			case op.rec != nil:
				h.Add(op.rec)
				count++
			case !r.live:
				return fmt.Errorf("delete %s %q: not in the list", noun, op.label)
			default:
				gb.addOwned(&gb.tombs, appendVersion(slices.Clone(op.group), next))
			}
			if docs != nil {
				if err := docs.op(op, i+1 == len(ops) || !sameDocKey(prefix, op.group, ops[i+1].group)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if serr := <-staged; err == nil && serr != nil {
		err = fmt.Errorf("stage rows: %w", serr)
	}
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
	if d := decided; d != nil {
		decided = nil
		d(info, true)
	}
	s.collectGarbage(name, gb)
	s.vlogGC()
	return info, nil
}

// stageRows writes the row of every op at version next: its record, or a
// tombstone for a delete.
func stageRows(wb *badger.WriteBatch, ops []rowOp, next uint64) error {
	for i := range ops {
		val := tombstone
		if ops[i].rec != nil {
			val = ops[i].rec
		}
		if err := wb.Set(appendVersion(slices.Clone(ops[i].group), next), val); err != nil {
			return err
		}
	}
	return nil
}

// groupRead is what an update reads of one op's group before writing it:
// whether a record of it is visible at the current version, and the keys
// of its rows at or below that version (garbage once the flip is done).
type groupRead struct {
	live bool
	rows [][]byte
}

// Reads of the groups an update changes: a seek into a list of a million
// rows costs about 10 µs (mostly finding and decompressing a block in
// each level), which made the reads most of a large delta's commit. So
// from readersMinOps ops up, they are split into runs read at once, each
// by its own goroutine with its own iterator in the same snapshot, up to
// maxReaders and GOMAXPROCS.
const (
	readersMinOps = 1024
	maxReaders    = 4
)

// readGroups reads the group of every op (in key order) at version cur in
// txn, and returns what it read and the set hash of the visible records
// taken out (the sum of the Removes of each, to add to the list's hash).
func readGroups(ctx context.Context, txn *badger.Txn, prefix []byte, cur uint64, ops []rowOp) ([]groupRead, engine.SetHash, error) {
	reads := make([]groupRead, len(ops))
	n := min(maxReaders, runtime.GOMAXPROCS(0), max(1, len(ops)/readersMinOps))
	hashes := make([]engine.SetHash, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		lo, hi := w*len(ops)/n, (w+1)*len(ops)/n
		read := func() { errs[w] = readRun(ctx, txn, prefix, cur, ops[lo:hi], reads[lo:hi], &hashes[w]) }
		if w == n-1 {
			read() // on the caller's goroutine
			continue
		}
		wg.Go(read)
	}
	wg.Wait()
	var sum engine.SetHash
	for w := range n {
		if errs[w] != nil {
			return nil, sum, errs[w]
		}
		for i := range sum {
			sum[i] += hashes[w][i]
		}
	}
	return reads, sum, nil
}

// readRun reads the groups of ops into reads with one iterator, and takes
// the visible records out of h.
func readRun(ctx context.Context, txn *badger.Txn, prefix []byte, cur uint64, ops []rowOp, reads []groupRead, h *engine.SetHash) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var seek []byte
	for i := range ops {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		group, r := ops[i].group, &reads[i]
		seek = appendVersion(append(seek[:0], group...), cur)
		first := true
		for it.Seek(seek); it.ValidForPrefix(group); it.Next() {
			item := it.Item()
			if first {
				// The newest row at or below cur is the visible one.
				first = false
				err := item.Value(func(v []byte) error {
					if !isTombstone(v) {
						r.live = true
						h.Remove(v)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("key %q: %w", item.Key(), err)
				}
			}
			r.rows = append(r.rows, item.KeyCopy(nil))
		}
	}
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
