package testkit

import (
	"bufio"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Child is a process started by StartChild: usually the test binary itself,
// run with -test.run naming a helper test, so that a test can kill it.
type Child struct {
	Cmd     *exec.Cmd
	what    string
	drained chan struct{}
}

// StartChild starts cmd with its standard output piped, hands every line
// it writes to each (when not nil, on another goroutine), and waits up to
// total for a line that starts with "ready". It fails the test if cmd
// exits first or is not ready in time (it is then killed); what names the
// child in the failures.
func StartChild(t testing.TB, cmd *exec.Cmd, total time.Duration, what string, each func(line string)) *Child {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{Cmd: cmd, what: what, drained: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		defer close(c.drained)
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if each != nil {
				each(sc.Text())
			}
			if strings.HasPrefix(sc.Text(), "ready") && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("%s exited before it was ready", what)
		}
	case <-time.After(total):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("%s not ready within %v", what, total)
	}
	return c
}

// Wait waits for the child to exit, after every line it wrote has been
// handed on, and returns how it ended.
func (c *Child) Wait() error {
	<-c.drained
	return c.Cmd.Wait()
}

// Kill SIGKILLs the child (on Unix) and fails the test unless the kill is
// what ended it.
func (c *Child) Kill(t testing.TB) {
	t.Helper()
	if err := c.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("%s did not die from the kill: %v", c.what, err)
	}
}
