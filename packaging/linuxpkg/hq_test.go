package linuxpkg

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/hqcli"
)

const (
	hqUnitSrc = "../systemd/watchpost-hq.service"
	hqEnvSrc  = "../systemd/watchpost-hq-serve.env"
)

func hqFixture(t *testing.T) Spec {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "watchpost-hq")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho fake\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return HQ("1.2.3", "abcdef0", "amd64", time.Unix(1700000000, 0), bin, hqEnvSrc, hqUnitSrc)
}

func TestHQDebLayout(t *testing.T) {
	deb := build(t, "deb", hqFixture(t))
	ctrlFiles := debControl(t, deb, HQEnvFile)
	if !strings.Contains(string(ctrlFiles["/postinst"]), "watchpost-hq keygen") {
		t.Error("postinst is not the watchpost-hq one")
	}
	if !strings.Contains(string(ctrlFiles["/control"]), "Depends: adduser\n") {
		t.Errorf("control lacks Depends: adduser:\n%s", ctrlFiles["/control"])
	}
	data, bodies := tarGz(t, debMember(t, deb, "data.tar.gz"))
	want := map[string]int64{
		"/usr/bin/watchpost-hq":                 0o755,
		HQEnvFile:                               0o644,
		HQUnit:                                  0o644,
		HQConfigured:                            0o755,
		"/usr/share/doc/watchpost-hq/copyright": 0o644,
	}
	wantFiles(t, data, want)
	unit, _ := os.ReadFile(hqUnitSrc)
	if !bytes.Equal(bodies[HQUnit], unit) {
		t.Error("the packaged unit differs from packaging/systemd/watchpost-hq.service")
	}
	for _, name := range []string{ConfigFile, UnitFile} {
		if _, ok := data[name]; ok {
			t.Errorf("the HQ package holds the post's %s", name)
		}
	}
}

func TestHQRPMBuilds(t *testing.T) {
	s := hqFixture(t)
	a, b := build(t, "rpm", s), build(t, "rpm", s)
	if !bytes.Equal(a, b) {
		t.Error("two rpm builds differ")
	}
	name, err := FileName("rpm", s)
	if err != nil || name != "watchpost-hq-1.2.3-1.x86_64.rpm" {
		t.Errorf("FileName = %q, %v", name, err)
	}
}

// TestUnitsVerify runs systemd-analyze verify on both units, with their
// programs replaced by stubs (the build host has none installed); any
// warning fails.
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{hqUnitSrc, "../systemd/watchpost.service"} {
		body, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.NewReplacer("/usr/bin/watchpost-hq ", stub+" ", "/usr/bin/watchpost ", stub+" ",
			HQConfigured+" ", stub+" ").Replace(string(body))
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(u), err, out)
		}
	}
}

// envArgs sources a serve.env with sh (as the maintainer scripts do) and
// returns WATCHPOST_HQ_SERVE_ARGS split on whitespace (as systemd does).
func envArgs(t *testing.T, env string) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "serve.env")
	if err := os.WriteFile(p, []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", `. "$1" && printf '%s' "$WATCHPOST_HQ_SERVE_ARGS"`, "sh", p).Output()
	if err != nil {
		t.Fatalf("sourcing serve.env: %v", err)
	}
	return strings.Fields(string(out))
}

// TestServeEnv: the default and the commented production example of
// serve.env pass serve's own flag validation (serve then fails on the
// missing key, exit 1, not on its flags, exit 2), and the default listens
// on loopback only.
func TestServeEnv(t *testing.T) {
	raw, err := os.ReadFile(hqEnvSrc)
	if err != nil {
		t.Fatal(err)
	}
	env := string(raw)
	// The production block: the commented assignment and its continuation
	// lines, uncommented, after the default (the last assignment wins).
	i := strings.Index(env, "\n#WATCHPOST_HQ_SERVE_ARGS=")
	if i < 0 {
		t.Fatal("serve.env has no commented production example")
	}
	prod := env[:i+1] + strings.ReplaceAll(env[i+1:], "\n#", "\n")[1:]
	missingKey := filepath.Join(t.TempDir(), "keys", "hq.key")
	for name, text := range map[string]string{"default": env, "production": prod} {
		args := envArgs(t, text)
		joined := " " + strings.Join(args, " ") + " "
		if !strings.Contains(joined, " --key /var/lib/watchpost-hq/keys/hq.key ") || !strings.Contains(joined, " --data-dir /var/lib/watchpost-hq ") {
			t.Errorf("%s: args lack --data-dir or --key: %q", name, args)
		}
		switch name {
		case "default":
			for _, bad := range []string{"0.0.0.0", "--listen-mqtts", "--mqtt-anonymous-loopback"} {
				if strings.Contains(joined, bad) {
					t.Errorf("default args contain %s: %q", bad, args)
				}
			}
		case "production":
			for _, want := range []string{"--listen-mqtts", "--mqtt-client-ca", "--https-cert", "--snapshot-url https://", "--admin-token-file"} {
				if !strings.Contains(joined, want) {
					t.Errorf("production args lack %s: %q", want, args)
				}
			}
		}
		for j := range args {
			if args[j] == "/var/lib/watchpost-hq/keys/hq.key" {
				args[j] = missingKey
			}
		}
		var stdout, stderr bytes.Buffer
		code := hqcli.Main(append([]string{"serve"}, args...), &hqcli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
		if code != hqcli.ExitFailure || !strings.Contains(stderr.String(), missingKey) {
			t.Errorf("%s: serve %q exited %d, want %d (flags valid, key missing): %s", name, args, code, hqcli.ExitFailure, stderr.String())
		}
	}
}

// TestServeConfigured runs the helper behind ExecCondition= and the
// postinst's check.
func TestServeConfigured(t *testing.T) {
	helper := "scripts/hq-serve-configured.sh"
	key := filepath.Join(t.TempDir(), "hq.key")
	run := func(args ...string) (int, string) {
		out, err := exec.Command("sh", append([]string{helper}, args...)...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	for _, c := range []struct {
		args []string
		want string // "" for configured
	}{
		{nil, "is empty"},
		{[]string{"--data-dir", "/x", "--listen-mqtt", "127.0.0.1:1883"}, "has no --key"},
		{[]string{"--data-dir", "/x", "--key", key}, "no signing key " + key},
		{[]string{"--data-dir", "/x", "--key=" + key}, "no signing key " + key},
	} {
		code, out := run(c.args...)
		if code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%q: exit %d, %q; want 1 and %q", c.args, code, out, c.want)
		}
	}
	if err := os.WriteFile(key, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--data-dir", "/x", "--key", key}, {"-key=" + key}} {
		if code, out := run(args...); code != 0 || out != "" {
			t.Errorf("%q with the key present: exit %d, %q", args, code, out)
		}
	}
}
