package hqserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/transport"
)

// forEachBroker runs f against an in-process mochi broker and against
// Mosquitto (skipped when it is not installed): the same suite on both.
func forEachBroker(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("mochi", func(t *testing.T) { f(t, brokertest.StartMochi(t)) })
	t.Run("mosquitto", func(t *testing.T) {
		f(t, brokertest.StartMosquitto(t, "persistence false", "set_tcp_nodelay true").URL())
	})
}

func openStore(t testing.TB, dir string) *badgerstore.Store {
	t.Helper()
	return storetest.Open(t, dir)
}

// newClient returns an MQTT client with loopback timeouts and the given
// subscriptions, not started.
func newClient(t testing.TB, url, id string, subs map[string]transport.Handler) *mqtt.Client {
	t.Helper()
	return mqtttest.New(t, mqtttest.Options(url, id), subs)
}

// hqRig is HQ's server on a broker, with its own store.
type hqRig struct {
	srv   *Server
	store *badgerstore.Store
	cli   *mqtt.Client
	stop  func()
}

// startHQ starts a Server over an MQTT client; cfg's Store and Transport
// are filled in.
func startHQ(t testing.TB, url string, cfg Config) *hqRig {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = openStore(t, t.TempDir())
	}
	cli := newClient(t, url, "watchpost-hq-serve", nil)
	cfg.Transport = cli
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.Start(t, cli)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			testkit.Returned(t, done, 10*time.Second, "Run")
		})
	}
	t.Cleanup(stop)
	return &hqRig{srv: srv, store: cfg.Store, cli: cli, stop: stop}
}

// hitPayload is a valid HitReport of post.
func hitPayload(post string, i int) []byte {
	return fmt.Appendf(nil, `{"post":%q,"screened_at":"2026-07-01T10:00:00Z","source":"api","traveller":{"name":"Traveller %d"},`+
		`"hits":[{"list":"un","list_version":7,"entry_id":"QDi.%03d","score":0.97,"band":"strong","matched_name":"X","explanation":{}}]}`, post, i, i%1000)
}

// publishList publishes a small edition of list in st through a publisher
// over tr and returns it.
func publishList(t testing.TB, st *badgerstore.Store, tr transport.Transport, list string, n int) *publish.Publisher {
	t.Helper()
	dir := t.TempDir()
	signer, err := publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "snapshots"), 0o750); err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(publish.Config{Store: st, Signer: signer, Transport: tr,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: filepath.Join(dir, "snapshots")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err = pub.PublishEntries(ctx, publish.Edition{List: list, Source: "test", Format: "synth"}, persons(n)); err != nil {
		t.Fatal(err)
	}
	return pub
}

// persons is an edition of n persons, E0 "Person Number 0" and on.
func persons(n int) func(emit func(*engine.Entry) error) error {
	return func(emit func(*engine.Entry) error) error {
		for i := range n {
			e := engine.Entry{ID: fmt.Sprintf("E%d", i), Kind: engine.KindPerson,
				Names: []engine.Name{{Value: fmt.Sprintf("Person Number %d", i), Kind: engine.NamePrimary}}}
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	}
}

// request sends method path (with body, when not nil, and the headers
// hdr) to ts and returns the response with its whole body read.
func request(t testing.TB, ts *httptest.Server, method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
