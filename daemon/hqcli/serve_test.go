package hqcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/transport"
)

// startServe runs serve in the background and returns the URLs it
// prints; stop cancels it and returns its exit code.
func startServe(t *testing.T, args ...string) (httpURL, brokerURL string, stop func() int) {
	t.Helper()
	httpURL, brokerURL, _, stop = startServeLog(t, args...)
	return httpURL, brokerURL, stop
}

// startServeLog is startServe that also returns serve's log.
func startServeLog(t *testing.T, args ...string) (httpURL, brokerURL string, log *testkit.Buffer, stop func() int) {
	t.Helper()
	var out, errb testkit.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	}()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Errorf("serve did not stop within 20 s; stderr:\n%s", errb.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	httpRe := regexp.MustCompile(`serving (http://\S+)`)
	brokerRe := regexp.MustCompile(`embedded broker: HQ on (tcp://\S+)`)
	testkit.CheckFor(t, 20*time.Second, "serve started", func() error {
		if m := httpRe.FindStringSubmatch(out.String()); m != nil {
			httpURL = m[1]
			if m := brokerRe.FindStringSubmatch(out.String()); m != nil {
				brokerURL = strings.TrimSuffix(m[1], ",")
			}
			return nil
		}
		select {
		case c := <-done:
			t.Fatalf("serve exited with %d: %s%s", c, out.String(), errb.String())
		default:
		}
		return fmt.Errorf("not yet: %s%s", out.String(), errb.String())
	})
	return httpURL, brokerURL, &errb, stop
}

// startClient connects an MQTT client as clientID, subscribed to filter
// with h, and closes it when the test ends.
func startClient(t *testing.T, brokerURL, clientID, filter string, h transport.Handler) *mqtt.Client {
	t.Helper()
	cli, err := mqtt.New(mqtt.Options{Brokers: []string{brokerURL}, ClientID: clientID,
		ConnectRetryInterval: 50 * time.Millisecond, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Subscribe(filter, h); err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cli.Close(ctx)
	})
	return cli
}

