// Package outboxtest fills a post's outbox for tests. Only tests import
// it.
package outboxtest

import (
	"context"
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// PutHits puts the hit records first to first+n-1 into ob, 500 to a
// transaction of st's "screenings" records (as the ledger writes them),
// and returns their ids in order. payload makes record i's payload.
func PutHits(tb testing.TB, st *badgerstore.Store, ob *outbox.Outbox, first, n int, payload func(i int) []byte) []string {
	tb.Helper()
	ids := make([]string, 0, n)
	for i := first; i < first+n; i += 500 {
		var batch []string
		err := st.Records("screenings").Update(context.Background(), func(tx *badgerstore.RecordsTxn) error {
			batch = batch[:0] // the transaction may run again
			for j := i; j < min(first+n, i+500); j++ {
				r, err := ob.PutTx(tx, outbox.Record{Kind: protocol.RecordHit, Payload: payload(j)})
				if err != nil {
					return err
				}
				batch = append(batch, r.ID)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, batch...)
	}
	return ids
}
