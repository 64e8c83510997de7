package api_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/outbox"
)

func init() {
	api.OpenLedger = openLedger
	api.OpenGroupedLedger = openGroupedLedger
	api.SetFreeSpace = freeSpace.Store
	freeSpace.Store(1 << 40)
}

// freeSpace is the free disk space every test ledger's store sees.
var freeSpace atomic.Uint64

// openLedger is the post's ledger on Badger in tb.TempDir(), adapted to
// the API the way the daemon does it.
func openLedger(tb testing.TB, clk clock.Clock) (api.Ledger, func()) {
	tb.Helper()
	led, st := openStoreLedger(tb, clk)
	return daemon.APILedger(led), func() { st.Close() }
}

// openGroupedLedger is openLedger with the group commit of screenings
// without a hit running, as the daemon runs it; closing stops it (its
// last commit) before the store is closed.
func openGroupedLedger(tb testing.TB, clk clock.Clock) (api.Ledger, func()) {
	tb.Helper()
	led, st := openStoreLedger(tb, clk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- led.RunGroupCommit(ctx) }()
	return daemon.APILedger(led), sync.OnceFunc(func() {
		cancel()
		testkit.Returned(tb, done, 10*time.Second, "group commit")
		st.Close()
	})
}

func openStoreLedger(tb testing.TB, clk clock.Clock) (*ledger.Ledger, *badgerstore.Store) {
	tb.Helper()
	o := storetest.Small()
	o.Clock = clk
	o.FreeSpace = func(string) (uint64, error) { return freeSpace.Load(), nil }
	st := storetest.OpenWith(tb, tb.TempDir(), o)
	ctx := context.Background()
	ob, err := outbox.Open(ctx, st, outbox.Options{Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	led, err := ledger.Open(ctx, st, ob, ledger.Options{Post: "post-1", Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	return led, st
}
