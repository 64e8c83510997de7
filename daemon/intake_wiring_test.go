package daemon

import (
	"context"
	"testing"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/intake"
	"github.com/watchpost/watchpost/daemon/intake/intaketest"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
)

// TestIntakeProcessorContract runs the intake.Processor contract suite
// against the post's processor: the embedded UN list screened by the
// real matcher, recorded in the real ledger on Badger.
func TestIntakeProcessorContract(t *testing.T) {
	// One screener for every test: the list does not change.
	dir := t.TempDir()
	st, err := OpenStore(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	importUN(t, st, "")
	sc, err := LoadScreener(ctx, st, match.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	open := func(t *testing.T, dataDir string) intake.Processor {
		t.Helper()
		cfg := config.Default()
		cfg.PostID = "test-post"
		p, err := NewPost(cfg, PostOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := OpenStore(dataDir, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		led, ob := openLedgerOn(t, st)
		p.screener.Store(sc)
		p.store, p.ob, p.ledger = st, ob, led
		p.cfg.DataDir = dataDir
		return intakeProcessor{p}
	}
	intaketest.Run(t, intaketest.Harness{
		New: func(t *testing.T) intake.Processor { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, pr intake.Processor) intake.Processor {
			p := pr.(intakeProcessor).p
			if err := p.store.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, p.cfg.DataDir)
		},
		// On the embedded UN list; the other name is on no list.
		Listed: engine.Query{Name: "Mohsen Hojati", BirthDate: "1955-09-28"},
		Clean:  engine.Query{Name: "Maria Garcia Lopez"},
	})
}
