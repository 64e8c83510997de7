package fieldtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// The published UN and OFAC lists the tests publish, checked in (gzipped,
// with their digests and provenance) by engine/importer's corpus tests.
const (
	corpusDir = "../../engine/importer/testdata/corpus"
	unFile    = "UN_consolidated_2026-02-27.xml.gz"
	ofacDir   = "ofac_sdn_csv_2021-07"
)

// readCorpus returns the UN and OFAC lists' entries.
func readCorpus(t testing.TB) (un, ofac []engine.Entry) {
	t.Helper()
	b := gunzip(t, filepath.Join(corpusDir, unFile))
	if err := importer.ReadUNXML(strings.NewReader(string(b)), unFile, collect(&un)); err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	des, err := os.ReadDir(filepath.Join(corpusDir, ofacDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		name := strings.TrimSuffix(de.Name(), ".gz")
		files[name] = &fstest.MapFile{Data: gunzip(t, filepath.Join(corpusDir, ofacDir, de.Name()))}
	}
	if err := importer.ReadOFAC(files, collect(&ofac)); err != nil {
		t.Fatal(err)
	}
	return un, ofac
}

func collect(into *[]engine.Entry) func(*engine.Entry) error {
	return func(e *engine.Entry) error {
		*into = append(*into, *e)
		return nil
	}
}

func gunzip(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			b, err = io.ReadAll(zr)
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// changed returns a new edition of entries with pct percent of them
// changed, seeded: a third removed, a third given an alias, a third added.
func changed(entries []engine.Entry, pct float64, seed int64, tag string) []engine.Entry {
	n := int(float64(len(entries)) * pct / 100)
	n = max(n, 3)
	rng := rand.New(rand.NewSource(seed))
	idx := rng.Perm(len(entries))
	removed := map[int]bool{}
	for _, i := range idx[:n/3] {
		removed[i] = true
	}
	alias := map[int]bool{}
	for _, i := range idx[n/3 : 2*n/3] {
		alias[i] = true
	}
	out := make([]engine.Entry, 0, len(entries))
	for i, e := range entries {
		switch {
		case removed[i]:
			continue
		case alias[i]:
			e.Names = append(append([]engine.Name(nil), e.Names...), engine.Name{Value: fmt.Sprintf("Field Alias %s %d", tag, i), Kind: engine.NameAlias})
		}
		out = append(out, e)
	}
	for i := range n - 2*(n/3) {
		out = append(out, fieldPerson(fmt.Sprintf("FIELD-%s-%d", tag, i), fmt.Sprintf("Fieldperson %s Number%d", tag, i)))
	}
	return out
}

// fieldPerson is a national addition a test screens for.
func fieldPerson(id, name string) engine.Entry {
	d, err := engine.ParseBirthDate("1971-03-14")
	if err != nil {
		panic(err)
	}
	return engine.Entry{ID: id, Kind: engine.KindPerson, Names: []engine.Name{{Value: name, Kind: engine.NamePrimary}},
		BirthDates: []engine.BirthDate{d}, Nationalities: []string{"NLD"}, Remarks: "field test addition"}
}

func emitAll(entries []engine.Entry) func(emit func(*engine.Entry) error) error {
	return func(emit func(*engine.Entry) error) (err error) {
		for i := 0; i < len(entries) && err == nil; i++ {
			err = emit(&entries[i])
		}
		return err
	}
}

// field is HQ (daemon.HQ with its embedded broker and HTTPS) and a post
// (daemon.Post) that reaches HQ's broker and HTTPS only across link.
type field struct {
	t      *testing.T
	link   *Link
	hq     *daemon.HQ
	signer *protocol.Signer
	caFile string
	// broker and https are the post's addresses of HQ, across the link.
	broker, https string
	post          *daemon.Post
	stopPost      func()
	lists         []string
}

// testLogger logs to the test at warn and above (the post's reconnects
// over a bad link are its ordinary life).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// newField starts HQ and the link; the post starts with startPost.
func newField(t *testing.T, seed int64, lists ...string) *field {
	t.Helper()
	f := &field{t: t, link: NewLink(seed), lists: lists}
	t.Cleanup(f.link.Close)
	var hq *daemon.HQ
	brokerAddr, err := f.link.Forward(func() string {
		plain, _ := hq.BrokerURLs()
		return strings.TrimPrefix(plain, "tcp://")
	})
	if err != nil {
		t.Fatal(err)
	}
	httpsAddr, err := f.link.Forward(func() string { return strings.TrimPrefix(hq.URL(), "https://") })
	if err != nil {
		t.Fatal(err)
	}
	f.broker, f.https = "tcp://"+brokerAddr, "https://"+httpsAddr

	dir := t.TempDir()
	f.signer, err = publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	ca := brokertest.NewCA(t, "field CA")
	leaf := ca.Issue(t, brokertest.Leaf{CN: "hq.field", Server: true})
	f.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(f.caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	hq, err = daemon.NewHQ(daemon.HQConfig{
		DataDir: filepath.Join(dir, "hq"), Signer: f.signer, SnapshotURL: protocol.SnapshotsURL(f.https),
		EmbeddedBroker: &broker.Options{Addr: "127.0.0.1:0", AllowAnonymousLoopback: true},
		Listen:         "127.0.0.1:0", HTTPS: &tls.Config{Certificates: []tls.Certificate{leaf.Pair}, MinVersion: tls.VersionTLS12},
		AdminToken: "field-test-admin-token", Logger: testLogger(t).With(logkey.Component, "hq"),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.hq = hq
	run(t, "HQ", hq.Run)
	return f
}

// run starts a component's Run and waits until it is ready; it stops
// when the test ends.
func run(t *testing.T, name string, fn func(ctx context.Context, ready func()) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- fn(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("%s: %v", name, err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("%s: not ready within 60 s", name)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// startPost starts the post with the configuration's defaults (status
// interval, keep-alive, the MQTT back-off): the link is the test's only
// change to its field life.
func (f *field) startPost(name string) {
	t := f.t
	t.Helper()
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: f.signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.PostID = name
	cfg.DataDir = filepath.Join(t.TempDir(), name)
	cfg.HQ.Brokers = []string{f.broker}
	cfg.HQ.URL = f.https
	cfg.HQ.CAFile = f.caFile
	cfg.HQ.KeySet = keys
	cfg.Lists = f.lists
	cfg.API.Listen = "127.0.0.1:0"
	p, err := daemon.NewPost(cfg, daemon.PostOptions{Software: "fieldtest", Logger: testLogger(t).With(logkey.Post, name)})
	if err != nil {
		t.Fatal(err)
	}
	f.post = p
	f.stopPost = run(t, name, p.Run)
}

// publish publishes an edition of list.
func (f *field) publish(list string, entries []engine.Entry) publish.Result {
	f.t.Helper()
	res, err := f.hq.Publisher().PublishEntries(context.Background(), publish.Edition{List: list, Source: "field test " + list, Format: "native"}, emitAll(entries))
	if err != nil {
		f.t.Fatalf("publish %s: %v", list, err)
	}
	return res
}

// screenable reports whether the post screens on HQ's current version of
// every list.
func (f *field) screenable() error {
	indexed := map[string]string{}
	for _, in := range f.post.Indexed() {
		indexed[in.Name] = in.Hash
	}
	for _, l := range f.lists {
		want, err := f.hq.Store().List(l)
		if err != nil {
			return err
		}
		if indexed[l] != want.Hash {
			return fmt.Errorf("list %s: the post screens on %.12s, HQ holds version %d %.12s", l, indexed[l], want.Version, want.Hash)
		}
	}
	return nil
}

// waitScreenable waits up to d for screenable and returns how long it
// took.
func (f *field) waitScreenable(d time.Duration, what string) time.Duration {
	f.t.Helper()
	start := time.Now()
	testkit.CheckFor(f.t, d, what, f.screenable, testkit.Every(50*time.Millisecond))
	return time.Since(start)
}

// hitsAtHQ counts HQ's hit records by id.
func (f *field) hitsAtHQ() map[string]int {
	f.t.Helper()
	recs, err := f.hq.Server().Hits(context.Background(), hqserver.HitFilter{Kind: protocol.RecordHit.String(), Limit: 100000})
	if err != nil {
		f.t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range recs {
		n[r.ID]++
	}
	return n
}
