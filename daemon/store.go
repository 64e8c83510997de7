package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/engine/badgerstore"
)

// Layout of the data directory:
//
//	<data dir>/store/      the Badger store (lists, outbox, ledger, replica state)
//	<data dir>/snapshots/  snapshot downloads in progress (resumable part files)
//	<data dir>/keys.txt    HQ keys learned by rotation (PROTOCOL.md 2)
const (
	storeSubdir    = "store"
	snapshotSubdir = "snapshots"
	learnedKeys    = "keys.txt"
)

// ErrStoreInUse: another process (normally the running service, or HQ's
// serve) holds the store; Badger admits one.
var ErrStoreInUse = errors.New("in use by another process")

// storeLocked reports whether err is Badger's refusal of a store whose
// directory lock another process holds. Badger formats the cause into
// its text, so errors.Is cannot see it.
func storeLocked(err error) bool {
	return strings.Contains(err.Error(), "Cannot acquire directory lock") || strings.Contains(err.Error(), "Another process is using this Badger database")
}

// StoreDir returns the Badger directory inside a data directory.
func StoreDir(dataDir string) string { return filepath.Join(dataDir, storeSubdir) }

// OpenStore opens the store in dataDir (creating the directory, mode
// 0700, if needed), encrypted at rest with key (config.Store.Key; nil for
// an unencrypted store), keeping the default disk reserve. See
// OpenStoreWith.
func OpenStore(dataDir string, key []byte, logger *slog.Logger) (*badgerstore.Store, error) {
	return OpenStoreWith(dataDir, StoreOptions{Key: key, Logger: logger})
}

// StoreOptions are the settings of OpenStoreWith.
type StoreOptions struct {
	// Key encrypts the store at rest (config.Store.Key); nil: unencrypted.
	Key    []byte
	Logger *slog.Logger
	// DiskReserve is config.Store.DiskReserve in bytes; the store's
	// default when 0.
	DiskReserve int64
	// FreeSpace measures the free space of a directory's file system
	// (badgerstore.DiskFree when nil); tests inject it.
	FreeSpace func(dir string) (uint64, error)
}

// OpenStoreWith opens the store in dataDir (creating the directory, mode
// 0700, if needed). A store held by another process (the running
// service) gets an error that says so; a key that does not fit the store
// gets one wrapping badgerstore.ErrEncryptionKey that says where the key
// is configured; a file system short of the disk reserve gets one
// wrapping badgerstore.ErrDiskLow that names the directory, the space
// free and the space needed.
func OpenStoreWith(dataDir string, o StoreOptions) (*badgerstore.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dir := StoreDir(dataDir)
	st, err := badgerstore.Open(dir, badgerstore.Options{
		Logger: o.Logger, EncryptionKey: o.Key, DiskReserve: o.DiskReserve, FreeSpace: o.FreeSpace,
	})
	if err != nil {
		if errors.Is(err, badgerstore.ErrEncryptionKey) {
			return nil, fmt.Errorf("%w (the service reads the key from store.encryption_key_file or %s; the watchpost commands from --store-key-file or %[2]s)", err, config.EnvStoreEncryptionKey)
		}
		if errors.Is(err, badgerstore.ErrDiskLow) {
			return nil, fmt.Errorf("%w: %s", err, diskLowHint)
		}
		if storeLocked(err) {
			// Badger's own text repeats "open store" and the directory.
			return nil, fmt.Errorf("store %s is %w: is the watchpost service running? stop it, or ask it with 'watchpost status'", dir, ErrStoreInUse)
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return st, nil
}

// diskLowHint is what to do about a disk short of the store's reserve.
var diskLowHint = "free space on that file system, or move data_dir to a larger one (the reserve is store.disk_reserve, or $" +
	config.EnvName("store.disk_reserve") + " for the watchpost commands)"
