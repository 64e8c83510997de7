package cli

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestServiceUsage(t *testing.T) {
	for _, args := range [][]string{
		{"service"},
		{"service", "explode"},
		{"service", "start", "now"},
		{"service", "status", "--config", "/etc/watchpost/watchpost.yaml"},
		{"service", "install", "--bogus"},
	} {
		code, _, errs := runCLI(t, "", args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, ExitUsage, errs)
		}
	}
	code, _, errs := runCLI(t, "", "service", "explode")
	if code != ExitUsage || !strings.Contains(errs, `unknown action "explode"`) {
		t.Errorf("unknown action: exit %d, stderr %q", code, errs)
	}
}

// TestServiceStatusNotInstalled asks the real service manager (whatever
// kardianos detects here) about a service that is not installed. On a
// machine where Watchpost is installed it has nothing to show and skips.
func TestServiceStatusNotInstalled(t *testing.T) {
	code, out, errs := runCLI(t, "", "service", "status")
	if strings.Contains(out, "running") || strings.Contains(out, "stopped") || strings.Contains(out, "failed") {
		t.Skipf("the service is installed on this machine: %s", out)
	}
	if code != ExitOK || !strings.HasPrefix(out, "watchpost: not installed (") {
		t.Fatalf("service status: exit %d, stdout %q, stderr %q; want exit 0 and \"not installed\"", code, out, errs)
	}
}

// TestWindowsOnlyFlagsElsewhere: --service and `service configure` are
// for the Windows service; elsewhere they are usage errors that say so,
// before any configuration is read.
func TestWindowsOnlyFlagsElsewhere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows both are valid")
	}
	code, _, errs := runCLI(t, "", "run", "--service", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != ExitUsage || !strings.Contains(errs, "--service is for the Windows service only") {
		t.Errorf("run --service: exit %d, stderr %q; want a usage error naming --service", code, errs)
	}
	code, _, errs = runCLI(t, "", "service", "configure")
	if code != ExitUsage || !strings.Contains(errs, "configure is for the Windows service") {
		t.Errorf("service configure: exit %d, stderr %q; want a usage error", code, errs)
	}
}
