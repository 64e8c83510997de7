package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
)

func TestPickedUpOnce(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "a.jsonl", jsonl(3, 1))

	f.scan(t)
	wantNames(t, "inbox after first sight", f.ls(t, ""), "a.jsonl")
	if f.proc.Calls() != 0 {
		t.Fatalf("processed at first sight")
	}
	f.clock.Advance(DefaultStableFor)
	f.scan(t)
	wantNames(t, "inbox", f.ls(t, ""))
	wantNames(t, "processing", f.ls(t, DirProcessing))
	wantNames(t, "done", f.ls(t, DirDone), "a.jsonl", "a.jsonl"+ResultSuffix)

	for range 3 {
		f.clock.Advance(DefaultStableFor)
		f.scan(t)
	}
	if got, want := f.proc.Calls(), 1; got != want {
		t.Fatalf("Process calls = %d, want %d", got, want)
	}
	if got, want := f.proc.screenings(t), 3; got != want {
		t.Fatalf("screenings = %d, want %d", got, want)
	}
	s := f.summary(t, "a.jsonl")
	if s.ID != fileID("a.jsonl", jsonl(3, 1)) || s.Name != "a.jsonl" || s.Format != FormatJSONL ||
		s.Travellers != 3 || s.Screened != 3 || s.Hits != 1 || s.HitTravellers != 1 || s.Replayed ||
		!s.ProcessedAt.Equal(f.clock.Now().Add(-3*DefaultStableFor)) {
		t.Fatalf("summary = %+v", s)
	}
	// The result file holds counts, never traveller data.
	if r := f.read(t, DirDone, "a.jsonl"+ResultSuffix); strings.Contains(r, "Wanted") || strings.Contains(r, "1980") {
		t.Fatalf("result file holds traveller data:\n%s", r)
	}
	// The file itself is moved unchanged.
	if got := f.read(t, DirDone, "a.jsonl"); got != string(jsonl(3, 1)) {
		t.Fatalf("done/a.jsonl changed")
	}
}

func TestPAXLSTScreened(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"EK1.edi", "EK2.TXT", "EK3.paxlst"} {
		f.drop(t, name, manifest(t, int64(len(name)+int(name[2])), 5))
	}
	f.settle(t)
	wantNames(t, "done", f.ls(t, DirDone),
		"EK1.edi", "EK1.edi"+ResultSuffix, "EK2.TXT", "EK2.TXT"+ResultSuffix, "EK3.paxlst", "EK3.paxlst"+ResultSuffix)
	if got, want := f.proc.screenings(t), 15; got != want {
		t.Fatalf("screenings = %d, want %d", got, want)
	}
	if s := f.summary(t, "EK1.edi"); s.Format != FormatPAXLST || s.Travellers != 5 || s.Warnings != 0 {
		t.Fatalf("summary = %+v", s)
	}
}

func TestGrowingFileWaits(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(f.dir, "slow.jsonl")
	data := jsonl(4, 0)
	half := bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
	if err := os.WriteFile(path, data[:half], 0o640); err != nil {
		t.Fatal(err)
	}
	f.scan(t)
	f.clock.Advance(DefaultStableFor - time.Second)
	f.scan(t)
	// The writer goes on (an SMB copy that cannot rename).
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	f.clock.Advance(time.Second) // 2 s since first sight, but 0 s since the change
	f.scan(t)
	f.clock.Advance(DefaultStableFor - time.Millisecond)
	f.scan(t)
	if f.proc.Calls() != 0 {
		t.Fatalf("a file changed less than StableFor ago was taken")
	}
	wantNames(t, "inbox", f.ls(t, ""), "slow.jsonl")
	f.clock.Advance(time.Millisecond)
	f.scan(t)
	wantNames(t, "done", f.ls(t, DirDone), "slow.jsonl", "slow.jsonl"+ResultSuffix)
	if s := f.summary(t, "slow.jsonl"); s.Travellers != 4 {
		t.Fatalf("travellers = %d, want the whole file (4)", s.Travellers)
	}
}

