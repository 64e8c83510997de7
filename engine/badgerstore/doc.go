// Package badgerstore keeps Watchpost's watchlists in a Badger database:
// named lists of entries (persons and entities screened by name) and
// document-only lists (stolen and lost travel documents, up to about ten
// million rows). It is built for a small appliance that loses power and is
// killed with SIGKILL: a list is always seen at exactly one version, never
// half of an edition.
//
// # Key layout
//
// All keys are bytes; <v> is the list version as 8 bytes big-endian and
// bit-inverted (^v), so that the newest version of a record sorts first.
//
//	m/schema                                   decimal schema version ("1")
//	m/list/<name>                              JSON engine.ListInfo: the current version (the "flip" key)
//	m/dirty/<name>                             8-byte version being written; present while rows of
//	                                           <name> may exist that the current version does not need
//	v/<name>/e/<entry id>\x00<v>               names list row: engine.MarshalEntry, or a tombstone
//	v/<name>/d/<DocumentKey>\x00<COUNTRY>\x00<type>\x00<v>
//	                                           documents list row: engine.MarshalDocument, or a tombstone
//	x/<name>/<DocumentKey>                     documents list index row (empty value, no version): present
//	                                           while a row of that document key may be live (see Index)
//
// The part of a row key before <v> is the record's identity (its "group"):
// the entry id, or the document key with its upper-cased issuing state and
// type. A tombstone is the one-byte value 0x00; record encodings start with
// their codec version (1), so the two never collide. Entry ids, countries and
// types containing \x00 are rejected, so a group prefix never matches
// another group. List names match [a-z0-9_-]{1,32}, so "/" ends them.
//
// # Reading
//
// A reader opens one Badger read transaction (a snapshot), reads
// m/list/<name> in it, and for each group takes the first row whose version
// is <= the list's version; a tombstone there means "absent". Rows of a
// newer version (a write in progress) are invisible, and because the
// snapshot is taken before the metadata is read, rows that garbage
// collection deletes later are still visible to it. Entries and
// LookupDocument are therefore consistent even while a replace runs.
//
// LookupDocument does not read the metadata: the Store keeps a copy of
// the documents lists' ListInfo, replaced after each flip or deletion has
// committed and before anything is collected. A lookup loads the copy,
// opens its snapshot, and loads the copy again, retrying if it changed
// (a seqlock, see docSnapshot): with the copy unchanged, either the
// snapshot is newer than the flip that made the copy, or older than the
// collection that follows the next one, so it holds every row of the
// versions the copy names. Readers take no lock and never wait for a
// flip's fsync. Iterating the m/list/ prefix in every lookup cost about
// 1-2 µs plus a JSON decode per list.
//
// # Writing: stage, seal, flip, collect
//
// Badger limits a transaction to 15% of the memtable (ErrTxnTooBig), so an
// edition of a million entries cannot be one transaction. Every write of a
// list (ReplaceEntries, ReplaceDocuments, UpdateEntries, DeleteList) runs
// under that list's mutex and goes through these steps:
//
//  1. Mark: one transaction sets m/dirty/<name>.
//  2. Stage: rows of version cur+1 are written with a WriteBatch. It is not
//     atomic, which is fine: nothing reads version cur+1 yet.
//  3. Seal (replaces only): one scan of the list's rows hashes the staged
//     rows (engine.SetHash over the stored record bytes, so duplicates that
//     collapsed are counted once) and writes a tombstone at cur+1 for every
//     group that is live at cur but absent from the new edition.
//  4. Flip: one small transaction writes m/list/<name> with the new
//     version, hash and count. This is the commit point.
//  5. Collect: rows no reader at the new version can see are deleted:
//     older versions of every group first, then (after a sync) the
//     tombstones that have nothing left to hide, so a crash between the
//     two can never make an old record visible again. The seal remembers
//     up to 262,144 such keys so that this needs no second scan; a larger
//     edition is collected by scanning the list (a scan defers a tombstone
//     that still has rows under it to a second pass). Then m/dirty/<name>
//     is deleted. Readers are not disturbed: their snapshots still hold
//     the deleted rows.
//
// An update (UpdateEntries, UpdateDocuments) needs no seal: it reads the
// visible row of each group it changes (the old record leaves the hash,
// the old rows become garbage), with several iterators over runs of its
// sorted groups at once, while its new rows are staged. The hook of
// UpdateEntries (OnEntriesUpdated) is told of the update before step 2
// and of its outcome right after step 4 is durable, before step 5.
//
// If the source fails, the context ends, or the process dies anywhere
// before step 4, the list stays at cur. Open (and the next write of that
// list) finds m/dirty/<name> and repairs the list: it deletes rows newer
// than the current version (or every row, if the list does not exist) and
// runs step 5. After the flip, collection failing only costs disk space
// until the repair.
//
// # Index
//
// A documents row key ends in the version, so finding a number takes a
// prefix iterator: a seek in every level whose key range covers the
// prefix, each reading and decompressing a block, and Badger's bloom
// filters do not help iterators (they hash whole keys). Most numbers
// checked at a border post are not listed, so each documents list also
// holds one index row per document key, x/<name>/<DocumentKey>, without a
// version. LookupDocument first gets that key: Badger's point read tests
// each table's bloom filter and, for an absent number, usually reads no
// block at all. Only when the index row exists (a listed number, or a
// stale index row) does it pay for the iterator, and the versioned rows
// decide as before.
//
// The index may over-report (a stale index row costs one iterator) but
// must never under-report. The invariant: for every version a reader can
// read (the current one, or an older one through a snapshot from before
// the flip), every document key with a live row at that version has its
// index row in that reader's snapshot. It is kept as follows; every step
// runs under the list's mutex.
//
//   - Seal, before the flip: one walk over the index rows alongside the
//     row groups (both sort by document key) writes the index row of every
//     document key live at the new version that lacks one, and notes the
//     index rows whose keys have no live row at the new version. These
//     writes are durable before the flip (SyncWrites, and DB.Sync before
//     the flip), so no version ever becomes current without its index.
//     Index rows are written only when missing, so replacing an edition
//     with a similar one writes few of them.
//   - Collect, after the flip: the noted index rows are deleted with the
//     superseded rows. Each has no live row at the current version, so
//     deleting it cannot hide a record from a reader at that version, and
//     readers at the old version hold snapshots from before the flip,
//     which keep the deleted rows (see Reading). No version above the
//     current one can become current without a new seal that writes its
//     index rows again.
//   - The collection scan (large editions, DeleteList, repair) reconciles
//     the same way against the current version in its own snapshot:
//     deletes index rows without a live row (all of them if the list no
//     longer exists, and those left by an interrupted write) and restores
//     any missing one.
//
// Crashes: before the flip, the index rows a seal wrote only over-report,
// and the repair at Open deletes them with the staged rows. After the
// flip, any subset of the collection's deletions may have happened; each
// is safe on its own, so the non-atomic WriteBatch does not matter, and
// the repair finishes the job. If Badger ever resurrected a deleted index
// row (deleted keys can reappear in Badger v4), it would only over-report. Verify checks that
// every live record has its index row. Schema 2 added the index;
// migrateDocIndex builds it from the rows of every version (over-reporting
// for the rows that are not live, until the next collection).
//
// # Durability
//
// The store opens Badger with SyncWrites=true, and also calls DB.Sync
// before and after the flip. SyncWrites=false with DB.Sync() at the commit
// points is not enough in badger v4.9.6: DB.Sync syncs only the active
// memtable's WAL, while staged rows can sit in an immutable memtable whose
// WAL has not been synced yet (it is synced only once it is flushed to an
// SST); after a power cut the flip could survive while staged rows do not.
// SyncWrites=true syncs each write batch's WAL before the batch is
// acknowledged. The cost, measured for a 1,000,000-entry ReplaceEntries, is
// in the comment on Options.NoSyncWrites.
//
// # Encryption at rest
//
// Options.EncryptionKey turns on Badger's encryption mode: the key (16, 24
// or 32 bytes; Watchpost uses 32, AES-256) is the master key that
// encrypts Badger's data keys, kept in the KEYREGISTRY file; the data keys
// encrypt every table block and index, the value logs and the memtable
// WALs, and a new one is made every Options.EncryptionKeyRotation (10
// days by default). The MANIFEST holds only table ids and levels. Reads
// of encrypted tables go through the index cache, which is therefore
// never 0 here (DefaultIndexCacheSize).
//
// A store is encrypted or not from its creation. Open refuses, with
// ErrEncryptionKey naming the directory, an encrypted store opened
// without a key or with another key, and an unencrypted store opened with
// a key. Badger cannot encrypt an existing store in place (nor decrypt
// one): the way is a fresh store. A post's lists come back from HQ in a
// snapshot, but its outbox (hits not yet delivered) and ledger live only
// here, so deliver the outbox first ('watchpost status' shows 0 records),
// then stop the post, move the store directory away and start with the
// key. Losing the key loses the store the same way. Changing the master
// key is offline only (Badger's "badger rotate" tool); Watchpost does not
// wrap it.
//
// # Hash
//
// ListInfo.Hash is the hex engine.SetHash of the marshalled records at the
// version. Replaces compute it while sealing; UpdateEntries maintains it
// incrementally (Remove the old record, Add the new one). Verify recomputes
// it from the stored rows.
//
// # Duplicates
//
// Within one ReplaceEntries call, entries with the same id collapse: the
// last one emitted wins, and Entries/Hash count it once. Within one
// ReplaceDocuments call, rows with the same document key, issuing state
// (compared upper-case) and type collapse the same way. UpdateEntries
// applies upserts in order (the last upsert of an id wins); deleting an id
// that is not in the list, or upserting and deleting the same id, is an
// error.
//
// # Schema
//
// m/schema holds the layout version. Open runs the migrations whose target
// is above the stored version, in order, writing m/schema after each; each
// migration must be idempotent, since a crash can interrupt it before the
// version is written. A database without m/schema is schema 0: empty, it
// is initialised to the current layout; holding keys, it is not a Watchpost
// store (a wrong directory, or a pre-release prototype) and Open refuses it
// rather than mix layouts. A schema newer than the code is refused with
// ErrSchemaTooNew.
package badgerstore
