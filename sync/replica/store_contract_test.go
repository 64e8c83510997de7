package replica_test

import (
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/replica/replicatest"
)

// TestStoreContract runs the replica.Store contract suite against the
// Badger store, the one the post uses.
func TestStoreContract(t *testing.T) {
	replicatest.Run(t, func(t *testing.T) replica.Store {
		st, err := badgerstore.Open(t.TempDir(), badgerstore.Options{MemTableSize: 8 << 20, BlockCacheSize: 1 << 20, IndexCacheSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return replica.FromBadger(st)
	})
}
