//go:build unix

package cli

import (
	"fmt"
	"syscall"
)

// checkFileLimit makes sure this process may open conns connections (and
// a margin): it raises RLIMIT_NOFILE's soft limit to the hard one, and
// says what to do when even that is too low.
func checkFileLimit(conns int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // Go raises it at start-up already; this is the same
	}
	need := uint64(conns) + 256
	if lim.Cur < need {
		return fmt.Errorf("%w: %d connections need about %d file descriptors in the post and as many in the attacker, and RLIMIT_NOFILE is %d (hard %d): raise it (ulimit -Hn, LimitNOFILE=) or lower --connections",
			errFileLimit, conns, need, lim.Cur, lim.Max)
	}
	return nil
}
