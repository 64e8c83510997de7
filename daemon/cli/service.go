package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/daemon/service"
)

const (
	serviceUsage   = "install|uninstall|start|stop|restart|status [--config FILE]"
	serviceActions = "install, uninstall, start, stop, restart or status"
)

// runService installs, controls and describes the Watchpost system
// service (systemd, the Windows SCM, or the init system kardianos finds).
// status prints the state and exits 0 whenever it could be found out,
// "not installed" included.
func runService(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "service", serviceUsage)
	configPath := fs.String("config", paths.DefaultConfigFile(), "configuration file the installed service runs with (install only)")
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
	if configSet && action != "install" {
		return usagef("--config applies to install only")
	}

	switch action {
	case "status":
		st, err := service.Status(service.Options{})
		if err != nil {
			return fmt.Errorf("status (%s): %w", service.Platform(), err)
		}
		fmt.Fprintf(env.Stdout, "%s: %s (%s)\n", service.Name, st, service.Platform())
		return nil
	case "install", "uninstall", "start", "stop", "restart":
	default:
		return usagef("unknown action %q (want %s)", action, serviceActions)
	}

	opts := service.Options{}
	if action == "install" {
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
	default:
		fmt.Fprintf(env.Stdout, "%s: %s done\n", service.Name, action)
	}
	return nil
}
