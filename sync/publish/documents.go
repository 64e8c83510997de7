package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Publishing a documents list (stolen and lost travel documents): the
// same versions, heads, deltas and snapshots as a names list, with rows
// identified by protocol.DocumentID and sent in doc-delta and
// doc-snapshot envelopes.

// PublishDocuments publishes the documents rows src emits as the next
// version of the documents list ed.List: version 1 with its snapshot if
// HQ does not hold the list, otherwise a delta (rows added, changed and
// removed by identity) and a new snapshot. Rows of one identity collapse,
// the last one emitted winning, as in badgerstore.ReplaceDocuments. An
// empty edition is refused.
//
// Memory: one map entry per row of the current version (its identity and
// the SHA-256 of its record) plus one per row of the edition, about 150
// bytes each; a 10,000,000-row list needs about 3 GB at HQ.
func (p *Publisher) PublishDocuments(ctx context.Context, ed Edition, src func(emit func(*engine.Document) error) error) (Result, error) {
	fail := func(err error) (Result, error) { return Result{}, fmt.Errorf("publish list %q: %w", ed.List, err) }
	if err := protocol.ValidListName(ed.List); err != nil {
		return fail(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	info, st, err := p.current(ctx, ed.List, engine.ListDocuments)
	if errors.Is(err, badgerstore.ErrNoList) {
		return p.create(ctx, ed, func(meta badgerstore.ListMeta) (engine.ListInfo, error) {
			return p.cfg.Store.ReplaceDocuments(ctx, meta, func(emit func(*engine.Document) error) error {
				return nonEmpty(src, checkedDoc(emit))
			})
		})
	}
	if err != nil {
		return fail(err)
	}

	upserts, ids, after, next, err := diff(ctx, info, records[engine.Document]{
		read: func(fn func(*engine.Document) error) (engine.ListInfo, error) {
			return p.cfg.Store.Documents(ctx, ed.List, fn)
		},
		id:     protocol.DocumentID,
		record: engine.MarshalDocument,
		clone:  func(d *engine.Document) engine.Document { return *d },
	}, src, checkedDoc)
	if err != nil {
		return fail(err)
	}
	if err := p.guardShrink(ctx, ed, info.Entries, next, len(ids)); err != nil {
		return fail(err)
	}
	// A delete names the row by its identity: the comparable number, the
	// issuing state and the type.
	deletes := make([]engine.Document, len(ids))
	for i, id := range ids {
		f := strings.SplitN(id, "\x00", 3)
		deletes[i] = engine.Document{Number: f[0], Country: f[1], Type: f[2]}
	}
	res := Result{List: ed.List, Epoch: st.Epoch, Version: info.Version, Entries: info.Entries, Hash: info.Hash, Upserts: len(upserts), Deletes: len(deletes)}
	if len(upserts)+len(deletes) == 0 {
		return res, nil
	}

	// 3. The delta, applied to HQ's store, kept and announced.
	d := &protocol.Delta{
		List: ed.List, Kind: engine.ListDocuments, Epoch: st.Epoch, FromVersion: info.Version, ToVersion: info.Version + 1,
		DocUpserts: upserts, DocDeletes: deletes, HashAfter: after,
	}
	return p.commit(ctx, ed, st, res, d, func(replica json.RawMessage) (engine.ListInfo, error) {
		return p.cfg.Store.UpdateDocuments(ctx, ed.List, info.Version, upserts, deletes, badgerstore.WithReplica(replica))
	})
}

// checkedDoc wraps emit with the protocol's limits on documents rows,
// which the store does not all enforce, so that nothing is committed that
// cannot be sent.
func checkedDoc(emit func(*engine.Document) error) func(*engine.Document) error {
	return func(d *engine.Document) error {
		if d == nil {
			return errors.New("nil document")
		}
		if err := protocol.ValidDocument(d); err != nil {
			return err
		}
		return emit(d)
	}
}
