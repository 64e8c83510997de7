package hqcli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/usercmd"
	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/sync/protocol"
)

// runUser manages the HQ console's accounts in HQ's store, opened here
// (serve must be stopped: Badger admits one process). `user list` also
// reads through a running serve: with --hq, or with --data-dir while
// serve holds the store.
func runUser(ctx context.Context, env *Env, args []string) error {
	var dataDir, keyFile string
	var c hqClient
	cmd := readCommand{name: "user", args: args}
	open := func(ctx context.Context, env *Env) (*daemon.HQ, error) {
		if err := c.check(); err != nil {
			return nil, err
		}
		if c.hqURL != "" {
			return nil, usagef("--hq is for user list; add and change accounts in HQ's console (Users), or stop serve and give --data-dir")
		}
		if dataDir == "" {
			return nil, usagef("--data-dir is required")
		}
		return openHQ(ctx, env, daemon.HQConfig{DataDir: dataDir}, keyFile)
	}
	return usercmd.Run(ctx, env, usercmd.Spec{
		Program: "watchpost-hq", Roles: web.HQRoles, ExampleRole: web.RolePublisher,
		StoreUsage: "(--data-dir DIR [--store-key-file FILE] | --hq URL [--token-file FILE --ca FILE], list only)",
		AddFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data-dir", "", "HQ data directory (required, but for list --hq)")
			storeKeyFlag(fs, &keyFile)
			c.addFlags(fs)
		},
		Open: func(ctx context.Context, env *Env) (*web.UserStore, *web.EventLog, func() error, error) {
			h, err := open(ctx, env)
			if storeInUse(err) {
				return nil, nil, nil, fmt.Errorf("serve is running and holds HQ's store in %s (%w): add and change accounts in HQ's console (Users), or stop serve", dataDir, err)
			}
			if err != nil {
				return nil, nil, nil, err
			}
			return daemon.HQUsers(h.Store(), nil), daemon.HQEvents(h.Store(), nil), h.Close, nil
		},
		List: func(ctx context.Context, env *Env) (us []web.User, err error) {
			get := func(c *hqClient) error { return c.get(ctx, protocol.PathUsers, &us) }
			if c.hqURL != "" {
				if err := c.check(); err != nil {
					return nil, err
				}
				return us, get(&c)
			}
			h, err := open(ctx, env)
			if storeInUse(err) {
				return us, throughServe(ctx, env, dataDir, c.ca, cmd, err, get)
			}
			if err != nil {
				return nil, err
			}
			us, err = daemon.HQUsers(h.Store(), nil).List(ctx)
			return us, errors.Join(err, h.Close())
		},
	}, args)
}
