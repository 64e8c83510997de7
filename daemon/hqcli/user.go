package hqcli

import (
	"context"
	"flag"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/usercmd"
	"github.com/watchpost/watchpost/daemon/web"
)

// runUser manages the HQ console's accounts in HQ's store, opened here
// (serve must be stopped: Badger admits one process).
func runUser(ctx context.Context, env *Env, args []string) error {
	var dataDir, keyFile string
	return usercmd.Run(ctx, env, usercmd.Spec{
		Program: "watchpost-hq", Roles: web.HQRoles, ExampleRole: web.RolePublisher,
		StoreUsage: "--data-dir DIR [--store-key-file FILE]",
		AddFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data-dir", "", "HQ data directory (required)")
			storeKeyFlag(fs, &keyFile)
		},
		Open: func(ctx context.Context, env *Env) (*web.UserStore, *web.EventLog, func() error, error) {
			if dataDir == "" {
				return nil, nil, nil, usagef("--data-dir is required")
			}
			h, err := openHQ(ctx, env, daemon.HQConfig{DataDir: dataDir}, keyFile)
			if err != nil {
				return nil, nil, nil, err
			}
			return daemon.HQUsers(h.Store(), nil), daemon.HQEvents(h.Store(), nil), h.Close, nil
		},
	}, args)
}
