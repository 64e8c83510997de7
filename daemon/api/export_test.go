package api

import (
	"testing"

	"github.com/watchpost/watchpost/engine/clock"
)

// OpenLedger opens the post's real ledger (daemon/ledger over Badger in a
// temporary directory, with its outbox), as the daemon hands it to the
// API, on clk. It is set by ledger_test.go, in package api_test, which
// may import the daemon's wiring; the suite runs against nothing else.
var OpenLedger func(tb testing.TB, clk clock.Clock) (l Ledger, closeStore func())

// OpenGroupedLedger is OpenLedger with the ledger's group commit of
// screenings without a hit running, as the daemon runs it; closeStore
// stops it, with its last commit, before closing the store.
var OpenGroupedLedger func(tb testing.TB, clk clock.Clock) (l Ledger, closeStore func())

// SetFreeSpace sets the free disk space the ledgers OpenLedger opened see
// (plenty until a test lowers it); set with OpenLedger.
var SetFreeSpace func(bytes uint64)
