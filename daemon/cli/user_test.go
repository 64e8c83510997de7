package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/web"
)

// TestUserCommand: accounts are added, listed, re-passworded and disabled
// from the command line, the password read from standard input (never a
// flag, never printed), each change audited with the CLI as actor.
func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	const pw = "a long password 1"
	if code, out, errs := runCLI(t, pw+"\n", "user", "add", "--data-dir", dir, "--role", "officer", "Omar"); code != ExitOK || !strings.Contains(out, "added omar (officer)") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, pw+"\n", "user", "add", "--data-dir", dir, "--role", "officer", "omar"); code == ExitOK || !strings.Contains(errs, "already exists") {
		t.Errorf("add twice: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "short\n", "user", "add", "--data-dir", dir, "--role", "officer", "lea"); code == ExitOK || !strings.Contains(errs, "shorter than") {
		t.Errorf("short password: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, pw+"\n", "user", "add", "--data-dir", dir, "--role", "admin", "lea"); code != ExitUsage {
		t.Errorf("a role the post lacks: exit %d, want usage", code)
	}
	if code, out, _ := runCLI(t, "", "user", "passwd", "--data-dir", dir, "omar"); code == ExitOK {
		t.Errorf("passwd with no password on stdin succeeded: %q", out)
	}
	if code, _, errs := runCLI(t, "another long one\n", "user", "passwd", "--data-dir", dir, "omar"); code != ExitOK {
		t.Fatalf("passwd: %q", errs)
	}
	if code, _, errs := runCLI(t, "", "user", "disable", "--data-dir", dir, "omar"); code != ExitOK {
		t.Fatalf("disable: %q", errs)
	}
	code, out, errs := runCLI(t, "", "user", "list", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(out, "omar") || !strings.Contains(out, "disabled") || strings.Contains(out, pw) || strings.Contains(errs, pw) {
		t.Fatalf("list: %d %q %q", code, out, errs)
	}

	st, err := daemon.OpenStore(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	us := daemon.ConsoleUsers(st, nil)
	if _, res, _ := us.Authenticate(context.Background(), "omar", "another long one"); res != web.LoginDisabled {
		t.Errorf("omar after disable: %v", res)
	}
	var actions []string
	daemon.ConsoleEvents(st, nil).Each(context.Background(), time.Time{}, time.Time{}, func(e web.Event) bool {
		if !strings.HasPrefix(e.Actor, "cli") || e.Subject != "omar" {
			t.Errorf("event %+v: want the CLI acting on omar", e)
		}
		actions = append(actions, e.Action)
		return true
	})
	if strings.Join(actions, ",") != "user_added,password_changed,user_disabled" {
		t.Errorf("audited: %v", actions)
	}
}
