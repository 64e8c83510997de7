package service

import (
	"bytes"
	"log/slog"
	"runtime"
	"strings"
	"testing"
)

func TestLogHandler(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("destination choice below is the POSIX one")
	}
	t.Run("Journald", func(t *testing.T) {
		buf, log := foregroundLog(t, "8:12345", "text")
		log.Warn("HQ unreachable")
		log.Warn("HQ unreachable") // rate-limited
		if got, want := buf.String(), "<4>level=WARN msg=\"HQ unreachable\"\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("Foreground", func(t *testing.T) {
		buf, log := foregroundLog(t, "", "json")
		log.Info("ready")
		if s := buf.String(); !strings.HasPrefix(s, `{"time":`) {
			t.Fatalf("foreground line %q, want JSON with a time", s)
		}
	})
	if _, err := LogHandler(&bytes.Buffer{}, "yaml", slog.LevelInfo, Foreground); err == nil {
		t.Error("LogHandler accepted format yaml")
	}
}

// foregroundLog returns a logger in format for a process run in the
// foreground with JOURNAL_STREAM set to journal, and what it writes.
func foregroundLog(t *testing.T, journal, format string) (*bytes.Buffer, *slog.Logger) {
	t.Helper()
	t.Setenv("JOURNAL_STREAM", journal)
	var buf bytes.Buffer
	h, err := LogHandler(&buf, format, slog.LevelInfo, Foreground)
	if err != nil {
		t.Fatal(err)
	}
	return &buf, slog.New(h)
}
