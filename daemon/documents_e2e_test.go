package daemon_test

// End to end: HQ publishes a documents list (stolen and lost travel
// documents), a post replicates it through the embedded broker and HQ's
// HTTPS (snapshot, then a delta that adds, changes and removes rows), and
// screens a stolen document number as a hit like any other: in the
// ledger (which the officer's console reads), through the outbox to HQ.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// sltdEdition is a documents list of n generated rows plus extra.
func sltdEdition(n int, extra ...engine.Document) func(emit func(*engine.Document) error) error {
	return func(emit func(*engine.Document) error) error {
		for i := 0; i < n; i++ {
			d := engine.Document{Type: "P", Number: fmt.Sprintf("G%07d", i), Country: "DEU", Note: "stolen 2026-10-01"}
			if err := emit(&d); err != nil {
				return err
			}
		}
		for i := range extra {
			if err := emit(&extra[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestDocumentsListReplicatedAndScreened(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	quick := func(m *mqtt.Options) { *m = mqttOpts(m.Brokers[0], m.ClientID) }

	// HQ: embedded broker, HTTPS for snapshots and deltas.
	ca := brokertest.NewCA(t, "test HQ CA")
	server := ca.Issue(t, brokertest.Leaf{CN: "hq.test", Server: true})
	caFile := filepath.Join(dir, "hq-ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := publish.Keygen(filepath.Join(dir, "hq", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	hq, err := daemon.NewHQ(daemon.HQConfig{
		DataDir: filepath.Join(dir, "hq"), Signer: signer, SelfSnapshotURL: true,
		EmbeddedBroker: &broker.Options{Addr: "127.0.0.1:0", AllowAnonymousLoopback: true},
		Listen:         "127.0.0.1:0", HTTPS: &tls.Config{Certificates: []tls.Certificate{server.Pair}, MinVersion: tls.VersionTLS12},
		AdminToken: strings.Repeat("a", 32), MQTT: quick, ConnectTimeout: wait,
	})
	if err != nil {
		t.Fatal(err)
	}
	launch(t, ctx, "HQ", hq.Run)

	stolen := engine.Document{Type: "P", Number: "X1234567", Country: "FRA", Note: "stolen 2026-11-30"}
	lost := engine.Document{Type: "P", Number: "L7654321", Country: "ITA", Note: "lost 2026-09-14"}
	ed := publish.Edition{List: "sltd", Format: "docs-csv", Source: "SLTD extract", Action: "retain the document, refer to secondary"}
	res, err := hq.Publisher().PublishDocuments(ctx, ed, sltdEdition(200, stolen, lost))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Entries != 202 {
		t.Fatalf("first edition: %+v", res)
	}

	// The post replicates "sltd" from HQ.
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := hq.BrokerURLs()
	cfg := config.Default()
	cfg.PostID = "post-east"
	cfg.DataDir = filepath.Join(dir, "post-east")
	cfg.HQ.Brokers = []string{plain}
	cfg.HQ.URL = hq.URL()
	cfg.HQ.CAFile = caFile
	cfg.HQ.KeySet = keys
	cfg.Lists = []string{"sltd"}
	cfg.StatusInterval = config.Duration(time.Second)
	cfg.StopTimeout = config.Duration(5 * time.Second)
	cfg.API.Listen = "127.0.0.1:0"
	p, err := daemon.NewPost(cfg, daemon.PostOptions{Software: "test", MQTT: quick, RebuildDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	launch(t, ctx, "post", p.Run)

	// screen screens a traveller carrying document d until the post's
	// answer for the list's version is want (a hit or none), and returns
	// the hits and the ledger record.
	screen := func(d engine.Document, version uint64, want bool) ([]engine.Hit, ledger.Recorded) {
		t.Helper()
		var hits []engine.Hit
		var rec ledger.Recorded
		testkit.CheckFor(t, wait, fmt.Sprintf("document %s screened at version %d", d.Number, version), func() error {
			info, err := p.Store().List("sltd")
			if err != nil {
				return err
			}
			if info.Version != version {
				return fmt.Errorf("the post holds version %d", info.Version)
			}
			q := engine.Query{Name: "Jean Martin", DocumentNumber: d.Number, DocumentCountry: d.Country}
			if hits, rec, err = p.ScreenAndRecord(ctx, ledger.SourceAPI, "", "desk-1", &q); err != nil {
				return err
			}
			if got := len(hits) > 0; got != want {
				return fmt.Errorf("hits %+v, want a hit: %v", hits, want)
			}
			return nil
		})
		return hits, rec
	}
	hits, rec := screen(stolen, 1, true)
	if h := hits[0]; h.List != "sltd" || h.ListVersion != 1 || h.Band != engine.BandMatch {
		t.Errorf("hit on the stolen passport: %+v", h)
	}
	if rec.HitID == "" {
		t.Fatal("the hit has no ledger record")
	}
	if st, ok := p.SyncStatus(); !ok || len(st.Lists) != 1 || st.Lists[0].Version != 1 || st.Lists[0].Stale != "" {
		t.Errorf("sync status %+v", st.Lists)
	}

	// Edition 2: the lost passport was found (removed), a new stolen
	// one, and a changed note: a delta, not a snapshot.
	fresh := engine.Document{Type: "P", Number: "N5550001", Country: "ESP", Note: "stolen 2026-12-06"}
	stolen2 := stolen
	stolen2.Note = "stolen 2026-11-30; confirmed"
	res, err = hq.Publisher().PublishDocuments(ctx, ed, sltdEdition(200, stolen2, fresh))
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || res.Upserts != 2 || res.Deletes != 1 || res.DeltaBytes == 0 || res.NoDelta != "" {
		t.Fatalf("second edition: %+v", res)
	}
	hits, rec2 := screen(fresh, 2, true)
	if h := hits[0]; h.List != "sltd" || h.ListVersion != 2 {
		t.Errorf("hit on the new stolen passport: %+v", h)
	}
	screen(lost, 2, false)
	screen(stolen, 2, true)
	post, err := p.Store().List("sltd")
	if err != nil {
		t.Fatal(err)
	}
	if at, err := hq.Store().List("sltd"); err != nil || at.Hash != post.Hash || post.Kind != engine.ListDocuments || post.Entries != 202 {
		t.Errorf("post holds %+v, HQ %+v (%v)", post, at, err)
	}
	if err := p.Store().Verify(ctx, "sltd"); err != nil {
		t.Errorf("Verify at the post: %v", err)
	}

	// The hits are in the ledger (the console's list) and reach HQ.
	page, err := p.Ledger().Hits(ctx, ledger.HitFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	inLedger := map[string]bool{}
	for _, h := range page.Hits {
		inLedger[h.ID] = true
	}
	for _, id := range []string{rec.HitID, rec2.HitID} {
		if !inLedger[id] {
			t.Errorf("hit %s not in the ledger", id)
		}
		testkit.CheckFor(t, wait, "hit "+id+" at HQ", func() error {
			r, err := hitOf(t, hq.Server(), "post-east", id)
			if err == nil && !strings.Contains(string(r.Payload), `"list":"sltd"`) {
				err = errors.New("the hit at HQ does not name list sltd")
			}
			return err
		})
	}
}

// launch runs a component until the test ends, waiting until it is ready.
func launch(t *testing.T, ctx context.Context, name string, run func(context.Context, func()) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- run(ctx, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("%s: %v", name, err)
	case <-time.After(wait):
		t.Fatalf("%s not ready within %s", name, wait)
	}
}
