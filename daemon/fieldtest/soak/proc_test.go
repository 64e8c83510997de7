package soak

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
)

// buildBinaries builds watchpost and watchpost-hq into a temporary
// directory, with the faultclock tag: their clock can then be jumped
// through the file named by clock.FaultClockEnv.
func buildBinaries(t *testing.T) (post, hq string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "faultclock", "-o", dir+"/", "./cmd/watchpost", "./cmd/watchpost-hq")
	cmd.Dir = "../../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "watchpost"), filepath.Join(dir, "watchpost-hq")
}

// proc is a process the soak starts, kills and restarts. An exit the
// test did not cause is counted: a process that dies by itself, or
// restarts in a loop, breaks the soak's last invariant.
type proc struct {
	t     *testing.T
	name  string
	argv  []string
	env   []string // added to the test's environment
	log   string
	ready func() error

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	killing    bool
	starts     int
	unexpected []string
}

func newProc(t *testing.T, name, logDir string, ready func() error, argv ...string) *proc {
	p := &proc{t: t, name: name, argv: argv, log: filepath.Join(logDir, name+".log"), ready: ready}
	t.Cleanup(func() { p.kill() })
	return p
}

// start starts the process and waits until it is ready.
func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), p.env...)
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.killing = cmd, done, false
	p.starts++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		if !p.killing {
			p.unexpected = append(p.unexpected, fmt.Sprintf("%s exited by itself: %v", p.name, err))
		}
		p.mu.Unlock()
		close(done)
	}()
	if err := testkit.Poll(60*time.Second, func() error {
		select {
		case <-done:
			return fmt.Errorf("%s exited", p.name)
		default:
		}
		return p.ready()
	}, testkit.Every(20*time.Millisecond)); err != nil {
		b, _ := os.ReadFile(p.log)
		p.t.Fatalf("%s not ready: %v\n%s", p.name, err, tail(b, 3000))
	}
}

// signal sends sig and waits for the process to end.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.killing = true
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within 30 s of %v", p.name, sig)
	}
	if sig == syscall.SIGTERM && !cmd.ProcessState.Success() {
		return fmt.Errorf("%s: %v after SIGTERM", p.name, cmd.ProcessState)
	}
	return nil
}

// kill is kill -9.
func (p *proc) kill() { _ = p.signal(syscall.SIGKILL) }

// exits returns the exits the test did not cause.
func (p *proc) exits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unexpected...)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
