//go:build unix

package api

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used, its
// children's excluded, and that of its children waited for (the load
// generator's); 0 where it cannot be read.
func processCPU() (self, children time.Duration) {
	return rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
