package cli

import (
	"context"
	"flag"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/usercmd"
	"github.com/watchpost/watchpost/daemon/web"
)

// runUser manages the officer console's accounts in the post's store. The
// store is opened directly (as `watchpost import` does), so the service
// must be stopped.
func runUser(ctx context.Context, env *Env, args []string) error {
	var sf storeFlags
	return usercmd.Run(ctx, env, usercmd.Spec{
		Program: "watchpost", Roles: web.PostRoles, ExampleRole: web.RoleOfficer,
		StoreUsage: "[--data-dir DIR] [--store-key-file FILE]",
		AddFlags:   func(fs *flag.FlagSet) { sf = addStoreFlags(fs) },
		Open: func(_ context.Context, env *Env) (*web.UserStore, *web.EventLog, func() error, error) {
			st, err := sf.open(env)
			if err != nil {
				return nil, nil, nil, err
			}
			return daemon.ConsoleUsers(st, nil), daemon.ConsoleEvents(st, nil), st.Close, nil
		},
	}, args)
}
