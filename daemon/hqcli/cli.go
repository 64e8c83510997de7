// Package hqcli implements the watchpost-hq command line, HQ's side of
// list replication: each subcommand parses its flags and calls sync/hq.
// cmd/watchpost-hq is a thin main over Main, so every command runs
// in-process in tests. It mirrors daemon/cli (same exit codes, flag
// handling and error convention).
package hqcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// Exit codes of the watchpost-hq command (the same as watchpost's).
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command ran and failed (bad input, store or broker error)
	ExitUsage   = 2 // bad flags or arguments
)

// Env is what a command reads and writes besides its arguments.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

var commands = map[string]command{
	"keygen":  {"make HQ's signing key pair (hq.key, hq.pub) in a directory", runKeygen},
	"publish": {"publish a new edition of a list: delta, snapshot and signed head", runPublish},
	"heads":   {"re-sign and publish the head of every list (run every few hours)", runHeads},
	"lists":   {"show the lists HQ publishes and their state", runLists},
	"version": {"print the version", runVersion},
}

// notBuilt are the HQ commands of the design (PROTOCOL.md 7) that do not
// exist yet; the usage text says so rather than offering stubs.
const notBuilt = `Not built yet: serve (receive hits and status, serve snapshots and
deltas over HTTPS, re-sign heads on a timer), posts (fleet table) and
hits (recent hits). Until serve exists, serve --snapshot-dir with any
HTTPS server at --snapshot-url and run 'heads' from a timer (every 6 h).`

// usageError marks an error in the command line rather than in the work.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the watchpost-hq command with args (without the program name)
// and returns the process exit code. SIGINT cancels the command.
func Main(args []string, env *Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return run(ctx, args, env)
}

func run(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(env.Stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "watchpost-hq: unknown command %q\n", args[0])
		printUsage(env.Stderr)
		return ExitUsage
	}
	err := cmd.run(ctx, env, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "watchpost-hq %s: %v\n", args[0], err)
		return ExitUsage
	default:
		fmt.Fprintf(env.Stderr, "watchpost-hq %s: %v\n", args[0], err)
		return ExitFailure
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: watchpost-hq <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n"+notBuilt)
	fmt.Fprintln(w, "\nRun 'watchpost-hq <command> -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: watchpost-hq %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments too.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// Version, Commit and Date are stamped in by the release build, as for
// watchpost (-ldflags "-X github.com/watchpost/watchpost/daemon/hqcli.Version=…").
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

func runVersion(_ context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(env.Stdout, "watchpost-hq %s (commit %s, built %s)\n", Version, Commit, strings.TrimSpace(Date))
	return nil
}
