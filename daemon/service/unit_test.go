package service

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite packaging/systemd/watchpost.service from SystemdUnit")

// packagedUnit is the unit the .deb and .rpm ship.
var packagedUnit = filepath.Join("..", "..", "packaging", "systemd", Name+".service")

// TestUnitGolden keeps the packaged unit and SystemdUnit from drifting:
// regenerate with go test ./daemon/service -run Unit -update.
func TestUnitGolden(t *testing.T) {
	t.Setenv("WATCHPOST_CONFIG", "") // the packaged unit never follows the environment
	got, err := SystemdUnit(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(packagedUnit, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(packagedUnit)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./daemon/service -run Unit -update)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs from SystemdUnit; regenerate with: go test ./daemon/service -run Unit -update\n--- rendered ---\n%s", packagedUnit, got)
	}
}

func TestUnitContent(t *testing.T) {
	unit, err := SystemdUnit(Options{StopTimeout: 40 * time.Second, ReadyTimeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Type=notify",
		"ExecStart=/usr/bin/watchpost run --config /etc/watchpost/watchpost.yaml",
		"After=network-online.target", "Wants=network-online.target",
		"User=watchpost", "Group=watchpost",
		"StateDirectory=watchpost", "StateDirectoryMode=0700", "ConfigurationDirectory=watchpost",
		"Restart=on-failure", "RestartPreventExitStatus=2 3",
		"TimeoutStopSec=50", "TimeoutStartSec=120",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
		"ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectControlGroups=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "LockPersonality=yes", "MemoryDenyWriteExecute=yes",
		"RestrictNamespaces=yes", "SystemCallArchitectures=native", "CapabilityBoundingSet=",
		"WantedBy=multi-user.target",
	} {
		if !containsLine(unit, line) {
			t.Errorf("unit lacks line %q", line)
		}
	}
	if strings.Contains(unit, "{{") {
		t.Error(`unit contains "{{": kardianos's template engine would interpret it on install`)
	}
}

func TestUnitPaths(t *testing.T) {
	unit, err := SystemdUnit(Options{Executable: "/opt/Watch Post/watchpost", ConfigPath: "/etc/wp/100%$.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `ExecStart="/opt/Watch Post/watchpost" run --config /etc/wp/100%%$$.yaml`; !containsLine(unit, want) {
		t.Errorf("unit lacks %q:\n%s", want, unit)
	}
	for _, o := range []Options{
		{Executable: "watchpost"},
		{ConfigPath: "etc/watchpost.yaml"},
		{ConfigPath: "/etc/{{x}}.yaml"},
		{ConfigPath: "/etc/a\nExecStartPre=/bin/sh"},
	} {
		if _, err := SystemdUnit(o); err == nil {
			t.Errorf("SystemdUnit(%+v) succeeded", o)
		}
	}
}

// TestUnitVerify runs systemd-analyze verify on the unit, rendered with
// paths that exist (verify checks that ExecStart's binary does).
func TestUnitVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: install the Debian package systemd to verify the unit")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "watchpost")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit, err := SystemdUnit(Options{Executable: exe, ConfigPath: filepath.Join(dir, "watchpost.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Name+".service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out.String())
	}
	// verify exits 0 on some warnings; treat any mention of the unit as one.
	if s := out.String(); strings.Contains(s, Name+".service") {
		t.Errorf("systemd-analyze verify warned:\n%s", s)
	}
}

func TestConfigOptions(t *testing.T) {
	c := newConfig(Options{ConfigPath: `C:\ProgramData\Watchpost\watchpost.yaml`}.withDefaults())
	if got, want := c.Arguments, serviceArgs(runtime.GOOS, `C:\ProgramData\Watchpost\watchpost.yaml`); !slices.Equal(got, want) {
		t.Errorf("Arguments %q, want %q", got, want)
	}
	// kardianos reads each option with a type assertion and silently uses
	// its default on a mismatch, so the types matter.
	want := map[string]any{
		"Restart":     "on-failure",
		"StartType":   "automatic",
		"LimitNOFILE": 65536,
	}
	for k, v := range want {
		if got := c.Option[k]; got != v {
			t.Errorf("Option[%q] = %#v, want %#v", k, got, v)
		}
	}
	// Not kardianos's to set: it deletes the service it just created when
	// the delayed-start setting fails, and stops at a failing recovery
	// setting; configure sets both, as optional settings.
	for _, k := range []string{"DelayedAutoStart", "OnFailure", "OnFailureDelayDuration", "OnFailureResetPeriod"} {
		if v, ok := c.Option[k]; ok {
			t.Errorf("Option[%q] = %#v is passed to kardianos", k, v)
		}
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
