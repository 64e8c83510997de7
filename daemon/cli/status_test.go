package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/sync/protocol"
)

// A link that is up while HQ has not acknowledged what the broker took
// for PublishRefusedAfter shows as "up, but publishes refused" (a broker
// whose ACL refuses the post acknowledges and drops); up with acks
// flowing, or not for long enough, shows as plain "up".
func TestStatusPublishesRefused(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		link    api.Link
		want    string
		notWant string
		refused bool
	}{
		{"acked", api.Link{Up: true}, "link to HQ: up\n", "refused", false},
		{"waiting briefly", api.Link{Up: true, UnackedSince: now.Add(-time.Minute)}, "link to HQ: up\n", "refused", false},
		{"down", api.Link{UnackedSince: now.Add(-time.Hour)}, "link to HQ: down\n", "refused", false},
		{"refused", api.Link{Up: true, UnackedSince: now.Add(-api.PublishRefusedAfter)}, "link to HQ: up, but publishes refused", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.link.Refused(now); got != c.refused {
				t.Fatalf("Refused = %v, want %v", got, c.refused)
			}
			c.link.PublishesRefused = c.link.Refused(now)
			var b strings.Builder
			printStatus(&b, &api.Status{PostStatus: protocol.PostStatus{Post: "gate-north-1"}, Link: c.link})
			out := b.String()
			if !strings.Contains(out, c.want) || (c.notWant != "" && strings.Contains(out, c.notWant)) {
				t.Errorf("status:\n%s\nwant %q", out, c.want)
			}
			if c.refused && !strings.Contains(out, `post_id "gate-north-1"`) {
				t.Errorf("status does not say what to check:\n%s", out)
			}
		})
	}
}

// A list whose heads conflict shows as CONFLICT in the table, and a line
// below names the list, the version and what to do; a list without one
// does not.
func TestStatusConflict(t *testing.T) {
	msg := protocol.HeadConflict{At: protocol.Position{Epoch: 1, Version: 12}, IssuedAt: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}.Error("un")
	var b strings.Builder
	printStatus(&b, &api.Status{PostStatus: protocol.PostStatus{Post: "gate-north-1", Lists: []protocol.ListHeld{
		{List: "ofac", Epoch: 1, Version: 40},
		{List: "un", Epoch: 1, Version: 12, Conflict: msg},
	}}})
	out := b.String()
	var unRow, ofacRow string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "un "):
			unRow = line
		case strings.HasPrefix(line, "ofac "):
			ofacRow = line
		}
	}
	if !strings.Contains(unRow, "CONFLICT") || strings.Contains(ofacRow, "CONFLICT") {
		t.Errorf("rows:\n%s\n%s\nwant un CONFLICT, ofac not", unRow, ofacRow)
	}
	for _, want := range []string{"CONFLICT: list \"un\"", "version 12", "HQ must publish a new edition of \"un\""} {
		if !strings.Contains(out, want) {
			t.Errorf("status:\n%s\nlacks %q", out, want)
		}
	}
}
