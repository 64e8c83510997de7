package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/sync/brokertest"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/agent"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/snapshot"
	"github.com/watchpost/watchpost/sync/transport"
)

// startMosquitto runs Mosquitto with persistence on (so a post's queued
// session survives) and returns its URL, or skips the test when it is not
// installed.
func startMosquitto(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	conf := []string{"persistence true", "persistence_location " + dir + "/"}
	if os.Geteuid() == 0 {
		// As root, Mosquitto switches to the user "mosquitto", which
		// cannot write the test's private temp directory and would run
		// without saving its database.
		conf = append(conf, "user root")
	}
	return brokertest.StartMosquitto(t, conf...).URL()
}

func openStore(t testing.TB, dir string) *badgerstore.Store {
	t.Helper()
	return storetest.Open(t, dir)
}

// hqSide is HQ: its store, publisher and HTTPS snapshot server.
type hqSide struct {
	store  *badgerstore.Store
	pub    *publish.Publisher
	signer *protocol.Signer
	keys   *protocol.KeySet
	https  *httptest.Server
	dir    string
	// deltaURL is where posts fetch missing deltas; noDeltas makes HQ
	// answer 404 for every delta (as if they had left its window).
	deltaURL string
	noDeltas atomic.Bool
}

func startHQ(t testing.TB, brokerURL string) *hqSide {
	t.Helper()
	dir := t.TempDir()
	signer, err := publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	snapDir := filepath.Join(dir, "snapshots")
	if err := os.MkdirAll(snapDir, 0o750); err != nil {
		t.Fatal(err)
	}
	h := &hqSide{signer: signer, keys: keys, dir: dir}
	mux := http.NewServeMux()
	mux.Handle(protocol.PathSnapshots, http.StripPrefix(protocol.PathSnapshots, http.FileServer(http.Dir(snapDir))))
	deltas := http.StripPrefix(protocol.PathDeltas, http.FileServer(http.Dir(filepath.Join(dir, "deltas"))))
	mux.HandleFunc(protocol.PathDeltas, func(w http.ResponseWriter, r *http.Request) {
		if h.noDeltas.Load() {
			http.NotFound(w, r)
			return
		}
		deltas.ServeHTTP(w, r)
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	h.https, h.deltaURL = srv, srv.URL
	h.store = openStore(t, filepath.Join(dir, "store"))
	cli := mqtttest.Connect(t, mqtttest.Options(brokerURL, "watchpost-hq"), nil)
	h.pub, err = publish.New(publish.Config{
		Store: h.store, Signer: signer, Transport: cli,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: snapDir, SnapshotBaseURL: protocol.SnapshotsURL(srv.URL),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// publish publishes an edition and returns the result.
func (h *hqSide) publish(t testing.TB, list string, entries map[string]engine.Entry) publish.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.pub.PublishEntries(ctx, publish.Edition{List: list, Source: "synthetic", Format: "synth"}, func(emit func(*engine.Entry) error) error {
		for _, e := range entries {
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed {
		t.Fatalf("edition of %s made no new version", list)
	}
	return res
}

// post is one border post wired as the daemon wires it: a replica
// applier over its own store, driven by a sync/agent over an MQTT client
// (through lossyLink, which can drop every delta like a bad link).
type post struct {
	t      testing.TB
	name   string
	list   string
	broker string
	store  *badgerstore.Store
	app    *replica.Applier
	fetch  *snapshot.Fetcher
	h      *hqSide
	dir    string

	mu    sync.Mutex
	cli   *mqtt.Client
	agent *agent.Agent
	stop  func()

	dropDeltas atomic.Bool // a lossy link that loses every delta

	applied   atomic.Int64 // deltas applied (from MQTT or fetched)
	snapshots atomic.Int64 // snapshots installed
	fetched   atomic.Int64 // deltas fetched over HTTPS and applied
	rejected  atomic.Int64
	appliedAt sync.Map // HQ version → time.Time it was first held
	errMu     sync.Mutex
	errs      []error // errors other than rejections (must stay empty)
	rejects   []error
}

func startPost(t testing.TB, name, list, brokerURL string, h *hqSide) *post {
	t.Helper()
	dir := t.TempDir()
	p := &post{t: t, name: name, list: list, broker: brokerURL, dir: dir, h: h}
	p.store = openStore(t, filepath.Join(dir, "store"))
	var err error
	p.app, err = replica.New(replica.FromBadger(p.store), replica.Config{Keys: h.keys, Lists: []string{list}})
	if err != nil {
		t.Fatal(err)
	}
	p.fetch, err = snapshot.New(snapshot.Options{
		HTTPClient: h.https.Client(), // trusts the test server's CA only
		Backoff:    func(int, time.Duration) time.Duration { return 20 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	p.connect()
	t.Cleanup(p.disconnect)
	return p
}

// lossyLink is the post's MQTT client with a switch that drops every
// delta before the agent sees it.
type lossyLink struct {
	*mqtt.Client
	p *post
}

func (l lossyLink) Subscribe(filter string, h transport.Handler) error {
	return l.Client.Subscribe(filter, func(m transport.Message) {
		if l.p.dropDeltas.Load() && m.Topic == protocol.DeltaTopic(l.p.list) {
			return
		}
		h(m)
	})
}

// connect opens the post's MQTT session (same client id every time: the
// broker keeps the persistent session while the post is away) and runs a
// new agent over it.
func (p *post) connect() {
	p.t.Helper()
	c, err := mqtt.New(mqtttest.Options(p.broker, "watchpost-post-"+p.name))
	if err != nil {
		p.t.Fatal(err)
	}
	ag, err := agent.New(agent.Config{
		Post: p.name, Transport: lossyLink{c, p}, Applier: p.app,
		Fetcher: p.fetch, WorkDir: filepath.Join(p.dir, "snapshots"),
		DeltaBaseURL: p.h.deltaURL,
		RetryMin:     20 * time.Millisecond, RetryMax: 200 * time.Millisecond, CheckInterval: 200 * time.Millisecond,
		OnOutcome: p.note,
		OnCatchUpError: func(list string, err error) {
			p.errMu.Lock()
			p.errs = append(p.errs, fmt.Errorf("%s: catching up %s: %w", p.name, list, err))
			p.errMu.Unlock()
		},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := ag.Subscribe(); err != nil {
		p.t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ag.Run(ctx); err != nil {
			p.errMu.Lock()
			p.errs = append(p.errs, err)
			p.errMu.Unlock()
		}
	}()
	p.mu.Lock()
	p.cli, p.agent = c, ag
	p.stop = func() { cancel(); <-done; mqtttest.Close(c) }
	p.mu.Unlock()
	testkit.CheckFor(p.t, 10*time.Second, p.name+" connected", func() error {
		if !c.Connected() {
			return errors.New("not connected")
		}
		return nil
	})
}

// disconnect stops the agent and closes the post's MQTT connection (the
// post goes offline). It is idempotent.
func (p *post) disconnect() {
	p.mu.Lock()
	stop := p.stop
	p.cli, p.agent, p.stop = nil, nil, nil
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (p *post) note(kind, list string, out replica.Outcome, err error) {
	switch {
	case out.Action == replica.Rejected:
		p.rejected.Add(1)
		p.errMu.Lock()
		p.rejects = append(p.rejects, err)
		p.errMu.Unlock()
		return
	case err != nil:
		p.errMu.Lock()
		p.errs = append(p.errs, fmt.Errorf("%s: %s %s: %w", p.name, kind, out.Action, err))
		p.errMu.Unlock()
	}
	if out.Action == replica.Applied {
		p.appliedAt.LoadOrStore(out.ToVersion, time.Now())
		switch kind {
		case "snapshot":
			p.snapshots.Add(1)
		case "fetched-delta":
			p.fetched.Add(1)
			p.applied.Add(1)
		default:
			p.applied.Add(1)
		}
	}
}

// converged says why the post does not hold HQ's current version.
func (p *post) converged(h *hqSide) error {
	want, err := h.store.List(p.list)
	if err != nil {
		return err
	}
	got, err := p.store.List(p.list)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	st, err := p.app.Status(p.list)
	if err != nil {
		return err
	}
	if got.Hash != want.Hash || st.Version != want.Version || st.Diverged {
		return fmt.Errorf("%s holds version %d (hash %.16s, %d entries, diverged %v), HQ %d (hash %.16s, %d entries)",
			p.name, st.Version, got.Hash, got.Entries, st.Diverged, want.Version, want.Hash, want.Entries)
	}
	return nil
}

func (p *post) errors() []error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return append([]error(nil), p.errs...)
}

func (p *post) rejections() []error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return append([]error(nil), p.rejects...)
}

// readDelta returns HQ's kept delta to version to (epoch 1).
func readDelta(h *hqSide, to uint64) ([]byte, error) {
	return os.ReadFile(filepath.Join(h.dir, "deltas", listName, fmt.Sprintf("1-%d.delta", to)))
}
