package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/paths"
)

const configUsage = `usage: watchpost config check [--config FILE] [--skip-files] [--strict] [FILE]
       watchpost config show  [--config FILE] [--skip-files] [FILE]
       watchpost config new-store-key FILE

check reports every problem in the configuration (with file, line and key)
and exits 1 if there is an error; warnings alone exit 0 unless --strict.
show prints each key's effective value (secrets redacted) and where it came
from: a line of the file, an environment variable, or the default.

new-store-key writes a fresh store encryption key (AES-256, 64 hex digits)
to FILE with mode 0600, for store.encryption_key_file; it never overwrites
a file. Keep a copy somewhere safe: without it the store cannot be read.

FILE (or --config) defaults to $` + paths.EnvConfig + `, else ` + "the per-OS default" + `.
Precedence of a key's value: default < file < WATCHPOST_* variable.`

func runConfig(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, configUsage)
		return usagef("want a subcommand: check, show or new-store-key")
	}
	switch args[0] {
	case "check":
		return runConfigCheck(env, args[1:])
	case "show":
		return runConfigShow(env, args[1:])
	case "new-store-key":
		return runConfigNewStoreKey(env, args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(env.Stderr, configUsage)
		return flag.ErrHelp
	}
	return usagef("unknown subcommand %q (want check, show or new-store-key)", args[0])
}

// configFlags are check's and show's common flags.
type configFlags struct {
	file      *string
	skipFiles *bool
}

func newConfigFlags(fs *flag.FlagSet) configFlags {
	return configFlags{
		file:      fs.String("config", "", "configuration file (default $"+paths.EnvConfig+", else "+paths.DefaultConfigFile()+")"),
		skipFiles: fs.Bool("skip-files", false, "do not open the files the configuration names (keys, TLS, password, tokens): for a configuration written for another machine"),
	}
}

// parse parses the command line and loads the file it names.
func (cf configFlags) parse(fs *flag.FlagSet, args []string) (*config.Config, []config.Problem, string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, "", err
	}
	return cf.load(pos)
}

// load picks the file (--config or FILE > $WATCHPOST_CONFIG > default)
// and checks it against the process environment.
func (cf configFlags) load(pos []string) (*config.Config, []config.Problem, string, error) {
	if len(pos) > 1 {
		return nil, nil, "", usagef("want at most one FILE, got %d", len(pos))
	}
	file := *cf.file
	if len(pos) == 1 {
		if file != "" && file != pos[0] {
			return nil, nil, "", usagef("FILE %q and --config %q disagree; give one", pos[0], file)
		}
		file = pos[0]
	}
	if file == "" {
		file = paths.DefaultConfigFile()
	}
	cfg, problems := config.Check(file, config.Options{Env: os.Getenv, Environ: os.Environ(), SkipFiles: *cf.skipFiles})
	return cfg, problems, file, nil
}

func countProblems(problems []config.Problem) (errs, warns int) {
	for _, p := range problems {
		if p.Warning {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func runConfigCheck(env *Env, args []string) error {
	fs := newFlags(env, "config check", "[--config FILE] [--skip-files] [--strict] [FILE]")
	cf := newConfigFlags(fs)
	strict := fs.Bool("strict", false, "fail on warnings too")
	_, problems, file, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(env.Stdout, p.Error())
	}
	errs, warns := countProblems(problems)
	if errs > 0 || *strict && warns > 0 {
		return fmt.Errorf("%s: %s, %s", file, plural(errs, "error"), plural(warns, "warning"))
	}
	if warns > 0 {
		fmt.Fprintf(env.Stdout, "%s: OK (%s)\n", file, plural(warns, "warning"))
	} else {
		fmt.Fprintf(env.Stdout, "%s: OK\n", file)
	}
	return nil
}

func runConfigShow(env *Env, args []string) error {
	fs := newFlags(env, "config show", "[--config FILE] [--skip-files] [FILE]")
	cf := newConfigFlags(fs)
	cfg, problems, file, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tFROM\tVARIABLE")
	for _, s := range cfg.Settings() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Key, s.Value, s.Source, s.Env)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(env.Stderr, p.Error())
	}
	if errs, warns := countProblems(problems); errs > 0 {
		return fmt.Errorf("%s: %s, %s (run watchpost config check)", file, plural(errs, "error"), plural(warns, "warning"))
	}
	return nil
}

func runConfigNewStoreKey(env *Env, args []string) error {
	fs := newFlags(env, "config new-store-key", "FILE")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one FILE to write the key to, got %d", len(pos))
	}
	if err := config.WriteStoreKeyFile(pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote a new store encryption key to %s (mode 0600).\n", pos[0])
	fmt.Fprintln(env.Stdout, "Make it readable by the service user only, set store.encryption_key_file to it, and keep a copy")
	fmt.Fprintln(env.Stdout, "somewhere safe: without the key the store cannot be read. An existing unencrypted store is not")
	fmt.Fprintln(env.Stdout, "converted: see store.encryption_key_file in configs/watchpost.yaml.")
	return nil
}
