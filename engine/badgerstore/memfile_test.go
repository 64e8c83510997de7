package badgerstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenAfterEmptyMemtableFile: a run stopped between creating a
// memtable file and sizing it leaves an empty *.mem file; Open still
// opens the store, with everything in it (dgraph-io/badger#2207: a
// single badger.Open fails with "Create a new file").
func TestOpenAfterEmptyMemtableFile(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Records("t").Update(context.Background(), func(tx *RecordsTxn) error {
		return tx.Set([]byte("k"), []byte("kept"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err := os.WriteFile(filepath.Join(dir, nextMem(mems)), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir, Options{MemTableSize: 8 << 20})
	if err != nil {
		t.Fatalf("Open with an empty memtable file: %v", err)
	}
	defer st.Close()
	var got []byte
	if err := st.Records("t").View(context.Background(), func(tx *RecordsTxn) error {
		var err error
		got, err = tx.Get([]byte("k"))
		return err
	}); err != nil || string(got) != "kept" {
		t.Fatalf("record after reopen: %q, %v", got, err)
	}
}

// nextMem returns a memtable file name after every existing one.
func nextMem(existing []string) string {
	max := 0
	for _, m := range existing {
		var n int
		if _, err := fmtSscanf(filepath.Base(m), &n); err == nil && n > max {
			max = n
		}
	}
	return fmtMem(max + 1)
}

func fmtSscanf(s string, n *int) (int, error) { return fmt.Sscanf(s, "%05d.mem", n) }

func fmtMem(n int) string { return fmt.Sprintf("%05d.mem", n) }
