package service

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/cmdline"
)

// detector is a fake svc.IsWindowsService that counts its calls.
type detector struct {
	is    bool
	err   error
	calls int
}

func (d *detector) detect() (bool, error) {
	d.calls++
	return d.is, d.err
}

func TestDecideMode(t *testing.T) {
	for _, c := range []struct {
		name      string
		goos      string
		flag      bool
		det       detector
		want      Mode
		wantCalls int
		usage     bool
	}{
		// The installed service's command line: the SCM, whatever the
		// heuristic would say (false under Wine), which is not asked.
		{name: "FlagHeuristicWrong", goos: "windows", flag: true, det: detector{is: false}, want: WindowsService},
		{name: "FlagHeuristicFails", goos: "windows", flag: true, det: detector{err: errors.New("access denied")}, want: WindowsService},
		{name: "FlagHeuristicAgrees", goos: "windows", flag: true, det: detector{is: true}, want: WindowsService},
		// No flag: a console, or a service installed before the flag.
		{name: "Console", goos: "windows", det: detector{is: false}, want: Foreground, wantCalls: 1},
		{name: "OldServiceEntry", goos: "windows", det: detector{is: true}, want: WindowsService, wantCalls: 1},
		{name: "HeuristicFails", goos: "windows", det: detector{err: errors.New("access denied")}, want: Foreground, wantCalls: 1},
		// systemd and the rest run the plain command.
		{name: "Linux", goos: "linux", det: detector{is: true}, want: Foreground},
		{name: "LinuxFlag", goos: "linux", flag: true, want: Foreground, usage: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.det
			got, err := decideMode(c.goos, c.flag, d.detect)
			if got != c.want {
				t.Errorf("mode %v, want %v", got, c.want)
			}
			if d.calls != c.wantCalls {
				t.Errorf("heuristic asked %d times, want %d", d.calls, c.wantCalls)
			}
			var ue cmdline.UsageError
			switch {
			case c.usage && !errors.As(err, &ue):
				t.Errorf("error %v, want a usage error", err)
			case c.usage && !strings.Contains(err.Error(), "--service"):
				t.Errorf("error %q does not name --service", err)
			case !c.usage && err != nil:
				t.Errorf("error %v", err)
			}
		})
	}
}

func TestServiceArgs(t *testing.T) {
	if got, want := serviceArgs("windows", `C:\ProgramData\Watchpost\watchpost.yaml`), []string{"run", "--service", "--config", `C:\ProgramData\Watchpost\watchpost.yaml`}; !slices.Equal(got, want) {
		t.Errorf("windows: %q, want %q", got, want)
	}
	if got, want := serviceArgs("linux", "/etc/watchpost/watchpost.yaml"), []string{"run", "--config", "/etc/watchpost/watchpost.yaml"}; !slices.Equal(got, want) {
		t.Errorf("linux: %q, want %q", got, want)
	}
	// What the Windows service runs must be what `run` accepts there.
	args := serviceArgs("windows", `C:\x.yaml`)
	if !slices.Contains(args, "--"+ServiceFlag) {
		t.Errorf("windows service arguments %q lack --%s", args, ServiceFlag)
	}
}

func TestApplySettings(t *testing.T) {
	var applied []string
	step := func(name string, optional bool, err error) setting {
		return setting{name: name, optional: optional, apply: func() error {
			applied = append(applied, name)
			return err
		}}
	}
	refused := errors.New("Invalid level")

	t.Run("OptionalRefusalsWarn", func(t *testing.T) {
		applied = nil
		warnings, err := applySettings([]setting{
			step("command line", false, nil),
			step("recovery", true, refused),
			step("flag", true, nil),
			step("delayed start", true, refused),
		})
		if err != nil {
			t.Fatalf("error %v: optional refusals must not fail", err)
		}
		if want := []string{"command line", "recovery", "flag", "delayed start"}; !slices.Equal(applied, want) {
			t.Errorf("applied %q, want %q", applied, want)
		}
		if len(warnings) != 2 || !errors.Is(warnings[0], refused) ||
			!strings.HasPrefix(warnings[0].Error(), "recovery: ") || !strings.HasPrefix(warnings[1].Error(), "delayed start: ") {
			t.Errorf("warnings %v, want recovery and delayed start, each wrapping the refusal", warnings)
		}
	})
	t.Run("RequiredRefusalStops", func(t *testing.T) {
		applied = nil
		warnings, err := applySettings([]setting{
			step("recovery", true, refused),
			step("command line", false, refused),
			step("delayed start", true, nil),
		})
		if !errors.Is(err, refused) || !strings.Contains(err.Error(), "command line") {
			t.Fatalf("error %v, want the command line's refusal", err)
		}
		if want := []string{"recovery", "command line"}; !slices.Equal(applied, want) {
			t.Errorf("applied %q, want %q (nothing after a required failure)", applied, want)
		}
		if len(warnings) != 1 {
			t.Errorf("warnings %v, want the one before the failure", warnings)
		}
	})
}
