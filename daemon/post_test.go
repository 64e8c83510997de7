package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/testkit"
)

// TestPostLifecycle runs a post with no link to HQ: it becomes ready
// with a list imported locally, screens through its API and its intake
// folder, and stops within its budget leaving no goroutine behind.
func TestPostLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.PostID = "test-post"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.API.Listen = "127.0.0.1:0"
	cfg.Intake.Dir = filepath.Join(dir, "intake")
	cfg.Intake.Interval = config.Duration(20 * time.Millisecond)
	cfg.Intake.StableFor = config.Duration(10 * time.Millisecond)
	cfg.StopTimeout = config.Duration(5 * time.Second)

	// The UN list, imported locally before the post starts.
	st, err := OpenStore(cfg.DataDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	importUN(t, st, "")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	before := testkit.Goroutines()
	p, err := NewPost(cfg, PostOptions{Software: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := runUntilReady(t, p)
	base := "http://" + p.APIAddr()

	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %s, want 200 with a list loaded", resp.Status)
	}
	resp, err = http.Post(base+"/v1/screen", "application/json", strings.NewReader(`{"name":"Saadi Gaddafi","birth_date":"1973-05-27"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var sr struct {
		Band  string `json:"band"`
		HitID string `json:"hit_id"`
	}
	if err := json.Unmarshal(body, &sr); err != nil || sr.Band != "match" || sr.HitID == "" {
		t.Fatalf("/v1/screen: %s %s (%v)", resp.Status, body, err)
	}

	// A JSON-lines file dropped in the intake folder is screened once.
	if err := os.WriteFile(filepath.Join(cfg.Intake.Dir, "batch.jsonl"), []byte(`{"id":"a","name":"Mohsen Hojati","birth_date":"1955-09-28"}`+"\n"+`{"id":"b","name":"Maria Garcia Lopez"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, "intake file done", func() error {
		_, err := os.Stat(filepath.Join(cfg.Intake.Dir, "done", "batch.jsonl"))
		return err
	}, testkit.Every(20*time.Millisecond))
	res, err := os.ReadFile(filepath.Join(cfg.Intake.Dir, "done", "batch.jsonl.result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), `"hit_travellers": 1`) {
		t.Errorf("intake result: %s", res)
	}
	page, err := p.Ledger().Hits(context.Background(), ledgerFilterAll())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Hits) != 2 {
		t.Errorf("ledger holds %d hits, want 2 (API and intake)", len(page.Hits))
	}

	stopAt := time.Now()
	cancel()
	testkit.Returned(t, done, 10*time.Second, "Run")
	t.Logf("stopped in %s", time.Since(stopAt).Round(time.Millisecond))
	testkit.NoLeak(t, before+2, 5*time.Second)
}

// importUN imports the embedded UN list into st as list "un", with the
// action officers are told to take on a hit.
func importUN(t testing.TB, st *badgerstore.Store, action string) {
	t.Helper()
	if _, err := st.ReplaceEntries(context.Background(), badgerstore.ListMeta{Name: "un", Format: "un-xml", Action: action}, func(emit func(*engine.Entry) error) error {
		return importer.ReadUNXML(bytes.NewReader(sample.UNList), "un.xml", emit)
	}); err != nil {
		t.Fatal(err)
	}
}

func ledgerFilterAll() ledger.HitFilter { return ledger.HitFilter{Limit: 100} }

// TestPostStartFailure: a start that fails after the background work has
// begun (the API's port is taken) returns the error promptly and stops
// everything it started.
func TestPostStartFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.PostID = "test-post"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.API.Listen = taken.Addr().String()
	cfg.Intake.Dir = filepath.Join(dir, "intake")
	before := testkit.Goroutines()
	p, err := NewPost(cfg, PostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), func() { t.Error("ready reported on a failed start") }) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "api") {
			t.Fatalf("Run: %v, want the API's bind error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after a failed start")
	}
	testkit.NoLeak(t, before+2, 5*time.Second)
	// The store was closed: it opens again.
	st, err := OpenStore(cfg.DataDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// TestPostWithoutListNotScreened: a running post that holds no list
// answers a screening with 503 and the lists it lacks, never "no hit".
func TestPostWithoutListNotScreened(t *testing.T) {
	cfg := config.Default()
	cfg.PostID = "test-post"
	cfg.DataDir = t.TempDir()
	cfg.API.Listen = "127.0.0.1:0"
	cfg.Lists = []string{"ofac", "un"}
	p, err := NewPost(cfg, PostOptions{Software: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := runUntilReady(t, p)
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	resp, err := http.Post("http://"+p.APIAddr()+"/v1/screen", "application/json", strings.NewReader(`{"name":"Maria Garcia Lopez"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"lists_missing":["ofac","un"]`) || strings.Contains(string(body), `"band"`) {
		t.Fatalf("/v1/screen without a list: %s %s", resp.Status, body)
	}
	if n := p.Ledger().Stats().Screenings; n != 0 {
		t.Fatalf("%d screenings recorded", n)
	}
}

// runUntilReady runs p until it says it is ready, and returns what stops
// it and where Run's error arrives.
func runUntilReady(t testing.TB, p *Post) (context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func() { close(ready) }) }()
	t.Cleanup(cancel) // a failed wait below must not leave the post running
	testkit.Ready(t, ready, done, 30*time.Second, "Run")
	return cancel, done
}
