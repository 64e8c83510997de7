package daemon

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/agent"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
)

// TestSyncConflictMetric: two signed heads for one position with the
// same issue time and different content reach the agent over the link;
// watchpost_sync_conflicts_total counts the second, and it is not counted
// as rejected.
func TestSyncConflictMetric(t *testing.T) {
	signer, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, filepath.Join(t.TempDir(), "store"))
	app, err := replica.New(replica.FromBadger(st), replica.Config{Keys: keys, Lists: []string{"un"}})
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewBroker()
	hq, err := b.Connect(fake.Options{ClientID: "hq"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := b.Connect(fake.Options{ClientID: "watchpost-post-p1"})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Config{Post: "p1", Transport: link, Applier: app})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Subscribe(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg, ag, nil, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, entries := range []uint64{3, 4} {
		h := protocol.Head{List: "un", Epoch: 1, Version: 5, Entries: entries, IssuedAt: now, ValidUntil: now.Add(48 * time.Hour)}
		msg, err := protocol.SealHead(signer, &h)
		if err != nil {
			t.Fatal(err)
		}
		if err := hq.Publish(context.Background(), protocol.HeadTopic("un"), msg, false); err != nil {
			t.Fatal(err)
		}
		// One at a time: the second must find the first accepted.
		testkit.CheckFor(t, 5*time.Second, "head handled", func() error {
			if _, ok := app.LastHead("un"); !ok {
				return fmt.Errorf("no head yet")
			}
			return nil
		})
	}
	const rejectedZero = `
# HELP watchpost_sync_rejected_total Messages from HQ rejected (unsigned, wrongly signed, corrupt, expired, rolled back) and snapshots that failed to download, verify or install.
# TYPE watchpost_sync_rejected_total counter
watchpost_sync_rejected_total 0
`
	const want = `
# HELP watchpost_sync_conflicts_total Signed heads from HQ that contradict one already accepted (same issue time, other content).
# TYPE watchpost_sync_conflicts_total counter
watchpost_sync_conflicts_total 1
`
	testkit.CheckFor(t, 5*time.Second, "conflict counted", func() error {
		return testutil.GatherAndCompare(reg, strings.NewReader(want), "watchpost_sync_conflicts_total")
	})
	if n, err := testutil.GatherAndCount(reg, "watchpost_sync_rejected_total"); err != nil || n != 1 {
		t.Fatalf("rejected series: %d %v", n, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(rejectedZero), "watchpost_sync_rejected_total"); err != nil {
		t.Error(err)
	}
}
