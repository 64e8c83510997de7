package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/daemon/service"
)

const (
	serviceUsage   = "install|uninstall|start|stop|restart|status|configure [--config FILE]"
	serviceActions = "install, uninstall, start, stop, restart, status or configure"
)

// runService installs, controls and describes the Watchpost system
// service (systemd, the Windows SCM, or the init system kardianos finds).
// status prints the state and exits 0 whenever it could be found out,
// "not installed" included. configure (Windows) re-applies the settings
// install makes to a service installed another way (the .msi runs it).
func runService(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "service", serviceUsage)
	configPath := fs.String("config", paths.DefaultConfigFile(), "configuration file the installed service runs with (install and configure only)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one action (%s), got %d arguments", serviceActions, len(pos))
	}
	action := pos[0]
	configSet := false
	fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
	if configSet && action != "install" && action != "configure" {
		return usagef("--config applies to install and configure only")
	}

	switch action {
	case "status":
		st, err := service.Status(service.Options{})
		if err != nil {
			return fmt.Errorf("status (%s): %w", service.Platform(), err)
		}
		fmt.Fprintf(env.Stdout, "%s: %s (%s)\n", service.Name, st, service.Platform())
		return nil
	case "install", "uninstall", "start", "stop", "restart", "configure":
	default:
		return usagef("unknown action %q (want %s)", action, serviceActions)
	}

	// Settings the service manager refuses are warnings on stderr.
	opts := service.Options{Logger: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if action == "install" || action == "configure" {
		abs, err := filepath.Abs(*configPath)
		if err != nil {
			return err
		}
		opts.ConfigPath = abs
	}
	if err := service.Control(action, opts); err != nil {
		return err
	}
	switch action {
	case "install":
		fmt.Fprintf(env.Stdout, "%s: installed (%s), runs with --config %s; start it with: watchpost service start\n", service.Name, service.Platform(), opts.ConfigPath)
	case "configure":
		fmt.Fprintf(env.Stdout, "%s: configured, runs with --config %s\n", service.Name, opts.ConfigPath)
	default:
		fmt.Fprintf(env.Stdout, "%s: %s done\n", service.Name, action)
	}
	return nil
}
