package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/protocol"
)

// ErrNoHead: a snapshot was offered for a list for which no head has been
// verified, so nothing bounds which version it may install.
var ErrNoHead = errors.New("no verified head names a snapshot of this list")

// InstallSnapshot imports the snapshot file at path, which head names.
// The file is read as a stream through protocol.SnapshotReader: its
// signed header is checked against head and the post's state before a
// single entry is written, and its count, list hash, trailer, size and
// SHA-256 at the end, before ReplaceEntries (ReplaceDocuments for a snapshot
// of a documents list) flips the list. The list and
// the snapshot's state (ListState.AfterSnapshot) become current in one
// transaction, or nothing changes. Buffered deltas that follow the
// snapshot's version are then applied; older ones are discarded.
//
// head must come from a head this post verified (HandleHead's
// NeedSnapshot). The snapshot itself is signed; as a further bound, its
// position may not be beyond the last verified head nor in an older epoch
// than the post knows, and a post with a sound base only moves forward.
// A corrupt or mismatched file is Rejected: discard it and download again.
func (a *Applier) InstallSnapshot(ctx context.Context, head protocol.Head, path string) (Outcome, error) {
	now := a.cfg.Clock.Now()
	out := Outcome{List: head.List}
	rt, err := a.runtime(head.List, fmt.Sprintf("snapshot %s", path))
	if err != nil {
		out.Action, out.Reason = Rejected, err
		return out, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	v, err := a.load(head.List, rt)
	if err != nil {
		return a.failed(out, err)
	}
	out.FromVersion = v.state.Version
	f, err := os.Open(path)
	if err != nil {
		return a.failed(out, fmt.Errorf("snapshot of list %q: %w", head.List, err))
	}
	defer f.Close()
	sr, err := protocol.NewSnapshotReader(f, a.cfg.Keys, a.floored(now), &head)
	if err != nil {
		err = fmt.Errorf("snapshot %s of list %q (head %s, snapshot version %d): %w", path, head.List, head.Position(), head.SnapshotVersion, err)
		out.Action, out.Reason = Rejected, err
		return out, err
	}
	hdr := sr.Header()
	out.ToVersion = hdr.Version
	at := fmt.Sprintf("snapshot %s of list %q at %s", path, hdr.List, hdr.Position())
	pos, seen := hdr.Position(), v.state.HighestSeen
	reject := func(format string, args ...any) (Outcome, error) {
		err := fmt.Errorf(at+": "+format, args...)
		out.Action, out.Reason = Rejected, err
		return out, err
	}
	switch {
	case seen == (protocol.Position{}):
		return reject("%w", ErrNoHead)
	case pos.Epoch < v.state.Epoch || pos.Epoch < seen.Epoch:
		return reject("%w: the post knows epoch %d", protocol.ErrRollback, max(v.state.Epoch, seen.Epoch))
	case pos.Compare(seen) > 0:
		return reject("%w: beyond the last verified head, %s", protocol.ErrFastForward, seen)
	case v.usable() && pos.Compare(v.state.Held()) <= 0:
		out.Action = Dropped
		out.Reason = fmt.Errorf("%s: %w: the post holds %s", at, protocol.ErrReplay, v.state.Held())
		if pos == v.state.Held() {
			out.Reason = fmt.Errorf("%s: %w: the post holds it", at, protocol.ErrDuplicate)
		}
		return out, nil
	}

	next := v.state.AfterSnapshot(&hdr)
	meta := ListMeta{Name: hdr.List, Source: head.SnapshotURL, Format: SnapshotFormat, Action: a.cfg.Action, Replica: encodeState(next)}
	if v.exists {
		meta.Action = v.info.Action
	}
	var readErr error
	var info engine.ListInfo
	if hdr.Kind == engine.ListDocuments {
		info, err = a.store.ReplaceDocuments(ctx, meta, func(emit func(*engine.Document) error) error {
			return streamSnapshot(sr.NextDocument, emit, &readErr)
		})
	} else {
		info, err = a.store.ReplaceEntries(ctx, meta, func(emit func(*engine.Entry) error) error {
			return streamSnapshot(sr.Next, emit, &readErr)
		})
	}
	if readErr != nil {
		return reject("%w", readErr)
	}
	if err != nil {
		return a.failed(out, fmt.Errorf("%s: install: %w", at, err))
	}
	actual, err := protocol.ParseSetHash(info.Hash)
	if err != nil {
		return a.failed(out, fmt.Errorf("%s: %w", at, err))
	}
	nv := view{info: info, exists: true, state: next, actual: actual}
	if err := protocol.VerifyAfterApply(hdr.Hash, actual); err != nil {
		// Committed with the signed hash in its state: the mismatch is the
		// durable divergence mark (package doc). The file's records hashed
		// to the header's hash, so the store collapsed or altered some.
		err = fmt.Errorf("%s installed at store version %d: %w", at, info.Version, err)
		out.Action, out.Reason = NeedSnapshot, err
		return out, err
	}
	rt.progress(nv, now)
	out.Action = Applied
	nv, err = a.drain(ctx, rt, nv, now)
	return finish(out, nv, err)
}

// streamSnapshot emits every record next returns until io.EOF (the file
// verified: count, hash, trailer, size and SHA-256); a read error is kept
// in readErr, so the caller can tell a bad file from a store failure.
func streamSnapshot[T any](next func() (T, error), emit func(*T) error, readErr *error) error {
	for {
		rec, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			*readErr = err
			return err
		}
		if err := emit(&rec); err != nil {
			return err
		}
	}
}
