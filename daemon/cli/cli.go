// Package cli implements the watchpost command line: each subcommand
// parses its flags and calls the wiring in daemon/. cmd/watchpost is a thin
// main over Main, so every command runs in-process in tests.
package cli

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

// Exit codes of the watchpost command.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command ran and failed (bad input file, store error)
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
	"import":  {"import a list edition into the store", runImport},
	"lists":   {"show the lists in the store", runLists},
	"screen":  {"screen travellers (JSON lines, MRZ or PAXLST) against the lists", runScreen},
	"parse":   {"parse MRZ or PAXLST input and print it as JSON", runParse},
	"demo":    {"screen sample travellers against the embedded UN list; no setup needed", runDemo},
	"bench":   {"measure screening throughput, latency, import and start-up times", runBench},
	"version": {"print the version", runVersion},
}

// usageError marks an error in the command line rather than in the work.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the watchpost command with args (without the program name) and
// returns the process exit code. SIGINT and SIGTERM cancel the command.
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
		fmt.Fprintf(env.Stderr, "watchpost: unknown command %q\n", args[0])
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
		fmt.Fprintf(env.Stderr, "watchpost %s: %v\n", args[0], err)
		return ExitUsage
	default:
		fmt.Fprintf(env.Stderr, "watchpost %s: %v\n", args[0], err)
		return ExitFailure
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: watchpost <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'watchpost <command> -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: watchpost %s %s\n", name, usage)
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
// (-ldflags "-X github.com/watchpost/watchpost/daemon/cli.Version=…").
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)

func runVersion(_ context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(env.Stdout, "watchpost %s (commit %s, built %s)\n", Version, Commit, strings.TrimSpace(Date))
	return nil
}
