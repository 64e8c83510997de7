package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/testkit"
)

// The crash test re-executes this test binary as a writer that replaces one
// list forever, kills it with SIGKILL at a random moment, and checks the
// store the writer left behind.
const (
	crashDirEnv    = "WATCHPOST_CRASH_DIR"
	crashRoundsEnv = "WATCHPOST_CRASH_ROUNDS" // default 5
	crashSeedEnv   = "WATCHPOST_CRASH_SEED"   // default: time-based, logged
	crashCalibEnv  = "WATCHPOST_CRASH_CALIBRATE"
	crashList      = "crash"
	crashSize      = 20000
)

// crashEdition is the content of version v: edition A (ids 0..19999) for
// odd versions, B (ids 5000..24999, other content) for even ones, so every
// replace rewrites 15,000 entries, drops 5,000 and adds 5,000.
func crashEdition(v uint64) (tag string, es []engine.Entry) {
	if v%2 == 1 {
		return "A", makeEntries(0, crashSize, "A")
	}
	return "B", makeEntries(crashSize/4, crashSize+crashSize/4, "B")
}

// TestHelperCrashWriter is the child process of TestCrashKill9.
func TestHelperCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestCrashKill9")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	editions := map[string][]engine.Entry{}
	for _, v := range []uint64{1, 2} {
		tag, es := crashEdition(v)
		editions[tag] = es
	}
	fmt.Println("ready")
	ctx := context.Background()
	rounds := -1 // forever
	if os.Getenv(crashCalibEnv) != "" {
		rounds = 2
	}
	// Bounded, in case the parent dies without killing us.
	for deadline := time.Now().Add(time.Minute); rounds != 0 && time.Now().Before(deadline); rounds-- {
		var cur uint64
		info, err := s.List(crashList)
		switch {
		case err == nil:
			cur = info.Version
		case !errors.Is(err, ErrNoList):
			fmt.Fprintln(os.Stderr, "list:", err)
			os.Exit(3)
		}
		tag, _ := crashEdition(cur + 1)
		start := time.Now()
		info, err = s.ReplaceEntries(ctx, ListMeta{Name: crashList}, entrySrc(editions[tag]))
		if err != nil {
			fmt.Fprintln(os.Stderr, "replace:", err)
			os.Exit(3)
		}
		fmt.Println("done", info.Version, time.Since(start).Nanoseconds())
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func TestCrashKill9(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	rounds := envInt(crashRoundsEnv, 5)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (rerun with %s=%d)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	want := map[string]string{} // edition -> hash
	for _, v := range []uint64{1, 2} {
		tag, es := crashEdition(v)
		want[tag] = entriesHash(es)
	}

	dir := t.TempDir()
	// Calibrate: let a writer create versions 1 and 2 and time them. Kill
	// delays are 50-500 ms, stretched to 1.5x the replace time when the
	// writer is slower than that (the race detector makes it ~5x slower),
	// so that kills land in every phase: staging, sealing, flip, collection.
	maxDelay := 500 * time.Millisecond
	if d := runWriter(t, dir, 0) * 3 / 2; d > maxDelay {
		maxDelay = d
	}
	t.Logf("kill delays: 50ms to %v", maxDelay)
	var last uint64 = 2
	for r := 0; r < rounds; r++ {
		delay := 50*time.Millisecond + time.Duration(rng.Int64N(int64(maxDelay-50*time.Millisecond)+1))
		runWriter(t, dir, delay)

		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", r, err)
		}
		info, err := s.List(crashList)
		if errors.Is(err, ErrNoList) {
			if n := countKeys(t, s.db, rowsPrefix); n != 0 {
				t.Errorf("round %d: no list but %d rows", r, n)
			}
			t.Logf("round %d: killed after %v, before the first version", r, delay)
			s.Close()
			continue
		}
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		tag, _ := crashEdition(info.Version)
		t.Logf("round %d: killed after %v, list at version %d (edition %s)", r, delay, info.Version, tag)
		if info.Version < last {
			t.Errorf("round %d: version went back from %d to %d", r, last, info.Version)
		}
		last = info.Version
		n := 0
		_, err = s.Entries(context.Background(), crashList, func(e *engine.Entry) error {
			n++
			if e.Remarks != "edition "+tag {
				return fmt.Errorf("entry %s has %q in version %d of edition %s", e.ID, e.Remarks, info.Version, tag)
			}
			return nil
		})
		if err != nil {
			t.Errorf("round %d: %v", r, err)
		}
		if n != crashSize || info.Entries != crashSize {
			t.Errorf("round %d: %d entries streamed, %d recorded; want %d", r, n, info.Entries, crashSize)
		}
		if info.Hash != want[tag] {
			t.Errorf("round %d: hash %s, want edition %s's %s", r, info.Hash, tag, want[tag])
		}
		if err := s.Verify(context.Background(), crashList); err != nil {
			t.Errorf("round %d: %v", r, err)
		}
		checkCompact(t, s, crashList, info.Version, crashSize)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the writer reached version %d", last)
}

// runWriter starts the writer on dir. With delay > 0 it lets the writer
// run for delay after it has opened the store and kills it with SIGKILL;
// with delay 0 it lets it replace the list twice and exit, and returns
// the longest replace time.
func runWriter(t *testing.T, dir string, delay time.Duration) time.Duration {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCrashWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	if delay == 0 {
		cmd.Env = append(cmd.Env, crashCalibEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	var slowest time.Duration // read after the child's output is drained
	child := testkit.StartChild(t, cmd, 30*time.Second, "writer", func(line string) {
		var v uint64
		var ns int64
		if _, err := fmt.Sscanf(line, "done %d %d", &v, &ns); err == nil {
			slowest = max(slowest, time.Duration(ns))
		}
	})
	if delay == 0 {
		if err := child.Wait(); err != nil {
			t.Fatalf("calibration writer: %v", err)
		}
		return slowest
	}
	time.Sleep(delay)
	child.Kill(t)
	return slowest
}
