package service

import (
	"errors"
	"fmt"
	"os"
	"os/user"
)

// Where a unit or init script for the service may be: written by
// `watchpost service install` (/etc) or by the .deb/.rpm (/usr/lib, /lib).
var (
	packagedUnits = []string{"/usr/lib/systemd/system/" + Name + ".service", "/lib/systemd/system/" + Name + ".service"}
	localUnit     = "/etc/systemd/system/" + Name + ".service"
	initScripts   = []string{"/etc/init.d/" + Name, "/etc/init/" + Name + ".conf"}
)

// checkInstall refuses an install that would not work or would shadow
// the packaged unit.
func checkInstall(platform string) error {
	if platform != "linux-systemd" {
		return nil
	}
	for _, u := range packagedUnits {
		if _, err := os.Stat(u); err == nil {
			return fmt.Errorf("service: the package already installed %s; use systemctl enable --now %s", u, Name)
		}
	}
	if _, err := user.Lookup(User); err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return fmt.Errorf("service: the unit runs as user %q, which does not exist; create it with\n"+
				"  useradd --system --user-group --home-dir /var/lib/%s --shell /usr/sbin/nologin %s", User, Name, User)
		}
		return fmt.Errorf("service: look up user %q: %w", User, err)
	}
	return nil
}

// installed reports whether any unit or init script for the service
// exists; Status uses it when the service manager's answer is an error.
func installed(string) bool {
	for _, p := range append(append([]string{localUnit}, packagedUnits...), initScripts...) {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// configure has nothing to add on Linux after an install (the unit
// carries every setting); asked for on its own, it says so.
func configure(Options) error { return nil }
