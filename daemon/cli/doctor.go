package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/watchpost/watchpost/daemon/doctor"
	"github.com/watchpost/watchpost/daemon/paths"
)

// newDoctor returns the doctor for the real world; tests build the command
// with doctorCommand and their own doctor (disk, service manager).
func newDoctor(env *Env, configPath string) *doctor.Doctor {
	return &doctor.Doctor{
		ConfigPath:  configPath,
		Env:         os.Getenv,
		Interactive: doctor.Interactive(),
		Logger:      slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
}

// doctorCommand returns the doctor command over the doctors newDoctor
// makes: it checks the post on site and prints one line per finding, and
// exits 1 when any check failed (warnings allowed).
func doctorCommand(newDoctor func(env *Env, configPath string) *doctor.Doctor) func(context.Context, *Env, []string) error {
	return func(ctx context.Context, env *Env, args []string) error { return runDoctor(ctx, env, args, newDoctor) }
}

func runDoctor(ctx context.Context, env *Env, args []string, newDoctor func(env *Env, configPath string) *doctor.Doctor) error {
	fs := newFlags(env, "doctor", "[--config FILE] [--json]")
	configPath := fs.String("config", paths.DefaultConfigFile(), "configuration file (env "+paths.EnvConfig+")")
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	rep := newDoctor(env, *configPath).Run(ctx)
	if *asJSON {
		out := struct {
			*doctor.Report
			OK      int `json:"ok"`
			Warn    int `json:"warn"`
			Fail    int `json:"fail"`
			Skipped int `json:"skipped"`
		}{rep, rep.Count(doctor.OK), rep.Count(doctor.Warn), rep.Count(doctor.Fail), rep.Count(doctor.Skipped)}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
		for _, f := range rep.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Check, f.Result, f.Detail)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "\n%d ok, %d warnings, %d failed, %d skipped\n",
			rep.Count(doctor.OK), rep.Count(doctor.Warn), rep.Count(doctor.Fail), rep.Count(doctor.Skipped))
	}
	if n := rep.Count(doctor.Fail); n > 0 {
		what := "checks"
		if n == 1 {
			what = "check"
		}
		return fmt.Errorf("%d %s failed: fix and run 'watchpost doctor' again", n, what)
	}
	return nil
}
