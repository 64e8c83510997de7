// Package publish is the publishing side of Watchpost's list replication:
// the part of the HQ program that turns a new edition of a watchlist into
// a signed version that every post can apply. Its one job is to keep HQ's
// log of each list (versions, epoch, retained deltas, the current
// snapshot) and to publish it on the broker as ../PROTOCOL.md specifies.
//
// HQ keeps its published lists in its own engine/badgerstore, with the
// same canonical records and list hash (engine.SetHash) as the posts. The
// store's version counter of a list is HQ's protocol version of it: the
// first edition is version 1 (ReplaceEntries of a new list), every later
// edition that changes something is UpdateEntries from v to v+1. HQ's own
// bookkeeping of a list (state, format 1, JSON) is stored as the list's
// ListInfo.Replica, in the transaction that makes the version current:
//
//	{"format":1,"role":"hq","epoch":1,"published":7,
//	 "head_issued_at":"…","snapshot":{"version":7,"file":"un-1-7.snap","sha256":"…","size":123},
//	 "source":"…","edition_format":"un-xml"}
//
// # Publishing an edition
//
// Publisher.PublishEdition (or PublishEntries with an entry source):
//
//  1. reads HQ's current records of the list as SHA-256 digests per entry
//     id and checks that they sum to the store's recorded hash;
//  2. reads the new edition with engine/importer, keeping only the entries
//     whose record differs from HQ's (the upserts) and the ids it holds;
//  3. builds the delta from v to v+1 (upserts and deletes sorted by id);
//     its HashAfter is the SetHash of the whole new edition, summed from
//     the digests (SetHash is the lane-wise sum of each record's SHA-256,
//     so this is ApplyToSet's result without holding the list in memory);
//  4. applies it to HQ's store (UpdateEntries) and checks that the store's
//     hash after the update equals HashAfter; on a mismatch nothing is
//     published and the error says so;
//  5. writes the sealed delta to DeltaDir/<list>/<epoch>-<to>.delta and
//     removes deltas older than DeltaWindow versions;
//  6. announces the version: writes the snapshot file of the version
//     (SnapshotDir/<list>-<epoch>-<version>.snap, keeping the newest
//     KeepSnapshots), publishes the delta (QoS 1, not retained) on
//     watchpost/v1/lists/<list>/delta and a new signed head (QoS 1,
//     retained) on watchpost/v1/lists/<list>/head naming the snapshot's
//     URL, version, SHA-256 and size; then records the version as
//     published.
//
// A crash or a broker failure after step 4 leaves the state's "published"
// behind the store's version; the next PublishEdition or RepublishHeads
// finishes step 6 first (re-sending the retained deltas, which posts drop
// as duplicates if they had them). An edition that changes nothing
// creates no version.
//
// A delta too large for one message (more than protocol.MaxDeltaOps
// operations or MaxEnvelopeSize bytes) is not written: the version is
// announced by its head and snapshot only, and posts take the snapshot.
//
// # Signed times
//
// Every head is issued at least one second after the previous one of its
// list (protocol times are whole seconds, and two heads with the same
// issued-at and different content are a conflict for a post), and a
// delta carries the issued-at of the head that announces it, so a delta
// is never older than the head before it (PROTOCOL.md 5.3 rule 10).
// Heads are valid for HeadValidity (48 h by default) and must be re-signed
// by RepublishHeads well before that (every 6 h, PROTOCOL.md 4); deltas
// are valid for DeltaValidity (7 days by default), after which a post that
// receives them late takes the snapshot instead.
//
// # Elsewhere, and not here yet
//
// Serving snapshots and retained deltas over HTTPS, receiving hits and
// status, re-signing heads on a timer and the fleet view are the HQ server
// (sync/hqserver, watchpost-hq serve). New epochs (HQ restored from a
// backup) are not published by this package yet.
//
// # Key rotation
//
// Publisher.AnnounceKey signs a protocol.KeyRotation for the next key with
// the publisher's current key, publishes it retained on
// watchpost/v1/keys/<new key id> (posts accept it into their key set:
// sync/agent) and records the sealed statement in HQ's store (records
// namespace KeysNamespace). RepublishHeads publishes the recorded
// statements whose window has not ended again with the heads, unchanged:
// re-signing them is neither needed (posts drop a statement they already
// applied as a duplicate) nor possible once HQ signs with the new key (a
// key cannot announce itself). The switch itself is a restart of the
// publisher with the new key (watchpost-hq serve --key), once every post
// reports the new key in its status.
package publish
