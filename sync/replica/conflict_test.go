package replica

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
)

// TestHeadConflict: two validly signed heads with the same issue time and
// position but different content are a conflict, not a duplicate: the
// second is refused with protocol.ErrConflict, the first's content stays,
// the status names the conflict, and both survive a restart (the head's
// digest is kept in the list's state). A head naming a later position
// (a new edition) clears it.
func TestHeadConflict(t *testing.T) {
	c, s, h, p := newRig(t, 1, 11, Config{})
	p.bootstrap(h, 1)
	first := p.follow(h, c, 3)
	held, _ := p.ap.Status("un")

	// The same head, delivered again, is still a plain duplicate.
	p.head(first, Dropped)

	// HQ signs another head for the same issue time and position, with
	// other content: another list hash and entry count.
	hp, _, err := p.keys.OpenHead(first, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	hd := *hp
	other := hd
	other.Hash = h.hash(2)
	other.Entries++
	otherMsg, err := protocol.SealHead(s, &other)
	if err != nil {
		t.Fatal(err)
	}
	requireConflict := func(q *post, op string) {
		t.Helper()
		out, err := q.ap.HandleHead(context.Background(), otherMsg)
		if out.Action != Conflict || !errors.Is(err, protocol.ErrConflict) {
			t.Fatalf("%s: conflicting head: %s (%v), want conflict", op, out.Action, err)
		}
		st, err := q.ap.Status("un")
		if err != nil {
			t.Fatal(err)
		}
		if st.Conflict.IsZero() || st.Conflict.At != hd.Position() || st.Conflict.Refused != other.Digest() || st.Conflict.Kept != hd.Digest() {
			t.Fatalf("%s: status conflict %+v, want one at %s keeping %s", op, st.Conflict, hd.Position(), hd.Digest())
		}
		if st.Version != held.Version || st.Hash != held.Hash || st.Entries != held.Entries {
			t.Fatalf("%s: held %d %s (%d entries), want the first content %d %s (%d)", op, st.Version, st.Hash, st.Entries, held.Version, held.Hash, held.Entries)
		}
		msg := st.Conflict.Error("un")
		for _, want := range []string{`"un"`, "version 4", "new edition"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("%s: conflict message %q lacks %q", op, msg, want)
			}
		}
		q.requireAt(h, "un", held.Version)
	}
	requireConflict(p, "first delivery")
	p.head(first, Dropped) // the kept head is still its own duplicate

	p.close()
	q := p.reopen()
	if st, _ := q.ap.Status("un"); st.Conflict.IsZero() {
		t.Fatalf("conflict lost over a restart: %+v", st)
	}
	requireConflict(q, "after a restart")

	// A re-signed head at the same position, issued later, does not end
	// the conflict; a new edition does.
	c.Advance(time.Minute)
	_, resigned, _ := h.head(0)
	q.head(resigned, Current)
	if st, _ := q.ap.Status("un"); st.Conflict.IsZero() {
		t.Fatal("a later head at the conflicting position cleared the conflict")
	}
	q.follow(h, c, 1)
	if st, _ := q.ap.Status("un"); !st.Conflict.IsZero() {
		t.Fatalf("conflict still shown after a new edition: %+v", st.Conflict)
	}
}
