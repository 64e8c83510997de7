package badgerstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/testkit"
)

// tmpfsSize is the file system the disk-full tests fill: 40 MiB.
const tmpfsSize = 40 << 20

// TestDiskFullTmpfs runs real Badger on a small tmpfs filled almost full:
// writes and Open are refused with ErrDiskLow naming the directory (where
// Badger would have died of SIGBUS writing through its mapped files), the
// list held stays readable, and all works again once the filler file is
// deleted.
func TestDiskFullTmpfs(t *testing.T) {
	ctx := context.Background()
	mnt := testkit.Tmpfs(t, tmpfsSize)
	dir := filepath.Join(mnt, "store")
	opts := Options{DiskReserve: 12 << 20, MemTableSize: 8 << 20}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 200, "a")))
	if err != nil {
		t.Fatal(err)
	}
	filler := testkit.Fill(t, mnt, 10<<20)

	_, err = s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 300, "b")))
	wantDiskLow(t, "ReplaceEntries on a full tmpfs", err, dir, "12.0 MiB needed")
	err = s.Records("ledger").Update(ctx, func(tx *RecordsTxn) error { return tx.Set([]byte("hit"), []byte("x")) })
	wantDiskLow(t, "a record on a full tmpfs", err, dir)
	if info, got := readAll(t, s, "un"); info.Version != before.Version || len(got) != 200 {
		t.Errorf("the list held: version %d, %d entries; want %d, 200", info.Version, len(got), before.Version)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, opts)
	wantDiskLow(t, "Open on a full tmpfs", err, "open store "+dir)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, opts)
	if err != nil {
		t.Fatalf("Open once the filler is deleted: %v", err)
	}
	defer s.Close()
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 300, "b"))); err != nil {
		t.Fatalf("ReplaceEntries once the filler is deleted: %v", err)
	}
	checkCompact(t, s, "un", before.Version+1, 300)
}

// TestImportFillsTmpfs: an edition larger than the free space stops with
// ErrDiskLow while the reserve is still free, and leaves the list as it
// was; without the checks during the write, Badger fills the tmpfs and
// the process dies of SIGBUS.
func TestImportFillsTmpfs(t *testing.T) {
	ctx := context.Background()
	mnt := testkit.Tmpfs(t, tmpfsSize)
	s, err := Open(filepath.Join(mnt, "store"), Options{DiskReserve: 14 << 20, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 100, "a")))
	if err != nil {
		t.Fatal(err)
	}
	// Rows of about 4 KB that do not compress: 100,000 of them are about
	// ten times the tmpfs.
	noise := make([]byte, 3000)
	rand.Read(noise)
	remarks := base64.StdEncoding.EncodeToString(noise)
	big := func(emit func(*engine.Entry) error) error {
		for i := 0; i < 100_000; i++ {
			e := makeEntry(i, "big")
			e.Remarks = remarks
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	}
	_, err = s.ReplaceEntries(ctx, ListMeta{Name: "un"}, big)
	if !errors.Is(err, ErrDiskLow) {
		t.Fatalf("an edition larger than the disk: %v, want ErrDiskLow", err)
	}
	t.Logf("refused: %v", err)
	if free := testkit.FreeBytes(t, mnt); free < 4<<20 {
		t.Errorf("only %s left free after the refused write", Bytes(free))
	}
	if info, err := s.List("un"); err != nil || info.Version != before.Version {
		t.Errorf("List after the refused edition: %+v %v", info, err)
	}
}
