package agent

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/snapshot"
)

// snapshotHead signs a head of list "un" at version 5 naming a snapshot
// at url of size bytes with SHA-256 sum.
func (r *rig) snapshotHead(t *testing.T, url string, size int, sum [32]byte, entries uint64) (protocol.Head, []byte) {
	t.Helper()
	now := r.clock.Now()
	hd := protocol.Head{List: "un", Epoch: 1, Version: 5, Entries: entries, IssuedAt: now, ValidUntil: now.Add(48 * time.Hour),
		SnapshotURL: url, SnapshotVersion: 5, SnapshotSize: uint64(size), SnapshotSHA256: sum}
	msg, err := protocol.SealHead(r.signer, &hd)
	if err != nil {
		t.Fatal(err)
	}
	return hd, msg
}

// TestSnapshotFailuresRejected: a snapshot that fails, whether its
// download (HQ answers 500) or its verification (the file has the size
// and SHA-256 the head names but is not a signed snapshot), counts in
// the agent's Rejected and the list's rejected count, with the reason as
// its last error.
func TestSnapshotFailuresRejected(t *testing.T) {
	body := []byte(strings.Repeat("not a snapshot ", 100))
	var broken atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if broken.Load() {
			http.Error(w, "HQ is down", http.StatusInternalServerError)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	r := newRig(t)
	f, err := snapshot.New(snapshot.Options{HTTPClient: srv.Client(), MaxAttempts: 1, Backoff: func(int, time.Duration) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	r.agent.cfg.Fetcher, r.agent.cfg.WorkDir = f, t.TempDir()
	_, msg := r.snapshotHead(t, protocol.SnapshotsURL(srv.URL)+"/"+protocol.SnapshotFileName("un", 1, 5), len(body), sha256.Sum256(body), 3)
	if out, err := r.agent.cfg.Applier.HandleHead(context.Background(), msg); out.Action != replica.NeedSnapshot {
		t.Fatalf("head: %s %v", out.Action, err)
	}
	for i, c := range []struct {
		name   string
		broken bool
	}{{"verification", false}, {"download", true}} {
		broken.Store(c.broken)
		if err := r.agent.catchUp(context.Background(), "un"); err == nil {
			t.Fatalf("%s: catch-up with a bad snapshot succeeded", c.name)
		}
		if got := r.agent.Counters().Rejected; got != uint64(i+1) {
			t.Fatalf("%s: Rejected = %d, want %d", c.name, got, i+1)
		}
		l := r.agent.Status().Lists[0]
		if l.Rejected != uint64(i+1) || !strings.Contains(l.LastError, "snapshot") {
			t.Fatalf("%s: list status %+v, want %d rejected and the snapshot's error", c.name, l, i+1)
		}
	}
}

// TestHeadConflictCounted: a signed head with the same issue time and
// position as the one accepted but other content is counted in
// Conflicts (not Rejected) and the status record names the conflict.
func TestHeadConflictCounted(t *testing.T) {
	r := newRig(t)
	url := protocol.SnapshotsURL("https://hq.example") + "/" + protocol.SnapshotFileName("un", 1, 5)
	_, first := r.snapshotHead(t, url, 1000, [32]byte{1}, 3)
	_, other := r.snapshotHead(t, url, 1000, [32]byte{2}, 4)
	for _, m := range []struct {
		msg  []byte
		want replica.Action
	}{{first, replica.NeedSnapshot}, {first, replica.Dropped}, {other, replica.Conflict}} {
		out, err := r.agent.cfg.Applier.HandleHead(context.Background(), m.msg)
		if out.Action != m.want {
			t.Fatalf("head: %s (%v), want %s", out.Action, err, m.want)
		}
		r.agent.note("head", "un", out, err)
	}
	if c := r.agent.Counters(); c.Conflicts != 1 || c.Rejected != 0 {
		t.Fatalf("counters %+v, want 1 conflict and nothing rejected", c)
	}
	if l := r.agent.Status().Lists[0]; !strings.Contains(l.Conflict, "version 5") || !strings.Contains(l.Conflict, "new edition") {
		t.Fatalf("status record list %+v, want the conflict named", l)
	}
}
