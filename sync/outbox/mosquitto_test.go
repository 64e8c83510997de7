package outbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/mqtt"
)

// startMosquitto runs the mosquitto binary on a free loopback port,
// without persistence, and returns its URL; it skips the test when the
// binary is not installed. set_tcp_nodelay matters: with Mosquitto's
// default (Nagle on) every broker-to-client packet of a small-message
// request/response flow waits for the peer's delayed ACK (~40 ms), and
// the drain measured 1,050 hits/s instead of 8,400 (window 32).
func startMosquitto(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("mosquitto"); err != nil {
		t.Skip("mosquitto not on PATH; CI installs it (.ci/run: apt-get install -y mosquitto)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("mosquitto", "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	checkFor(t, 10*time.Second, "mosquitto listening on "+addr, nil, 0, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return "tcp://" + addr
}

func mqttClient(t testing.TB, url, id string) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(mqtt.Options{
		Brokers:              []string{url},
		ClientID:             id,
		KeepAlive:            5 * time.Second,
		PingTimeout:          2 * time.Second,
		ConnectTimeout:       2 * time.Second,
		WriteTimeout:         2 * time.Second,
		ConnectRetryInterval: 100 * time.Millisecond,
		MaxReconnectInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// TestMosquittoDrain drains 10,000 hits through a real Mosquitto to an HQ
// simulator subscribed over MQTT, and reports the rate.
func TestMosquittoDrain(t *testing.T) {
	url := startMosquitto(t)
	n := 10000
	if testing.Short() {
		n = 1000
	}
	hqConn := mqttClient(t, url, "watchpost-hq-test")
	hq := newHQ(t, hqConn, testPost)
	post := mqttClient(t, url, "watchpost-post-"+testPost)
	checkFor(t, 10*time.Second, "both clients connected", nil, 0, func() bool { return hqConn.Connected() && post.Connected() })

	s := openStore(t, t.TempDir())
	ob := openOutbox(t, s, Options{})
	ids := putBatch(t, s, ob, n)
	start := time.Now()
	// A short ack timeout: an ack lost on a loaded test machine (HQ's
	// publish timing out) costs seconds, not the default two minutes.
	r := startPublisher(t, ob, post, PublisherOptions{AckTimeout: 5 * time.Second})
	deadline := time.Now().Add(60 * time.Second)
	for ob.Depth().Records != 0 {
		if time.Now().After(deadline) {
			u, rc, _ := hq.stats()
			t.Fatalf("not drained after 60 s: depth %+v, publisher %+v, HQ %d unique of %d receipts, HQ ack errors %d, post drops %d, HQ drops %d",
				ob.Depth(), r.p.Stats(), u, rc, hq.ackErrCount(), post.Dropped(), hqConn.Dropped())
		}
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(start)
	r.stop(t)
	unique, received, dups := hq.stats()
	if unique != n {
		t.Fatalf("HQ holds %d distinct hits, want %d", unique, n)
	}
	for _, id := range ids {
		if hq.count(id) == 0 {
			t.Fatalf("hit %s lost", id)
		}
	}
	t.Logf("Mosquitto: %d hits drained in %v: %.0f hits/s (%d receipts, %d duplicates, publisher %+v)",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(), received, dups, r.p.Stats())
}
