package cli

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/sync/protocol"
)

// writePostConfig writes a valid configuration (and its key file) with
// extra appended, and returns its path.
func writePostConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, "hq-keys.txt"), []byte(protocol.FormatPublicKey(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "watchpost.yaml")
	text := "post_id: gate-1\nhq:\n  brokers: [tls://hq.example.org:8883]\n  keys_file: hq-keys.txt\nlists: [un]\n" + extra
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigCheck(t *testing.T) {
	t.Setenv(paths.EnvConfig, "")
	good := writePostConfig(t, "")
	code, out, errs := runCLI(t, "", "config", "check", good)
	if code != ExitOK || out != good+": OK\n" {
		t.Errorf("good config: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	bad := writePostConfig(t, "stop_timeout: 15\napi:\n  lisen: 0.0.0.0:1\n")
	code, out, errs = runCLI(t, "", "config", "check", "--config", bad)
	if code != ExitFailure {
		t.Errorf("bad config: exit %d, want %d", code, ExitFailure)
	}
	for _, want := range []string{
		bad + `:6: stop_timeout: "15" has no unit`,
		bad + `:8: api.lisen: unknown key "lisen"; did you mean "listen"?`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "2 errors, 0 warnings") {
		t.Errorf("stderr %q", errs)
	}

	// Warnings alone pass, unless --strict.
	warn := writePostConfig(t, "stop_timeout: 25s\n")
	if code, out, _ := runCLI(t, "", "config", "check", warn); code != ExitOK || !strings.Contains(out, "warning: 25s is longer") || !strings.Contains(out, "OK (1 warning)") {
		t.Errorf("warning only: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "", "config", "check", "--strict", warn); code != ExitFailure {
		t.Errorf("--strict with a warning: exit %d, want %d", code, ExitFailure)
	}

	// The file: FILE or --config, else $WATCHPOST_CONFIG.
	t.Setenv(paths.EnvConfig, bad)
	if code, _, _ := runCLI(t, "", "config", "check"); code != ExitFailure {
		t.Errorf("$%s=bad: exit %d", paths.EnvConfig, code)
	}
	if code, _, _ := runCLI(t, "", "config", "check", "--config", good); code != ExitOK {
		t.Errorf("--config beats $%s: exit %d", paths.EnvConfig, code)
	}
	// The environment beats the file.
	t.Setenv("WATCHPOST_POST_ID", "Not_Valid")
	if code, out, _ := runCLI(t, "", "config", "check", good); code != ExitFailure || !strings.Contains(out, "env WATCHPOST_POST_ID: post_id:") {
		t.Errorf("env override: exit %d\n%s", code, out)
	}
	t.Setenv("WATCHPOST_POST_ID", "")

	missing := filepath.Join(t.TempDir(), "none.yaml")
	if code, out, _ := runCLI(t, "", "config", "check", missing); code != ExitFailure || !strings.Contains(out, missing+": no such file") {
		t.Errorf("missing file: exit %d\n%s", code, out)
	}
}

func TestConfigUsage(t *testing.T) {
	for _, args := range [][]string{
		{"config"},
		{"config", "nosuch"},
		{"config", "check", "a.yaml", "b.yaml"},
		{"config", "check", "--nosuch"},
		{"config", "check", "--config", "a.yaml", "b.yaml"},
		{"config", "show", "a", "b"},
	} {
		code, _, errs := runCLI(t, "", args...)
		if code != ExitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d", args, code, errs, ExitUsage)
		}
	}
	if code, _, errs := runCLI(t, "", "config", "help"); code != ExitOK || !strings.Contains(errs, "config check") {
		t.Errorf("config help: exit %d, %q", code, errs)
	}
}

func TestConfigShow(t *testing.T) {
	t.Setenv(paths.EnvConfig, "")
	path := writePostConfig(t, "api:\n  listen: 127.0.0.1:9000\n")
	t.Setenv("WATCHPOST_HQ_PASSWORD", "s3cret-Pa55word")
	t.Setenv("WATCHPOST_HQ_USERNAME", "post")
	t.Setenv("WATCHPOST_OUTBOX_BUDGET", "128MiB")
	code, out, errs := runCLI(t, "", "config", "show", path)
	if code != ExitOK {
		t.Fatalf("show: exit %d, %s", code, errs)
	}
	if strings.Contains(out+errs, "s3cret") {
		t.Fatalf("the password was printed:\n%s", out)
	}
	for _, want := range [][]string{
		{"post_id", "gate-1", path + ":1", "WATCHPOST_POST_ID"},
		{"api.listen", "127.0.0.1:9000", path + ":7"},
		{"outbox.budget", "128MiB", "env WATCHPOST_OUTBOX_BUDGET"},
		{"hq.password", "[redacted]", "env WATCHPOST_HQ_PASSWORD"},
		{"stop_timeout", "15s", "default", "WATCHPOST_STOP_TIMEOUT"},
	} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == want[0] {
				found = true
				if !containsAll(line, want[1:]) {
					t.Errorf("show line %q, want %v", line, want)
				}
			}
		}
		if !found {
			t.Errorf("show lacks %s:\n%s", want[0], out)
		}
	}

	bad := writePostConfig(t, "log:\n  level: loud\n")
	code, out, errs = runCLI(t, "", "config", "show", bad)
	if code != ExitFailure || !strings.Contains(out, "log.level") || !strings.Contains(errs, `log.level: "loud"`) {
		t.Errorf("show of a bad config: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
