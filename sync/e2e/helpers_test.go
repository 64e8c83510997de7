package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/brokertest"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/hq"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/snapshot"
	"github.com/watchpost/watchpost/sync/transport"
)

// waitFor polls cond every 10 ms until it returns nil or the deadline
// passes, then fails with cond's last error.
func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: %v", what, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startMochi runs an in-process mochi broker on a random loopback port.
func startMochi(t *testing.T) string {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(brokertest.AllowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "e2e", Address: "127.0.0.1:0"})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "tcp://" + l.Address()
}

// startMosquitto runs Mosquitto with persistence on (so a post's queued
// session survives) and returns its URL, or skips the test when it is not
// installed.
func startMosquitto(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	return brokertest.StartMosquitto(t, "persistence true", "persistence_location "+dir+"/").URL()
}

func openStore(t testing.TB, dir string) *badgerstore.Store {
	t.Helper()
	st, err := badgerstore.Open(dir, badgerstore.Options{MemTableSize: 8 << 20, BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mqttOptions are fast timeouts for loopback tests.
func mqttOptions(url, clientID string) mqtt.Options {
	return mqtt.Options{
		Brokers:              []string{url},
		ClientID:             clientID,
		KeepAlive:            5 * time.Second,
		PingTimeout:          2 * time.Second,
		ConnectTimeout:       2 * time.Second,
		WriteTimeout:         5 * time.Second,
		ConnectRetryInterval: 100 * time.Millisecond,
		MaxReconnectInterval: 200 * time.Millisecond,
	}
}

func connect(t *testing.T, o mqtt.Options, subs map[string]transport.Handler) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for f, h := range subs {
		if err := c.Subscribe(f, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClient(c) })
	waitFor(t, 10*time.Second, o.ClientID+" connected", func() error {
		if !c.Connected() {
			return errors.New("not connected")
		}
		return nil
	})
	return c
}

func closeClient(c *mqtt.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// hqSide is HQ: its store, publisher and HTTPS snapshot server.
type hqSide struct {
	store  *badgerstore.Store
	pub    *hq.Publisher
	signer *protocol.Signer
	keys   *protocol.KeySet
	https  *httptest.Server
	dir    string
}

func startHQ(t *testing.T, brokerURL string) *hqSide {
	t.Helper()
	dir := t.TempDir()
	signer, err := hq.Keygen(filepath.Join(dir, "keys"))
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
	srv := httptest.NewTLSServer(http.FileServer(http.Dir(snapDir)))
	t.Cleanup(srv.Close)
	h := &hqSide{store: openStore(t, filepath.Join(dir, "store")), signer: signer, keys: keys, https: srv, dir: dir}
	cli := connect(t, mqttOptions(brokerURL, "watchpost-hq"), nil)
	h.pub, err = hq.New(hq.Config{
		Store: h.store, Signer: signer, Transport: cli,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: snapDir, SnapshotBaseURL: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// publish publishes an edition and returns the result.
func (h *hqSide) publish(t *testing.T, list string, entries map[string]engine.Entry) hq.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.pub.PublishEntries(ctx, hq.Edition{List: list, Source: "synthetic", Format: "synth"}, func(emit func(*engine.Entry) error) error {
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

// post is one border post as the post daemon will wire it: a replica
// applier over its own store, fed by an MQTT subscription to the list's
// delta and head topics, and a worker that fetches and installs the
// snapshot the last head names whenever the applier asks for one.
type post struct {
	t      *testing.T
	name   string
	list   string
	broker string
	store  *badgerstore.Store
	app    *replica.Applier
	fetch  *snapshot.Fetcher
	dir    string

	mu  sync.Mutex
	cli *mqtt.Client

	dropDeltas atomic.Bool // a lossy link that loses every delta

	applied   atomic.Int64 // deltas applied (directly or from the buffer)
	snapshots atomic.Int64 // snapshots installed
	rejected  atomic.Int64
	errMu     sync.Mutex
	errs      []error // errors other than rejections (must stay empty)
	rejects   []error

	kick chan struct{}
}

func startPost(t *testing.T, name, list, brokerURL string, h *hqSide) *post {
	t.Helper()
	dir := t.TempDir()
	p := &post{t: t, name: name, list: list, broker: brokerURL, dir: dir, kick: make(chan struct{}, 1)}
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.snapshotWorker(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	p.connect()
	return p
}

// connect opens the post's MQTT session (same client id every time: the
// broker keeps the persistent session while the post is away).
func (p *post) connect() {
	p.t.Helper()
	ctx := context.Background()
	c := connect(p.t, mqttOptions(p.broker, "watchpost-post-"+p.name), map[string]transport.Handler{
		hq.DeltaTopic(p.list): func(m transport.Message) {
			if p.dropDeltas.Load() {
				return
			}
			out, err := p.app.HandleDelta(ctx, m.Payload)
			p.note(out, err)
		},
		hq.HeadTopic(p.list): func(m transport.Message) {
			out, err := p.app.HandleHead(ctx, m.Payload)
			p.note(out, err)
		},
	})
	p.mu.Lock()
	p.cli = c
	p.mu.Unlock()
}

// disconnect closes the post's MQTT connection (the post goes offline).
func (p *post) disconnect() {
	p.mu.Lock()
	c := p.cli
	p.cli = nil
	p.mu.Unlock()
	closeClient(c)
}

func (p *post) note(out replica.Outcome, err error) {
	switch {
	case out.Action == replica.Rejected:
		p.rejected.Add(1)
		p.errMu.Lock()
		p.rejects = append(p.rejects, err)
		p.errMu.Unlock()
		return
	case err != nil:
		p.errMu.Lock()
		p.errs = append(p.errs, fmt.Errorf("%s: %s: %w", p.name, out.Action, err))
		p.errMu.Unlock()
	}
	switch out.Action {
	case replica.Applied:
		p.applied.Add(1)
	case replica.NeedSnapshot, replica.FetchDeltas:
		// The HTTPS delta fetch is design (PROTOCOL.md 5.3); the snapshot
		// the head names brings the post to that version.
		p.nudge()
	}
}

// nudge asks the snapshot worker to look at the last head.
func (p *post) nudge() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *post) snapshotWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		}
		head, ok := p.app.LastHead(p.list)
		if !ok || head.SnapshotURL == "" {
			continue
		}
		if st, err := p.app.Status(p.list); err == nil && st.Replicated && !st.Diverged && st.Epoch == head.Epoch && st.Version >= head.Version {
			continue // deltas got there first
		}
		path, err := p.fetch.Fetch(ctx, head, filepath.Join(p.dir, "snapshots"))
		if err == nil {
			var out replica.Outcome
			out, err = p.app.InstallSnapshot(ctx, head, path)
			if out.Action == replica.Applied {
				p.snapshots.Add(1)
			}
			os.Remove(path)
		}
		if err != nil && ctx.Err() == nil {
			if newer, ok := p.app.LastHead(p.list); ok && newer.Position().Compare(head.Position()) > 0 {
				// A head queued by the persistent session named a snapshot
				// HQ has since pruned (404); the newer head names a kept one.
				p.nudge()
				continue
			}
			var se *snapshot.StatusError
			if errors.As(err, &se) && se.Code == http.StatusNotFound {
				// HQ published again and pruned this snapshot before the
				// newer head reached the post; that head's arrival nudges
				// the worker again. A post that never gets it does not
				// converge, and the test's convergence wait fails.
				continue
			}
			p.errMu.Lock()
			p.errs = append(p.errs, fmt.Errorf("%s: snapshot %s: %w", p.name, head.SnapshotURL, err))
			p.errMu.Unlock()
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
