package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// ledger is a Processor that records into a real Badger store, the way the
// daemon's processor does: one Records transaction checks the file id,
// writes one screening record per traveller and the file's ledger entry.
// A traveller whose name contains "WANTED" gets one hit.
type ledger struct {
	dir string
	st  *badgerstore.Store
	rec *badgerstore.Records

	mu    sync.Mutex
	calls int
	// failOnce, when set, is returned once, before (commitFirst false) or
	// after (true) the transaction commits.
	failOnce    error
	commitFirst bool
	// block makes Process wait for ctx to end, then return its error.
	block   bool
	started chan struct{}
}

const ledgerNS = "intake-test"

func openLedger(t *testing.T, dir string) *ledger {
	t.Helper()
	st := storetest.Open(t, dir)
	return &ledger{dir: dir, st: st, rec: st.Records(ledgerNS), started: make(chan struct{}, 10)}
}

func (l *ledger) Process(ctx context.Context, f *File) (Result, error) {
	l.mu.Lock()
	l.calls++
	failOnce, commitFirst, block := l.failOnce, l.commitFirst, l.block
	l.failOnce = nil
	l.mu.Unlock()
	if block {
		l.started <- struct{}{}
		<-ctx.Done()
		return Result{}, ctx.Err()
	}
	if failOnce != nil && !commitFirst {
		return Result{}, failOnce
	}
	var res Result
	err := l.rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		res = Result{}
		b, err := tx.Get([]byte("f/" + f.ID))
		if err == nil {
			if err := json.Unmarshal(b, &res); err != nil {
				return err
			}
			res.Replayed = true
			return nil
		}
		if !errors.Is(err, badgerstore.ErrRecordNotFound) {
			return err
		}
		for _, tr := range f.Travellers {
			hits := 0
			if strings.Contains(strings.ToUpper(tr.Query.FullName()), "WANTED") {
				hits = 1
			}
			res.Screened++
			res.Hits += hits
			if hits > 0 {
				res.HitTravellers++
			}
			v, _ := json.Marshal(map[string]any{"hits": hits})
			if err := tx.Set([]byte(fmt.Sprintf("s/%s/%d", f.ID, tr.Index)), v); err != nil {
				return err
			}
		}
		v, _ := json.Marshal(res)
		return tx.Set([]byte("f/"+f.ID), v)
	})
	if err != nil {
		return Result{}, err
	}
	if failOnce != nil {
		return Result{}, failOnce
	}
	return res, nil
}

func (l *ledger) Calls() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// screenings counts the screening records in the store.
func (l *ledger) screenings(t *testing.T) int {
	t.Helper()
	n := 0
	err := l.rec.View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte("s/"), func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatalf("count screenings: %v", err)
	}
	return n
}

type fixture struct {
	dir   string
	clock *clocktest.Clock
	proc  *ledger
	in    *Intake
	// afterClaim and afterProcess, when set, are the intake's
	// Options.AfterClaim and AfterProcess.
	afterClaim, afterProcess func(name string)
}

func newFixture(t *testing.T, mod ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: clocktest.NewAt(time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC))}
	f.proc = openLedger(t, t.TempDir())
	f.in = f.newIntake(t, mod...)
	return f
}

// newIntake makes another Intake over the same directory and processor, as
// a restarted daemon would.
func (f *fixture) newIntake(t *testing.T, mod ...func(*Options)) *Intake {
	t.Helper()
	opts := Options{Dir: f.dir, Processor: f.proc, Clock: f.clock,
		AfterClaim: func(name string) {
			if f.afterClaim != nil {
				f.afterClaim(name)
			}
		},
		AfterProcess: func(name string) {
			if f.afterProcess != nil {
				f.afterProcess(name)
			}
		},
	}
	for _, m := range mod {
		m(&opts)
	}
	in, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return in
}

func (f *fixture) drop(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) scan(t *testing.T) {
	t.Helper()
	if err := f.in.ScanOnce(context.Background()); err != nil {
		t.Fatalf("ScanOnce: %v", err)
	}
}

// settle scans, waits StableFor and scans again: any stable file is taken.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	f.scan(t)
	f.clock.Advance(DefaultStableFor)
	f.scan(t)
}

// ls lists a subdirectory ("" for the intake directory), sorted, without
// subdirectories.
func (f *fixture) ls(t *testing.T, sub string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.dir, sub))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func (f *fixture) read(t *testing.T, sub, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, sub, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) summary(t *testing.T, name string) Summary {
	t.Helper()
	var s Summary
	if err := json.Unmarshal([]byte(f.read(t, DirDone, name+ResultSuffix)), &s); err != nil {
		t.Fatalf("result file of %s: %v", name, err)
	}
	return s
}

func wantNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// jsonl makes a JSON-lines file of n travellers; wanted of them are named
// WANTED.
func jsonl(n, wanted int) []byte {
	var b bytes.Buffer
	for i := range n {
		name := fmt.Sprintf("Traveller Number%d", i)
		if i < wanted {
			name = fmt.Sprintf("Wanted Person%d", i)
		}
		fmt.Fprintf(&b, `{"id":"t%d","name":%q,"birth_date":"1980-01-01"}`+"\n", i, name)
	}
	return b.Bytes()
}

// manifest makes a PAXLST of n passengers, one segment per line.
func manifest(t *testing.T, seed int64, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := paxlst.Write(&b, paxlst.Generate(seed, n), paxlst.WriteOptions{LineBreak: "\n", Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
