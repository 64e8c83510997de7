package brokertest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// StartMosquittoConfig starts mosquitto with conf, a complete
// configuration (e.g. a shipped file rewritten to loopback ports and temp
// paths), waits until it accepts connections on 127.0.0.1:port, and stops
// it when the test ends. Restart, Stop and Shutdown work as for
// StartMosquitto. It skips the test when mosquitto is not installed.
func StartMosquittoConfig(t testing.TB, conf string, port int) *Mosquitto {
	t.Helper()
	bin := MosquittoPath()
	if bin == "" {
		t.Skip("mosquitto not found on PATH or at /usr/sbin/mosquitto; CI installs it (.ci/run: apt-get install -y mosquitto)")
	}
	m := &Mosquitto{bin: bin, port: port}
	m.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start(t)
	t.Cleanup(m.Stop)
	return m
}

// Shutdown stops the process with SIGTERM, as a service manager does (so
// Mosquitto writes its persistence database), and waits up to 10 s before
// killing it. Start brings it back on the same port.
func (m *Mosquitto) Shutdown(t testing.TB) {
	t.Helper()
	if m.cmd == nil {
		return
	}
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM mosquitto: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("mosquitto still running 10 s after SIGTERM; killing it")
		_ = m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}
