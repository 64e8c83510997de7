package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
)

// fakePost is a test double of the post: it reports ready when told to,
// and stops when its context ends unless it is told to hang.
type fakePost struct {
	readyNow  bool          // call ready at once
	readyGate chan struct{} // else call ready when this closes (nil: never)
	failEarly error         // return this before ready
	failLate  chan error    // after ready, return what arrives here
	hang      chan struct{} // after ctx ends, wait for this to close
	stopErr   error         // returned after ctx ends
	ran       chan struct{} // closed when Run returns
}

func newFakePost() *fakePost { return &fakePost{ran: make(chan struct{})} }

func (f *fakePost) Run(ctx context.Context, ready func()) error {
	defer close(f.ran)
	if f.failEarly != nil {
		return f.failEarly
	}
	if f.readyNow {
		ready()
	} else if f.readyGate != nil {
		select {
		case <-f.readyGate:
			ready()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-ctx.Done():
	case err := <-f.failLate:
		return err
	}
	if f.hang != nil {
		<-f.hang
	}
	if f.stopErr != nil {
		return f.stopErr
	}
	return ctx.Err()
}

// notes records sd_notify states.
type notes struct {
	mu     sync.Mutex
	states []string
}

func (n *notes) add(s string) { n.mu.Lock(); n.states = append(n.states, s); n.mu.Unlock() }
func (n *notes) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.states, "|")
}

func testProgram(t *testing.T, r Runner) (*program, *notes) {
	t.Helper()
	p := newProgram(r, Options{
		ConfigPath:   "/etc/watchpost/watchpost.yaml",
		ReadyTimeout: 5 * time.Second,
		StopTimeout:  5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	n := &notes{}
	p.notify = n.add
	return p, n
}

// checkGoroutines fails the test if goroutines started during it are
// still running at its end (after a grace period for them to finish).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := testkit.Goroutines()
	t.Cleanup(func() { testkit.NoLeak(t, before, 5*time.Second) })
}

// within fails the test if f takes longer than d, and returns f's error.
func within(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
	return nil
}

func TestLifecycle(t *testing.T) {
	checkGoroutines(t)
	f := newFakePost()
	f.readyNow = true
	p, n := testProgram(t, f)
	if err := within(t, 10*time.Second, "Start", func() error { return p.Start(nil) }); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := within(t, 10*time.Second, "Stop", func() error { return p.Stop(nil) }); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	<-f.ran
	if got, want := n.get(), "READY=1\nSTATUS=Screening|STOPPING=1"; got != want {
		t.Errorf("notifications %q, want %q", got, want)
	}
}

func TestStartWaitsForReady(t *testing.T) {
	checkGoroutines(t)
	f := newFakePost()
	f.readyGate = make(chan struct{})
	p, n := testProgram(t, f)
	clk := clocktest.New()
	p.clock = clk
	started := make(chan error, 1)
	go func() { started <- p.Start(nil) }()
	// Start armed its ready timeout; a second before it ends the timer is
	// still pending (Advance fires due timers before it returns).
	clk.WaitTimer(t)
	clk.Advance(p.readyTimeout - time.Second)
	if n := clk.Waiters(); n != 1 {
		t.Fatalf("%d timers pending before the ready timeout, want 1", n)
	}
	select {
	case err := <-started:
		t.Fatalf("Start returned (%v) before the post was ready", err)
	default:
	}
	if n.get() != "" {
		t.Fatalf("notified %q before ready", n.get())
	}
	close(f.readyGate)
	testkit.Returned(t, started, time.Second, "Start")
	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestStartReadyTimeout(t *testing.T) {
	checkGoroutines(t)
	f := newFakePost() // never ready
	p, n := testProgram(t, f)
	p.readyTimeout = 50 * time.Millisecond
	if err := within(t, 2*time.Second, "Start", func() error { return p.Start(nil) }); err != nil {
		t.Fatalf("Start after the ready timeout: %v, want nil (reported started, still starting)", err)
	}
	if got := n.get(); !strings.HasPrefix(got, "READY=1\nSTATUS=Started; not ready yet") {
		t.Errorf("notifications %q", got)
	}
	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestStartFailure(t *testing.T) {
	checkGoroutines(t)
	f := newFakePost()
	f.failEarly = WithExitCode(ExitConfig, errors.New("hq.url: not a URL"))
	p, n := testProgram(t, f)
	err := within(t, 10*time.Second, "Start", func() error { return p.Start(nil) })
	if err == nil || !strings.Contains(err.Error(), "hq.url") {
		t.Fatalf("Start: %v, want the post's error", err)
	}
	if got := ExitCode(err); got != ExitConfig {
		t.Errorf("ExitCode = %d, want %d", got, ExitConfig)
	}
	if n.get() != "" {
		t.Errorf("notified %q for a failed start", n.get())
	}
	// kardianos does not call Stop after a failed Start, but if it did:
	if err := p.Stop(nil); err == nil {
		t.Error("Stop after a failed start returned nil")
	}
}

func TestStartReturnWithoutReady(t *testing.T) {
	checkGoroutines(t)
	p, _ := testProgram(t, RunnerFunc(func(context.Context, func()) error { return nil }))
	if err := p.Start(nil); !errors.Is(err, ErrNotReady) || ExitCode(err) != ExitFailure {
		t.Fatalf("Start: %v, want ErrNotReady (exit 1)", err)
	}
}

// hangingProgram checks for leaked goroutines and returns a program over
// a post that is ready at once and, once stopped, hangs until f.hang is
// closed.
func hangingProgram(t *testing.T) (*fakePost, *program) {
	t.Helper()
	checkGoroutines(t)
	f := newFakePost()
	f.readyNow = true
	f.hang = make(chan struct{})
	p, _ := testProgram(t, f)
	return f, p
}

func TestStopTimeout(t *testing.T) {
	f, p := hangingProgram(t)
	p.stopTimeout = 50 * time.Millisecond
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := within(t, 2*time.Second, "Stop", func() error { return p.Stop(nil) })
	if !errors.Is(err, ErrStopTimeout) {
		t.Fatalf("Stop: %v, want ErrStopTimeout", err)
	}
	if d := time.Since(start); d < p.stopTimeout {
		t.Errorf("Stop gave up after %s, before its %s budget", d, p.stopTimeout)
	}
	if ExitCode(err) != ExitFailure {
		t.Errorf("ExitCode = %d, want %d", ExitCode(err), ExitFailure)
	}
	close(f.hang) // the process would exit here; let the fake finish
	<-f.ran
}

func TestStopAbortedBySecondSignal(t *testing.T) {
	f, p := hangingProgram(t)
	abort := make(chan os.Signal, 1)
	p.abort = abort
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	abort <- os.Interrupt
	if err := within(t, 10*time.Second, "Stop", func() error { return p.Stop(nil) }); !errors.Is(err, ErrStopAborted) {
		t.Fatalf("Stop: %v, want ErrStopAborted", err)
	}
	close(f.hang)
	<-f.ran
}

func TestStopReturnsDrainError(t *testing.T) {
	checkGoroutines(t)
	f := newFakePost()
	f.readyNow = true
	f.stopErr = WithExitCode(ExitStore, errors.New("close store: disk gone"))
	p, _ := testProgram(t, f)
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(nil); ExitCode(err) != ExitStore {
		t.Fatalf("Stop: %v (exit %d), want the drain error (exit %d)", err, ExitCode(err), ExitStore)
	}
}

func TestUnaskedExit(t *testing.T) {
	checkGoroutines(t)
	f := newFakePost()
	f.readyNow = true
	f.failLate = make(chan error, 1)
	p, _ := testProgram(t, f)
	exited := make(chan error, 1)
	p.onExit = func(err error) { exited <- err }
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("badger: corrupt value log")
	f.failLate <- boom
	select {
	case err := <-exited:
		if !errors.Is(err, boom) {
			t.Fatalf("onExit(%v), want the post's error", err)
		}
	case <-time.After(time.Second):
		t.Fatal("onExit not called when the post stopped on its own")
	}
	if err := p.Stop(nil); !errors.Is(err, boom) {
		t.Fatalf("Stop after an unasked exit: %v, want the post's error", err)
	}
}

func TestStopBeforeStart(t *testing.T) {
	p, _ := testProgram(t, newFakePost())
	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
}

// TestRunForeground runs the adapter through kardianos's own Run (on
// Linux without systemd as PID 1 that is its System V service type, which
// honours RunWait like systemd's): ready is announced on $NOTIFY_SOCKET,
// ctx stops it, and the result is a clean exit.
func TestRunForeground(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kardianos's Windows Run waits for Ctrl-C or the SCM; covered by the program tests")
	}
	checkGoroutines(t)
	sock := listenNotify(t)

	f := newFakePost()
	f.readyNow = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, f, Options{ConfigPath: "/x.yaml", Logger: slog.New(slog.DiscardHandler)})
	}()
	if got := readNotify(t, sock); got != "READY=1\nSTATUS=Screening" {
		t.Fatalf("first notification %q", got)
	}
	cancel()
	if got := readNotify(t, sock); got != "STOPPING=1" {
		t.Fatalf("second notification %q", got)
	}
	testkit.Returned(t, done, 5*time.Second, "Run")
}

