package daemon

import "sync"

// guarded returns *v read under mu: the accessors of Post and HQ, whose
// parts Run sets while other goroutines ask for them.
func guarded[T any](mu *sync.Mutex, v *T) T {
	mu.Lock()
	defer mu.Unlock()
	return *v
}
