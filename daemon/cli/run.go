package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/logging"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/daemon/service"
	"github.com/watchpost/watchpost/engine/logkey"
)

// runRun runs the post: in the foreground from a terminal, or as the
// system service (the unit runs `watchpost run --config FILE`, the
// Windows service `watchpost run --service --config FILE`). It is the
// single entry point of the daemon.
func runRun(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "run", "[--service] [--config FILE]")
	configPath := fs.String("config", paths.DefaultConfigFile(), "configuration file (env "+paths.EnvConfig+")")
	asService := fs.Bool(service.ServiceFlag, false, "run as the Windows service, dispatched by the service control manager (the installed service's command line has it; Windows only)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("run takes no arguments")
	}
	mode, err := service.ModeFor(*asService)
	if err != nil {
		return err
	}
	cfg, problems := config.Check(*configPath, config.Options{Env: os.Getenv, Environ: os.Environ()})
	var errs, warns []config.Problem
	for _, p := range problems {
		if p.Warning {
			warns = append(warns, p)
		} else {
			errs = append(errs, p)
		}
	}
	if len(errs) > 0 {
		return service.WithExitCode(cmdline.ExitConfig, config.Errors(errs))
	}
	level, err := logging.ParseLevel(cfg.Log.Level)
	if err != nil {
		return service.WithExitCode(cmdline.ExitConfig, err)
	}
	h, err := service.LogHandler(env.Stderr, cfg.Log.Format, level, mode)
	if err != nil {
		return service.WithExitCode(cmdline.ExitConfig, err)
	}
	log := slog.New(h)
	for _, w := range warns {
		log.Warn("configuration", logkey.Problem, w.Error())
	}
	post, err := daemon.NewPost(cfg, daemon.PostOptions{Software: versionString(), Logger: log})
	if err != nil {
		return service.WithExitCode(cmdline.ExitConfig, err)
	}
	stop := cfg.StopTimeout.Duration()
	// service.Run handles SIGINT and SIGTERM itself (a second one while
	// stopping aborts the stop). The command's context is cancelled by the
	// same signals (daemon/cmdline), so passing it on would make one
	// signal count twice: the stop would end as "aborted by a second
	// signal" with exit 1 (seen under systemd).
	err = service.Run(context.WithoutCancel(ctx), post, service.Options{ConfigPath: *configPath, StopTimeout: stop + 2*time.Second, Logger: log, Mode: mode})
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", logkey.Error, err)
	}
	return err
}

func versionString() string {
	b := cmdline.BuildOf(Version, Commit, Date)
	if rev := b.Revision(); rev != "" {
		return b.Version + " (" + rev + ")"
	}
	return b.Version
}
