package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/web"
)

// runUser manages the officer console's accounts in the post's store. The
// store is opened directly (as `watchpost import` does), so the service
// must be stopped; the password is read from the terminal without echo,
// or as one line of standard input, never from a flag.
func runUser(ctx context.Context, env *Env, args []string) error {
	const usage = "add --role ROLE NAME | passwd NAME | disable NAME | enable NAME | list [--json]  [--data-dir DIR] [--store-key-file FILE]"
	if len(args) == 0 {
		return usagef("user: want one of add, passwd, disable, enable, list (watchpost user %s)", usage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "user "+sub, usage)
	sf := addStoreFlags(fs)
	role := fs.String("role", "", "the account's role: "+strings.Join(web.PostRoles, ", ")+" (add)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table (list)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	want := 1
	switch sub {
	case "add":
		if !slices.Contains(web.PostRoles, *role) {
			return usagef("user add: --role is required: one of %s", strings.Join(web.PostRoles, ", "))
		}
	case "passwd", "disable", "enable":
	case "list":
		want = 0
	default:
		return usagef("user: unknown subcommand %q: want add, passwd, disable, enable or list", sub)
	}
	if len(pos) != want {
		return usagef("user %s: want %d NAME argument(s), got %d", sub, want, len(pos))
	}
	var password string
	if sub == "add" || sub == "passwd" {
		if password, err = readPassword(env); err != nil {
			return err
		}
	}
	st, err := sf.open(env)
	if err != nil {
		return err
	}
	defer st.Close()
	users := daemon.ConsoleUsers(st, nil)
	events := daemon.ConsoleEvents(st, nil)
	if sub == "list" {
		return listUsers(ctx, env, users, *asJSON)
	}
	name := pos[0]
	audit := func(action, detail string) error {
		u, _ := web.NormalizeUserName(name)
		if err := events.Append(ctx, web.Event{Actor: cliActor(), Action: action, Subject: u, Detail: detail}); err != nil {
			return fmt.Errorf("account changed, but its audit entry was not recorded: %w", err)
		}
		return nil
	}
	switch sub {
	case "add":
		u, err := users.Add(ctx, name, *role, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "added %s (%s)\n", u.Name, u.Role)
		return audit(web.ActionUserAdded, u.Role)
	case "passwd":
		u, err := users.SetPassword(ctx, name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "password of %s changed (the account is unlocked)\n", u.Name)
		return audit(web.ActionPassword, "")
	case "disable", "enable":
		u, err := users.SetDisabled(ctx, name, sub == "disable")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%sd %s\n", sub, u.Name)
		action := web.ActionDisabled
		if sub == "enable" {
			action = web.ActionEnabled
		}
		return audit(action, "")
	}
	return nil
}

// cliActor names who changed an account from the command line.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// readPassword reads a new password: twice without echo from a terminal,
// or one line from standard input (a script, a pipe).
func readPassword(env *Env) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(env.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ; nothing changed")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4*web.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (give it as one line, or run from a terminal)")
	}
	return line, nil
}

func listUsers(ctx context.Context, env *Env, users *web.UserStore, asJSON bool) error {
	us, err := users.List(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if us == nil {
			us = []web.User{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(us)
	}
	if len(us) == 0 {
		fmt.Fprintln(env.Stdout, "no accounts yet: add one with 'watchpost user add --role officer NAME'")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tLANGUAGE\tCREATED\tPASSWORD SET\tLAST LOGIN")
	for _, u := range us {
		state := "active"
		switch {
		case u.Disabled:
			state = "disabled"
		case u.Locked(now):
			state = "locked until " + u.LockedUntil.Local().Format(web.DateTimeLayout)
		}
		lang := u.Lang
		if lang == "" {
			lang = "browser"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, state, lang, web.FormatDate(u.CreatedAt),
			web.FormatDate(u.PasswordAt), web.FormatDateTime(u.LastLogin))
	}
	return tw.Flush()
}
