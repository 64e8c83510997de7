package logging

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock/clocktest"
)

func TestRateLimit(t *testing.T) {
	var buf bytes.Buffer
	clk := clocktest.NewAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	inner, _ := NewJournal(&buf, FormatText, slog.LevelInfo)
	log := slog.New(RateLimit(inner, 10*time.Second, clk))
	comp := log.With("system", "sync") // derived loggers share the limit

	log.Warn("HQ unreachable", "err", "e1")
	for i := 0; i < 5; i++ {
		clk.Advance(time.Second)
		comp.Warn("HQ unreachable", "err", fmt.Sprint("e", i+2))
	}
	log.Error("HQ unreachable") // other level: its own limit
	log.Warn("store opened")    // other message: its own limit
	clk.Advance(10 * time.Second)
	log.Warn("HQ unreachable", "err", "e7")
	clk.Advance(10 * time.Second)
	log.Warn("HQ unreachable", "err", "e8")

	got := buf.String()
	want := []string{
		`<4>level=WARN msg="HQ unreachable" err=e1`,
		`<3>level=ERROR msg="HQ unreachable"`,
		`<4>level=WARN msg="store opened"`,
		`<4>level=WARN msg="HQ unreachable" err=e7 suppressed=5`,
		`<4>level=WARN msg="HQ unreachable" err=e8`,
	}
	if lines := strings.Split(strings.TrimSpace(got), "\n"); strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestRateLimitForgetsOldKeys(t *testing.T) {
	clk := clocktest.NewAt(time.Unix(0, 0))
	h := RateLimit(slog.DiscardHandler, time.Second, clk).(*rateLimited)
	for i := 0; i < 3*maxTracked; i++ {
		h.l.admit(rateKey{slog.LevelInfo, fmt.Sprint(i)})
		clk.Advance(time.Second)
	}
	if n := len(h.l.seen); n > maxTracked {
		t.Fatalf("limiter tracks %d messages, want at most %d", n, maxTracked)
	}
}

func TestJournalLevels(t *testing.T) {
	var buf bytes.Buffer
	h, err := NewJournal(&buf, FormatJSON, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(h).WithGroup("g")
	log.Debug("d", "k", 1)
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, prefix := range []string{"<7>{", "<6>{", "<4>{", "<3>{"} {
		if !strings.HasPrefix(lines[i], prefix) || strings.Contains(lines[i], `"time"`) {
			t.Errorf("line %d = %q, want prefix %q and no time", i, lines[i], prefix)
		}
	}
	if !strings.Contains(lines[0], `"g":{"k":1}`) {
		t.Errorf("group lost: %s", lines[0])
	}
}

type fakeEventLog struct{ entries []string }

func (f *fakeEventLog) Error(v ...any) error {
	f.entries = append(f.entries, "E "+fmt.Sprint(v...))
	return nil
}
func (f *fakeEventLog) Warning(v ...any) error {
	f.entries = append(f.entries, "W "+fmt.Sprint(v...))
	return nil
}
func (f *fakeEventLog) Info(v ...any) error {
	f.entries = append(f.entries, "I "+fmt.Sprint(v...))
	return nil
}

func TestEventLog(t *testing.T) {
	ev := &fakeEventLog{}
	log := slog.New(NewEventLog(ev, slog.LevelInfo)).With("system", "store")
	log.Debug("hidden")
	log.Info("store opened", "dir", `C:\ProgramData\Watchpost\data`)
	log.Warn("list stale", "age", "49h0m0s")
	log.Error("flush failed", "err", "timeout")
	log.Log(context.Background(), slog.LevelError+4, "fatal")
	want := []string{
		`I store opened  system=store dir=C:\ProgramData\Watchpost\data`,
		`W list stale  system=store age=49h0m0s`,
		`E flush failed  system=store err=timeout`,
		`E fatal  system=store`,
	}
	if got := strings.Join(ev.entries, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestFormatsAndLevels(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewStderr(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("NewStderr accepted format xml")
	}
	h, err := NewStderr(&buf, "", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).Info("hello")
	if !strings.Contains(buf.String(), "time=") {
		t.Errorf("foreground line has no time: %q", buf.String())
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "DEBUG": slog.LevelDebug, "warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("ParseLevel(loud) succeeded")
	}
}
