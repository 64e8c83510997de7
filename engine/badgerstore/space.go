package badgerstore

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// The disk reserve. Badger writes its memtable log and its tables
// through memory-mapped files; when a page of such a file cannot be
// allocated because the file system is full, the kernel answers the write
// with SIGBUS, which a Go program cannot recover from, and the same write
// happens again at the next Open (the memtable log is replayed): the
// process crash-loops. So the store never lets Badger reach a full disk:
// Open, and every write before it starts (and, for a whole edition, every
// ctxCheckEvery rows of it), measures the space free on the store's file
// system and refuses with a *DiskLowError when less than the reserve
// would remain. The reserve is room for what Badger writes on its own
// after a refused write: flushing the memtable in use into a table (up to
// MemTableSize) and the compactions that follow, plus a margin
// (DefaultDiskMargin) for writes already under way in other goroutines.
//
// Reads never need space, so a store that refuses writes still answers
// every read. A write transaction that only deletes (an outbox record
// HQ acknowledged) is not refused: its tombstones are small and they are
// how space comes back.

// DefaultDiskMargin is the part of the default reserve beyond Badger's
// memtable: writes in flight when the space ran low, Badger's manifest
// and the table a compaction writes before it deletes the ones it
// merged.
const DefaultDiskMargin = 64 << 20

// DefaultDiskReserve is the reserve with the default memtable size:
// DefaultDiskMargin + DefaultMemTableSize (96 MiB).
const DefaultDiskReserve = DefaultDiskMargin + DefaultMemTableSize

// ErrDiskLow matches (errors.Is) every *DiskLowError: the store refused to
// open or to write because its file system is short of its reserve.
// Nothing was written; the same call succeeds once space is freed.
var ErrDiskLow = errors.New("not enough free disk space")

// DiskLowError says where space is short, how much is free, and how much
// the refused operation needed (the reserve, plus what the operation
// itself was estimated to write).
type DiskLowError struct {
	Dir     string
	Free    uint64
	Reserve uint64
	Extra   uint64 // the operation's own estimate, beyond the reserve
}

func (e *DiskLowError) Error() string {
	need := fmt.Sprintf("%s needed (the store's reserve)", Bytes(e.Reserve))
	if e.Extra > 0 {
		need = fmt.Sprintf("%s needed (the store's reserve of %s and %s for this write)", Bytes(e.Reserve+e.Extra), Bytes(e.Reserve), Bytes(e.Extra))
	}
	return fmt.Sprintf("%v: %s free on the file system of %s, %s", ErrDiskLow, Bytes(e.Free), e.Dir, need)
}

// Is makes errors.Is(err, ErrDiskLow) true.
func (e *DiskLowError) Is(target error) bool { return target == ErrDiskLow }

// Space is one measurement of the store's file system against its
// reserve.
type Space struct {
	Dir     string
	Free    uint64 // bytes available to this process
	Reserve uint64 // 0: the reserve is not enforced
	// Err: the free space could not be measured (an unsupported system);
	// writes are then not refused.
	Err error
}

// Low reports whether less than the reserve is free: the store refuses
// writes.
func (sp Space) Low() bool { return sp.Err == nil && sp.Reserve > 0 && sp.Free < sp.Reserve }

// spaceGuard measures the free space for Open and the writes.
type spaceGuard struct {
	dir     string
	reserve uint64 // 0: off
	free    func(dir string) (uint64, error)
	last    atomic.Pointer[Space]
}

func newSpaceGuard(dir string, o Options) *spaceGuard {
	g := &spaceGuard{dir: dir, free: o.FreeSpace}
	switch {
	case o.DiskReserve > 0:
		g.reserve = uint64(o.DiskReserve)
	case o.DiskReserve == 0:
		g.reserve = DefaultDiskMargin + uint64(pickSize(o.MemTableSize, DefaultMemTableSize))
	}
	if g.free == nil {
		g.free = DiskFree
	}
	return g
}

// measure reads the free space now and keeps it as the last measurement.
func (g *spaceGuard) measure() Space {
	sp := Space{Dir: g.dir, Reserve: g.reserve}
	if g.reserve > 0 {
		sp.Free, sp.Err = g.free(g.dir)
	}
	g.last.Store(&sp)
	return sp
}

// room returns a *DiskLowError when less than the reserve plus extra is
// free, nil otherwise (and when the space cannot be measured).
func (g *spaceGuard) room(extra uint64) error {
	sp := g.measure()
	if sp.Reserve == 0 || sp.Err != nil || sp.Free >= sp.Reserve+extra {
		return nil
	}
	return &DiskLowError{Dir: g.dir, Free: sp.Free, Reserve: sp.Reserve, Extra: extra}
}

// Space measures the free space of the store's file system now.
func (s *Store) Space() Space { return s.space.measure() }

// LastSpace returns the last measurement (by Space, CheckSpace, Open or a
// write), without measuring.
func (s *Store) LastSpace() Space {
	if sp := s.space.last.Load(); sp != nil {
		return *sp
	}
	return s.space.measure()
}

// CheckSpace returns a *DiskLowError (matching ErrDiskLow) when less than
// the reserve plus extra bytes is free on the store's file system now: a
// caller about to write about extra bytes (an import of a file that
// size, a snapshot to download and install) asks first, so that it is
// refused before it starts rather than halfway.
func (s *Store) CheckSpace(extra uint64) error { return s.space.room(extra) }

// Bytes formats a byte count for people: "96.0 MiB".
func Bytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
