// Package cli implements the watchpost command line: each subcommand
// parses its flags and calls the wiring in daemon/. cmd/watchpost is a thin
// main over Main, so every command runs in-process in tests.
package cli

import (
	"context"
	"flag"
	"io"
	"os"

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
	"run":     {Summary: "run the post (screening, sync with HQ, local API) in the foreground or as the service", Run: runRun},
	"status":  {Summary: "show what the running post holds and the state of its link to HQ", Run: runStatus},
	"import":  {Summary: "import a list edition into the store", Run: runImport},
	"lists":   {Summary: "show the lists in the store", Run: runLists},
	"screen":  {Summary: "screen travellers (JSON lines, MRZ or PAXLST) against the lists", Run: runScreen},
	"parse":   {Summary: "parse MRZ or PAXLST input and print it as JSON", Run: runParse},
	"demo":    {Summary: "screen sample travellers against the embedded UN list; no setup needed", Run: runDemo},
	"bench":   {Summary: "measure screening throughput, latency, import and start-up times", Run: runBench},
	"service": {Summary: "install, uninstall, start, stop, restart or show the system service", Run: runService},
	"config":  {Summary: "check or show the post configuration (every problem with its line)", Run: runConfig},
	"user":    {Summary: "add, change, disable or list the officer console's accounts (passwords from the terminal or stdin)", Run: runUser},
	"audit":   {Summary: "verify the post's hash-chained audit trail and print the first bad entry (post stopped)", Run: runAudit},
	"doctor":  {Summary: "check the post on site: config, data dir, store, lists, clock, HQ keys, broker, TLS, service", Run: doctorCommand(newDoctor)},
	"version": cmdline.VersionCommand("watchpost", &Version, &Commit, &Date),
}

var program = &cmdline.Program{Name: "watchpost", Commands: commands}

// Main runs the watchpost command with args (without the program name) and
// returns the process exit code. SIGINT and SIGTERM cancel the command.
func Main(args []string, env *Env) int { return program.Main(args, env) }

func run(ctx context.Context, args []string, env *Env) int { return program.Run(ctx, args, env) }

func usagef(format string, args ...any) error { return cmdline.Usagef(format, args...) }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	return cmdline.NewFlags(env, "watchpost", name, usage)
}

// parseFlags parses args, allowing flags after positional arguments too.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	return cmdline.ParseFlags(fs, args)
}

// parseNoArgs parses args for a command that takes flags only.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	return cmdline.ParseNoArgs(fs, args)
}

// openInput opens FILE, or standard input for "-" or no argument.
func openInput(env *Env, args []string) (io.ReadCloser, string, error) {
	if len(args) > 1 {
		return nil, "", usagef("want at most one input file, got %d", len(args))
	}
	if len(args) == 0 || args[0] == "-" {
		return io.NopCloser(env.Stdin), "<stdin>", nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, "", err
	}
	return f, args[0], nil
}

// Version, Commit and Date are stamped in by the release build
// (-ldflags "-X github.com/watchpost/watchpost/daemon/cli.Version=…");
// without them the commit comes from the Go toolchain's record of the
// checkout (cmdline.BuildOf).
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)
