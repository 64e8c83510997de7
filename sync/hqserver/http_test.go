package hqserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	snaps, deltas := filepath.Join(dir, "snapshots"), filepath.Join(dir, "deltas")
	for _, d := range []string{snaps, filepath.Join(deltas, "un")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	snap := bytes.Repeat([]byte("0123456789"), 1000)
	delta := []byte("WP delta bytes")
	secret := filepath.Join(dir, "secret.snap")
	for p, b := range map[string][]byte{
		filepath.Join(snaps, "un-1-3.snap"):      snap,
		filepath.Join(deltas, "un", "1-3.delta"): delta,
		secret:                                   []byte("HQ's private data"),
		filepath.Join(dir, "store.key"):          []byte("key"),
	} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A symbolic link that leads out of the snapshot directory, with a
	// valid name.
	if err := os.Symlink(secret, filepath.Join(snaps, "un-1-4.snap")); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: openStore(t, t.TempDir()), SnapshotDir: snaps, DeltaDir: deltas})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	do := func(method, path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		return request(t, ts, method, path, nil, hdr)
	}

	resp, b := do("GET", "/snapshots/un-1-3.snap", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, snap) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("full GET: %d, %d bytes, headers %v", resp.StatusCode, len(b), resp.Header)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || etag[0] != '"' {
		t.Fatalf("ETag %q is not strong", etag)
	}
	resp, b = do("GET", "/snapshots/un-1-3.snap", map[string]string{"Range": "bytes=100-199"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, snap[100:200]) || resp.Header.Get("Content-Range") != "bytes 100-199/10000" {
		t.Fatalf("Range: %d, %q, %v", resp.StatusCode, b, resp.Header)
	}
	// A resume: the rest of the file if it is still the same one.
	resp, b = do("GET", "/snapshots/un-1-3.snap", map[string]string{"Range": "bytes=9000-", "If-Range": etag})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, snap[9000:]) {
		t.Fatalf("If-Range resume: %d, %d bytes", resp.StatusCode, len(b))
	}
	resp, b = do("GET", "/snapshots/un-1-3.snap", map[string]string{"Range": "bytes=9000-", "If-Range": `"other"`})
	if resp.StatusCode != 200 || len(b) != len(snap) {
		t.Fatalf("If-Range with another ETag: %d, %d bytes", resp.StatusCode, len(b))
	}
	resp, _ = do("GET", "/snapshots/un-1-3.snap", map[string]string{"Range": "bytes=10000-"})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("Range past the end: %d", resp.StatusCode)
	}
	resp, b = do("HEAD", "/snapshots/un-1-3.snap", nil)
	if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(snap)) {
		t.Fatalf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(b), resp.ContentLength)
	}
	resp, b = do("GET", "/deltas/un/1-3.delta", map[string]string{"Range": "bytes=3-7"})
	if resp.StatusCode != http.StatusPartialContent || string(b) != "delta" {
		t.Fatalf("delta Range: %d, %q", resp.StatusCode, b)
	}
	resp, b = do("GET", "/healthz", nil)
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, b)
	}

	for _, p := range []string{
		"/",
		"/snapshots/",
		"/snapshots/../secret.snap",
		"/snapshots/..%2fsecret.snap",
		"/snapshots/%2e%2e/secret.snap",
		"/snapshots/un-1-4.snap", // symbolic link out of the directory
		"/snapshots/un-1-3.snap/",
		"/snapshots/un-01-3.snap",
		"/snapshots/UN-1-3.snap",
		"/snapshots/un-1-3.snap.tmp",
		"/snapshots/un-1-99.snap", // absent
		"/snapshots//un-1-3.snap",
		"/deltas/un/../../store.key",
		"/deltas/un/..%2f..%2fstore.key",
		"/deltas/../store.key",
		"/deltas/un/1-3.delta/x",
		"/deltas/un/01-3.delta",
		"/deltas/un/1-3",
		"/deltas/un/-3.delta",
		"/deltas/un/1-18446744073709551616.delta",
		"/deltas/Un/1-3.delta",
		"/deltas/un",
		"/deltas//1-3.delta",
		"/store/000001.vlog",
		"/v1/other",
	} {
		if resp, b := do("GET", p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", p, resp.StatusCode, b)
		}
	}
	if resp, _ := do("POST", "/snapshots/un-1-3.snap", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}

	// Admin queries: loopback without a token.
	resp, b = do("GET", "/v1/posts", nil)
	var pr PostsResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &pr) != nil || pr.Now.IsZero() {
		t.Fatalf("/v1/posts: %d %s", resp.StatusCode, b)
	}
	resp, b = do("GET", "/v1/hits?limit=5&kind=hit&since=2026-07-01T00:00:00Z", nil)
	var hr HitsResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &hr) != nil || hr.Records == nil {
		t.Fatalf("/v1/hits: %d %s", resp.StatusCode, b)
	}
	for _, q := range []string{"limit=0", "limit=x", "kind=gossip", "since=yesterday"} {
		if resp, b := do("GET", "/v1/hits?"+q, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/v1/hits?%s: %d %s", q, resp.StatusCode, b)
		}
	}

	// With a token.
	srv, err = New(Config{Store: srv.cfg.Store, SnapshotDir: snaps, DeltaDir: deltas, AdminToken: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ts.Close()
	ts = httptest.NewServer(srv.Handler())
	defer ts.Close()
	if resp, _ := do("GET", "/v1/posts", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/v1/posts", map[string]string{"Authorization": "Bearer wrong"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/v1/posts", map[string]string{"Authorization": "Bearer s3cret"}); resp.StatusCode != 200 {
		t.Errorf("token: %d", resp.StatusCode)
	}
	// The file paths need no token.
	if resp, _ := do("GET", "/snapshots/un-1-3.snap", nil); resp.StatusCode != 200 {
		t.Errorf("snapshot with a token configured: %d", resp.StatusCode)
	}
}
