package paths

import "golang.org/x/sys/windows"

// knownProgramData asks the shell's known-folder API for ProgramData.
func knownProgramData() (string, error) {
	return windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0)
}
