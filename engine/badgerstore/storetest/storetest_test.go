package storetest

import (
	"context"
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore"
)

// TestOpenThenCloseEarly: the store opens writable, and a test may close
// it itself before the cleanup closes it again; what it wrote is there on
// a reopen.
func TestOpenThenCloseEarly(t *testing.T) {
	dir := t.TempDir()
	st := Open(t, dir)
	set := func(tx *badgerstore.RecordsTxn) error { return tx.Set([]byte("k"), []byte("v")) }
	if err := st.Records("storetest").Update(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var got []byte
	get := func(tx *badgerstore.RecordsTxn) (err error) { got, err = tx.Get([]byte("k")); return err }
	if err := Open(t, dir).Records("storetest").View(context.Background(), get); err != nil || string(got) != "v" {
		t.Fatalf("after a reopen: %q, %v; want v", got, err)
	}
}
