package api_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/sync/outbox"
)

func init() {
	api.OpenLedger = openLedger
	api.SetFreeSpace = freeSpace.Store
	freeSpace.Store(1 << 40)
}

// freeSpace is the free disk space every test ledger's store sees.
var freeSpace atomic.Uint64

// openLedger is the post's ledger on Badger in tb.TempDir(), adapted to
// the API the way the daemon does it.
func openLedger(tb testing.TB, clk clock.Clock) (api.Ledger, func()) {
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
	return daemon.APILedger(led), func() { st.Close() }
}
