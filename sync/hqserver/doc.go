// Package hqserver is the receiving and serving side of HQ (watchpost-hq
// serve). Its one job is to take what posts send (hits, dispositions,
// status, telemetry, presence), store it once in HQ's Badger before
// acknowledging it, and serve what posts fetch (snapshots, retained
// deltas) and what operators query (the fleet table, recent hits).
// ../PROTOCOL.md §6 and §7 are the specification.
//
// # Records (posts/<post>/hits)
//
// Every message on watchpost/v1/posts/<post>/hits is a record message
// (protocol.DecodeRecord). The post id comes from the topic (the broker's
// ACL ties it to the post's identity), never from the payload. Records are
// stored in the records namespace "hq-records" of HQ's store:
//
//	t/<^received_at: 8 bytes big-endian, bit-inverted nanoseconds><post>/<id>
//	                       the stored Record (JSON); newest first in key order
//	r/<post>/<id>          the t/ key of that record: the dedupe index
//	p/<post>               the post's state (JSON postState): latest status,
//	                       presence, last seen
//	k/<kind>/<t/ key suffix>  empty: the per-kind time index the purge reads
//	m/kind-index           set once every row has its k/ entry
//
// One goroutine writes records in batches (up to 256 records or 1 MiB of
// payload per Badger transaction, SyncWrites): a record whose r/ key
// exists is a duplicate and is not written again. Only after the
// transaction has committed are the ids (new and duplicate alike) handed
// to the ack batcher. When no further record is waiting to be stored it
// acks at once (the writer's batches already group the ids under load);
// otherwise it collects them per post for AckDelay (20 ms) or until
// MaxAckIDs are pending. It publishes one ack per post on
// watchpost/v1/posts/<post>/acks. A lost ack costs a resend, which is
// acked again as a duplicate.
//
// A message that is not a record message (bad JSON, unknown kind, bad id,
// no payload, a post id that is not valid) is counted as malformed, logged
// with the post id and the reason (never the payload: it is personal data)
// and not acked. A well-formed message whose payload fails validation
// (a hit that is not a protocol.HitReport, a disposition that is not a
// protocol.DispositionReport, a payload naming another post) is stored
// with its reason in Record.Invalid and acked: nothing the post sent is
// lost, and the post does not resend it forever. Invalid rows are counted
// and shown by the hits query so an operator sees them.
//
// # Sealed records and audit chains
//
// Hits, dispositions and audit records come sealed to one of HQ's
// encryption keys (protocol.OpenRecord, with the keys sync/publish keeps
// in HQ's store, read again for an unknown key id): opened on receipt and
// stored opened; one that does not open is counted and not acked (the
// post keeps it). Dispositions are indexed by hit (d/<post>/<hit>/<id>),
// so Hits gives each hit its decisions in order. Audit records feed the
// post's chain check (audit.go): entries and checkpoints under ae/ and
// ac/, the state in the post's p/ row, shown in the fleet table.
//
// # Hit index and history
//
// The record writer also indexes each hit and decision (index.go): by
// post, list, band and status (open or the decision in force), newest
// first, with daily counts per post and list and one status sample per
// post and hour. HitPage, ExportHits, Hit, HitsPerDay and History answer
// HQ's console from it; hits stored before the index are indexed by New.
//
// # Retention
//
// Run purges at start and every PurgeInterval (an hour; Config.Clock) the
// records older than their kind's Retention by received_at (hits and
// dispositions 5 years, status 30 days, telemetry 7 days by default),
// with their r/ and k/ entries (Purge). A purged id that a post sends
// again is stored again: posts delete a record once it is acked, so that
// happens only for a post offline (or unacked) longer than the retention.
//
// # Status and presence
//
// The retained status (posts/<post>/status, protocol.PostStatus) and
// status records from the outbox update the post's status when they are
// newer: a higher Boot, or a later Clock, or the held status's Clock lies
// more than FutureSlack ahead of HQ's clock (a post whose clock was wrong
// and got corrected). Older ones are counted and ignored. The clock offset
// (the post's Clock minus HQ's receive time) is taken only from live
// status messages, not from retained ones or outbox records, which may be
// days old. Presence (protocol.PresenceRecord) keeps the highest Boot and,
// within one boot, the latest arrival, so an old connection's will that a
// broker delivers after the new connection's "online" does not mark the
// post offline. Every live message from a post sets its last-seen time
// (HQ's clock); retained messages delivered when HQ subscribes do not.
//
// # Serving
//
// Handler serves, over the caller's HTTPS server, GET/HEAD
// /snapshots/<list>-<epoch>-<version>.snap and
// /deltas/<list>/<epoch>-<to>.delta with Range support, /healthz, and the
// admin queries /v1/lists, /v1/posts, /v1/hits, /v1/audit and, with
// Config.Accounts, /v1/users (JSON; a bearer token when one is
// configured, loopback clients only when none is). Any other path is 404.
//
// With a Publisher, the same admin rules admit two POSTs that publish
// through the running server, which holds HQ's store (Badger admits one
// process): /v1/lists/<list>/editions?format=&source=&action= with the
// edition file as the body (ofac-csv as a zip of the folder's files),
// streamed to a temporary file in UploadDir (at most MaxEditionSize) and
// published with the publisher (which serialises publications), answering
// PublishResponse; /v1/heads, RepublishHeads, answering HeadsResponse;
// and /v1/keys, a KeyRequest announcing HQ's next signing key
// (publish.Publisher.AnnounceKey), answering KeyResponse or 400 with the reason.
// An edition that cannot be read (the importer's file:line error), breaks
// the protocol's limits, is empty or names an unknown format is refused
// with 400 and nothing is published; one past the shrink guard (empty, or
// removing more than the publisher's share of the list) is refused with 409
// unless confirm_shrink=true, which Config.AuditShrink records with the
// actor first; without a Publisher all three answer 503.
// Request bodies and the importer's messages are never logged.
//
// # Lifecycle
//
// New subscribes (before the caller starts the transport, so messages a
// persistent session holds find their handlers); Run starts the record
// writer, the ack batcher and the head re-sign timer, and returns once all
// of them have stopped after ctx ends. A Server with no Transport only
// answers queries (Posts, Hits) from the store: watchpost-hq posts and hits
// use that when serve is not running.
package hqserver
