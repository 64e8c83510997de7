// Package logging builds Watchpost's log/slog handlers: one for each place
// the daemon's log can go (a terminal, journald, the Windows Event Log) and
// a wrapper that rate-limits repeated messages. It does not decide where
// the process runs; daemon/service does, and picks one of these.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Formats of the text written to stderr.
const (
	FormatText = "text" // logfmt-style key=value lines (the default)
	FormatJSON = "json" // one JSON object a line
)

// ParseLevel maps debug, info, warn(ing) and error to a level; "" is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}

// NewStderr returns the foreground handler: text or JSON lines on w, with
// timestamps.
func NewStderr(w io.Writer, format string, level slog.Leveler) (slog.Handler, error) {
	return newStream(w, format, &slog.HandlerOptions{Level: level})
}

func newStream(w io.Writer, format string, opts *slog.HandlerOptions) (slog.Handler, error) {
	switch format {
	case "", FormatText:
		return slog.NewTextHandler(w, opts), nil
	case FormatJSON:
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, fmt.Errorf("unknown log format %q (want text or json)", format)
}

// NewJournal returns the handler for a systemd service whose stderr goes
// to journald. Each line starts with a syslog priority prefix ("<3>" for
// error, "<4>" warning, "<6>" info, "<7>" debug), which journald strips
// and stores as the entry's PRIORITY, so `journalctl -p warning` works.
// The time is left out: journald stamps every line itself, and a second,
// possibly different, clock in the text only confuses.
func NewJournal(w io.Writer, format string, level slog.Leveler) (slog.Handler, error) {
	s := &sink{emit: func(l slog.Level, _ string, line []byte) error {
		_, err := fmt.Fprintf(w, "<%d>%s", syslogPriority(l), line)
		return err
	}}
	inner, err := newStream(&s.buf, format, &slog.HandlerOptions{Level: level, ReplaceAttr: dropTime})
	if err != nil {
		return nil, err
	}
	return &bufHandler{s: s, inner: inner}, nil
}

func syslogPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // info
	}
	return 7 // debug
}

// EventLog is the Windows Event Log as github.com/kardianos/service's
// Logger exposes it (service.Logger satisfies it): one call per entry, by
// severity.
type EventLog interface {
	Error(v ...any) error
	Warning(v ...any) error
	Info(v ...any) error
}

// NewEventLog returns a handler that writes each record as one Event Log
// entry: Error for error and above, Warning for warn, Information below.
// The entry text is the message followed by the attributes as key=value
// pairs; time and level are left out, the Event Log records both.
func NewEventLog(l EventLog, level slog.Leveler) slog.Handler {
	s := &sink{emit: func(lv slog.Level, msg string, attrs []byte) error {
		text := msg
		if a := strings.TrimSpace(string(attrs)); a != "" {
			text += "  " + a
		}
		switch {
		case lv >= slog.LevelError:
			return l.Error(text)
		case lv >= slog.LevelWarn:
			return l.Warning(text)
		}
		return l.Info(text)
	}}
	inner := slog.NewTextHandler(&s.buf, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{}
		}
		return a
	}})
	return &bufHandler{s: s, inner: inner}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// sink is shared by a bufHandler and every handler derived from it: the
// inner slog handler formats one record into buf, then emit sends it on.
type sink struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(level slog.Level, msg string, formatted []byte) error
}

// bufHandler lets a standard slog handler do the formatting (attributes,
// groups, quoting) for a destination that needs the level or the message
// apart from the text.
type bufHandler struct {
	s     *sink
	inner slog.Handler
}

func (h *bufHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *bufHandler) Handle(ctx context.Context, r slog.Record) error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	return h.s.emit(r.Level, r.Message, h.s.buf.Bytes())
}

func (h *bufHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &bufHandler{s: h.s, inner: h.inner.WithAttrs(as)}
}

func (h *bufHandler) WithGroup(name string) slog.Handler {
	return &bufHandler{s: h.s, inner: h.inner.WithGroup(name)}
}
