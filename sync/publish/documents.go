package publish

import (
	"context"
	"encoding/json"
	"errors"
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
	return publish(ctx, p, ed, src, listOps[engine.Document]{
		kind: engine.ListDocuments, replace: p.cfg.Store.ReplaceDocuments, read: p.cfg.Store.Documents, check: checkedDoc,
		id: protocol.DocumentID, record: engine.MarshalDocument, clone: func(d *engine.Document) engine.Document { return *d },
		change: func(d *protocol.Delta, upserts []engine.Document, ids []string) func(json.RawMessage) (engine.ListInfo, error) {
			// A delete names the row by its identity: the comparable
			// number, the issuing state and the type.
			deletes := make([]engine.Document, len(ids))
			for i, id := range ids {
				f := strings.SplitN(id, "\x00", 3)
				deletes[i] = engine.Document{Number: f[0], Country: f[1], Type: f[2]}
			}
			d.Kind, d.DocUpserts, d.DocDeletes = engine.ListDocuments, upserts, deletes
			return func(replica json.RawMessage) (engine.ListInfo, error) {
				return p.cfg.Store.UpdateDocuments(ctx, ed.List, d.FromVersion, upserts, deletes, badgerstore.WithReplica(replica))
			}
		},
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
