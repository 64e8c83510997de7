package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/api/input"
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

// TestIntakeWithoutList: with no list loaded a dropped file is not
// screened (no traveller recorded as "no hit"); the processor's error
// keeps it for a later scan.
func TestIntakeWithoutList(t *testing.T) {
	cfg := config.Default()
	cfg.PostID, cfg.Lists = "test-post", []string{"un"}
	p, err := NewPost(cfg, PostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	led, ob := openLedgerOn(t, st)
	sc, err := LoadScreener(context.Background(), st, match.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p.screener.Store(sc)
	p.store, p.ob, p.ledger = st, ob, led
	f := &intake.File{ID: "f1", Name: "f1.jsonl", Travellers: []intake.Traveller{{Index: 1, Traveller: input.Traveller{Query: engine.Query{Name: "Maria Garcia Lopez"}}}}}
	_, err = intakeProcessor{p}.Process(context.Background(), f)
	if err == nil || errors.Is(err, intake.ErrRejected) || !strings.Contains(err.Error(), "not screened: no list is loaded (missing: un)") {
		t.Fatalf("process without a list: %v", err)
	}
	if n := led.Stats().Screenings; n != 0 {
		t.Fatalf("%d screenings recorded without a list", n)
	}
}
