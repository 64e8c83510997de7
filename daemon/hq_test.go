package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/apitest"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/transport"
)

func TestNewHQRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]HQConfig{
		"no data dir":          {},
		"two brokers":          {DataDir: dir, Link: &HQLink{URL: "tcp://127.0.0.1:1883"}, EmbeddedBroker: &broker.Options{Addr: "127.0.0.1:0"}},
		"plain HTTP, not loop": {DataDir: dir, Listen: "0.0.0.0:8443"},
		"short admin token":    {DataDir: dir, Listen: "127.0.0.1:0", AdminToken: "short"},
		"http snapshot URL":    {DataDir: dir, SnapshotURL: protocol.SnapshotsURL("http://hq.example")},
		"self URL without TLS": {DataDir: dir, Listen: "127.0.0.1:0", SelfSnapshotURL: true},
	} {
		if _, err := NewHQ(cfg); err == nil {
			t.Errorf("%s: NewHQ accepted %+v", name, cfg)
		}
	}
}

// TestHQStoreOnly: without a broker, Open wires the store and a query
// server only; a second HQ on the same data directory is told the store
// is in use.
func TestHQStoreOnly(t *testing.T) {
	dir := t.TempDir()
	h, err := NewHQ(HQConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h.Store() == nil || h.Server() == nil || h.Publisher() != nil {
		t.Errorf("store %v, server %v, publisher %v: want a store and a server, no publisher", h.Store(), h.Server(), h.Publisher())
	}
	if posts, err := h.Server().Posts(t.Context()); err != nil || len(posts) != 0 {
		t.Errorf("Posts = %v, %v", posts, err)
	}
	other, err := NewHQ(HQConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Open(t.Context()); !errors.Is(err, ErrHQStoreInUse) {
		t.Errorf("second Open: %v, want ErrHQStoreInUse", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHQRun runs HQ as the demo does (embedded broker, plain HTTP on
// loopback): it serves /healthz and the snapshots its publisher writes,
// keeps the admin API behind its token, and stops when ctx ends, closing
// its store.
// runHQ runs an HQ with a signing key, the embedded broker and plain
// HTTP on loopback (admin token testAdminToken) until the returned stop,
// which returns Run's error.
func runHQ(t *testing.T) (h *HQ, ctx context.Context, stop func() error) {
	t.Helper()
	dir := t.TempDir()
	signer, err := publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return runHQConfig(t, HQConfig{
		DataDir: dir, Signer: signer, SnapshotURL: protocol.SnapshotsURL("https://hq.example"),
		EmbeddedBroker: &broker.Options{Addr: "127.0.0.1:0"},
		Listen:         "127.0.0.1:0", AdminToken: testAdminToken, ConnectTimeout: 20 * time.Second,
	})
}

// runHQConfig runs an HQ of cfg until the test ends or stop is called.
func runHQConfig(t *testing.T, cfg HQConfig) (h *HQ, ctx context.Context, stop func() error) {
	t.Helper()
	h, err := NewHQ(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- h.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	return h, ctx, func() error { cancel(); return <-done }
}

var testAdminToken = strings.Repeat("t", 16)

// hqDo sends a request to h and returns the status and body.
func hqDo(t *testing.T, ctx context.Context, h *HQ, method, path, token string, body io.Reader) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, h.URL()+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, b := apitest.Send(t, http.DefaultClient, req)
	return resp.StatusCode, string(b)
}

func TestHQRun(t *testing.T) {
	h, ctx, stop := runHQ(t)
	if plain, _ := h.BrokerURLs(); !strings.HasPrefix(plain, "tcp://127.0.0.1:") {
		t.Errorf("embedded broker at %q", plain)
	}
	res, err := h.Publisher().PublishEntries(ctx, publish.Edition{List: "national", Format: "csv"}, func(emit func(*engine.Entry) error) error {
		return emit(&engine.Entry{ID: "N1", Kind: engine.KindPerson, Names: []engine.Name{{Value: "Ivan Petrov", Kind: engine.NamePrimary}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, token string) (int, string) { return hqDo(t, ctx, h, http.MethodGet, path, token, nil) }
	if code, body := get(protocol.PathHealth, ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := get(protocol.PathSnapshots+res.SnapshotFile, ""); code != 200 {
		t.Errorf("snapshot %s: %d", res.SnapshotFile, code)
	}
	if code, _ := get(protocol.PathPosts, ""); code != http.StatusUnauthorized {
		t.Errorf("admin API without the token: %d, want 401", code)
	}
	if code, _ := get(protocol.PathPosts, testAdminToken); code != 200 {
		t.Errorf("admin API with the token: %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if h.Store() != nil {
		t.Error("the store is still open after Run returned")
	}
}

// TestHQRepublishesAfterBrokerRestart: a broker that comes back without
// its retained messages (Mosquitto without persistence here; a kill can
// also lose the last writes of a persistent one) gets HQ's seal-key
// statement again as soon as HQ reconnects, not at HQ's next re-signing
// hours later: without it a post that subscribes meanwhile cannot seal a
// hit.
func TestHQRepublishesAfterBrokerRestart(t *testing.T) {
	m := brokertest.StartMosquitto(t)
	dir := t.TempDir()
	signer, err := publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	runHQConfig(t, HQConfig{
		DataDir: dir, Signer: signer, SnapshotURL: protocol.SnapshotsURL("https://hq.example"),
		Link: &HQLink{URL: m.URL()}, Listen: "127.0.0.1:0", AdminToken: testAdminToken, ConnectTimeout: 20 * time.Second,
	})
	readers := 0
	retained := func() error {
		readers++
		got := make(chan struct{}, 1)
		c := mqtttest.New(t, mqtttest.Options(m.URL(), fmt.Sprintf("reader-%d", readers)), map[string]transport.Handler{
			protocol.SealKeyTopic(signer.ID()): func(msg transport.Message) {
				if msg.Retained {
					select {
					case got <- struct{}{}:
					default:
					}
				}
			},
		})
		mqtttest.Start(t, c)
		defer mqtttest.Close(c)
		select {
		case <-got:
			return nil
		case <-time.After(2 * time.Second):
			return errors.New("no retained seal-key statement at the broker")
		}
	}
	testkit.CheckFor(t, 30*time.Second, "HQ's seal-key statement retained at the broker", retained)
	m.Restart(t)
	testkit.CheckFor(t, time.Minute, "the statement retained again after the broker came back empty", retained)
}
