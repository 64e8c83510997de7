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
)

// DataDir returns the data directory: $WATCHPOST_DATA_DIR when set, else
// /var/lib/watchpost on Unix and %ProgramData%\Watchpost\data on Windows.
func DataDir() string {
	if d := os.Getenv(EnvDataDir); d != "" {
		return d
	}
	return defaultDataDir(runtime.GOOS, os.Getenv("ProgramData"))
}

func defaultDataDir(goos, programData string) string {
	if goos == "windows" {
		if programData == "" {
			programData = `C:\ProgramData`
		}
		return filepath.Join(programData, "Watchpost", "data")
	}
	return "/var/lib/watchpost"
}