func TestIgnoredNamesAndRenameConvention(t *testing.T) {
	f := newFixture(t)
	ignoredNames := []string{".hidden.jsonl", "b.jsonl.tmp", "c.edi.part", "D.JSONL.TMP", "e.Part"}
	for _, name := range ignoredNames {
		f.drop(t, name, jsonl(1, 0))
	}
	if err := os.Mkdir(filepath.Join(f.dir, "sub.jsonl"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.dir, "b.jsonl.tmp"), filepath.Join(f.dir, "link.jsonl")); err != nil && runtime.GOOS != "windows" {
		t.Fatal(err)
	}
	for range 5 {
		f.clock.Advance(DefaultStableFor)
		f.scan(t)
	}
	if f.proc.Calls() != 0 {
		t.Fatalf("an ignored file was processed")
	}
	wantNames(t, "done", f.ls(t, DirDone))
	wantNames(t, "failed", f.ls(t, DirFailed))

	// The writer renames its finished file: it is taken like any other.
	if err := os.Rename(filepath.Join(f.dir, "b.jsonl.tmp"), filepath.Join(f.dir, "b.jsonl")); err != nil {
		t.Fatal(err)
	}
	f.settle(t)
	wantNames(t, "done", f.ls(t, DirDone), "b.jsonl", "b.jsonl"+ResultSuffix)
}

// TestCrashAfterCommit: the processor commits, then the process dies before
// the file reaches done/. The restarted intake finishes the file from
// processing/ without a second record.
func TestCrashAfterCommit(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "EK948.edi", manifest(t, 7, 6))
	f.drop(t, "later.jsonl", jsonl(2, 0))
	f.crashOnceStable(t, &f.afterProcess, "crash after commit")

	wantNames(t, "processing", f.ls(t, DirProcessing), "EK948.edi")
	wantNames(t, "done", f.ls(t, DirDone))
	if got := f.proc.screenings(t); got != 6 {
		t.Fatalf("screenings after crash = %d, want 6 (the commit happened)", got)
	}

	// Restart: reopen the store and a new Intake over the same directory.
	storeDir := f.proc.dir
	f.proc.st.Close()
	f.proc = openLedger(t, storeDir)
	f.afterProcess = nil // the restarted intake does not crash
	f.in = f.newIntake(t)
	f.scan(t) // processing/ needs no stability wait
	wantNames(t, "processing", f.ls(t, DirProcessing))
	wantNames(t, "done", f.ls(t, DirDone), "EK948.edi", "EK948.edi"+ResultSuffix)
	if got := f.proc.screenings(t); got != 6 {
		t.Fatalf("screenings after restart = %d, want 6 (no second record)", got)
	}
	s := f.summary(t, "EK948.edi")
	if !s.Replayed || s.Screened != 6 || s.Travellers != 6 {
		t.Fatalf("summary = %+v, want replayed with the recorded counts", s)
	}
	// The other file was never claimed and is taken once stable again.
	wantNames(t, "inbox", f.ls(t, ""), "later.jsonl")
	f.settle(t)
	if got := f.proc.screenings(t); got != 8 {
		t.Fatalf("screenings = %d, want 8", got)
	}
}

// TestCrashBeforeProcess: the process dies right after the claim. The
// restarted intake processes the file once.
func TestCrashBeforeProcess(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "a.jsonl", jsonl(3, 2))
	f.crashOnceStable(t, &f.afterClaim, "crash after claim")
	wantNames(t, "processing", f.ls(t, DirProcessing), "a.jsonl")
	if f.proc.Calls() != 0 || f.proc.screenings(t) != 0 {
		t.Fatalf("processed before the crash point")
	}

	f.afterClaim = nil // the restarted intake does not crash
	f.in = f.newIntake(t)
	f.scan(t)
	f.scan(t)
	if got := f.proc.screenings(t); got != 3 {
		t.Fatalf("screenings = %d, want 3", got)
	}
	if s := f.summary(t, "a.jsonl"); s.Replayed || s.Hits != 2 {
		t.Fatalf("summary = %+v", s)
	}
}

