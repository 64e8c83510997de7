package demo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
)

// TestDemo runs the whole demo (HQ, embedded broker, HTTPS, two posts)
// and checks its end state, not its wording: both posts hold HQ's final
// version and hash, every hit recorded at a post is stored at HQ once,
// and no outbox holds anything.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	var logs testkit.Buffer
	res, err := Run(ctx, &out, Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if res.Version != 2 || len(res.Posts) != 2 {
		t.Fatalf("HQ at version %d with %d posts, want 2 and 2", res.Version, len(res.Posts))
	}
	sent := 0
	for _, p := range res.Posts {
		if p.Version != res.Version || p.Hash != res.Hash {
			t.Errorf("%s holds version %d hash %s, HQ %d %s", p.Name, p.Version, p.Hash, res.Version, res.Hash)
		}
		if p.OutboxPending != 0 {
			t.Errorf("%s: %d records still in the outbox", p.Name, p.OutboxPending)
		}
		sent += p.HitsSent
	}
	// Three listed passengers are planted in the manifest, plus the
	// national addition screened at the second post.
	if res.HitsRecorded < 4 || res.HitsAtHQ != res.HitsRecorded || sent != res.HitsRecorded {
		t.Errorf("hits recorded %d, at HQ %d, counted per post %d", res.HitsRecorded, res.HitsAtHQ, sent)
	}
	// Each log line names its component once; the posts start before
	// their link is up without a warning that publishing failed.
	connected := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if n := strings.Count(line, "component=mqtt"); n > 1 {
			t.Errorf("component=mqtt %d times in %s", n, line)
		}
		if strings.Contains(line, "component=mqtt") && strings.Contains(line, "msg=connected") {
			connected++
		}
		if strings.Contains(line, "publish failed") && strings.Contains(line, "not connected") {
			t.Errorf("warning before the first connection: %s", line)
		}
	}
	if connected < 3 {
		t.Errorf("%d mqtt connected lines, want HQ's and both posts':\n%s", connected, logs.String())
	}
	for _, want := range []string{"HOJATI", "QADHAFI", "MOTASSADEQ", "NAT-0001"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %s", want)
		}
	}
}
