//go:build !windows

package paths

import "errors"

// knownProgramData: there are no known folders off Windows.
func knownProgramData() (string, error) {
	return "", errors.New("paths: no known-folder API on this system")
}
