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

func TestDefaultConfigFile(t *testing.T) {
	if got, want := defaultConfigFile("linux", ""), "/etc/watchpost/watchpost.yaml"; got != want {
		t.Errorf("linux: got %q, want %q", got, want)
	}
	if got := defaultConfigFile("windows", `D:\PD`); !strings.HasPrefix(got, `D:\PD`) || !strings.Contains(got, "Watchpost") || !strings.HasSuffix(got, "watchpost.yaml") {
		t.Errorf("windows: got %q", got)
	}
	if got := defaultConfigFile("windows", ""); !strings.HasPrefix(got, `C:\ProgramData`) {
		t.Errorf("windows without ProgramData: got %q", got)
	}
}

func TestConfigFileFrom(t *testing.T) {
	env := map[string]string{EnvConfig: "/srv/wp.yaml"}
	if got := ConfigFileFrom(func(k string) string { return env[k] }); got != "/srv/wp.yaml" {
		t.Errorf("got %q, want the %s value", got, EnvConfig)
	}
	t.Setenv(EnvConfig, "")
	if got := DefaultConfigFile(); got == "" || got == "/srv/wp.yaml" {
		t.Errorf("DefaultConfigFile without %s: got %q", EnvConfig, got)
	}
}
