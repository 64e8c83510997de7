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
// an unencrypted store). A store held by another process (the running
// service) gets an error that says so; a key that does not fit the store
// gets one wrapping badgerstore.ErrEncryptionKey that says where the key
// is configured.
func OpenStore(dataDir string, key []byte, logger *slog.Logger) (*badgerstore.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dir := StoreDir(dataDir)
	st, err := badgerstore.Open(dir, badgerstore.Options{Logger: logger, EncryptionKey: key})
	if err != nil {
		if errors.Is(err, badgerstore.ErrEncryptionKey) {
			return nil, fmt.Errorf("%w (the service reads the key from store.encryption_key_file or %s; the watchpost commands from --store-key-file or %[2]s)", err, config.EnvStoreEncryptionKey)
		}
		if storeLocked(err) {
			// Badger's own text repeats "open store" and the directory.
			return nil, fmt.Errorf("store %s is %w: is the watchpost service running? stop it, or ask it with 'watchpost status'", dir, ErrStoreInUse)
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return st, nil
}
