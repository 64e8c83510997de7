package badgerstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// fakeDisk is an injected free-space measurement: free bytes, or err.
type fakeDisk struct {
	free  atomic.Uint64
	calls atomic.Int64
	// lowAfter, when > 0, makes the measurement report 1 MiB from that
	// call on (a disk filling up during a write).
	lowAfter int64
	err      error
}

func (d *fakeDisk) measure(string) (uint64, error) {
	n := d.calls.Add(1)
	if d.err != nil {
		return 0, d.err
	}
	if d.lowAfter > 0 && n >= d.lowAfter {
		return 1 << 20, nil
	}
	return d.free.Load(), nil
}

func newFakeDisk(free uint64) *fakeDisk {
	d := &fakeDisk{}
	d.free.Store(free)
	return d
}

func openSpace(t *testing.T, dir string, d *fakeDisk, reserve int64) *Store {
	t.Helper()
	s, err := Open(dir, Options{FreeSpace: d.measure, DiskReserve: reserve})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantDiskLow fails unless err matches ErrDiskLow and says where, what is
// free and what is needed.
func wantDiskLow(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrDiskLow) {
		t.Fatalf("%s: %v, want ErrDiskLow", what, err)
	}
	var dl *DiskLowError
	if !errors.As(err, &dl) {
		t.Fatalf("%s: %v is not a *DiskLowError", what, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %q does not say %q", what, err, p)
		}
	}
}

// TestOpenRefusedBelowReserve: with less than the reserve free, Open
// refuses before Badger touches the directory, naming the directory, the
// space free and the space needed; the default reserve is the margin plus
// the memtable.
func TestOpenRefusedBelowReserve(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	d := newFakeDisk(10 << 20)
	_, err := Open(dir, Options{FreeSpace: d.measure})
	wantDiskLow(t, "Open", err, "open store "+dir, "10.0 MiB free", dir, "96.0 MiB needed")
	if _, serr := os.Stat(filepath.Join(dir, "MANIFEST")); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("Badger was opened anyway: MANIFEST %v", serr)
	}
	// A smaller memtable makes a smaller default reserve.
	st, err := Open(dir, Options{FreeSpace: newFakeDisk(80 << 20).measure, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatalf("Open with 80 MiB free and a reserve of 64+8 MiB: %v", err)
	}
	st.Close()
}

// TestWritesRefusedBelowReserve: once the disk is low every kind of
// write is refused with ErrDiskLow and changes nothing, reads go on, a
// transaction that only deletes still commits, and everything works
// again once space returns.
func TestWritesRefusedBelowReserve(t *testing.T) {
	ctx := context.Background()
	d := newFakeDisk(1 << 30)
	s := openSpace(t, t.TempDir(), d, 32<<20)
	es := makeEntries(0, 50, "a")
	before, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(es))
	if err != nil {
		t.Fatal(err)
	}
	recs := s.Records("test")
	if err := recs.Update(ctx, func(tx *RecordsTxn) error { return tx.Set([]byte("old"), []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	if sp := s.Space(); sp.Low() || sp.Reserve != 32<<20 {
		t.Fatalf("Space() = %+v, want not low with a 32 MiB reserve", sp)
	}

	d.free.Store(20 << 20)
	if sp := s.Space(); !sp.Low() || sp.Free != 20<<20 {
		t.Fatalf("Space() = %+v, want low", sp)
	}
	_, err = s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 60, "b")))
	wantDiskLow(t, "ReplaceEntries", err, `list "un"`, "20.0 MiB free", "32.0 MiB needed")
	_, err = s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docSrc(10))
	wantDiskLow(t, "ReplaceDocuments", err)
	_, err = s.UpdateEntries(ctx, "un", before.Version, makeEntries(100, 101, "c"), nil)
	wantDiskLow(t, "UpdateEntries", err)
	wantDiskLow(t, "SetReplica", s.SetReplica(ctx, "un", before.Version, []byte(`{"v":1}`)))
	wantDiskLow(t, "DeleteList", s.DeleteList(ctx, "un"))
	err = recs.Update(ctx, func(tx *RecordsTxn) error { return tx.Set([]byte("new"), []byte("y")) })
	wantDiskLow(t, "Records Set", err)
	wantDiskLow(t, "CheckSpace", s.CheckSpace(0))

	// Nothing changed, and reads go on.
	info, got := readAll(t, s, "un")
	if info.Version != before.Version || info.Hash != before.Hash || len(got) != len(es) {
		t.Errorf("after refused writes: version %d hash %s, %d entries; want %d %s %d", info.Version, info.Hash, len(got), before.Version, before.Hash, len(es))
	}
	if _, err := s.List("sltd"); !errors.Is(err, ErrNoList) {
		t.Errorf("refused ReplaceDocuments left a list: %v", err)
	}
	err = recs.View(ctx, func(tx *RecordsTxn) error {
		if _, err := tx.Get([]byte("new")); !errors.Is(err, ErrRecordNotFound) {
			t.Errorf("refused record: Get = %v, want ErrRecordNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Deleting frees space: it is not refused.
	if err := recs.Update(ctx, func(tx *RecordsTxn) error { return tx.Delete([]byte("old")) }); err != nil {
		t.Errorf("a delete-only transaction on a low disk: %v", err)
	}

	d.free.Store(1 << 30)
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 60, "b"))); err != nil {
		t.Fatalf("ReplaceEntries once space is back: %v", err)
	}
	if err := recs.Update(ctx, func(tx *RecordsTxn) error { return tx.Set([]byte("new"), []byte("y")) }); err != nil {
		t.Fatalf("Records Set once space is back: %v", err)
	}
	checkCompact(t, s, "un", before.Version+1, 60)
}

