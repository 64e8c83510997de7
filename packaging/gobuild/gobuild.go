// Package gobuild cross-compiles Watchpost's release binaries reproducibly:
// it works out the version, commit and build date to stamp in (from flags,
// git and SOURCE_DATE_EPOCH) and runs `go build` with CGO off, -trimpath,
// no VCS stamping and an empty build id, so two builds of one commit give
// byte-identical binaries.
package gobuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Module is the main module's path; the -X flags name its variables.
const Module = "github.com/watchpost/watchpost"

// Stamp is what a build stamps into the binaries and the packages.
type Stamp struct {
	// Version is the package version, usable by dpkg and rpm as it is:
	// "1.2.3", "1.2.3~rc1", "1.2.3+4.gabcdef0" (4 commits after v1.2.3) or
	// "0.0.0~dev+abcdef0" (no tag). A tree with uncommitted changes adds
	// ".dirty".
	Version string
	// Commit is the abbreviated commit hash ("unknown" outside git).
	Commit string
	// Time is the build date: SOURCE_DATE_EPOCH, else the commit time. It
	// is also every file's mtime in the packages.
	Time time.Time
}

// Date is Time as the binaries print it (RFC 3339, UTC).
func (s Stamp) Date() string { return s.Time.UTC().Format(time.RFC3339) }

// MSIVersion is the numeric major.minor.build that Windows Installer
// compares (each part bounded as MSI requires): the first three numbers
// of Version.
func (s Stamp) MSIVersion() string {
	m := leadingTriple.FindStringSubmatch(s.Version)
	if m == nil {
		return "0.0.0"
	}
	clamp := func(v string, max int) int {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0
		}
		return min(n, max)
	}
	return fmt.Sprintf("%d.%d.%d", clamp(m[1], 255), clamp(m[2], 255), clamp(m[3], 65535))
}

var leadingTriple = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// describe matches `git describe --tags --always --dirty --match 'v[0-9]*'`
// output: a tag with optional pre-release, commits since it, hash, dirty.
var describe = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.]+?))??(?:-(\d+)-g([0-9a-f]+))?(-dirty)?$`)

// hashOnly is `git describe --always` output when no tag is reachable.
var hashOnly = regexp.MustCompile(`^([0-9a-f]{4,40})(-dirty)?$`)

// validVersion is what dpkg and rpm both accept in an upstream version
// without a revision: a digit first, then letters, digits, '.', '+', '~'.
var validVersion = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)

// NormalizeVersion turns a tag-like or `git describe` version into a
// package version that dpkg and rpm order correctly: a leading "v" goes,
// a pre-release ("-rc1") sorts before its release ("~rc1"), and commits
// after a tag sort after it ("+4.gabcdef0").
func NormalizeVersion(v string) (string, error) {
	v = strings.TrimSpace(v)
	if m := hashOnly.FindStringSubmatch(v); m != nil && !strings.Contains(v, ".") {
		out := "0.0.0~dev+" + m[1]
		if m[2] != "" {
			out += ".dirty"
		}
		return out, nil
	}
	if m := describe.FindStringSubmatch(v); m != nil {
		out := m[1]
		if m[2] != "" {
			out += "~" + m[2]
		}
		var meta []string
		if m[3] != "" {
			meta = append(meta, m[3], "g"+m[4])
		}
		if m[5] != "" {
			meta = append(meta, "dirty")
		}
		if len(meta) > 0 {
			out += "+" + strings.Join(meta, ".")
		}
		return out, nil
	}
	v = strings.TrimPrefix(v, "v")
	if !validVersion.MatchString(v) {
		return "", fmt.Errorf("version %q: want digits first, then only letters, digits, '.', '+' or '~' (dpkg and rpm)", v)
	}
	return v, nil
}

// Resolve works out the stamp for the tree at root. version, when not
// empty, is used (normalized) instead of `git describe`; getenv reads
// SOURCE_DATE_EPOCH.
func Resolve(ctx context.Context, root, version string, getenv func(string) string) (Stamp, error) {
	var s Stamp
	var err error
	if version == "" {
		d, derr := git(ctx, root, "describe", "--tags", "--always", "--dirty", "--match", "v[0-9]*")
		if derr != nil {
			return s, fmt.Errorf("no --version given and git describe failed: %w", derr)
		}
		version = d
	}
	if s.Version, err = NormalizeVersion(version); err != nil {
		return s, err
	}
	s.Commit = "unknown"
	if c, err := git(ctx, root, "rev-parse", "--short=12", "HEAD"); err == nil {
		s.Commit = c
	}
	if e := getenv("SOURCE_DATE_EPOCH"); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return s, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", e, err)
		}
		s.Time = time.Unix(n, 0).UTC()
		return s, nil
	}
	ct, err := git(ctx, root, "log", "-1", "--format=%ct")
	if err != nil {
		return s, fmt.Errorf("no SOURCE_DATE_EPOCH and no commit time: %w", err)
	}
	n, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return s, fmt.Errorf("commit time %q: %w", ct, err)
	}
	s.Time = time.Unix(n, 0).UTC()
	return s, nil
}

func git(ctx context.Context, root string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// Target is one platform to build for.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// Exe is the file name of program on the target ("watchpost.exe" on
// Windows).
func (t Target) Exe(program string) string {
	if t.OS == "windows" {
		return program + ".exe"
	}
	return program
}

// Program is one command to build: its name and its main package, and
// the package whose Version, Commit and Date variables are stamped.
type Program struct {
	Name, Main, StampPkg string
}

// Programs are Watchpost's two commands.
var Programs = []Program{
	{Name: "watchpost", Main: "./cmd/watchpost", StampPkg: Module + "/daemon/cli"},
	{Name: "watchpost-hq", Main: "./cmd/watchpost-hq", StampPkg: Module + "/daemon/hqcli"},
}

// Flags returns the go build arguments (after "build") that make the
// binary reproducible and stamp s into it.
func Flags(p Program, s Stamp, out string) []string {
	x := func(name, value string) string { return "-X " + p.StampPkg + "." + name + "=" + value }
	ldflags := strings.Join([]string{"-s", "-w", "-buildid=",
		x("Version", s.Version), x("Commit", s.Commit), x("Date", s.Date())}, " ")
	return []string{"-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, p.Main}
}

// Build compiles p for t from the module at root into out.
func Build(ctx context.Context, root string, p Program, t Target, s Stamp, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, Flags(p, s, out)...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", p.Name, t, err, out)
	}
	return nil
}
