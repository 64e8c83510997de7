package ledger

import (
	"bytes"
	"context"
	"fmt"

	"github.com/watchpost/watchpost/engine/badgerstore"
)

// Batches returns the batch markers still kept (HitRetention), newest
// first, at most limit (DefaultPageLimit when 0, at most MaxPageLimit):
// the manifests and intake files recorded at the post, with their counts
// and hit ids, never a traveller's data.
func (l *Ledger) Batches(ctx context.Context, limit int) ([]BatchResult, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	var out []BatchResult
	err = l.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		// The time index runs oldest first; keep the last limit keys.
		prefix := []byte(prefixBatchTime)
		var keys []string
		err := tx.Iterate(prefix, func(key, _ []byte) error {
			if s := key[len(prefix):]; len(s) > orderLen {
				keys = append(keys, string(bytes.Clone(s[orderLen:])))
				if len(keys) > 2*limit {
					keys = append(keys[:0], keys[len(keys)-limit:]...)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(keys) > limit {
			keys = keys[len(keys)-limit:]
		}
		for i := len(keys) - 1; i >= 0; i-- {
			var b BatchResult
			if err := getJSON(tx, batchKey(keys[i]), &b); err != nil {
				return fmt.Errorf("batch %s: %w", keys[i], err)
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	return out, nil
}
