// Package replica is the post-side applier of HQ's signed watchlist
// updates. Its one job is to take verified-or-rejected bytes (a delta or a
// head from the broker, a snapshot file from the fetcher) and move the
// post's copy of each replicated list forward exactly as HQ published it,
// atomically and never backwards, while recording the replication state
// (protocol.ListState) in the same store transaction as the version it
// belongs to.
//
// It performs no network I/O and owns no goroutine: the wiring (sync
// transport, snapshot fetcher) hands it payloads and file paths and acts on
// the returned Outcome (fetch a snapshot, fetch deltas, raise an alarm).
// Decisions come from sync/protocol (Decide, DecideHead); this package adds
// persistence, the reorder buffer and the divergence bookkeeping. The
// protocol is specified in ../PROTOCOL.md.
//
// # State
//
// Each replicated list's ListInfo.Replica holds a JSON record (format 1,
// see stateRecord) with the held epoch and version, the hash HQ signed for
// that version, and the last verified head (position, issued-at, valid-
// until). The store's own version counter is not HQ's version: it is the
// optimistic-concurrency token passed to UpdateEntries and SetReplica.
//
// A list without a record (imported locally, or never synced) is "epoch
// 0, nothing held": every delta asks for a snapshot (ErrNoBase). When HQ's
// first head arrives, the post adopts the head's position without a
// download if, and only if, the store's hash of the local list equals the
// head's signed hash and Verify confirms the stored rows give that hash;
// otherwise the head says NeedSnapshot. The same adoption applies to a
// head of a new epoch whose hash the post already holds. A list the store
// does not hold at all keeps its head bookkeeping in memory until the
// first snapshot creates it.
//
// # Divergence (hash mismatch after apply)
//
// badgerstore.UpdateEntries commits before the post can see the resulting
// hash, and the store has no point reads with which the hash could be
// predicted without scanning the list. The design therefore makes the
// avoidable mismatch impossible and the unavoidable one safe:
//
//   - Before applying, the store's hash must equal the hash HQ signed for
//     the held version (recorded with it). A list changed behind the
//     applier's back is never built upon: the delta is buffered and the
//     outcome is NeedSnapshot (ErrDiverged).
//   - The state stored with the new version carries HQ's HashAfter, while
//     ListInfo.Hash is the store's actual hash; both are written by the one
//     flip transaction. A mismatch between them is therefore itself the
//     durable, crash-proof marker of divergence: no second write is needed,
//     and a crash right after the flip loses nothing. Every later load sees
//     it; deltas are then buffered, not applied, a head at that version or
//     ahead of it asks for a snapshot, and Status reports Diverged.
//   - Committing is still the safer choice: every operation in the delta is
//     HQ-signed and in HQ's log, so version v+1 with a wrong remainder is no
//     worse for screening than v, and the post keeps screening on it (the
//     best list it holds) until the snapshot replaces it. The mismatch can
//     only come from a base that differs from HQ's despite equal hashes
//     (storage corruption, e.g. a deleted key Badger brought back) or a delta inconsistent with
//     its own signed hash (an HQ bug); only a snapshot repairs either.
//
// # Reorder buffer
//
// Deltas that cannot be applied yet are kept in memory, per list, bounded
// by Config.ReorderWindow: with a usable base, only deltas whose versions
// fall within ReorderWindow above the held version (a larger gap is
// NeedSnapshot); while a snapshot is awaited (nothing held, new epoch,
// divergence), the ReorderWindow lowest deltas at or above the version of
// the snapshot the last head names. After every apply, head and snapshot
// the buffer is drained: the delta that starts at the held version is
// applied, older ones are discarded (a delta at or below a snapshot's
// version is never applied after it). A gap that stays open
// longer than Config.GapTimeout turns Buffered into NeedSnapshot. The
// buffer is lost on restart; HQ's retained head and the delta fetch
// rebuild what is missing.
//
// # Errors
//
// Every method returns an Outcome and an error. The error is non-nil when
// an operator must hear about it: a rejected message (unsigned, wrong key,
// expired, rollback, fast-forward, wrong list, corrupt), a conflict (a
// signed head with the same issue time as the accepted one but other
// content: Conflict, protocol.ErrConflict; the post keeps what it holds
// and the list's state records it until a head names a later position),
// a divergence, or a store failure. Outcomes that are normal on a lossy link (Applied,
// Buffered, Dropped, Current, FetchDeltas, NeedSnapshot for a gap, a
// backlog, no base or a new epoch) return nil and say why in
// Outcome.Reason, which matches the protocol sentinels with errors.Is.
// Every error names the list and the versions involved.
package replica
