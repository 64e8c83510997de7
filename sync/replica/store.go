package replica

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
)

// Store is what the applier needs from the list store. Writes of one
// list must be atomic: a version and its replication state become current
// together or not at all.
type Store interface {
	// List returns the current version of a list; an error matching
	// ErrNoList when the store does not hold it.
	List(name string) (engine.ListInfo, error)
	// UpdateEntries applies upserts and deletes to the names list at store
	// version from (else an error matching ErrVersionMismatch) and stores
	// state as the new version's replication state, in the transaction
	// that makes it current.
	UpdateEntries(ctx context.Context, name string, from uint64, upserts []engine.Entry, deletes []string, state json.RawMessage) (engine.ListInfo, error)
	// ReplaceEntries atomically replaces (or creates) the names list
	// meta.Name with the entries src emits, storing meta.Replica with the
	// new version. If src fails the list is unchanged.
	ReplaceEntries(ctx context.Context, meta ListMeta, src func(emit func(*engine.Entry) error) error) (engine.ListInfo, error)
	// UpdateDocuments and ReplaceDocuments do the same for a documents
	// list: rows are identified by number (engine.DocumentKey), issuing
	// state and type, and a delete needs only those.
	UpdateDocuments(ctx context.Context, name string, from uint64, upserts, deletes []engine.Document, state json.RawMessage) (engine.ListInfo, error)
	ReplaceDocuments(ctx context.Context, meta ListMeta, src func(emit func(*engine.Document) error) error) (engine.ListInfo, error)
	// SetReplica replaces the replication state of the list's current
	// version, only if it is still at store version version.
	SetReplica(ctx context.Context, name string, version uint64, state json.RawMessage) error
	// Verify recomputes the list's hash from its stored rows and compares
	// it with ListInfo.Hash.
	Verify(ctx context.Context, name string) error
}

// ListMeta describes a list edition written by ReplaceEntries.
type ListMeta struct {
	Name    string
	Source  string
	Format  string
	Action  string
	Replica json.RawMessage
}

// Store errors the applier classifies. Adapters wrap the store's own
// errors so that they match these with errors.Is.
var (
	// ErrNoList: the store does not hold the list.
	ErrNoList = errors.New("no such list")
	// ErrVersionMismatch: the list changed under the applier (a local
	// import between the read and the write).
	ErrVersionMismatch = errors.New("list version changed concurrently")
	// ErrDiskLow: the store refused to write because its disk is short
	// of the reserve; nothing was written, and the same write succeeds
	// once space returns.
	ErrDiskLow = errors.New("store disk low")
)

// FromBadger adapts a badgerstore.Store.
func FromBadger(s *badgerstore.Store) Store { return badgerAdapter{s} }

type badgerAdapter struct{ s *badgerstore.Store }

// storeError keeps the store's error text and chain, and adds the
// package's classification.
type storeError struct {
	kind error
	err  error
}

func (e *storeError) Error() string   { return e.err.Error() }
func (e *storeError) Unwrap() []error { return []error{e.kind, e.err} }

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badgerstore.ErrNoList):
		return &storeError{ErrNoList, err}
	case errors.Is(err, badgerstore.ErrVersionMismatch):
		return &storeError{ErrVersionMismatch, err}
	case errors.Is(err, badgerstore.ErrDiskLow):
		return &storeError{ErrDiskLow, err}
	}
	return err
}

func (b badgerAdapter) List(name string) (engine.ListInfo, error) {
	info, err := b.s.List(name)
	return info, mapErr(err)
}

func (b badgerAdapter) UpdateEntries(ctx context.Context, name string, from uint64, upserts []engine.Entry, deletes []string, state json.RawMessage) (engine.ListInfo, error) {
	info, err := b.s.UpdateEntries(ctx, name, from, upserts, deletes, badgerstore.WithReplica(state))
	return info, mapErr(err)
}

func (b badgerAdapter) ReplaceEntries(ctx context.Context, meta ListMeta, src func(emit func(*engine.Entry) error) error) (engine.ListInfo, error) {
	info, err := b.s.ReplaceEntries(ctx, meta.badger(), src)
	return info, mapErr(err)
}

func (b badgerAdapter) UpdateDocuments(ctx context.Context, name string, from uint64, upserts, deletes []engine.Document, state json.RawMessage) (engine.ListInfo, error) {
	info, err := b.s.UpdateDocuments(ctx, name, from, upserts, deletes, badgerstore.WithReplica(state))
	return info, mapErr(err)
}

func (b badgerAdapter) ReplaceDocuments(ctx context.Context, meta ListMeta, src func(emit func(*engine.Document) error) error) (engine.ListInfo, error) {
	info, err := b.s.ReplaceDocuments(ctx, meta.badger(), src)
	return info, mapErr(err)
}

func (m ListMeta) badger() badgerstore.ListMeta {
	return badgerstore.ListMeta{Name: m.Name, Source: m.Source, Format: m.Format, Action: m.Action, Replica: m.Replica}
}

func (b badgerAdapter) SetReplica(ctx context.Context, name string, version uint64, state json.RawMessage) error {
	return mapErr(b.s.SetReplica(ctx, name, version, state))
}

func (b badgerAdapter) Verify(ctx context.Context, name string) error {
	return mapErr(b.s.Verify(ctx, name))
}
