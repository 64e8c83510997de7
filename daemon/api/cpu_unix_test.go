//go:build unix

package api

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used, its
// children's excluded; 0 where it cannot be read.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