// writeFile writes content to path or fails the test.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// testPost connects as a post, publishes presence, status and one hit
// record, and waits for HQ's ack of the hit.
func testPost(t *testing.T, brokerURL, post string, lists string) {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	cli := startClient(t, brokerURL, "watchpost-post-"+post, protocol.AcksTopic(post), func(m transport.Message) {
		ids, _ := protocol.DecodeAck(m.Payload)
		mu.Lock()
		acked = append(acked, ids...)
		mu.Unlock()
	})
	testkit.CheckFor(t, 15*time.Second, post+" connected", func() error {
		if !cli.Connected() {
			return errors.New("not connected")
		}
		return nil
	})
	ctx := context.Background()
	now := time.Now().UTC()
	hit := fmt.Sprintf(`{"post":%q,"screened_at":%q,"source":"api","traveller":{"name":"Ivan Petrov"},"hits":[{"list":"national","list_version":2,"entry_id":"N1","score":0.98,"band":"match","matched_name":"Ivan Petrov","explanation":{}}]}`,
		post, now.Format(time.RFC3339))
	msg, err := protocol.EncodeRecord(protocol.Record{ID: "HIT-" + post, Kind: protocol.RecordHit, Payload: []byte(hit), CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	status := fmt.Sprintf(`{"post":%q,"software":"watchpost test","boot":1,"clock":%q,"lists":[%s],"outbox":{"records":1}}`, post, now.Format(time.RFC3339Nano), lists)
	// A post's status also goes through its outbox on the hits topic.
	statusMsg, err := protocol.EncodeRecord(protocol.Record{ID: "STATUS-" + post, Kind: protocol.RecordStatus, Payload: []byte(status), CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		topic, payload string
		retained       bool
	}{
		{protocol.PresenceTopic(post), fmt.Sprintf(`{"post":%q,"state":"online","boot":1}`, post), true},
		{protocol.StatusTopic(post), status, true},
		{protocol.HitsTopic(post), string(msg), false},
		{protocol.HitsTopic(post), string(statusMsg), false},
	} {
		if err := cli.Publish(ctx, m.topic, []byte(m.payload), m.retained); err != nil {
			t.Fatal(err)
		}
	}
	testkit.CheckFor(t, 15*time.Second, "hit and status acked", func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(acked, "HIT-"+post) || !slices.Contains(acked, "STATUS-"+post) {
			return fmt.Errorf("acks %v", acked)
		}
		return nil
	})
}

// keygen runs keygen into dir/keys and returns the private key file.
func keygen(t *testing.T, dir string) string {
	t.Helper()
	keys := filepath.Join(dir, "keys")
	if code, out, stderr := runCmd(t, "keygen", "--dir", keys); code != ExitOK {
		t.Fatalf("keygen: %d %s%s", code, out, stderr)
	}
	return filepath.Join(keys, publish.PrivateKeyFile)
}

func TestServePostsHits(t *testing.T) {
	url, got := startBroker(t)
	dir := t.TempDir()
	key := keygen(t, dir)
	edition := filepath.Join(dir, "national.csv")
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\nN2,Anna Schmidt\n")
	data := filepath.Join(dir, "hq")
	if code, out, stderr := runCmd(t, "publish", "--single-person", "--data-dir", data, "--key", key, "--broker", url, "--snapshot-url", protocol.SnapshotsURL("https://hq.example"),
		"--list", "national", "--format", "csv", edition); code != ExitOK {
		t.Fatalf("publish: %d %s%s", code, out, stderr)
	}
	heads := len(got()[protocol.HeadTopic("national")])

	httpURL, _, stop := startServe(t, "--data-dir", data, "--key", key, "--broker", url, "--insecure-http", "--listen", "127.0.0.1:0",
		"--snapshot-url", protocol.SnapshotsURL("https://hq.example"))
	// serve re-signs the heads when it starts (and again once its broker
	// link is up).
	testkit.CheckFor(t, 15*time.Second, "head re-signed", func() error {
		if n := len(got()[protocol.HeadTopic("national")]); n <= heads {
			return fmt.Errorf("%d heads", n)
		}
		return nil
	})
	resp, err := http.Get(httpURL + protocol.PathSnapshots + protocol.SnapshotFileName("national", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, err := os.ReadFile(filepath.Join(data, "snapshots", "national-1-1.snap"))
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(snap, want) {
		t.Fatalf("snapshot over HTTP: %d, %d bytes (file %d, %v)", resp.StatusCode, len(snap), len(want), err)
	}

	testPost(t, url, "post-1", `{"list":"national","epoch":1,"version":1,"entries":2}`)

	code, out, stderr := runCmd(t, "posts", "--hq", httpURL)
	if code != ExitOK || !regexp.MustCompile(`post-1\s+online\s+\S+ \(\S+ ago\)\s+watchpost test\s+national 1/1\s+0\s+1\s+`).MatchString(out) {
		t.Fatalf("posts: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "posts", "--hq", httpURL, "--json")
	var pr hqserver.PostsResponse
	if code != ExitOK || json.Unmarshal([]byte(out), &pr) != nil || len(pr.Posts) != 1 || !pr.Posts[0].Online || pr.Posts[0].Lists[0].Published != 1 {
		t.Fatalf("posts --json: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "hits", "--hq", httpURL, "--post", "post-1", "--list", "national", "--since", "1h")
	if code != ExitOK || !strings.Contains(out, "HIT-post-1") || !strings.Contains(out, `"Ivan Petrov"`) || !strings.Contains(out, "national:N1 0.98") {
		t.Fatalf("hits: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "hits", "--hq", httpURL, "--json", "--list", "un")
	var hr hqserver.HitsResponse
	if code != ExitOK || json.Unmarshal([]byte(out), &hr) != nil || len(hr.Records) != 0 {
		t.Fatalf("hits --list un --json: %d\n%s%s", code, out, stderr)
	}
	// The store is serve's while it runs: --data-dir reads through it.
	if code, out, stderr := runCmd(t, "posts", "--data-dir", data); code != ExitOK || !strings.Contains(out, "post-1") || !strings.Contains(stderr, "--hq "+httpURL) {
		t.Fatalf("posts --data-dir during serve: %d %s%s", code, out, stderr)
	}

	if code := stop(); code != ExitOK {
		t.Fatalf("serve exited with %d", code)
	}
	// Stopped: the store can be read directly.
	code, out, stderr = runCmd(t, "posts", "--data-dir", data)
	if code != ExitOK || !strings.Contains(out, "post-1") {
		t.Fatalf("posts --data-dir: %d\n%s%s", code, out, stderr)
	}
	// Hits by default; the status record sent through the outbox on
	// the hits topic only with --kind status or all.
	code, out, stderr = runCmd(t, "hits", "--data-dir", data, "--json")
	if code != ExitOK || json.Unmarshal([]byte(out), &hr) != nil || len(hr.Records) != 1 || hr.Records[0].ID != "HIT-post-1" {
		t.Fatalf("hits --data-dir: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "hits", "--data-dir", data, "--json", "--kind", "status")
	if code != ExitOK || json.Unmarshal([]byte(out), &hr) != nil || len(hr.Records) != 1 || hr.Records[0].ID != "STATUS-post-1" {
		t.Fatalf("hits --kind status: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "hits", "--data-dir", data, "--kind", "all")
	if code != ExitOK || !strings.Contains(out, "HIT-post-1") || !strings.Contains(out, "STATUS-post-1") {
		t.Fatalf("hits --kind all: %d\n%s%s", code, out, stderr)
	}
}

func TestServeEmbeddedBroker(t *testing.T) {
	dir := t.TempDir()
	key := keygen(t, dir)
	token := filepath.Join(dir, "token")
	writeFile(t, token, "0123456789abcdef0123\n")
	data := filepath.Join(dir, "hq")
	httpURL, brokerURL, stop := startServe(t, "--data-dir", data, "--key", key,
		"--listen-mqtt", "127.0.0.1:0", "--mqtt-anonymous-loopback", "--insecure-http", "--listen", "127.0.0.1:0", "--admin-token-file", token)
	if brokerURL == "" {
		t.Fatal("serve printed no broker URL")
	}
	testPost(t, brokerURL, "post-2", "")
	if code, _, stderr := runCmd(t, "posts", "--hq", httpURL); code != ExitFailure || !strings.Contains(stderr, "401") {
		t.Fatalf("posts without the token: %d %s", code, stderr)
	}
	code, out, stderr := runCmd(t, "hits", "--hq", httpURL, "--token-file", token, "--kind", "hit")
	if code != ExitOK || !strings.Contains(out, "HIT-post-2") {
		t.Fatalf("hits: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "posts", "--hq", httpURL, "--token-file", token)
	if code != ExitOK || !strings.Contains(out, "post-2") {
		t.Fatalf("posts: %d\n%s%s", code, out, stderr)
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("serve exited with %d", code)
	}
}

func TestPublishThroughServe(t *testing.T) {
	url, got := startBroker(t)
	dir := t.TempDir()
	key := keygen(t, dir)
	token := filepath.Join(dir, "token")
	writeFile(t, token, "0123456789abcdef0123\n")
	data := filepath.Join(dir, "hq")
	httpURL, _, stop := startServe(t, "--data-dir", data, "--key", key, "--broker", url, "--insecure-http", "--listen", "127.0.0.1:0",
		"--snapshot-url", protocol.SnapshotsURL("https://hq.example"), "--admin-token-file", token)

	edition := filepath.Join(dir, "national.csv")
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\nN2,Anna Schmidt\n")
	publishCmd := []string{"publish", "--single-person", "--hq", httpURL, "--token-file", token, "--list", "national", "--format", "csv", edition}
	if code, out, stderr := runCmd(t, publishCmd...); code != ExitOK || !strings.Contains(out, "national: published version 1 (epoch 1): 2 entries") {
		t.Fatalf("publish --hq: %d %s%s", code, out, stderr)
	}
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\nN3,John Doe\n")
	if code, _, stderr := runCmd(t, publishCmd...); code == ExitOK || !strings.Contains(stderr, "409") || !strings.Contains(stderr, "1 removed (50.0 %") {
		t.Fatalf("unconfirmed shrink --hq: %d %s", code, stderr)
	}
	publishCmd = append([]string{"publish", "--confirm-shrink"}, publishCmd[1:]...)
	if code, out, stderr := runCmd(t, publishCmd...); code != ExitOK || !strings.Contains(out, "national: published version 2 (epoch 1): 1 upserts, 1 deletes, 2 entries") ||
		!strings.Contains(out, "snapshot national-1-2.snap") {
		t.Fatalf("second publish --hq: %d %s%s", code, out, stderr)
	}
	if code, out, stderr := runCmd(t, publishCmd...); code != ExitOK || !strings.Contains(out, "the edition equals version 2") {
		t.Fatalf("same edition: %d %s%s", code, out, stderr)
	}
	// A malformed edition: the importer's file:line, nothing published.
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\nN1,Ivan Again\n")
	if code, out, stderr := runCmd(t, publishCmd...); code != ExitFailure || !strings.Contains(stderr, "400") || !strings.Contains(stderr, edition+":3") {
		t.Fatalf("malformed edition: %d %s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "publish", "--single-person", "--hq", httpURL, "--list", "national", "--format", "csv", edition); code != ExitFailure || !strings.Contains(stderr, "401") {
		t.Fatalf("publish without the token: %d %s", code, stderr)
	}
	// Without --hq, the store is serve's: the error says what to do.
	code, out, stderr := runCmd(t, "publish", "--single-person", "--data-dir", data, "--key", key, "--broker", url, "--list", "national", "--format", "csv", edition)
	if code != ExitFailure || !strings.Contains(stderr, "serve is running: use --hq https://") || strings.Contains(stderr, "Another process") {
		t.Fatalf("publish --data-dir during serve: %d %s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "heads", "--data-dir", data, "--key", key, "--broker", url)
	if code != ExitFailure || !strings.Contains(stderr, "serve is running: use --hq https://") {
		t.Fatalf("heads --data-dir during serve: %d %s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "heads", "--hq", httpURL, "--token-file", token)
	if code != ExitOK || !strings.Contains(out, "national: head 1/2 issued") {
		t.Fatalf("heads --hq: %d %s%s", code, out, stderr)
	}
	// lists goes through serve too; directly, the store is serve's.
	code, out, stderr = runCmd(t, "lists", "--hq", httpURL, "--token-file", token)
	if code != ExitOK || !regexp.MustCompile(`national\s+1\s+2\s+2\s+\S+\s+\S+\s+national-1-2.snap\s+published`).MatchString(out) {
		t.Fatalf("lists --hq: %d %s%s", code, out, stderr)
	}
	code, out, stderr = runCmd(t, "lists", "--hq", httpURL, "--token-file", token, "--json")
	var lists []hqserver.List
	if code != ExitOK || json.Unmarshal([]byte(out), &lists) != nil || len(lists) != 1 || lists[0].Name != "national" || lists[0].Version != 2 || lists[0].Published != 2 {
		t.Fatalf("lists --hq --json: %d %s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "lists", "--hq", httpURL); code != ExitFailure || !strings.Contains(stderr, "401") {
		t.Fatalf("lists --hq without the token: %d %s", code, stderr)
	}
	code, out, stderr = runCmd(t, "lists", "--data-dir", data)
	if code != ExitOK || !strings.Contains(out, "national") || !strings.Contains(stderr, "read through it at "+httpURL) {
		t.Fatalf("lists --data-dir during serve: %d %s%s", code, out, stderr)
	}
	// The delta reached the broker and is served.
	if n := len(got()[protocol.DeltaTopic("national")]); n != 1 {
		t.Fatalf("broker got %d deltas, want 1", n)
	}
	resp, err := http.Get(protocol.DeltaURL(httpURL, "national", 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("delta over HTTP: %d", resp.StatusCode)
	}

	if code := stop(); code != ExitOK {
		t.Fatalf("serve exited with %d", code)
	}
	code, out, stderr = runCmd(t, "lists", "--data-dir", data)
	if code != ExitOK || !regexp.MustCompile(`national\s+1\s+2\s+2\s`).MatchString(out) {
		t.Fatalf("lists: %d %s%s", code, out, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "uploads", "*")); len(left) != 0 {
		t.Fatalf("uploads left behind: %v", left)
	}
}
