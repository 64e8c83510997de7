// Package paths holds Watchpost's per-OS default locations (data
// directory, configuration file), so every command and package resolves
// them the same way.
package paths

import (
	"os"
	"path/filepath"
	"runtime"
)

// Environment variables that override the defaults.
const (
	EnvDataDir = "WATCHPOST_DATA_DIR"
	EnvConfig  = "WATCHPOST_CONFIG"
)

// DataDir returns the data directory: $WATCHPOST_DATA_DIR when set, else
// /var/lib/watchpost on Unix and %ProgramData%\Watchpost\data on Windows.
func DataDir() string { return DataDirFrom(os.Getenv) }

// DataDirFrom is DataDir reading the environment through getenv, for
// callers that inject the environment (daemon/config, tests).
func DataDirFrom(getenv func(string) string) string {
	if d := getenv(EnvDataDir); d != "" {
		return d
	}
	return defaultDataDir(runtime.GOOS, getenv("ProgramData"))
}

// DefaultConfigFile returns the configuration file used when no --config
// flag is given: $WATCHPOST_CONFIG when set, else
// /etc/watchpost/watchpost.yaml on Unix and
// %ProgramData%\Watchpost\watchpost.yaml on Windows.
func DefaultConfigFile() string { return ConfigFileFrom(os.Getenv) }

// ConfigFileFrom is DefaultConfigFile reading the environment through
// getenv.
func ConfigFileFrom(getenv func(string) string) string {
	if f := getenv(EnvConfig); f != "" {
		return f
	}
	return defaultConfigFile(runtime.GOOS, getenv("ProgramData"))
}

func defaultDataDir(goos, programData string) string {
	if goos == "windows" {
		return filepath.Join(programDataDir(programData), "Watchpost", "data")
	}
	return "/var/lib/watchpost"
}

func defaultConfigFile(goos, programData string) string {
	if goos == "windows" {
		return filepath.Join(programDataDir(programData), "Watchpost", "watchpost.yaml")
	}
	return "/etc/watchpost/watchpost.yaml"
}

func programDataDir(programData string) string {
	if programData == "" {
		return `C:\ProgramData`
	}
	return programData
}
