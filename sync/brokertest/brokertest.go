// Package brokertest starts MQTT brokers on loopback for tests: Mosquitto,
// the reference broker, from its binary (skipping the test when it is not
// installed), and in-process mochi brokers with an allow-all hook. It also
// makes the throwaway CAs and certificates of the TLS tests. Only tests
// import it.
package brokertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/watchpost/watchpost/engine/testkit"
)

// MosquittoPath finds the mosquitto binary on PATH or at /usr/sbin, or "".
func MosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	return ""
}

// Mosquitto is a mosquitto process listening on a free loopback port.
type Mosquitto struct {
	bin  string
	port int
	conf string
	cmd  *exec.Cmd
}

// StartMosquitto writes a config (a loopback listener, anonymous access,
// errors logged to stderr, plus the extra lines given, e.g.
// "set_tcp_nodelay true"), starts mosquitto, waits until it listens, and
// stops it when the test ends. It skips the test when mosquitto is not
// installed; .ci/run installs it.
func StartMosquitto(t testing.TB, extra ...string) *Mosquitto {
	t.Helper()
	port := FreePort(t)
	lines := append([]string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"log_dest stderr",
		"log_type error",
	}, extra...)
	return StartMosquittoConfig(t, strings.Join(lines, "\n")+"\n", port)
}

// Start (re)starts the process and waits until it accepts connections.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stderr = os.Stderr
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := m.Addr()
	testkit.CheckFor(t, 10*time.Second, "mosquitto listening on "+addr, func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}, testkit.Every(20*time.Millisecond))
}

// Stop kills the process; it is idempotent.
func (m *Mosquitto) Stop() {
	if m.cmd != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
		m.cmd = nil
	}
}

// Restart stops and starts the broker on the same port.
func (m *Mosquitto) Restart(t testing.TB) { m.Stop(); m.Start(t) }

// Addr is the broker's host:port.
func (m *Mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// URL is the broker's tcp:// URL.
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr() }

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// AllowAll is a mochi hook that lets every client connect, publish and
// subscribe (loopback tests only).
type AllowAll struct{ mochi.HookBase }

// ID names the hook.
func (*AllowAll) ID() string { return "allow-all" }

// Provides says which events the hook handles.
func (*AllowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// OnConnectAuthenticate accepts every client.
func (*AllowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

// OnACLCheck allows every topic.
func (*AllowAll) OnACLCheck(*mochi.Client, string, bool) bool { return true }