// TestCommittedButErrorReturned: the processor commits and then reports an
// error (it could not confirm); the retry records nothing more.
func TestCommittedButErrorReturned(t *testing.T) {
	f := newFixture(t)
	f.proc.failOnce, f.proc.commitFirst = errors.New("lost the reply"), true
	f.drop(t, "a.jsonl", jsonl(2, 0))
	f.scan(t)
	f.clock.Advance(DefaultStableFor)
	if err := f.in.ScanOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "lost the reply") {
		t.Fatalf("ScanOnce = %v, want the processor's error", err)
	}
	wantNames(t, "processing", f.ls(t, DirProcessing), "a.jsonl")
	f.scan(t)
	wantNames(t, "done", f.ls(t, DirDone), "a.jsonl", "a.jsonl"+ResultSuffix)
	if got := f.proc.screenings(t); got != 2 {
		t.Fatalf("screenings = %d, want 2", got)
	}
	if !f.summary(t, "a.jsonl").Replayed {
		t.Fatalf("want replayed")
	}
}

// TestProcessorErrorHoldsQueue: a transient processor error leaves the file
// in processing/, and new files wait in the directory until it is done.
func TestProcessorErrorHoldsQueue(t *testing.T) {
	f := newFixture(t)
	f.proc.failOnce = errors.New("store busy")
	f.drop(t, "a.jsonl", jsonl(1, 0))
	f.drop(t, "b.jsonl", jsonl(2, 0))
	f.scan(t)
	f.clock.Advance(DefaultStableFor)
	if err := f.in.ScanOnce(context.Background()); err == nil {
		t.Fatal("ScanOnce = nil, want the processor's error")
	}
	wantNames(t, "processing", f.ls(t, DirProcessing), "a.jsonl")
	wantNames(t, "inbox", f.ls(t, ""), "b.jsonl")
	f.scan(t)
	wantNames(t, "done", f.ls(t, DirDone), "a.jsonl", "a.jsonl"+ResultSuffix, "b.jsonl", "b.jsonl"+ResultSuffix)
	if got := f.proc.screenings(t); got != 3 {
		t.Fatalf("screenings = %d, want 3", got)
	}
}

type rejecter struct{}

func (rejecter) Process(context.Context, *File) (Result, error) {
	return Result{}, fmt.Errorf("too many travellers for one transaction: %w", ErrRejected)
}

func TestProcessorRejects(t *testing.T) {
	f := newFixture(t)
	f.in = f.newIntake(t, func(o *Options) { o.Processor = rejecter{} })
	f.drop(t, "a.jsonl", jsonl(1, 0))
	f.settle(t)
	wantNames(t, "failed", f.ls(t, DirFailed), "a.jsonl", "a.jsonl"+ReasonSuffix)
	if r := f.read(t, DirFailed, "a.jsonl"+ReasonSuffix); !strings.Contains(r, "reason: too many travellers for one transaction: rejected by the processor\n") {
		t.Fatalf("reason:\n%s", r)
	}
}

func TestBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	good := manifest(t, 1, 2)
	broken := bytes.Replace(good, []byte("DTM+329:660505'"), []byte("DTM+329:66XX05'"), 1)
	if bytes.Equal(broken, good) {
		t.Fatal("fixture: birth date segment not found")
	}
	big := bytes.Repeat(jsonl(1, 0), 2000)

	cases := []struct {
		name string
		data []byte
		want []string // in the reason file
	}{
		{"empty.jsonl", nil, []string{"reason: file is empty\n"}},
		{"blank.edi", []byte(" \n\r\n"), []string{"reason: file is empty\n"}},
		{"garbage.edi", garbage, []string{"reason: not a PAXLST file: no UNB or UNH segment found\n"}},
		{"garbage.jsonl", garbage, []string{"reason: not a JSON text file: binary data", "line 1, byte 0"}},
		{"broken.edi", broken, []string{"reason: PAXLST has 1 problem(s); travellers may be missing, nothing was screened\n",
			"message 1: segment 30 (DTM, byte ", `unreadable birth date "66XX05"`}},
		{"big.jsonl", big, []string{fmt.Sprintf("reason: file is %d bytes, larger than the limit of 65536 bytes\n", len(big))}},
		{"badline.jsonl", []byte(`{"name":"A B"}` + "\n\n" + `{"name":"C D","colour":"red"}` + "\n" + `{"name":` + "\n" + `{"id":"x"}` + "\n"),
			[]string{"reason: 3 bad traveller line(s); nothing was screened\n", "line 3: unknown field \"colour\"",
				"line 4: traveller is not a complete JSON object", "line 5: a traveller needs a name (name, or surname and given_names) or a document_number"}},
		{"array.json", []byte("[\n{\"name\":\"A B\"},\n{\"nom\":\"C\"}\n]\n"), []string{"line 3: unknown field \"nom\""}},
		{"unclosed.json", []byte("[\n{\"name\":\"A B\"},\n"), []string{"reason: JSON array not closed\n"}},
		{"manifest.pdf", good, []string{`reason: unknown extension ".pdf"`}},
		{"README", []byte("hello"), []string{`reason: unknown extension ""`}},
		{"nobody.edi", []byte("UNB+UNOA:4+A+B+260301:0000+1'UNZ+0+1'"), []string{"reason: no traveller found in the file"}},
	}
	f := newFixture(t, func(o *Options) { o.MaxSize = 64 << 10 })
	for _, c := range cases {
		f.drop(t, c.name, c.data)
	}
	f.drop(t, "good.edi", good)
	f.settle(t)

	if got := f.proc.screenings(t); got != 2 {
		t.Fatalf("screenings = %d, want 2 (only good.edi)", got)
	}
	wantNames(t, "done", f.ls(t, DirDone), "good.edi", "good.edi"+ResultSuffix)
	wantNames(t, "inbox", f.ls(t, ""))
	wantNames(t, "processing", f.ls(t, DirProcessing))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := f.read(t, DirFailed, c.name); got != string(c.data) {
				t.Fatalf("failed/%s is not the file as dropped", c.name)
			}
			r := f.read(t, DirFailed, c.name+ReasonSuffix)
			if !strings.HasPrefix(r, "file: "+c.name+"\n") || !strings.Contains(r, "failed_at: 2026-03-14T10:00:02Z\n") {
				t.Errorf("reason header:\n%s", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r, w) {
					t.Errorf("reason lacks %q:\n%s", w, r)
				}
			}
			// The segment text (names) is never copied into a reason.
			if strings.Contains(r, "ADEYEMI") || strings.Contains(r, "NASSER") {
				t.Errorf("reason holds traveller names:\n%s", r)
			}
		})
	}
}

func TestBrokenReasonNamesIDWhenRead(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "empty.jsonl", nil)
	f.settle(t)
	want := "id: " + fileID("empty.jsonl", nil) + "\n"
	if r := f.read(t, DirFailed, "empty.jsonl"+ReasonSuffix); !strings.Contains(r, want) {
		t.Fatalf("reason lacks %q:\n%s", want, r)
	}
}

func TestLenient(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Lenient = true })
	good := manifest(t, 1, 2)
	f.drop(t, "broken.edi", bytes.Replace(good, []byte("DTM+329:660505'"), []byte("DTM+329:66XX05'"), 1))
	f.drop(t, "lines.jsonl", []byte("{\"name\":\"A B\"}\nnot json\n{\"name\":\"C D\"}\n"))
	f.settle(t)
	wantNames(t, "failed", f.ls(t, DirFailed))
	if s := f.summary(t, "broken.edi"); s.Warnings != 1 || s.Screened != 2 {
		t.Fatalf("broken.edi summary = %+v", s)
	}
	if s := f.summary(t, "lines.jsonl"); s.Warnings != 1 || s.Screened != 2 {
		t.Fatalf("lines.jsonl summary = %+v", s)
	}
}

func TestJSONArray(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "list.json", []byte("\ufeff[\n  {\"id\":\"1\",\"name\":\"A Wanted\"},\n  {\"id\":\"2\",\"surname\":\"B\",\"given_names\":\"C\"}\n]\n"))
	f.settle(t)
	if s := f.summary(t, "list.json"); s.Travellers != 2 || s.Hits != 1 {
		t.Fatalf("summary = %+v", s)
	}
}