// TestReplaceStopsWhenDiskFills: a disk that runs low in the middle of an
// edition stops the write at the next check, well before the disk is
// full; the list stays at its version, and the next write, with space
// back, cleans up what was staged.
func TestReplaceStopsWhenDiskFills(t *testing.T) {
	ctx := context.Background()
	d := newFakeDisk(1 << 30)
	s := openSpace(t, t.TempDir(), d, 32<<20)
	before, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 100, "a")))
	if err != nil {
		t.Fatal(err)
	}
	// From the third measurement of the next replace on (its start, the
	// check at row 0, the one at row 1024), the disk is low.
	d.lowAfter = d.calls.Load() + 3
	emitted := 0
	_, err = s.ReplaceEntries(ctx, ListMeta{Name: "un"}, func(emit func(*engine.Entry) error) error {
		for _, e := range makeEntries(0, 10*ctxCheckEvery, "b") {
			if err := emit(&e); err != nil {
				return err
			}
			emitted++
		}
		return nil
	})
	wantDiskLow(t, "ReplaceEntries on a filling disk", err, "1.0 MiB free")
	if emitted != ctxCheckEvery {
		t.Errorf("the write stopped after %d rows, want at the check at row %d", emitted, ctxCheckEvery)
	}
	if info, err := s.List("un"); err != nil || info.Version != before.Version || info.Hash != before.Hash {
		t.Errorf("List after the refused edition: %+v %v, want version %d", info, err, before.Version)
	}
	d.lowAfter = 0
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 120, "c"))); err != nil {
		t.Fatal(err)
	}
	checkCompact(t, s, "un", before.Version+1, 120)
	if err := s.Verify(ctx, "un"); err != nil {
		t.Error(err)
	}
}

// TestSpaceUnmeasured: where the free space cannot be measured the
// reserve is not enforced (and Space says why); a negative reserve turns
// the check off.
func TestSpaceUnmeasured(t *testing.T) {
	d := &fakeDisk{err: errors.New("no statfs here")}
	s := openSpace(t, t.TempDir(), d, 0)
	if sp := s.Space(); sp.Low() || sp.Err == nil {
		t.Errorf("Space() = %+v, want not low with the error", sp)
	}
	if _, err := s.ReplaceEntries(context.Background(), ListMeta{Name: "un"}, entrySrc(makeEntries(0, 3, "a"))); err != nil {
		t.Error(err)
	}
	off := openSpace(t, t.TempDir(), newFakeDisk(0), -1)
	if err := off.CheckSpace(1 << 40); err != nil {
		t.Errorf("CheckSpace with the check off: %v", err)
	}
}

// TestCheckSpaceExtra: a caller's estimate is added to the reserve and
// named in the error.
func TestCheckSpaceExtra(t *testing.T) {
	s := openSpace(t, t.TempDir(), newFakeDisk(100<<20), 32<<20)
	if err := s.CheckSpace(60 << 20); err != nil {
		t.Errorf("CheckSpace(60 MiB) with 100 MiB free and 32 MiB reserved: %v", err)
	}
	wantDiskLow(t, "CheckSpace(80 MiB)", s.CheckSpace(80<<20), "100.0 MiB free", "112.0 MiB needed", "32.0 MiB", "80.0 MiB for this write")
	if sp := s.LastSpace(); sp.Free != 100<<20 {
		t.Errorf("LastSpace() = %+v", sp)
	}
}
