package cmdline

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildFrom(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "2d552f7e1a3b4c5d6e7f8091a2b3c4d5e6f70819"},
		{Key: "vcs.time", Value: "2026-12-07T20:37:52Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, c := range []struct {
		name                  string
		version, commit, date string
		settings              []debug.BuildSetting
		want, revision        string
	}{
		{"release stamps win", "1.4.0", "abc1234", "2026-12-01T10:00:00Z", vcs, "1.4.0 (commit abc1234, built 2026-12-01T10:00:00Z)", "abc1234"},
		{"plain go build", "dev", "unknown", "unknown", vcs, "dev (commit 2d552f7e1a3b+modified, committed 2026-12-07T20:37:52Z)", "2d552f7e1a3b+modified"},
		{"clean checkout", "dev", "unknown", "unknown", vcs[:3], "dev (commit 2d552f7e1a3b, committed 2026-12-07T20:37:52Z)", "2d552f7e1a3b"},
		{"no vcs (go run, a tarball)", "dev", "unknown", "unknown", nil, "dev (commit unknown, built unknown)", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := buildFrom(c.version, c.commit, c.date, c.settings)
			if got := b.String(); got != c.want {
				t.Errorf("String = %q, want %q", got, c.want)
			}
			if got := b.Revision(); got != c.revision {
				t.Errorf("Revision = %q, want %q", got, c.revision)
			}
		})
	}
}

// A plain `go build` of the command in this checkout reports the
// checkout's commit, not "commit unknown".
func TestGoBuildReportsCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds watchpost-hq")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (git rev-parse: %v)", err)
	}
	// The toolchain finds git only where .git is a directory: not in a
	// linked worktree (whose .git is a file) or a submodule.
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		t.Skip("a git worktree or submodule: go build records no vcs information there")
	}
	bin := filepath.Join(t.TempDir(), "watchpost-hq")
	// As a plain `go build` does by default (GOFLAGS may say otherwise).
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "../../cmd/watchpost-hq")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("watchpost-hq version: %v\n%s", err, out)
	}
	want := "(commit " + strings.TrimSpace(string(head))[:12]
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "committed ") {
		t.Errorf("watchpost-hq version: %q, want %q… and the commit time", out, want)
	}
}
