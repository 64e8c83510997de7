package paths

import (
	"strings"
	"testing"
)

func TestDefaultDataDir(t *testing.T) {
	if got, want := defaultDataDir("linux", ""), "/var/lib/watchpost"; got != want {
		t.Errorf("linux: got %q, want %q", got, want)
	}
	if got := defaultDataDir("windows", `D:\PD`); !strings.Contains(got, "Watchpost") || !strings.HasPrefix(got, `D:\PD`) {
		t.Errorf("windows: got %q", got)
	}
}

func TestDataDirEnvOverride(t *testing.T) {
	t.Setenv(EnvDataDir, "/tmp/x")
	if got := DataDir(); got != "/tmp/x" {
		t.Errorf("got %q", got)
	}
}
