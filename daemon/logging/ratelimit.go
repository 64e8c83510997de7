package logging

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
)

// KeySuppressed is the attribute a rate-limited message carries when
// earlier repeats of it were dropped: how many.
const KeySuppressed = "suppressed"

// DefaultRateWindow is how long repeats of a message are held back: long
// enough that an unreachable HQ retried every second logs a few lines a
// minute, short enough that a technician watching the log sees it is
// still happening.
const DefaultRateWindow = 30 * time.Second

// maxTracked bounds the memory the limiter keeps: past it, messages not
// seen within the window are forgotten.
const maxTracked = 1024

// RateLimit wraps h so that a message (same level and text) is written at
// most once per window. The first occurrence after a window in which
// repeats were dropped carries suppressed=N. Attributes do not count, so
// "HQ unreachable" with a changing error is still one message; handlers
// derived with WithAttrs or WithGroup share the limit. clk is the clock
// (clock.System when nil).
func RateLimit(h slog.Handler, window time.Duration, clk clock.Clock) slog.Handler {
	return &rateLimited{inner: h, l: &limiter{window: window, clock: clock.OrSystem(clk), seen: map[rateKey]*rateEntry{}}}
}

type rateKey struct {
	level slog.Level
	msg   string
}

type rateEntry struct {
	written    time.Time // when the message was last written
	suppressed int       // repeats dropped since then
}

type limiter struct {
	mu     sync.Mutex
	window time.Duration
	clock  clock.Clock
	seen   map[rateKey]*rateEntry
}

// admit reports whether a record with key k is written now, and how many
// repeats were dropped before it.
func (l *limiter) admit(k rateKey) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.clock.Now()
	e := l.seen[k]
	if e != nil && t.Sub(e.written) < l.window {
		e.suppressed++
		return false, 0
	}
	n := 0
	if e != nil {
		n = e.suppressed
	}
	if e == nil && len(l.seen) >= maxTracked {
		for key, old := range l.seen {
			if t.Sub(old.written) >= l.window {
				delete(l.seen, key)
			}
		}
	}
	l.seen[k] = &rateEntry{written: t}
	return true, n
}

type rateLimited struct {
	inner slog.Handler
	l     *limiter
}

func (h *rateLimited) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *rateLimited) Handle(ctx context.Context, r slog.Record) error {
	ok, n := h.l.admit(rateKey{r.Level, r.Message})
	if !ok {
		return nil
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int(logkey.Suppressed, n))
	}
	return h.inner.Handle(ctx, r)
}

func (h *rateLimited) WithAttrs(as []slog.Attr) slog.Handler {
	return &rateLimited{inner: h.inner.WithAttrs(as), l: h.l}
}

func (h *rateLimited) WithGroup(name string) slog.Handler {
	return &rateLimited{inner: h.inner.WithGroup(name), l: h.l}
}
