package paths

import (
	"errors"
	"testing"
)

// known returns a known-folder lookup that answers dir, or fails.
func known(dir string, err error) func() (string, error) {
	return func() (string, error) { return dir, err }
}

func TestDefaultDataDir(t *testing.T) {
	if got, want := defaultDataDir("linux", known("", errors.New("unused"))), "/var/lib/watchpost"; got != want {
		t.Errorf("linux: got %q, want %q", got, want)
	}
	for _, c := range []struct {
		name  string
		known func() (string, error)
		want  string
	}{
		{"KnownFolder", known(`D:\PD`, nil), `D:\PD\Watchpost\data`},
		{"KnownFolderTrailingSlash", known(`D:\PD\`, nil), `D:\PD\Watchpost\data`},
		{"APIFails", known("", errors.New("E_FAIL")), `C:\ProgramData\Watchpost\data`},
		{"APIEmpty", known("", nil), `C:\ProgramData\Watchpost\data`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := defaultDataDir("windows", c.known); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestWindowsDefaultsIgnoreTheEnvironment: %ProgramData% in a service's
// environment can name another folder (Wine gives services
// C:\users\Public); the defaults follow the known folder only.
func TestWindowsDefaultsIgnoreTheEnvironment(t *testing.T) {
	t.Setenv("ProgramData", `C:\users\Public`)
	t.Setenv("PROGRAMDATA", `C:\users\Public`)
	k := known(`C:\ProgramData`, nil)
	if got, want := defaultDataDir("windows", k), `C:\ProgramData\Watchpost\data`; got != want {
		t.Errorf("data dir %q, want %q", got, want)
	}
	if got, want := defaultConfigFile("windows", k), `C:\ProgramData\Watchpost\watchpost.yaml`; got != want {
		t.Errorf("config file %q, want %q", got, want)
	}
}

func TestDataDirEnvOverride(t *testing.T) {
	t.Setenv(EnvDataDir, "/tmp/x")
	if got := DataDir(); got != "/tmp/x" {
		t.Errorf("got %q", got)
	}
}

func TestDefaultConfigFile(t *testing.T) {
	if got, want := defaultConfigFile("linux", known("", nil)), "/etc/watchpost/watchpost.yaml"; got != want {
		t.Errorf("linux: got %q, want %q", got, want)
	}
	if got, want := defaultConfigFile("windows", known(`D:\PD`, nil)), `D:\PD\Watchpost\watchpost.yaml`; got != want {
		t.Errorf("windows: got %q, want %q", got, want)
	}
	if got, want := defaultConfigFile("windows", known("", errors.New("E_FAIL"))), `C:\ProgramData\Watchpost\watchpost.yaml`; got != want {
		t.Errorf("windows, API failing: got %q, want %q", got, want)
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
