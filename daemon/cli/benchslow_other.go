//go:build !unix

package cli

// checkFileLimit: systems other than Unix have no per-process descriptor
// limit to check.
func checkFileLimit(int) error { return nil }
