package cmdline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunExitCodes(t *testing.T) {
	p := &Program{Name: "prog", Commands: map[string]Command{
		"ok":   {Summary: "works", Run: func(context.Context, *Env, []string) error { return nil }},
		"fail": {Summary: "fails", Run: func(context.Context, *Env, []string) error { return errors.New("broken file x.csv:3") }},
		"flag": {Summary: "bad flag", Run: func(_ context.Context, env *Env, args []string) error {
			fs := NewFlags(env, "prog", "flag", "[--n N]")
			fs.Int("n", 0, "a number")
			_, err := ParseFlags(fs, args)
			return err
		}},
		"use": {Summary: "usage error", Run: func(context.Context, *Env, []string) error { return Usagef("want one PATH, got %d", 2) }},
	}, Epilogue: "more later"}
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"ok"}, ExitOK, ""},
		{[]string{"fail"}, ExitFailure, "prog fail: broken file x.csv:3"},
		{[]string{"flag", "--n", "x"}, ExitUsage, "invalid value"},
		{[]string{"flag", "-h"}, ExitOK, "usage: prog flag [--n N]"},
		{[]string{"use"}, ExitUsage, "prog use: want one PATH, got 2"},
		{[]string{"nosuch"}, ExitUsage, `unknown command "nosuch"`},
		{nil, ExitUsage, "more later"},
		{[]string{"help"}, ExitOK, "fails"},
	} {
		var out, errb bytes.Buffer
		code := p.Run(context.Background(), c.args, &Env{Stdout: &out, Stderr: &errb})
		if code != c.code || !strings.Contains(errb.String(), c.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d containing %q", c.args, code, errb.String(), c.code, c.err)
		}
	}
}

func TestParseFlagsAfterArguments(t *testing.T) {
	fs := NewFlags(&Env{Stderr: &bytes.Buffer{}}, "prog", "x", "")
	n := fs.Int("n", 0, "")
	pos, err := ParseFlags(fs, []string{"a", "--n", "3", "b"})
	if err != nil || *n != 3 || strings.Join(pos, ",") != "a,b" {
		t.Fatalf("pos %v n %d err %v", pos, *n, err)
	}
}

func TestParseNoArgs(t *testing.T) {
	fs := NewFlags(&Env{Stderr: &bytes.Buffer{}}, "prog", "x", "")
	n := fs.Int("n", 0, "")
	if err := ParseNoArgs(fs, []string{"--n", "3"}); err != nil || *n != 3 {
		t.Fatalf("n %d err %v", *n, err)
	}
	err := ParseNoArgs(fs, []string{"a", "--n", "4"})
	var ue UsageError
	if !errors.As(err, &ue) || err.Error() != "x takes no arguments" {
		t.Fatalf("err %v, want the usage error \"x takes no arguments\"", err)
	}
}
