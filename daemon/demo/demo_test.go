package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the whole demo (HQ, embedded broker, HTTPS, two posts)
// and checks its end state, not its wording: both posts hold HQ's final
// version and hash, every hit recorded at a post is stored at HQ once,
// and no outbox holds anything.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, &out, Options{Dir: t.TempDir()})
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
	for _, want := range []string{"HOJATI", "QADHAFI", "MOTASSADEQ", "NAT-0001"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %s", want)
		}
	}
}
