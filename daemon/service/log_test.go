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
		t.Setenv("JOURNAL_STREAM", "8:12345")
		var buf bytes.Buffer
		h, err := LogHandler(&buf, "text", slog.LevelInfo, Foreground)
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(h)
		log.Warn("HQ unreachable")
		log.Warn("HQ unreachable") // rate-limited
		if got, want := buf.String(), "<4>level=WARN msg=\"HQ unreachable\"\n"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("Foreground", func(t *testing.T) {
		t.Setenv("JOURNAL_STREAM", "")
		var buf bytes.Buffer
		h, err := LogHandler(&buf, "json", slog.LevelInfo, Foreground)
		if err != nil {
			t.Fatal(err)
		}
		slog.New(h).Info("ready")
		if s := buf.String(); !strings.HasPrefix(s, `{"time":`) {
			t.Fatalf("foreground line %q, want JSON with a time", s)
		}
	})
	if _, err := LogHandler(&bytes.Buffer{}, "yaml", slog.LevelInfo, Foreground); err == nil {
		t.Error("LogHandler accepted format yaml")
	}
}