func TestCollisions(t *testing.T) {
	f := newFixture(t)
	// Same name three times with different content, then once more with
	// content identical to the first: each is a file of its own.
	for i, data := range [][]byte{jsonl(1, 0), jsonl(2, 0), jsonl(3, 0), jsonl(1, 0)} {
		f.drop(t, "AF1.jsonl", data)
		f.settle(t)
		if got := len(f.ls(t, DirDone)); got != 2*(i+1) {
			t.Fatalf("drop %d: done holds %d files, want %d", i, got, 2*(i+1))
		}
	}
	wantNames(t, "done", f.ls(t, DirDone),
		"AF1.1.jsonl", "AF1.1.jsonl"+ResultSuffix, "AF1.2.jsonl", "AF1.2.jsonl"+ResultSuffix,
		"AF1.3.jsonl", "AF1.3.jsonl"+ResultSuffix, "AF1.jsonl", "AF1.jsonl"+ResultSuffix)
	if got := f.read(t, DirDone, "AF1.2.jsonl"); got != string(jsonl(3, 0)) {
		t.Fatalf("AF1.2.jsonl holds the wrong file")
	}
	// The same name and bytes again is the same file: not screened twice.
	if s := f.summary(t, "AF1.3.jsonl"); !s.Replayed {
		t.Fatalf("identical re-drop: summary = %+v, want replayed", s)
	}
	if got := f.proc.screenings(t); got != 6 {
		t.Fatalf("screenings = %d, want 6", got)
	}

	// failed/ the same; a side file alone also takes the name.
	if err := os.WriteFile(filepath.Join(f.dir, DirFailed, "x.1.edi"+ReasonSuffix), []byte("operator's notes"), 0o640); err != nil {
		t.Fatal(err)
	}
	f.drop(t, "x.edi", nil)
	f.settle(t)
	f.drop(t, "x.edi", []byte("junk"))
	f.settle(t)
	wantNames(t, "failed", f.ls(t, DirFailed),
		"x.1.edi"+ReasonSuffix, "x.2.edi", "x.2.edi"+ReasonSuffix, "x.edi", "x.edi"+ReasonSuffix)
	if got := f.read(t, DirFailed, "x.1.edi"+ReasonSuffix); got != "operator's notes" {
		t.Fatalf("side file overwritten: %q", got)
	}
}

// TestInterruptedFinish: a crash between writing the result file and moving
// the file leaves a result file alone; the retry reuses its name instead of
// leaving it orphaned.
func TestInterruptedFinish(t *testing.T) {
	f := newFixture(t)
	data := jsonl(2, 0)
	id := fileID("a.jsonl", data)
	if err := os.WriteFile(filepath.Join(f.dir, DirProcessing, "a.jsonl"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, DirDone, "a.jsonl"+ResultSuffix), []byte(`{"id":"`+id+`"}`), 0o640); err != nil {
		t.Fatal(err)
	}
	f.scan(t)
	wantNames(t, "done", f.ls(t, DirDone), "a.jsonl", "a.jsonl"+ResultSuffix)
	if s := f.summary(t, "a.jsonl"); s.Travellers != 2 {
		t.Fatalf("summary not rewritten: %+v", s)
	}
}

// TestSameNameWaitsForProcessing: a file whose name is already in
// processing/ is not claimed over it; it waits for the next scan.
func TestSameNameWaitsForProcessing(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "0.jsonl", jsonl(1, 0))
	f.drop(t, "a.jsonl", jsonl(2, 0))
	f.scan(t)
	f.clock.Advance(DefaultStableFor)
	// Claiming 0.jsonl, something else puts an a.jsonl in processing/.
	f.afterClaim = func(name string) {
		if name == "0.jsonl" {
			if err := os.WriteFile(filepath.Join(f.dir, DirProcessing, "a.jsonl"), jsonl(3, 0), 0o640); err != nil {
				t.Error(err)
			}
		}
	}
	f.scan(t)
	if got := f.read(t, DirProcessing, "a.jsonl"); got != string(jsonl(3, 0)) {
		t.Fatal("the file in processing/ was overwritten")
	}
	wantNames(t, "inbox", f.ls(t, ""), "a.jsonl")
	f.scan(t)
	wantNames(t, "done", f.ls(t, DirDone), "0.jsonl", "0.jsonl"+ResultSuffix, "a.1.jsonl", "a.1.jsonl"+ResultSuffix, "a.jsonl", "a.jsonl"+ResultSuffix)
	if got := f.read(t, DirDone, "a.1.jsonl"); got != string(jsonl(2, 0)) {
		t.Fatal("done/a.1.jsonl is not the dropped file")
	}
	if got := f.proc.screenings(t); got != 6 {
		t.Fatalf("screenings = %d, want 6", got)
	}
}

