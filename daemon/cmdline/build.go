package cmdline

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// Build is what a binary says of its build: the release stamps (Version,
// Commit and Date, set with -ldflags -X by packaging/gobuild) where set,
// else what the Go toolchain recorded for a plain `go build` in a git
// checkout (debug.ReadBuildInfo: vcs.revision, vcs.time, vcs.modified), so
// that no binary built from the source says "commit unknown".
type Build struct {
	Version, Commit, Date string
	// Committed is the commit's time (vcs.time) when Date is not stamped;
	// Modified: the checkout had changes not committed (vcs.modified).
	Committed string
	Modified  bool
}

// unknown is the value of a stamp the release build did not set.
const unknown = "unknown"

// BuildOf returns the build of this binary from its stamps.
func BuildOf(version, commit, date string) Build {
	var settings []debug.BuildSetting
	if bi, ok := debug.ReadBuildInfo(); ok {
		settings = bi.Settings
	}
	return buildFrom(version, commit, date, settings)
}

func buildFrom(version, commit, date string, settings []debug.BuildSetting) Build {
	b := Build{Version: version, Commit: strings.TrimSpace(commit), Date: strings.TrimSpace(date)}
	if b.Commit != unknown && b.Commit != "" {
		return b // a release build: its stamps are the truth
	}
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
			if len(b.Commit) > 12 {
				b.Commit = b.Commit[:12]
			}
		case "vcs.time":
			b.Committed = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if b.Commit == "" {
		b.Commit = unknown
	}
	return b
}

// Revision is the commit as the service logs it: "abc123def456", with
// "+modified" for a build of a changed checkout; "" when unknown.
func (b Build) Revision() string {
	if b.Commit == unknown {
		return ""
	}
	if b.Modified {
		return b.Commit + "+modified"
	}
	return b.Commit
}

// String is the version line of `<program> version` without the program:
// "1.4.0 (commit abc123def456, built 2026-12-07T20:00:00Z)", or for a plain
// go build "dev (commit abc123def456+modified, committed 2026-12-07T19:58:00Z)".
func (b Build) String() string {
	rev := b.Revision()
	if rev == "" {
		rev = unknown
	}
	when := "built " + b.Date
	if (b.Date == unknown || b.Date == "") && b.Committed != "" {
		when = "committed " + b.Committed
	}
	return b.Version + " (commit " + rev + ", " + when + ")"
}

// VersionCommand is a program's "version" command: it prints the program's
// name and BuildOf its release stamps, read when it runs (a release build
// sets them with -ldflags -X before main starts).
func VersionCommand(program string, version, commit, date *string) Command {
	return Command{Summary: "print the version", Run: func(_ context.Context, env *Env, args []string) error {
		if len(args) > 0 {
			return Usagef("version takes no arguments")
		}
		fmt.Fprintf(env.Stdout, "%s %s\n", program, BuildOf(*version, *commit, *date))
		return nil
	}}
}
