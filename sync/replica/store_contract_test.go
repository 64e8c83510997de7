package replica_test

import (
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/replica/replicatest"
)

// TestStoreContract runs the replica.Store contract suite against the
// Badger store, the one the post uses.
func TestStoreContract(t *testing.T) {
	replicatest.Run(t, func(t *testing.T) replica.Store {
		return replica.FromBadger(storetest.Open(t, t.TempDir()))
	})
}
