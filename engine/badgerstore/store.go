package badgerstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
)

// Component names in the store's log lines (logkey.Component).
const (
	logComponentStore  = "badgerstore"
	logComponentBadger = "badger"
)

// Defaults for a small appliance (about 1 GB of RAM, a small disk).
const (
	// DefaultMemTableSize bounds each of the two memtables. 32 MB gives
	// transactions of up to 4.8 MB (15%) and fewer level-0 flushes during a
	// bulk load than 16 MB, for 64 MB of RAM in total.
	DefaultMemTableSize = 32 << 20
	// DefaultBlockCacheSize caches decompressed SST blocks; document
	// lookups touch a few blocks each, so a modest cache keeps hot levels
	// in RAM without the 256 MB server default.
	DefaultBlockCacheSize = 32 << 20
	// DefaultIndexCacheSize caches table indices and bloom filters. Zero
	// would mean "all of them in RAM", unbounded with ten million rows.
	// Note: in badger v4.9.6 the cache is only used for encrypted tables
	// (table.fetchIndex); an unencrypted table reads its index and bloom
	// filter straight from the mapped file, and the cache's hit ratio
	// stays 0 (measured). It is kept for encryption: without an index cache every encrypted read decrypts the index again.
	DefaultIndexCacheSize = 64 << 20
	// DefaultEncryptionKeyRotation is how often Badger makes a new data
	// key when the store is encrypted (Badger's own default). Data keys
	// encrypt the tables and value logs; they are kept, encrypted with
	// Options.EncryptionKey, in the store's KEYREGISTRY file, so rotating
	// them needs nothing from the operator.
	DefaultEncryptionKeyRotation = 10 * 24 * time.Hour
	// DefaultValueLogFileSize keeps each value log file at 64 MB (mapped
	// at twice that) instead of 1 GB; our values live in the LSM anyway.
	DefaultValueLogFileSize = 64 << 20
)

// Options tunes a Store. The zero value is a good default.
type Options struct {
	// Logger receives the store's and Badger's warnings and errors; nil
	// discards them.
	Logger *slog.Logger

	// MemTableSize, BlockCacheSize, IndexCacheSize and ValueLogFileSize
	// override the Default* constants when > 0.
	MemTableSize     int64
	BlockCacheSize   int64
	IndexCacheSize   int64
	ValueLogFileSize int64

	// NoSyncWrites opens Badger with SyncWrites=false and relies on
	// DB.Sync() before and after the flip. It exists to measure the
	// difference; it is NOT power-loss safe in badger v4.9.6, because
	// DB.Sync syncs only the active memtable's WAL (see the package doc).
	// Measured with ReplaceEntries of 1,000,000 entries on the development
	// VM (2 vCPU, ext4 on virtio, fsync ~1 ms): a new list 5.5 s with
	// SyncWrites=true vs 3.5 s without; replacing an existing list (75% of
	// ids kept, all rows rewritten) 22-45 s vs 13-14 s. The default pays
	// that price: an edition arrives a few times a day, a wrong list after
	// a power cut is a wrong screening decision.
	NoSyncWrites bool

	// EncryptionKey, when set, encrypts the store at rest with AES (Badger's
	// encryption mode): 16, 24 or 32 bytes for AES-128, -192 or -256
	// (Watchpost uses 32). nil means unencrypted. A store is encrypted or
	// not from its creation: the same key must be given at every Open,
	// and losing it loses the data. See the package doc, "Encryption at
	// rest".
	EncryptionKey []byte
	// EncryptionKeyRotation is how often Badger makes a new data key;
	// DefaultEncryptionKeyRotation (10 days) when 0. Ignored without
	// EncryptionKey.
	EncryptionKeyRotation time.Duration

	// Clock stamps ListInfo.ImportedAt; clock.System when nil.
	Clock clock.Clock

	// GarbageKeys bounds the superseded keys one write remembers for
	// collection (DefaultGarbageKeys when 0); past it, collection scans
	// the list instead.
	GarbageKeys int

	// DiskReserve is the free space Open and every write leave on the
	// store's file system (see space.go): DefaultDiskMargin plus the
	// memtable size when 0; a negative value turns the check off.
	DiskReserve int64
	// FreeSpace measures the bytes available on dir's file system
	// (DiskFree when nil); tests inject it.
	FreeSpace func(dir string) (uint64, error)
}

