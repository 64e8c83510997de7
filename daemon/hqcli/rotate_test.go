package hqcli

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/transport"
)

// TestRotateThroughServe: rotate --hq announces the new key through a
// running serve; a post subscribed to the key topics gets the retained
// statement and accepts it; the posts table shows the keys a post
// reports; rotate without --hq works once serve has stopped.
func TestRotateThroughServe(t *testing.T) {
	url, _ := startBroker(t)
	dir := t.TempDir()
	key := keygen(t, dir)
	oldSigner, err := publish.LoadSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	newDir := filepath.Join(dir, "next")
	if code, out, stderr := runCmd(t, "keygen", "--dir", newDir); code != ExitOK {
		t.Fatalf("keygen: %d %s%s", code, out, stderr)
	}
	newSigner, err := publish.LoadSigner(filepath.Join(newDir, publish.PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	writeFile(t, token, "0123456789abcdef0123\n")
	data := filepath.Join(dir, "hq")
	httpURL, _, stop := startServe(t, "--data-dir", data, "--key", key, "--broker", url, "--insecure-http", "--listen", "127.0.0.1:0",
		"--admin-token-file", token, "--retain-hits", "6y", "--retain-status", "7d", "--retain-telemetry", "12h")

	notAfter := time.Now().Add(400 * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	newPub := filepath.Join(newDir, publish.PublicKeyFile)
	// An explicit not-before: the default (now) would differ between the
	// first announcement and the re-announcement below when a second
	// boundary passes in between, and a key re-announced with other dates
	// is refused.
	notBefore := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	rotate := []string{"rotate", "--hq", httpURL, "--token-file", token, "--new-pub", newPub, "--not-before", notBefore, "--not-after", notAfter}
	code, out, stderr := runCmd(t, rotate...)
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("announced key %s, signed by key %s\n", newSigner.ID(), oldSigner.ID())) ||
		!strings.Contains(out, "until "+notAfter) || !strings.Contains(out, "watchpost-hq posts --hq "+httpURL) ||
		!strings.Contains(out, "restart serve with --key "+filepath.Join(newDir, publish.PrivateKeyFile)) {
		t.Fatalf("rotate --hq: %d\n%s%s", code, out, stderr)
	}

	// A post gets the retained statement and accepts it.
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: oldSigner.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []string
	cli := startClient(t, url, "watchpost-post-p9", protocol.KeysFilter, func(m transport.Message) {
		k, err := keys.AcceptRotation(m.Payload, time.Now())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			accepted = append(accepted, "error: "+err.Error())
			return
		}
		accepted = append(accepted, k.ID().String())
	})
	testkit.CheckFor(t, 15*time.Second, "rotation accepted", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(accepted) == 0 || accepted[0] != newSigner.ID().String() {
			return fmt.Errorf("accepted %v", accepted)
		}
		return nil
	})
	// The post reports both keys; the posts table shows them.
	ids := []string{oldSigner.ID().String(), newSigner.ID().String()}
	status := fmt.Sprintf(`{"post":"p9","software":"watchpost test","boot":1,"clock":%q,"lists":[],"outbox":{},"keys":["%s","%s"]}`,
		time.Now().UTC().Format(time.RFC3339Nano), ids[0], ids[1])
	if err := cli.Publish(context.Background(), protocol.StatusTopic("p9"), []byte(status), true); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 15*time.Second, "posts shows the keys", func() error {
		code, out, stderr := runCmd(t, "posts", "--hq", httpURL, "--token-file", token)
		if code != ExitOK || !regexp.MustCompile(`(?m)^p9\s.*\s`+ids[0]+","+ids[1]+`\s+-\s*$`).MatchString(out) || !strings.Contains(out, "KEYS") {
			return fmt.Errorf("%d\n%s%s", code, out, stderr)
		}
		return nil
	})

	// Refused by serve: the key it signs with, an ended window.
	code, _, stderr = runCmd(t, "rotate", "--hq", httpURL, "--token-file", token, "--new-pub", filepath.Join(dir, "keys", publish.PublicKeyFile), "--not-after", notAfter)
	if code != ExitFailure || !strings.Contains(stderr, "400") || !strings.Contains(stderr, "is the key HQ signs with now") {
		t.Fatalf("rotate to the current key: %d %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "rotate", "--hq", httpURL, "--token-file", token, "--new-pub", newPub, "--not-before", "2020-01-01T00:00:00Z", "--not-after", "2021-01-01T00:00:00Z")
	if code != ExitFailure || !strings.Contains(stderr, "400") || !strings.Contains(stderr, "the window ended") {
		t.Fatalf("rotate with an ended window: %d %s", code, stderr)
	}
	// Without --hq while serve runs: told to use --hq.
	code, _, stderr = runCmd(t, "rotate", "--data-dir", data, "--key", key, "--broker", url, "--new-pub", newPub, "--not-after", notAfter)
	if code != ExitFailure || !strings.Contains(stderr, "serve is running: use --hq") {
		t.Fatalf("rotate --data-dir during serve: %d %s", code, stderr)
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("serve exited with %d", code)
	}

	// Direct mode, serve stopped: the same announcement is published again.
	code, out, stderr = runCmd(t, "rotate", "--data-dir", data, "--key", key, "--broker", url, "--new-pub", newPub, "--not-before", notBefore, "--not-after", notAfter)
	if code != ExitOK || !strings.Contains(out, "published again") {
		t.Fatalf("rotate --data-dir: %d %s%s", code, out, stderr)
	}
}

func TestRotateUsage(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "hq.pub")
	writeFile(t, pub, "# no key\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rotate", "--hq", "http://127.0.0.1:1", "--not-after", "2030-01-01T00:00:00Z"}, ExitUsage, "--new-pub is required"},
		{[]string{"rotate", "--hq", "http://127.0.0.1:1", "--new-pub", pub}, ExitUsage, "--not-after is required"},
		{[]string{"rotate", "--hq", "http://127.0.0.1:1", "--new-pub", pub, "--not-after", "2030-01-01"}, ExitUsage, "RFC 3339"},
		{[]string{"rotate", "--hq", "http://127.0.0.1:1", "--key", "k", "--new-pub", pub, "--not-after", "2030-01-01T00:00:00Z"}, ExitUsage, "drop --key"},
		{[]string{"rotate", "--new-pub", pub, "--not-after", "2030-01-01T00:00:00Z"}, ExitUsage, "--data-dir is required"},
		{[]string{"rotate", "--hq", "http://127.0.0.1:1", "--new-pub", pub, "--not-after", "2030-01-01T00:00:00Z"}, ExitFailure, "no keys"},
		{[]string{"serve", "--retain-hits", "five years"}, ExitUsage, "5y, 30d or 12h"},
	} {
		code, _, stderr := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %d %s, want %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestRetentionFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"5y": 5 * 365 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "0": 0} {
		var r retention
		if err := r.Set(in); err != nil || r.d != want {
			t.Errorf("Set(%q) = %v, %v", in, r.d, err)
		}
		if r.String() != in && in != "12h" {
			t.Errorf("String of %q = %q", in, r.String())
		}
	}
	if (retention{}).config() >= 0 {
		t.Error("0 must mean forever")
	}
	var r retention
	if err := r.Set("-1h"); err == nil {
		t.Error("negative accepted")
	}
}
