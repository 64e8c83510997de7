// Package cmdline is the small subcommand framework of Watchpost's
// programs (watchpost, watchpost-hq): one table of commands, flags that
// report errors instead of exiting, and one exit-code contract. Commands
// run in-process, so tests call them directly.
package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes of every Watchpost program.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the command ran and failed (bad input file, store or broker error)
	ExitUsage   = 2 // bad flags or arguments
)

// Exit codes of the long-running daemon (watchpost run) beyond the three
// above. They are a contract with the service manager: the systemd unit
// (daemon/service) does not restart on ExitUsage or ExitConfig, because
// restarting cannot fix them.
const (
	ExitConfig  = 3 // the configuration file is missing, unreadable or invalid
	ExitStore   = 4 // the store cannot be opened, or another process holds its lock
	ExitDataDir = 5 // the data directory cannot be created or is not writable
)

// Env is what a command reads and writes besides its arguments.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Command is one subcommand.
type Command struct {
	Summary string
	Run     func(ctx context.Context, env *Env, args []string) error
}

// Program is a command-line program made of subcommands.
type Program struct {
	Name     string
	Commands map[string]Command
	Epilogue string // printed after the command list, if any
}

// UsageError marks an error in the command line rather than in the work;
// it exits with ExitUsage.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// Main runs the program with args (without the program name) and returns
// the process exit code. SIGINT and SIGTERM (what service managers send)
// cancel the command's context, so a long-running command stops cleanly.
func (p *Program) Main(args []string, env *Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return p.Run(ctx, args, env)
}

// Run runs one subcommand and maps its result to an exit code, printing
// any error as "<program> <command>: <error>".
func (p *Program) Run(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		p.PrintUsage(env.Stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := p.Commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "%s: unknown command %q\n", p.Name, args[0])
		p.PrintUsage(env.Stderr)
		return ExitUsage
	}
	err := cmd.Run(ctx, env, args[1:])
	var ue UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, args[0], err)
		return ExitUsage
	case errors.As(err, new(exitCoder)):
		var ec exitCoder
		errors.As(err, &ec)
		fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, args[0], err)
		return ec.ExitCode()
	default:
		fmt.Fprintf(env.Stderr, "%s %s: %v\n", p.Name, args[0], err)
		return ExitFailure
	}
}

// exitCoder is an error that carries its exit code (daemon/service's
// ExitError: ExitConfig, ExitStore, ExitDataDir).
type exitCoder interface {
	error
	ExitCode() int
}

// PrintUsage lists the commands.
func (p *Program) PrintUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <command> [flags] [args]\n\ncommands:\n", p.Name)
	names := make([]string, 0, len(p.Commands))
	for n := range p.Commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, p.Commands[n].Summary)
	}
	if p.Epilogue != "" {
		fmt.Fprintln(w, "\n"+p.Epilogue)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", p.Name)
}

// NewFlags returns a flag set for command name of program prog that
// reports errors instead of exiting.
func NewFlags(env *Env, prog, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: %s %s %s\n", prog, name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// ParseFlags parses args, allowing flags after positional arguments too,
// and returns the positional arguments.
func ParseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, UsageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// ParseNoArgs parses args for a command that takes flags only: a
// positional argument is a usage error naming the command.
func ParseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return Usagef("%s takes no arguments", fs.Name())
	}
	return nil
}
