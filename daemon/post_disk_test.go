package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
)

// TestPostDiskFull runs a post on a 40 MiB tmpfs and fills it almost
// full while it runs: it keeps screening on the list it holds, answers a
// hit with 507 "not recorded" and the reason, reports the disk low on
// /readyz and /v1/status and in its log (the check runs on the post's
// clock), and records again, by itself, once the filler file is deleted.
// A start on the full disk is refused with the same reason and the
// store's exit code, and nothing crashes.
func TestPostDiskFull(t *testing.T) {
	mnt := testkit.Tmpfs(t, 40<<20)
	cfg := config.Default()
	cfg.PostID = "test-post"
	cfg.DataDir = filepath.Join(mnt, "data")
	cfg.API.Listen = "127.0.0.1:0"
	cfg.StopTimeout = config.Duration(5 * time.Second)
	cfg.Store.DiskReserve = 12 * config.MiB

	st, err := OpenStoreWith(cfg.DataDir, StoreOptions{DiskReserve: cfg.Store.DiskReserve.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	importUN(t, st, "")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	clk := clocktest.NewAt(time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC))
	logs := new(testkit.Buffer)
	p, err := NewPost(cfg, PostOptions{Software: "test", Clock: clk, DiskCheckInterval: time.Minute,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := runUntilReady(t, p)
	base := "http://" + p.APIAddr()
	screen := func() (int, api.ScreenResult) {
		t.Helper()
		resp, err := http.Post(base+"/v1/screen", "application/json", strings.NewReader(`{"name":"Saadi Gaddafi","birth_date":"1973-05-27"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res api.ScreenResult
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, res
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The disk check runs on the post's clock: it moves a minute at each
	// poll until the log line shows what the check saw.
	tick := testkit.Each(func() { clk.Advance(time.Minute) })
	if code, res := screen(); code != http.StatusOK || res.HitID == "" {
		t.Fatalf("screen with room: %d %+v", code, res)
	}

	filler := testkit.Fill(t, mnt, 8<<20)
	code, res := screen()
	if code != http.StatusInsufficientStorage || len(res.Hits) == 0 || res.HitID != "" ||
		!strings.Contains(res.Error, "not recorded") || !strings.Contains(res.Error, filepath.Join(cfg.DataDir, "store")) {
		t.Fatalf("a hit on a full disk: %d %+v, want 507 showing the hit, not recorded, naming the store", code, res)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.HasPrefix(body, "degraded: disk low") {
		t.Errorf("/readyz on a full disk: %d %q", code, body)
	}
	code, body := get("/v1/status")
	var status api.Status
	if err := json.Unmarshal([]byte(body), &status); err != nil || code != http.StatusOK || !status.Disk.Low || status.Disk.Reserve != 12<<20 || status.Disk.Free >= 12<<20 {
		t.Errorf("/v1/status on a full disk: %d %s (%v)", code, body, err)
	}
	testkit.CheckFor(t, 10*time.Second, "the disk-low warning", testkit.True(func() bool {
		return strings.Contains(logs.String(), "disk low: the store refuses writes")
	}), tick)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, res := screen(); code != http.StatusOK || res.HitID == "" || res.Error != "" {
		t.Fatalf("screen once the filler is deleted: %d %+v", code, res)
	}
	testkit.CheckFor(t, 10*time.Second, "the disk-back line", testkit.True(func() bool {
		return strings.Contains(logs.String(), "disk space back")
	}), tick)
	if code, body := get("/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz once space is back: %d %q", code, body)
	}
	if n := strings.Count(logs.String(), "disk low: the store refuses writes"); n != 1 {
		t.Errorf("the disk-low warning was logged %d times, want once", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// A start on a full disk: refused with the reason, exit code 4.
	filler = testkit.Fill(t, mnt, 8<<20)
	defer os.Remove(filler)
	p2, err := NewPost(cfg, PostOptions{Software: "test", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	err = p2.Run(context.Background(), func() { t.Error("ready on a full disk") })
	var ec interface{ ExitCode() int }
	if !errors.Is(err, badgerstore.ErrDiskLow) || !errors.As(err, &ec) || ec.ExitCode() != cmdline.ExitStore || !strings.Contains(err.Error(), "store.disk_reserve") {
		t.Fatalf("start on a full disk: %v, want ErrDiskLow with exit code 4 and the hint", err)
	}
}
