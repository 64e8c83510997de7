// Package usercmd is the `user` subcommand of both programs (watchpost
// user, watchpost-hq user). Its one job: manage a console's accounts in
// a store from the command line — add, passwd, disable, enable, list —
// with the password read from the terminal or standard input, never from
// a flag, and each change audited with the command line as actor.
package usercmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/web"
)

// Spec is what differs between the two programs.
type Spec struct {
	// Program names the program in messages ("watchpost-hq").
	Program string
	// Roles are the console's roles; ExampleRole is used in hints.
	Roles       []string
	ExampleRole string
	// StoreUsage is the usage of the store flags AddFlags adds.
	StoreUsage string
	// AddFlags adds the flags that say where the store is; Open opens it
	// with them and returns the accounts, the event log and a close
	// function.
	AddFlags func(fs *flag.FlagSet)
	Open     func(ctx context.Context, env *cmdline.Env) (*web.UserStore, *web.EventLog, func() error, error)
	// List, if set, returns the accounts for `user list` instead of Open
	// (watchpost-hq reads them through a running serve).
	List func(ctx context.Context, env *cmdline.Env) ([]web.User, error)
}

// Run runs `<program> user SUB …`.
func Run(ctx context.Context, env *cmdline.Env, spec Spec, args []string) error {
	usage := "add --role ROLE NAME | passwd NAME | disable NAME | enable NAME | list [--json]  " + spec.StoreUsage
	if len(args) == 0 {
		return cmdline.Usagef("user: want one of add, passwd, disable, enable, list (%s user %s)", spec.Program, usage)
	}
	sub, args := args[0], args[1:]
	fs := cmdline.NewFlags(env, spec.Program, "user "+sub, usage)
	spec.AddFlags(fs)
	role := fs.String("role", "", "the account's role: "+strings.Join(spec.Roles, ", ")+" (add)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table (list)")
	pos, err := cmdline.ParseFlags(fs, args)
	if err != nil {
		return err
	}
	want := 1
	switch sub {
	case "add":
		if !slices.Contains(spec.Roles, *role) {
			return cmdline.Usagef("user add: --role is required: one of %s", strings.Join(spec.Roles, ", "))
		}
	case "passwd", "disable", "enable":
	case "list":
		want = 0
	default:
		return cmdline.Usagef("user: unknown subcommand %q: want add, passwd, disable, enable or list", sub)
	}
	if len(pos) != want {
		return cmdline.Usagef("user %s: want %d NAME argument(s), got %d", sub, want, len(pos))
	}
	var password string
	if sub == "add" || sub == "passwd" {
		if password, err = ReadPassword(env); err != nil {
			return err
		}
	}
	if sub == "list" && spec.List != nil {
		us, err := spec.List(ctx, env)
		if err != nil {
			return err
		}
		return list(env, spec, us, *asJSON)
	}
	users, events, closeStore, err := spec.Open(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore()
	if sub == "list" {
		us, err := users.List(ctx)
		if err != nil {
			return err
		}
		return list(env, spec, us, *asJSON)
	}
	name := pos[0]
	audit := func(action, detail string) error {
		u, _ := web.NormalizeUserName(name)
		if err := events.Append(ctx, web.Event{Actor: Actor(), Action: action, Subject: u, Detail: detail}); err != nil {
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
	default: // disable, enable
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
}

// Actor names who acted from the command line ("cli:<login>").
func Actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// ReadPassword reads a new password: twice without echo from a terminal,
// or one line from standard input (a script, a pipe).
func ReadPassword(env *cmdline.Env) (string, error) {
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

func list(env *cmdline.Env, spec Spec, us []web.User, asJSON bool) error {
	if asJSON {
		if us == nil {
			us = []web.User{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(us)
	}
	if len(us) == 0 {
		fmt.Fprintf(env.Stdout, "no accounts yet: add one with '%s user add --role %s NAME'\n", spec.Program, spec.ExampleRole)
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
