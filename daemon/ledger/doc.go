// Package ledger is the post's local record of screenings, hits and
// officers' decisions. Its one job: after a traveller has been screened,
// keep what the law lets the post keep, for as long as it may keep it,
// with an audit entry for every action, and hand each hit and each
// decision to the outbox for HQ in the same transaction that records it.
//
// The local HTTP API (daemon/api) calls Record after screening, the folder
// intake calls RecordBatch (a whole file under its idempotency key), the
// officer's workstation reads Hits and Hit and decides with Dispose, and
// the daemon runs RunPurge.
//
// # Decisions (keep little, keep it briefly, audit it, a human decides)
//
//   - A screening without a hit stores NO traveller data, not even for the
//     short Retention: the caller has the result in hand, nobody reviews a
//     non-hit later, and data that never reaches the disk cannot be stolen
//     with the machine. What is stored is a minimal row (screening id, time,
//     source, ref, hit count 0, actor), which is the "screened" audit entry
//     of that screening. Ref is a flight number or a file name and must not
//     carry personal data.
//   - Those non-hit rows are the bulk of the ledger (one per traveller), so
//     they are kept for Retention (DefaultRetention, 24 h) and then purged;
//     each purge batch writes one "purge" audit entry that counts them and
//     gives their time range, so the trail keeps how many screenings
//     happened and when, in aggregate.
//   - A screening with hits stores the hit record: the traveller as
//     screened, the hits, the status and every decision. It is the only
//     place traveller data lives, and it is deleted HitRetention
//     (DefaultHitRetention, 90 days) after it was recorded, whatever its
//     status: an undecided hit is purged too (counted apart in the purge
//     entry), because the retention period is the law's, and HQ has the
//     report. Its audit entries ("screened", "hit_opened", "disposition",
//     "purge") carry ids, counts, decisions and officer ids only, and are
//     kept.
//   - A hit starts "open". An officer's decision (confirmed, false_positive,
//     referred) sets its status; a later decision supersedes it (a
//     "referred" hit is usually followed by the outcome of the secondary
//     check, and an officer may correct a mistake): every decision is kept
//     in the hit's history, gets its own audit entry and its own outbox
//     record, and HQ orders them by decided_at. Repeating the decision in
//     force (same decision, officer and note: a double submit) changes
//     nothing and sends nothing. The officer's note may hold personal data:
//     it lives in the hit record and the outbox record, never in the audit
//     trail or the logs.
//   - RecordBatch records many screenings, each exactly as Record does,
//     and a marker for the caller's idempotency key (the intake's File.ID),
//     in one transaction; a repeated key writes nothing and returns the
//     marker's summary. The marker holds counts and hit ids, no traveller
//     data, and is kept for HitRetention, not Retention: the non-hit rows
//     go after a day, but a retry later than that (a post offline over a
//     weekend, a file left in processing/) must still find the marker, or
//     the file's hits would be recorded and sent twice. It goes with the
//     hit records it names, counted in the purge entry. Past HitRetention
//     the same key records anew.
//   - The logs carry ids, sources, refs and counts, never a traveller's
//     data, at any level.
//
// # Key layout
//
// Everything lives in the records namespace "ledger" of the store
// (badgerstore.Records); the outbox has its own namespace in the same
// Badger database, and RecordsTxn.Records lets one transaction write both.
// <t> is the recording time (the ledger's clock, not the caller's
// ScreenedAt) as 8 bytes big-endian Unix nanoseconds; <n> is an 8-byte
// big-endian tie-break number, increasing within the process (see
// Ledger.seq), so that entries of the same nanosecond (two entries of one
// transaction, a coarse clock) keep the order they were made in. <^t><^n>
// are their bitwise complements, so that a forward iteration (the only
// kind RecordsTxn offers) yields the newest first. Ids are outbox.NewID
// (26 characters, Crockford base 32), so every suffix has a fixed length.
//
//	m/schema                       decimal schema version ("1")
//	s/<t><n><screening id>         non-hit screening row: JSON AuditEntry (action
//	                               "screened"), purged after Retention
//	a/<t><n><entry id>             audit entry: JSON AuditEntry, kept
//	h/<hit id>                     hit record: JSON HitRecord plus its <n>, purged
//	                               after HitRetention
//	hi/<^t><^n><hit id>            index of every hit, newest first (empty value)
//	hs/<status>/<^t><^n><hit id>   index of hits by status, newest first (empty value)
//	b/<key>                        RecordBatch marker: JSON BatchResult, purged
//	                               after HitRetention
//	bt/<t><n><key>                 index of markers by time, for the purge (empty value)
//	c/<seq>                        the audit chain's index: 32-byte hash of entry <seq>
//	                               (8 bytes big-endian) as written, then its s/ or a/ key
//	ch/<seq>                       a run of chain entries the purge deleted (JSON ChainRun)
//	k/<seq>                        the signed checkpoint over entry <seq> (JSON)
//	m/chain, m/checkpoint          the chain's head at the last checkpoint, and that
//	                               checkpoint's seq
//	m/audit-key                    the post's Ed25519 audit key (32-byte seed), made at
//	                               first start
//
// Audit merges s/ and a/ (both ordered by <t><n><id>) oldest first. Purge
// walks s/ and bt/ from their start and hi/ from <^cutoff>, so it reads
// only what it deletes. A batch key is 1 to 128 characters of
// [0-9A-Za-z._:-], so it cannot reach into another prefix. A cursor is the hex of the last item's 16 order bytes followed
// by its id; the next page starts just after that key.
//
// # Audit chain
//
// Every audit entry, the s/ rows included, is one link of one chain per
// post (schema 2; entries of a schema-1 store stay outside it): it carries
// its seq and the hash of the entry before it (sync/protocol's audit.go),
// and is indexed under c/<seq> with its own hash in the transaction that
// writes it. Transactions that append hold chainMu until they end, so
// entries link in commit order. The purge deletes s/ rows only once a
// checkpoint covers them (their copy is in the outbox for HQ), removes
// their index rows and records each run it removed (ch/ and in the purge
// entry, which is itself a link), so the chain still verifies across
// them. Checkpoint signs a checkpoint over the entries since the last one
// and puts them with it in the outbox (kind audit); RunCheckpoints does it
// every interval and when CheckpointEvery entries wait. VerifyAudit checks
// the chain as stored and names the first deleted, moved or edited entry.
//
// # Transactions
//
// Record and Dispose each write their rows, their audit entries and their
// outbox record (outbox.PutTx) in ONE Badger transaction: all of it commits
// or none. RecordBatch writes a whole batch and its marker in one
// transaction, which bounds a batch (MaxBatch, and Badger's limit on a
// transaction's size: see MaxBatch for the measured bounds; a batch over
// it fails with ErrBatchTooBig and writes nothing). The store runs Badger
// without conflict detection, so the read-modify-write of a hit (Dispose)
// and the deletions of Purge are serialised by one mutex, and RecordBatch
// calls (read the marker, then write it) by another, so that two calls
// with one key cannot both record it; Record only adds new keys and takes
// no lock. A purge deleting a marker while a batch with its key reads it
// is harmless: the batch either replays (it saw the marker) or records
// anew (it did not), both right at the retention boundary.
// Purge deletes in batches of bounded size (Badger limits a transaction's
// size), each batch with its own purge audit entry in the same transaction.
//
// # Group commit
//
// While RunGroupCommit runs (the daemon runs it), Record does not commit
// each screening on its own. The row of a screening without a hit is
// queued and Record returns; the rows queued within GroupWindow (2 ms),
// or GroupRows (256) of them, commit in one transaction, linked into the
// chain in the order they were queued. A hit is queued too but asks for
// the commit at once and Record waits for it, so a hit, with its audit
// entries and its outbox record, is durable before Record returns, as
// without group commit. The one thing given up: a row without a hit is
// durable up to GroupWindow after its answer, and a crash in that window
// loses it. Such a row carries no traveller data and no obligation (it
// is not reported to HQ but through the chain, and nobody reviews it):
// the audit trail then counts fewer screenings than were answered, and
// the chain stays whole, since a row is linked only when written. A disk
// short of its reserve is checked when a row is queued, so a screening
// is refused then as it would be without group commit. Stats count a
// queued row once it is committed.
//
// # Counters
//
// Stats counts since Open (screenings, hits by list and band, decisions,
// purges, the last screening), as Prometheus counters and the status
// record expect; only OpenHits, the hits awaiting an officer, is read from
// the store at Open. Counters move only after a commit (RecordsTxn.OnDone).
package ledger