func TestRunFailures(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows an unasked exit ends the process")
	}
	checkGoroutines(t)
	quiet := Options{ConfigPath: "/x.yaml", Logger: slog.New(slog.DiscardHandler)}

	early := newFakePost()
	early.failEarly = WithExitCode(ExitStore, errors.New("store locked by pid 42"))
	if err := Run(context.Background(), early, quiet); ExitCode(err) != ExitStore {
		t.Errorf("early failure: Run = %v (exit %d), want exit %d", err, ExitCode(err), ExitStore)
	}

	late := newFakePost()
	late.readyNow = true
	late.failLate = make(chan error, 1)
	late.failLate <- errors.New("index rebuild panicked")
	err := within(t, 5*time.Second, "Run", func() error { return Run(context.Background(), late, quiet) })
	if err == nil || ExitCode(err) != ExitFailure {
		t.Errorf("late failure: Run = %v, want a runtime failure", err)
	}
}

// listenNotify points $NOTIFY_SOCKET at a socket the test reads.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("sd_notify is Linux only")
	}
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func readNotify(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 512)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("x"), ExitFailure},
		{WithExitCode(ExitConfig, errors.New("bad")), ExitConfig},
		{errors.Join(errors.New("a"), WithExitCode(ExitDataDir, errors.New("ro"))), ExitDataDir},
		{WithExitCode(ExitStore, nil), ExitOK},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
