// Package hqcli implements the watchpost-hq command line, HQ's side of
// list replication and fleet view: each subcommand parses its flags and
// either starts HQ through daemon.HQ (serve runs it; publish, heads,
// rotate, lists, posts and hits open its store through the same wiring)
// or goes through a running serve's admin API (--hq).
// cmd/watchpost-hq is a thin main over Main, so every command runs
// in-process in tests. It mirrors daemon/cli (same exit codes, flag
// handling and error convention).
package hqcli

import (
	"context"
	"flag"

	"github.com/watchpost/watchpost/daemon/cmdline"
)

// Exit codes (the contract of every Watchpost program; see daemon/cmdline).
const (
	ExitOK      = cmdline.ExitOK
	ExitFailure = cmdline.ExitFailure
	ExitUsage   = cmdline.ExitUsage
)

// Env is what a command reads and writes besides its arguments.
type Env = cmdline.Env

var commands = map[string]cmdline.Command{
	"keygen":  {Summary: "make HQ's signing key pair (hq.key, hq.pub) in a directory", Run: runKeygen},
	"user":    {Summary: "manage the HQ console's accounts (add, passwd, disable, enable, list) in HQ's store", Run: runUser},
	"publish": {Summary: "publish a new edition of a list: delta, snapshot and signed head", Run: runPublish},
	"heads":   {Summary: "re-sign and publish the head of every list (serve does it on a timer)", Run: runHeads},
	"rotate":  {Summary: "announce HQ's next signing key to the posts (then restart serve with it)", Run: runRotate},
	"lists":   {Summary: "show the lists HQ publishes and their state", Run: runLists},
	"serve":   {Summary: "receive hits and status, ack, serve snapshots and deltas over HTTPS, re-sign heads", Run: runServe},
	"posts":   {Summary: "show the fleet: presence, lists held against HQ's, outbox, clock", Run: runPosts},
	"hits":    {Summary: "show recent hits and other records the posts sent", Run: runHits},
	"audit":   {Summary: "verify a post's audit chain as HQ holds it and print the first bad entry (audit verify --post P)", Run: runAudit},
	"version": cmdline.VersionCommand("watchpost-hq", &Version, &Commit, &Date),
}

var program = &cmdline.Program{Name: "watchpost-hq", Commands: commands}

// Main runs the watchpost-hq command with args (without the program name) and
// returns the process exit code. SIGINT and SIGTERM cancel the command.
func Main(args []string, env *Env) int { return program.Main(args, env) }

func run(ctx context.Context, args []string, env *Env) int { return program.Run(ctx, args, env) }

func usagef(format string, args ...any) error { return cmdline.Usagef(format, args...) }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	return cmdline.NewFlags(env, "watchpost-hq", name, usage)
}

// parseFlags parses args, allowing flags after positional arguments too.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	return cmdline.ParseFlags(fs, args)
}

// Version, Commit and Date are stamped in by the release build, as for
// watchpost (-ldflags "-X github.com/watchpost/watchpost/daemon/hqcli.Version=…");
// without them the commit comes from the Go toolchain (cmdline.BuildOf).
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)