// Errors callers may test for with errors.Is.
var (
	// ErrNoList is returned when the named list does not exist.
	ErrNoList = errors.New("no such list")
	// ErrVersionMismatch is returned by UpdateEntries when the list is not
	// at the delta's base version.
	ErrVersionMismatch = errors.New("list version mismatch")
	// ErrWrongKind is returned when a names operation meets a documents
	// list or the reverse.
	ErrWrongKind = errors.New("wrong list kind")
	// ErrHashMismatch is returned by Verify when the stored rows do not
	// give the recorded hash or count.
	ErrHashMismatch = errors.New("list hash mismatch")
	// ErrSchemaTooNew is returned by Open for a database written by a newer
	// Watchpost.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
	// ErrNotWatchpost is returned by Open for a non-empty database that has
	// no schema key.
	ErrNotWatchpost = errors.New("database is not a watchpost store")
	// ErrEncryptionKey is returned by Open when the key does not fit the
	// store: an encrypted store opened without a key or with another key,
	// an unencrypted store opened with a key, or a key of a bad length.
	// The error says which, and what to do.
	ErrEncryptionKey = errors.New("store encryption key does not fit")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store is closed")
)

// pickSize returns v when > 0, else def.
func pickSize(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// Store is a Badger-backed watchlist store. Its methods are safe for
// concurrent use; writes of one list are serialised.
type Store struct {
	db    *badger.DB
	log   *slog.Logger
	clock clock.Clock
	space *spaceGuard
	// garbageKeys is Options.GarbageKeys with its default.
	garbageKeys int

	life   sync.RWMutex // held shared by every operation, exclusively by Close
	closed bool

	locksMu sync.Mutex
	locks   map[string]*sync.Mutex

	// docs is the current metadata of the documents lists, so that
	// LookupDocument need not read it (see docListSet).
	docs   atomic.Pointer[docListSet]
	docsMu sync.Mutex // serialises refreshes of docs

	// onUpdate is OnEntriesUpdated's function.
	onUpdate atomic.Pointer[EntriesHook]
}

// migration moves the database from the previous schema to version to.
// fn must be idempotent: a crash may run it twice.
type migration struct {
	to int
	fn func(*badger.DB) error
}

// migrations is the schema history, in order. The last target is the
// schema this code writes.
var migrations = []migration{
	{to: 1, fn: migrateInitial},
	{to: 2, fn: migrateDocIndex},
}

// migrateInitial creates schema 1 (the versioned-row layout of the package
// doc). It runs only on an empty database: rows and metadata are created
// lazily, so there is nothing to write but the schema key itself.
func migrateInitial(*badger.DB) error { return nil }

func badgerOptions(dir string, o Options, log *slog.Logger) badger.Options {
	pick := pickSize
	rotation := o.EncryptionKeyRotation
	rotation = option.Positive(rotation, DefaultEncryptionKeyRotation)
	return badger.DefaultOptions(dir).
		// Encryption at rest. Badger reads encrypted tables' indices and
		// bloom filters through the index cache, which must be > 0 or
		// every read decrypts them again: pick never
		// returns 0 for IndexCacheSize.
		WithEncryptionKey(o.EncryptionKey).
		WithEncryptionKeyRotationDuration(rotation).
		// Power-loss safe commit points; see Options.NoSyncWrites.
		WithSyncWrites(!o.NoSyncWrites).
		// Two memtables: one filling, one flushing; RAM = 2 x MemTableSize.
		WithMemTableSize(pick(o.MemTableSize, DefaultMemTableSize)).
		WithNumMemtables(2).
		// Few L0 tables before compaction, with room before stalling writers
		// so that a bulk load slows down instead of stopping.
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(12).
		// Two compactors is Badger's minimum (one prioritises L0).
		WithNumCompactors(2).
		// Bounded caches; an index cache of 0 would hold every index in RAM.
		WithBlockCacheSize(pick(o.BlockCacheSize, DefaultBlockCacheSize)).
		WithIndexCacheSize(pick(o.IndexCacheSize, DefaultIndexCacheSize)).
		// Small vlog files: mapped at 2x, and GC works per file.
		WithValueLogFileSize(pick(o.ValueLogFileSize, DefaultValueLogFileSize)).
		// Keep every watchlist value (well under 1 MB) in the LSM, away from
		// the value log, its GC, and the GC race that can bring a deleted vlog value back.
		WithValueThreshold(1 << 20).
		// Snappy: cheap to decompress on the lookup path, halves the disk use.
		WithCompression(options.Snappy).
		// Writers of a list are serialised by our mutex; conflict tracking
		// would only cost memory during large writes.
		WithDetectConflicts(false).
		// Badger's INFO level is chatty (every compaction): the adapter
		// maps it to Debug. (WithLoggingLevel would replace this logger
		// with Badger's own, so the level is left to the slog handler.)
		WithLogger(badgerLogger{log.With(logkey.Component, logComponentBadger)}).
		// An absent document number is answered by the bloom filters of
		// its index row (see the package doc, "Index"); a false positive
		// costs a prefix iterator (10-50 µs), so at the default rate of 1%
		// the p99 of absent lookups sits right on that path. 0.1% costs
		// about 5 more bits per key (about 12 MB more of filters for
		// 10,000,000 documents and their index rows). Measured with
		// BenchmarkLookupDocument, 1,000,000 documents: absent p99 13 µs
		// (20 µs at 1%); blocks of 1 KB or 16 KB instead of the default
		// 4 KB did not help, the 16 KB ones made present lookups slower.
		WithBloomFalsePositive(0.001)
}

// Open opens (creating if needed) the store in dir, migrates its schema,
// and repairs lists a crash left in the middle of a write.
func Open(dir string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch n := len(opts.EncryptionKey); n {
	case 0, 16, 24, 32:
	default:
		return nil, fmt.Errorf("open store %s: %w: the key is %d bytes; want 16, 24 or 32 (AES-128, -192, -256)", dir, ErrEncryptionKey, n)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	// Opening replays the memtable log and may flush and compact: writes
	// through mapped files, which a full disk turns into SIGBUS.
	space := newSpaceGuard(dir, opts)
	if err := space.room(0); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if sp := space.last.Load(); sp.Err != nil {
		log.Warn("Free disk space not measured: the disk reserve is not enforced", logkey.Dir, dir, logkey.Error, sp.Err)
	}
	db, err := badger.Open(badgerOptions(dir, opts, log))
	// Badger wraps it with %+v (y.Wrapf), so errors.Is cannot see it.
	if err != nil && (errors.Is(err, z.NewFile) || strings.Contains(err.Error(), z.NewFile.Error())) {
		// A process stopped between creating a memtable file and sizing
		// it leaves an empty *.mem file, and the next Open fails with
		// ristretto's z.NewFile ("Create a new file") after sizing it; a
		// second Open succeeds (dgraph-io/badger#2207, seen after a stop
		// under systemd). The file held no entry: nothing is lost.
		log.Warn("Store opened on the second attempt (an empty memtable file from an interrupted run)", logkey.Dir, dir)
		db, err = badger.Open(badgerOptions(dir, opts, log))
	}
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) || errors.Is(err, badger.ErrInvalidEncryptionKey) {
		return nil, keyError(dir, len(opts.EncryptionKey) > 0, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s := &Store{
		db:          db,
		log:         log.With(logkey.Component, logComponentStore),
		clock:       clock.OrSystem(opts.Clock),
		space:       space,
		garbageKeys: opts.GarbageKeys,
		locks:       make(map[string]*sync.Mutex),
	}
	s.garbageKeys = option.Positive(s.garbageKeys, DefaultGarbageKeys)
	if err := s.migrate(migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := s.repairAll(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	var lists []engine.ListInfo
	err = db.View(func(txn *badger.Txn) (err error) {
		lists, err = docListsIn(txn)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: read lists: %w", dir, err)
	}
	s.docs.Store(&docListSet{lists: lists})
	return s, nil
}

// keyRegistryFile is the Badger file that holds the data keys and,
// after a 16-byte IV, the sanity text Badger checks the key with: in
// clear when the store is not encrypted (key_registry.go, badger v4).
const (
	keyRegistryFile = "KEYREGISTRY"
	sanityText      = "Hello Badger"
)

// storeEncrypted reports whether the store in dir is encrypted, from its
// key registry; known is false when that cannot be told.
func storeEncrypted(dir string) (encrypted, known bool) {
	f, err := os.Open(filepath.Join(dir, keyRegistryFile))
	if err != nil {
		return false, false
	}
	defer f.Close()
	b := make([]byte, 16+len(sanityText))
	if _, err := io.ReadFull(f, b); err != nil {
		return false, false
	}
	return string(b[16:]) != sanityText, true
}

// keyError explains a key that does not open the store in dir.
func keyError(dir string, haveKey bool, err error) error {
	encrypted, known := storeEncrypted(dir)
	var what string
	switch {
	case !haveKey:
		what = "the store is encrypted and no key was given: give the key it was created with"
	case known && !encrypted:
		what = "the store is not encrypted and a key was given. Badger cannot encrypt a store in place: " +
			"either give no key, or make a fresh encrypted store (deliver the outbox first, so that " +
			"'watchpost status' shows 0 records; stop the post; move this directory away; start with the key: " +
			"the lists come back from HQ in a snapshot)"
	default:
		what = "the store was encrypted with another key: give the key it was created with (without it " +
			"the data cannot be read; a fresh store re-syncs its lists from HQ, but records not yet " +
			"delivered to HQ are lost)"
	}
	return fmt.Errorf("open store %s: %w: %s: %w", dir, ErrEncryptionKey, what, err)
}

// Close closes the database after in-flight operations finish.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// enter marks an operation in flight; the caller must call s.life.RUnlock.
func (s *Store) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// enterList enters the store, takes the write lock of list name and checks
// there is room to write. Unless it fails (then nothing is held), the
// caller runs release when it is done with the list.
func (s *Store) enterList(name string) (release func(), err error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	mu := s.listLock(name)
	mu.Lock()
	release = func() {
		mu.Unlock()
		s.life.RUnlock()
	}
	if err := s.space.room(0); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// openList is enterList followed by begin: it returns name's info (after
// repairing an interrupted write) and whether the list exists. Unless it
// fails (then nothing is held), the caller runs release when done.
func (s *Store) openList(name string) (info engine.ListInfo, exists bool, release func(), err error) {
	release, err = s.enterList(name)
	if err != nil {
		return engine.ListInfo{}, false, nil, err
	}
	info, exists, err = s.begin(name)
	if err != nil {
		release()
		return engine.ListInfo{}, false, nil, err
	}
	return info, exists, release, nil
}

// openExisting is openList for a list that must exist: it fails with
// ErrNoList when there is none.
func (s *Store) openExisting(name string) (info engine.ListInfo, release func(), err error) {
	info, exists, release, err := s.openList(name)
	if err != nil {
		return engine.ListInfo{}, nil, err
	}
	if !exists {
		release()
		return engine.ListInfo{}, nil, ErrNoList
	}
	return info, release, nil
}

func (s *Store) listLock(name string) *sync.Mutex {
	s.locksMu.Lock()
	defer s.locksMu.Unlock()
	m := s.locks[name]
	if m == nil {
		m = new(sync.Mutex)
		s.locks[name] = m
	}
	return m
}

// readSchema returns the stored schema version, 0 when absent, and
// whether the database holds any other key.
func readSchema(db *badger.DB) (version int, hasKeys bool, err error) {
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(schemaKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			it.Rewind()
			hasKeys = it.Valid()
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 1 {
				return fmt.Errorf("key %q: bad schema version %q", schemaKey, v)
			}
			version = n
			return nil
		})
	})
	return version, hasKeys, err
}

// migrate brings the schema to the last target of table.
func (s *Store) migrate(table []migration) error {
	have, hasKeys, err := readSchema(s.db)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	want := table[len(table)-1].to
	if have > want {
		return fmt.Errorf("%w: schema %d, this program knows up to %d; upgrade Watchpost or restore a backup", ErrSchemaTooNew, have, want)
	}
	if have == 0 && hasKeys {
		return fmt.Errorf("%w: it holds keys but no %q key; refusing to modify it (wrong directory?)", ErrNotWatchpost, schemaKey)
	}
	for _, m := range table {
		if m.to <= have {
			continue
		}
		if err := m.fn(s.db); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", have, m.to, err)
		}
		err := s.db.Update(func(txn *badger.Txn) error {
			return txn.Set([]byte(schemaKey), []byte(strconv.Itoa(m.to)))
		})
		if err == nil {
			err = s.db.Sync()
		}
		if err != nil {
			return fmt.Errorf("migrate schema %d to %d: write schema key: %w", have, m.to, err)
		}
		s.log.Info("Migrated store schema", logkey.From, have, logkey.To, m.to)
		have = m.to
	}
	return nil
}

// badgerLogger adapts Badger's printf logger to slog.
type badgerLogger struct{ l *slog.Logger }

func msg(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }

func (b badgerLogger) Errorf(f string, a ...any) { b.l.Error(msg(f, a)) }
func (b badgerLogger) Warningf(f string, a ...any) {
	m := msg(f, a)
	// Badger's cache monitor warns when a minute's reads mostly missed the
	// cache. Reading a whole list to build the screening index does that
	// by design, so it is not worth a technician's attention.
	if strings.Contains(m, "might be too small") || strings.HasPrefix(m, "Cache life expectancy") {
		b.l.Debug(m)
		return
	}
	b.l.Warn(m)
}
func (b badgerLogger) Infof(f string, a ...any)  { b.l.Debug(msg(f, a)) }
func (b badgerLogger) Debugf(f string, a ...any) { b.l.Debug(msg(f, a)) }