func TestRun(t *testing.T) {
	f := newFixture(t)
	before := testkit.Goroutines() // Badger's own included
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.in.Run(ctx) }()

	f.clock.WaitTimer(t) // first scan done, waiting for the tick
	f.drop(t, "a.jsonl", jsonl(2, 1))
	f.clock.Advance(DefaultInterval)
	f.clock.WaitTimer(t) // second scan saw the file
	f.clock.Advance(DefaultInterval)
	f.clock.WaitTimer(t) // third scan took it
	wantNames(t, "done", f.ls(t, DirDone), "a.jsonl", "a.jsonl"+ResultSuffix)

	cancel()
	testkit.Returned(t, done, 5*time.Second, "Run")
	testkit.NoLeak(t, before, 5*time.Second)
}

// TestRunStopDuringProcessing: a stop while a file is being processed
// returns promptly and leaves the file in processing/ for the next start,
// which screens it once.
func TestRunStopDuringProcessing(t *testing.T) {
	f := newFixture(t)
	f.drop(t, "a.jsonl", jsonl(2, 0))
	f.in.ScanOnce(context.Background())
	f.clock.Advance(DefaultStableFor)
	f.proc.block = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.in.Run(ctx) }()
	select {
	case <-f.proc.started:
	case <-time.After(5 * time.Second):
		t.Fatal("processing did not start")
	}
	cancel()
	testkit.Returned(t, done, 5*time.Second, "Run")
	wantNames(t, "processing", f.ls(t, DirProcessing), "a.jsonl")

	f.proc.block = false
	f.in = f.newIntake(t)
	f.scan(t)
	wantNames(t, "done", f.ls(t, DirDone), "a.jsonl", "a.jsonl"+ResultSuffix)
	if got := f.proc.screenings(t); got != 2 {
		t.Fatalf("screenings = %d, want 2", got)
	}
}

func TestNewChecksOptions(t *testing.T) {
	if _, err := New(Options{Processor: rejecter{}}); err == nil {
		t.Error("no Dir: want an error")
	}
	if _, err := New(Options{Dir: t.TempDir()}); err == nil {
		t.Error("no Processor: want an error")
	}
	if _, err := New(Options{Dir: t.TempDir(), Processor: rejecter{}, StableFor: -1}); err == nil {
		t.Error("negative StableFor: want an error")
	}
	dir := filepath.Join(t.TempDir(), "new", "intake")
	if _, err := New(Options{Dir: dir, Processor: rejecter{}}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{DirProcessing, DirDone, DirFailed} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("%s not created: %v", sub, err)
		}
	}
}

func TestSuffixed(t *testing.T) {
	for _, c := range []struct {
		name string
		i    int
		want string
	}{
		{"AF1.edi", 0, "AF1.edi"}, {"AF1.edi", 2, "AF1.2.edi"}, {"README", 1, "README.1"}, {"a.b.jsonl", 1, "a.b.1.jsonl"},
	} {
		if got := suffixed(c.name, c.i); got != c.want {
			t.Errorf("suffixed(%q, %d) = %q, want %q", c.name, c.i, got, c.want)
		}
	}
}

// crashed runs fn and fails unless it panics (a simulated crash).
// crashOnceStable lets the dropped files be seen and become stable, then
// scans with the hook at set to panic with why, as a process dying at
// that point, and checks that the scan died.
func (f *fixture) crashOnceStable(t *testing.T, at *func(name string), why string) {
	t.Helper()
	f.scan(t)
	f.clock.Advance(DefaultStableFor)
	*at = func(string) { panic(why) }
	crashed(t, func() { f.in.ScanOnce(context.Background()) })
}

func crashed(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatal("no crash")
		}
	}()
	fn()
}
