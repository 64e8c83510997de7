package hqcli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/web"
)

// TestReadCommandsThroughServe: while serve holds HQ's store, every read
// command given --data-dir reads through serve, as the serve record in
// the data directory says (its address and admin token file); user list
// also has --hq. Where serve cannot be reached that way, the error names
// the exact --hq command to run. Changing accounts while serve runs says
// where to do it instead.
func TestReadCommandsThroughServe(t *testing.T) {
	dir := t.TempDir()
	key := keygen(t, dir)
	data := filepath.Join(dir, "hq")
	if code, out, stderr := runCmdIn(t, "a long enough password\n", "user", "add", "--role", web.RolePublisher, "--data-dir", data, "ana"); code != ExitOK {
		t.Fatalf("user add: %d %s%s", code, out, stderr)
	}
	token := filepath.Join(dir, "token")
	writeFile(t, token, "0123456789abcdef0123\n")
	httpURL, brokerURL, stop := startServe(t, "--data-dir", data, "--key", key,
		"--listen-mqtt", "127.0.0.1:0", "--mqtt-anonymous-loopback", "--insecure-http", "--listen", "127.0.0.1:0", "--admin-token-file", token)
	testPost(t, brokerURL, "post-3", "")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lists"}, "NAME"},
		{[]string{"posts"}, "post-3"},
		{[]string{"hits", "--kind", "hit"}, "HIT-post-3"},
		{[]string{"user", "list"}, "ana"},
	} {
		args := append(append([]string{}, c.args...), "--data-dir", data)
		code, out, stderr := runCmd(t, args...)
		if code != ExitOK || !strings.Contains(out, c.want) {
			t.Fatalf("%v during serve: %d\n%s%s", args, code, out, stderr)
		}
		want := "--hq " + httpURL + " --token-file " + token
		if !strings.Contains(stderr, "read through it at "+httpURL) || !strings.Contains(stderr, want) {
			t.Errorf("%v: stderr %q does not say it went through serve, nor name %q", args, stderr, want)
		}
	}
	// serve's own answer (this post sent no audit chain) is the error,
	// not a reason to name another command.
	code, _, stderr := runCmd(t, "audit", "verify", "--post", "post-3", "--data-dir", data)
	if code != ExitFailure || !strings.Contains(stderr, "read through it at "+httpURL) || !strings.Contains(stderr, "no pinned audit key") || strings.Contains(stderr, "run watchpost-hq") {
		t.Fatalf("audit verify during serve: %d %s", code, stderr)
	}
	code, out, stderr := runCmd(t, "user", "list", "--json", "--hq", httpURL, "--token-file", token)
	var us []web.User
	if code != ExitOK || json.Unmarshal([]byte(out), &us) != nil || len(us) != 1 || us[0].Name != "ana" || us[0].Hash != "" {
		t.Fatalf("user list --hq: %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "user", "list", "--hq", httpURL); code != ExitFailure || !strings.Contains(stderr, "401") {
		t.Fatalf("user list --hq without the token: %d %s", code, stderr)
	}
	if code, _, stderr := runCmdIn(t, "another long password\n", "user", "add", "--role", web.RolePublisher, "--data-dir", data, "bo"); code != ExitFailure ||
		!strings.Contains(stderr, "serve is running") || !strings.Contains(stderr, "console") {
		t.Fatalf("user add during serve: %d %s", code, stderr)
	}

	// The token file serve named is gone: the error names the command.
	moved := token + ".moved"
	if err := os.Rename(token, moved); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "hits", "--data-dir", data, "--kind", "hit", "--limit", "5")
	if want := "run watchpost-hq hits --kind hit --limit 5 --hq " + httpURL + " --token-file " + token; code != ExitFailure || !strings.Contains(stderr, want) {
		t.Fatalf("hits with the token file gone: %d %s\nwant %q", code, stderr, want)
	}
	// Without the record (a serve that did not write one).
	record, err := os.ReadFile(filepath.Join(data, serveRecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, serveRecordFile)); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "lists", "--data-dir", data, "--json")
	if want := "run watchpost-hq lists --json --hq https://HOST:PORT --token-file FILE"; code != ExitFailure || !strings.Contains(stderr, want) || strings.Contains(stderr, "open") {
		t.Fatalf("lists without a serve record: %d %s\nwant %q", code, stderr, want)
	}
	if err := os.WriteFile(filepath.Join(data, serveRecordFile), record, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("serve exited with %d", code)
	}
	if _, err := os.Stat(filepath.Join(data, serveRecordFile)); !os.IsNotExist(err) {
		t.Errorf("serve record left after serve stopped: %v", err)
	}
	if code, out, stderr := runCmd(t, "user", "list", "--data-dir", data); code != ExitOK || !strings.Contains(out, "ana") || stderr != "" {
		t.Fatalf("user list with serve stopped: %d %s%s", code, out, stderr)
	}
}

// The command named for going through serve keeps the other arguments,
// drops the store's, and quotes what a shell would split.
func TestThroughCommand(t *testing.T) {
	cmd := readCommand{name: "audit", args: []string{"verify", "--data-dir", "/var/lib/watchpost-hq", "--post", "gate 1", "--store-key-file=/k", "-json"}}
	got := cmd.through("https://hq.example:8443", "/etc/watchpost-hq/admin token", "")
	want := "watchpost-hq audit verify --post 'gate 1' -json --hq https://hq.example:8443 --token-file '/etc/watchpost-hq/admin token'"
	if got != want {
		t.Errorf("through:\n got %s\nwant %s", got, want)
	}
}
