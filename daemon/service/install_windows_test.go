package service

import (
	"context"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// These run on Windows, and under Wine in packaging/wine-test.sh.

func TestImagePathQuoted(t *testing.T) {
	exe, cfg := `C:\Program Files\Watchpost\watchpost.exe`, `C:\Program Data\Watchpost\watchpost.yaml`
	got := imagePath(exe, cfg)
	if !strings.HasPrefix(got, `"`+exe+`" `) {
		t.Errorf("image path %s: the executable is not in quotes", got)
	}
	args, err := windows.DecomposeCommandLine(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]string{exe}, serviceArgs("windows", cfg)...); !slices.Equal(args, want) {
		t.Errorf("image path %s splits into %q, want %q", got, args, want)
	}
	// Quoted even without a space: nothing for the SCM to guess.
	if got := imagePath(`C:\wp\watchpost.exe`, `C:\wp\w.yaml`); !strings.HasPrefix(got, `"C:\wp\watchpost.exe" run --service`) {
		t.Errorf("image path %s", got)
	}
}

// TestServiceModeFromAConsole: --service outside the SCM fails at once
// with a usage error that says how to start the service, and never
// starts the post.
func TestServiceModeFromAConsole(t *testing.T) {
	r := RunnerFunc(func(context.Context, func()) error {
		t.Error("the post was started outside the SCM")
		return nil
	})
	opts := Options{ConfigPath: `C:\x.yaml`, Mode: WindowsService}.withDefaults()
	err := runWindowsService(newProgram(r, opts), newConfig(opts))
	if err == nil {
		t.Fatal("no error from a console")
	}
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "net start "+Name) {
		t.Errorf("error %q (exit %d), want a usage error naming net start", err, ExitCode(err))
	}
}
