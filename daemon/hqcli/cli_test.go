package hqcli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// startBroker runs mochi on a random loopback port; it records the
// messages published on list topics.
func startBroker(t *testing.T) (url string, got func() map[string][][]byte) {
	t.Helper()
	srv, url := brokertest.StartMochiWith(t, mochi.Options{InlineClient: true})
	var mu sync.Mutex
	msgs := map[string][][]byte{}
	if err := srv.Subscribe(protocol.AllListsFilter, 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		mu.Lock()
		defer mu.Unlock()
		msgs[pk.TopicName] = append(msgs[pk.TopicName], append([]byte(nil), pk.Payload...))
	}); err != nil {
		t.Fatal(err)
	}
	return url, func() map[string][][]byte {
		mu.Lock()
		defer mu.Unlock()
		c := map[string][][]byte{}
		for k, v := range msgs {
			c[k] = v
		}
		return c
	}
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCmdIn(t, "", args...)
}

// runCmdIn is runCmd with stdin.
func runCmdIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code = run(ctx, args, &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, ExitUsage, "serve"},
		{[]string{"help"}, ExitOK, "hits"},
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"serve"}, ExitUsage, "--data-dir is required"},
		{[]string{"serve", "--data-dir", "d", "--key", "k"}, ExitUsage, "one of --broker"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--listen-mqtt", "127.0.0.1:0"}, ExitUsage, "one of --broker"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1"}, ExitUsage, "--https-cert and --https-key are required"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--insecure-http", "--listen", ":8080"}, ExitUsage, "loopback"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--listen-mqtt", "0.0.0.0:1883", "--insecure-http", "--listen", "127.0.0.1:0"}, ExitUsage, "--listen-mqtt is a plain listener"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--mqtt-anonymous-loopback", "--insecure-http", "--listen", "127.0.0.1:0"}, ExitUsage, "need --listen-mqtt"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--insecure-http", "--listen", "127.0.0.1:0", "--head-interval", "49h"}, ExitUsage, "--head-interval"},
		{[]string{"posts"}, ExitUsage, "one of --hq"},
		{[]string{"posts", "--hq", "ftp://x"}, ExitUsage, "http://"},
		{[]string{"hits", "--hq", "http://x", "--limit", "0"}, ExitUsage, "--limit"},
		{[]string{"hits", "--hq", "http://x", "--since", "yesterday"}, ExitUsage, "--since"},
		{[]string{"hits", "--hq", "http://x", "--kind", "hits"}, ExitUsage, "--kind"},
		{[]string{"hits", "--data-dir", "d", "--token-file", "t"}, ExitUsage, "go with --hq"},
		{[]string{"keygen"}, ExitUsage, "--dir is required"},
		{[]string{"publish", "--data-dir", "d", "--key", "k", "--broker", "tcp://127.0.0.1:1", "--list", "un", "x"}, ExitUsage, "--format is required"},
		{[]string{"publish", "--data-dir", "d", "--key", "k", "--list", "un", "--format", "csv", "x"}, ExitUsage, "--broker is required"},
		{[]string{"heads", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--snapshot-url", "http://x"}, ExitUsage, "must be https://"},
		{[]string{"lists"}, ExitUsage, "give one of --hq"},
		{[]string{"publish", "--hq", "http://127.0.0.1:1", "--data-dir", "d", "--list", "un", "--format", "csv", "x"}, ExitUsage, "drop --data-dir"},
		{[]string{"publish", "--hq", "ftp://x", "--list", "un", "--format", "csv", "x"}, ExitUsage, "http://"},
		{[]string{"publish", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--token-file", "t", "--list", "un", "--format", "csv", "x"}, ExitUsage, "go with --hq"},
		{[]string{"heads", "--hq", "http://127.0.0.1:1", "--key", "k"}, ExitUsage, "drop --key"},
		{[]string{"serve", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--insecure-http", "--listen", "127.0.0.1:0", "--max-edition-size", "0"}, ExitUsage, "--max-edition-size"},
		{[]string{"publish", "-h"}, ExitOK, "usage: watchpost-hq publish"},
		{[]string{"publish", "--data-dir", "d", "--key", "k", "--broker", "tcp://h:1", "--list", "un", "--format", "csv", "x"}, ExitUsage, "published by two people"},
	} {
		code, _, stderr := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestKeygenPublishHeadsLists(t *testing.T) {
	url, got := startBroker(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if code, out, stderr := runCmd(t, "keygen", "--dir", keys); code != ExitOK || !strings.Contains(out, "hq.pub") {
		t.Fatalf("keygen: exit %d, %s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "keygen", "--dir", keys); code != ExitFailure || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second keygen: exit %d, %s", code, stderr)
	}
	pubFile, err := os.Open(filepath.Join(keys, publish.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := protocol.ParseKeySet(pubFile)
	pubFile.Close()
	if err != nil {
		t.Fatal(err)
	}

	edition := filepath.Join(dir, "national.csv")
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\nN2,Anna Schmidt\n")
	data := filepath.Join(dir, "hq")
	common := []string{"--data-dir", data, "--key", filepath.Join(keys, publish.PrivateKeyFile), "--broker", url, "--snapshot-url", "https://hq.example/snap"}
	publishCmd := append(append([]string{"publish", "--single-person"}, common...), "--list", "national", "--format", "csv", edition)
	if code, out, stderr := runCmd(t, publishCmd...); code != ExitOK || !strings.Contains(out, "national: published version 1") {
		t.Fatalf("publish: exit %d, %s%s", code, out, stderr)
	}
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\nN3,John Doe\n")
	// Half the list removed: past the shrink guard.
	if code, _, stderr := runCmd(t, publishCmd...); code == ExitOK || !strings.Contains(stderr, "2 → 2 entries, 1 removed (50.0 %, limit 10.0 %)") || !strings.Contains(stderr, "--confirm-shrink") {
		t.Fatalf("unconfirmed shrink: exit %d, %s", code, stderr)
	}
	confirmed := append([]string{"publish", "--confirm-shrink"}, publishCmd[1:]...)
	if code, out, stderr := runCmd(t, confirmed...); code != ExitOK || !strings.Contains(out, "published version 2 (epoch 1): 1 upserts, 1 deletes") {
		t.Fatalf("second publish: exit %d, %s%s", code, out, stderr)
	}
	checkShrinkAudited(t, data, "cli")
	if code, out, stderr := runCmd(t, append([]string{"heads"}, common...)...); code != ExitOK || !strings.Contains(out, "national: head 1/2 issued") {
		t.Fatalf("heads: exit %d, %s%s", code, out, stderr)
	}
	code, out, stderr := runCmd(t, "lists", "--data-dir", data)
	if code != ExitOK || !strings.Contains(out, "national") || !strings.Contains(out, "national-1-2.snap") || !strings.Contains(out, "published") {
		t.Fatalf("lists: exit %d, %s%s", code, out, stderr)
	}

	// What reached the broker verifies with hq.pub: one delta, three heads.
	msgs := got()
	deltas, heads := msgs[protocol.DeltaTopic("national")], msgs[protocol.HeadTopic("national")]
	if len(deltas) != 1 || len(heads) != 3 {
		t.Fatalf("broker got %d deltas and %d heads, want 1 and 3", len(deltas), len(heads))
	}
	d, _, err := ks.OpenDelta(deltas[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d.ToVersion != 2 || len(d.Upserts) != 1 || d.Upserts[0].ID != "N3" || len(d.Deletes) != 1 || d.Deletes[0] != "N2" {
		t.Fatalf("delta: %+v", d)
	}
	h, _, err := ks.OpenHead(heads[2], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 2 || h.SnapshotURL != "https://hq.example/snap/national-1-2.snap" {
		t.Fatalf("head: %+v", h)
	}
}
