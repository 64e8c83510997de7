// Package storetest opens real Badger stores for tests: small buffers,
// failing the test on error, closed when the test ends. Only tests import
// it.
package storetest

import (
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore"
)

// Small returns store options with Badger's memtable and caches kept
// small, so that the many stores one test process opens fit in memory.
func Small() badgerstore.Options {
	return badgerstore.Options{MemTableSize: 8 << 20, BlockCacheSize: 1 << 20, IndexCacheSize: 1 << 20}
}

// Open opens the store in dir with Small's options.
func Open(tb testing.TB, dir string) *badgerstore.Store {
	tb.Helper()
	return OpenWith(tb, dir, Small())
}

// OpenWith opens the store in dir with o, fails tb if it cannot, and
// closes the store when the test ends (closing it earlier is allowed).
func OpenWith(tb testing.TB, dir string, o badgerstore.Options) *badgerstore.Store {
	tb.Helper()
	st, err := badgerstore.Open(dir, o)
	if err != nil {
		tb.Fatalf("open store in %s: %v", dir, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
