package hqserver

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// adminRig is a Server with a publisher over the fake broker, served by
// httptest on loopback.
type adminRig struct {
	srv      *Server
	store    *badgerstore.Store
	deltaDir string
	upload   string
	ts       *httptest.Server
	signer   *protocol.Signer
	broker   *fake.Broker
}

func newAdminRig(t *testing.T, cfg Config) *adminRig {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "store"))
	broker := fake.NewBroker()
	cli, err := broker.Connect(fake.Options{ClientID: "watchpost-hq-serve"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := publish.Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	r := &adminRig{store: st, deltaDir: filepath.Join(dir, "deltas"), upload: filepath.Join(dir, "uploads"), signer: signer, broker: broker}
	snaps := filepath.Join(dir, "snapshots")
	for _, d := range []string{snaps, r.upload} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := publish.New(publish.Config{Store: st, Signer: signer, Transport: cli, DeltaDir: r.deltaDir, SnapshotDir: snaps})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Publisher, cfg.UploadDir, cfg.SnapshotDir, cfg.DeltaDir = st, pub, r.upload, snaps, r.deltaDir
	if r.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	r.ts = httptest.NewServer(r.srv.Handler())
	t.Cleanup(r.ts.Close)
	return r
}

func (r *adminRig) post(t *testing.T, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return request(t, r.ts, http.MethodPost, path, bytes.NewReader(body), hdr)
}

// version returns the store's version and hash of list.
func (r *adminRig) version(t *testing.T, list string) (uint64, string) {
	t.Helper()
	info, err := r.store.List(list)
	if err != nil {
		t.Fatal(err)
	}
	return info.Version, info.Hash
}

func TestPublishEdition(t *testing.T) {
	r := newAdminRig(t, Config{})
	path := protocol.EditionsPath("national") + "?format=csv&source=national.csv&action=refer"
	resp, b := r.post(t, path, []byte("id,name\nN1,Ivan Petrov\nN2,Anna Schmidt\n"), nil)
	var pr PublishResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &pr) != nil || !pr.Created || pr.Version != 1 || pr.Entries != 2 {
		t.Fatalf("first edition: %d %s", resp.StatusCode, b)
	}
	info, err := r.store.List("national")
	if err != nil || info.Source != "national.csv" || info.Action != "refer" {
		t.Fatalf("list info %+v, %v", info, err)
	}

	// Version N+1: one upsert, one delete (half the list: past the shrink
	// guard, refused with 409 until confirmed), a delta on disk.
	resp, b = r.post(t, path, []byte("id,name\nN1,Ivan Petrov\nN3,John Doe\n"), nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "2 → 2 entries, 1 removed") {
		t.Fatalf("unconfirmed shrink: %d %s", resp.StatusCode, b)
	}
	resp, b = r.post(t, path+"&confirm_shrink=true", []byte("id,name\nN1,Ivan Petrov\nN3,John Doe\n"), nil)
	pr = PublishResponse{}
	if resp.StatusCode != 200 || json.Unmarshal(b, &pr) != nil {
		t.Fatalf("second edition: %d %s", resp.StatusCode, b)
	}
	if got, want := pr.Result(), (publish.Result{List: "national", Epoch: 1, Version: 2, Changed: true, Upserts: 1, Deletes: 1, Entries: 2}); got.List != want.List ||
		got.Epoch != want.Epoch || got.Version != want.Version || !got.Changed || got.Created || got.Upserts != want.Upserts || got.Deletes != want.Deletes || got.Entries != want.Entries {
		t.Fatalf("result %+v, want %+v", got, want)
	}
	v, hash := r.version(t, "national")
	if v != 2 || hash != pr.Hash {
		t.Fatalf("store at version %d hash %s; response version %d hash %s", v, hash, pr.Version, pr.Hash)
	}
	fi, err := os.Stat(filepath.Join(r.deltaDir, "national", "1-2.delta"))
	if err != nil || pr.DeltaBytes == 0 || fi.Size() != int64(pr.DeltaBytes) {
		t.Fatalf("delta file: %v, %v; response %d bytes", fi, err, pr.DeltaBytes)
	}

	// The same edition again: nothing published.
	resp, b = r.post(t, path, []byte("id,name\nN1,Ivan Petrov\nN3,John Doe\n"), nil)
	if resp.StatusCode != 200 || json.Unmarshal(b, &pr) != nil || pr.Changed || pr.Version != 2 {
		t.Fatalf("same edition: %d %s", resp.StatusCode, b)
	}

	// Refused editions: 4xx naming the problem, nothing published.
	for _, c := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"malformed", path, "id,name\nN1,Ivan Petrov\nN1,Ivan Petrov Again\n", 400, "national.csv:3"},
		{"malformed without a source", protocol.EditionsPath("national") + "?format=csv", "id,name\nN4,X\nN4,Y\n", 400, "edition:3"},
		{"empty edition", path, "id,name\n", 400, "no entries"},
		{"empty body", path, "", 400, "empty request body"},
		{"unknown format", protocol.EditionsPath("national") + "?format=pdf", "x", 400, `unknown format "pdf"`},
		{"no format", protocol.EditionsPath("national"), "x", 400, "format is required"},
		{"documents edition of a names list", protocol.EditionsPath("national") + "?format=docs-csv", "number,country\nX1,FRA\n", 400, "HQ holds a names list"},
		{"documents edition without numbers", protocol.EditionsPath("sltd") + "?format=docs-csv", "country\nFRA\n", 400, "number"},
		{"bad list name", protocol.EditionsPath("National") + "?format=csv", "id,name\nN1,X\n", 400, `list "National"`},
		{"ofac not a zip", protocol.EditionsPath("ofac") + "?format=ofac-csv", "36,x\n", 400, "zip archive"},
		{"entry id too long", path, "id,name\n" + strings.Repeat("A", 300) + ",X\n", 400, ""},
	} {
		resp, b := r.post(t, c.path, []byte(c.body), nil)
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, resp.StatusCode, b, c.status, c.want)
		}
	}
	if v, h := r.version(t, "national"); v != 2 || h != hash {
		t.Fatalf("after refusals: version %d hash %s, want 2 %s", v, h, hash)
	}
	if _, err := os.Stat(filepath.Join(r.deltaDir, "national", "1-3.delta")); !os.IsNotExist(err) {
		t.Fatalf("a delta to version 3 exists: %v", err)
	}
	if _, err := r.store.List("ofac"); err == nil {
		t.Fatal("the refused ofac edition created a list")
	}

	// ofac-csv travels as a zip of the folder's files.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	f, _ := zw.Create("sdn.csv")
	io.WriteString(f, "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"+
		"173,\"ANGLO-CARIBBEAN CO., LTD.\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, b = r.post(t, protocol.EditionsPath("ofac")+"?format=ofac-csv", zb.Bytes(), nil)
	if resp.StatusCode != 200 || json.Unmarshal(b, &pr) != nil || pr.Version != 1 || pr.Entries != 2 {
		t.Fatalf("ofac zip: %d %s", resp.StatusCode, b)
	}

	// Heads.
	resp, b = r.post(t, protocol.PathHeads, nil, nil)
	var hr HeadsResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &hr) != nil || len(hr.Heads) != 2 || hr.Heads[0].List != "national" || hr.Heads[0].Version != 2 {
		t.Fatalf("heads: %d %s", resp.StatusCode, b)
	}

	// Methods and paths.
	for _, p := range []string{protocol.PathHeads, protocol.EditionsPath("national")} {
		resp, err := http.Get(r.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	for _, p := range []string{protocol.PathLists + "national", protocol.EditionsPath("national") + "/x", protocol.EditionsPath(""), protocol.EditionsPath("a/b")} {
		if resp, b := r.post(t, p, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d %s, want 404", p, resp.StatusCode, b)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(r.upload, "*")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
}

func TestPublishEditionLimits(t *testing.T) {
	r := newAdminRig(t, Config{MaxEditionSize: 64})
	resp, b := r.post(t, protocol.EditionsPath("national")+"?format=csv", []byte("id,name\n"+strings.Repeat("N1,Ivan Petrov\n", 10)), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %d %s", resp.StatusCode, b)
	}
	// Without a Content-Length, the limit holds while streaming.
	req, _ := http.NewRequest(http.MethodPost, r.ts.URL+protocol.EditionsPath("national")+"?format=csv",
		io.MultiReader(strings.NewReader("id,name\n"), strings.NewReader(strings.Repeat("N1,Ivan Petrov\n", 10))))
	req.ContentLength = -1
	resp, err := r.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large, chunked: %d", resp.StatusCode)
	}
	if _, err := r.store.List("national"); err == nil {
		t.Fatal("a list was published")
	}
	if left, _ := filepath.Glob(filepath.Join(r.upload, "*")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
}

func TestPublishAuth(t *testing.T) {
	r := newAdminRig(t, Config{AdminToken: "s3cret-token"})
	edition := []byte("id,name\nN1,Ivan Petrov\n")
	path := protocol.EditionsPath("national") + "?format=csv"
	for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer wrong"}} {
		if resp, _ := r.post(t, path, edition, hdr); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("publish with %v: %d", hdr, resp.StatusCode)
		}
		if resp, _ := r.post(t, protocol.PathHeads, nil, hdr); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("heads with %v: %d", hdr, resp.StatusCode)
		}
		if resp, _ := r.post(t, protocol.PathKeys, []byte(`{}`), hdr); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("keys with %v: %d", hdr, resp.StatusCode)
		}
	}
	if _, err := r.store.List("national"); err == nil {
		t.Fatal("published without the token")
	}
	if resp, b := r.post(t, path, edition, map[string]string{"Authorization": "Bearer s3cret-token"}); resp.StatusCode != 200 {
		t.Fatalf("with the token: %d %s", resp.StatusCode, b)
	}

	// Without a token: loopback clients only.
	r = newAdminRig(t, Config{})
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(edition))
	req.RemoteAddr = "192.0.2.7:41234"
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("remote client without a token: %d %s", rec.Code, rec.Body)
	}
	if _, err := r.store.List("national"); err == nil {
		t.Fatal("published for a remote client")
	}
}

func TestPublishNoPublisher(t *testing.T) {
	srv, err := New(Config{Store: openStore(t, t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{protocol.EditionsPath("national") + "?format=csv", protocol.PathHeads, protocol.PathKeys} {
		req := httptest.NewRequest(http.MethodPost, p, strings.NewReader("id,name\nN1,X\n"))
		req.RemoteAddr = "127.0.0.1:41234"
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "no publisher") {
			t.Errorf("POST %s: %d %s", p, rec.Code, rec.Body)
		}
	}
}

// After Run returns, publications are refused (the caller closes the
// store next).
func TestPublishAfterRun(t *testing.T) {
	r := newAdminRig(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if resp, b := r.post(t, protocol.EditionsPath("national")+"?format=csv", []byte("id,name\nN1,X\n"), nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Run: %d %s", resp.StatusCode, b)
	}
}
