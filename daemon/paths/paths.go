// Package paths holds Watchpost's per-OS default locations (data
// directory, configuration file), so every command and package resolves
// them the same way.
package paths

import (
	"os"
	"runtime"
	"strings"
)

// Environment variables that override the defaults.
const (
	EnvDataDir = "WATCHPOST_DATA_DIR"
	EnvConfig  = "WATCHPOST_CONFIG"
)

// FallbackProgramData is the Windows ProgramData folder used when the
// known-folder API gives no answer (its default on every Windows since
// Vista).
const FallbackProgramData = `C:\ProgramData`

// DataDir returns the data directory: $WATCHPOST_DATA_DIR when set, else
// /var/lib/watchpost on Unix and <ProgramData>\Watchpost\data on Windows.
func DataDir() string { return DataDirFrom(os.Getenv) }

// DataDirFrom is DataDir reading the environment through getenv, for
// callers that inject the environment (daemon/config, tests).
func DataDirFrom(getenv func(string) string) string {
	if d := getenv(EnvDataDir); d != "" {
		return d
	}
	return defaultDataDir(runtime.GOOS, knownProgramData)
}

// DefaultConfigFile returns the configuration file used when no --config
// flag is given: $WATCHPOST_CONFIG when set, else
// /etc/watchpost/watchpost.yaml on Unix and
// <ProgramData>\Watchpost\watchpost.yaml on Windows.
func DefaultConfigFile() string { return ConfigFileFrom(os.Getenv) }

// ConfigFileFrom is DefaultConfigFile reading the environment through
// getenv.
func ConfigFileFrom(getenv func(string) string) string {
	if f := getenv(EnvConfig); f != "" {
		return f
	}
	return defaultConfigFile(runtime.GOOS, knownProgramData)
}

// ProgramData returns the Windows ProgramData folder as the known-folder
// API (FOLDERID_ProgramData) reports it, or FallbackProgramData when the
// API fails. It never reads %ProgramData%: a service's environment can
// name another folder (Wine's services get C:\users\Public), and a
// post's data must not move with it.
func ProgramData() string { return programData(knownProgramData) }

func programData(known func() (string, error)) string {
	if p, err := known(); err == nil && p != "" {
		return p
	}
	return FallbackProgramData
}

func defaultDataDir(goos string, known func() (string, error)) string {
	if goos == "windows" {
		return windowsJoin(programData(known), `Watchpost\data`)
	}
	return "/var/lib/watchpost"
}

func defaultConfigFile(goos string, known func() (string, error)) string {
	if goos == "windows" {
		return windowsJoin(programData(known), `Watchpost\watchpost.yaml`)
	}
	return "/etc/watchpost/watchpost.yaml"
}

// windowsJoin joins with a backslash whatever system runs it, so the
// Windows defaults are the same strings when tested elsewhere.
func windowsJoin(dir, rel string) string {
	return strings.TrimRight(dir, `\/`) + `\` + rel
}
