package cli

import (
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
