package cli

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
)

// TestHelperRun is not a test: TestRunStopsOnOneSIGTERM runs the test
// binary as `watchpost run` through it.
func TestHelperRun(t *testing.T) {
	if os.Getenv("WATCHPOST_HELPER_RUN") == "" {
		t.Skip("helper process")
	}
	os.Exit(Main([]string{"run", "--config", os.Getenv("WATCHPOST_HELPER_RUN")}, &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}

// TestRunStopsOnOneSIGTERM: one SIGTERM (what systemd sends) stops
// `watchpost run` cleanly with exit 0. The command's context and the
// service adapter both hear the signal; counted twice, it ended the stop
// as "aborted by a second signal" with exit 1 (seen under systemd, twice in
// about twenty stops). The race is rare, so 20 rounds catch it only
// sometimes; the test states the contract.
func TestRunStopsOnOneSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	for round := 0; round < 20; round++ {
		dir := t.TempDir()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		conf := filepath.Join(dir, "watchpost.yaml")
		if err := os.WriteFile(conf, []byte(fmt.Sprintf("post_id: sigterm-test\ndata_dir: %s\napi:\n  listen: %s\n", filepath.Join(dir, "data"), addr)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRun$")
		cmd.Env = append(os.Environ(), "WATCHPOST_HELPER_RUN="+conf)
		out, err := os.Create(filepath.Join(dir, "out.txt"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		up := func() error {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		if err := testkit.Poll(30*time.Second, up, testkit.Every(20*time.Millisecond)); err != nil {
			cmd.Process.Kill()
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("round %d: the post did not come up: %v\n%s", round, err, b)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b, _ := os.ReadFile(out.Name())
				t.Fatalf("round %d: one SIGTERM: %v, want exit 0\n%s", round, err, b)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("round %d: not stopped 20 s after SIGTERM", round)
		}
		out.Close()
	}
}
