package service

import (
	"os"
	"path/filepath"
	"testing"

	kservice "github.com/kardianos/service"
)

// TestInstallWritesUnitVerbatim installs through kardianos's real systemd
// backend, as a user service under a temporary HOME, and checks that the
// unit file it writes is SystemdUnit's text unchanged (kardianos renders
// SystemdScript with its own template engine). The systemctl calls that
// follow the write fail here, harmlessly, because no systemd is running;
// on a machine with a running systemd the test skips rather than touch it.
func TestInstallWritesUnitVerbatim(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd is running here; not installing even a user service from a test")
	}
	var systemd kservice.System
	for _, s := range kservice.AvailableSystems() {
		if s.String() == "linux-systemd" {
			systemd = s
		}
	}
	if systemd == nil {
		t.Skip("kardianos has no linux-systemd backend")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	exe := filepath.Join(home, "watchpost")
	opts := Options{Executable: exe, ConfigPath: "/etc/watchpost/watchpost.yaml"}.withDefaults()
	want, err := SystemdUnit(opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := newConfig(opts)
	cfg.Option["SystemdScript"] = want
	cfg.Option["UserService"] = true
	s, err := systemd.New(controlProgram{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Install() // fails at systemctl enable, after writing the unit
	got, err := os.ReadFile(filepath.Join(home, ".config", "systemd", "user", Name+".service"))
	if err != nil {
		t.Fatalf("kardianos wrote no unit: %v", err)
	}
	if string(got) != want {
		t.Fatalf("kardianos changed the unit:\n%s", got)
	}
}
